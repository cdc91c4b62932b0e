"""The dashboard page: GET / and /dashboard (the page), GET /assets/{name} (its allow-listed files).

Public (the page asks for the API key and sends it with each API call it makes), left out of the
OpenAPI document (they answer HTML, CSS and JavaScript, not the API's JSON).
"""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from tandem.handlers.api.http import error_response
from tandem.handlers.web_assets import WebFile, asset, page

router = Router()

# The paths these routes serve: public, and not in the OpenAPI document.
PATHS = frozenset({"/", "/dashboard", "/assets/{name}"})


def _serve(found: WebFile | None) -> Response[str]:
    if found is None:
        return error_response(HTTPStatus.NOT_FOUND, "not_found", "no such file")
    headers = found.headers()
    if found.is_current(router.current_event.headers.get("if-none-match")):
        return Response(HTTPStatus.NOT_MODIFIED, None, "", headers=headers)
    return Response(HTTPStatus.OK, found.content_type, found.body, headers=headers, compress=True)


@router.get("/", include_in_schema=False)
def root() -> Response[str]:
    return _serve(page())


@router.get("/dashboard", include_in_schema=False)
def dashboard() -> Response[str]:
    return _serve(page())


@router.get("/assets/<name>", include_in_schema=False)
def assets(name: str) -> Response[str]:
    return _serve(asset(name))
