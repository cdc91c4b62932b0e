"""Health and the OpenAPI document: the two routes anyone may call."""

from collections.abc import Callable
from functools import cache
from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from tandem.handlers.api.http import documented, json_response
from tandem.models.api import Health
from tandem.observability import logger

TAGS = ["service"]


def router_serving(document: Callable[[], str]) -> Router:
    """The health and docs routes; `document` builds the API's OpenAPI document (the app knows it)."""
    router = Router()
    built_once = cache(document)  # tens of milliseconds from every route's models: once per warm process

    @router.get(
        "/health",
        summary="Health",
        description="Answers 200 while the function runs. Needs no API key.",
        tags=TAGS,
        responses=documented(200, Health),
    )
    def health() -> Response[str]:
        return json_response(HTTPStatus.OK, Health(status="ok", service=logger.service))

    @router.get("/openapi.json", include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(HTTPStatus.OK, "application/json", built_once())

    return router
