"""The one place where domain exceptions become HTTP answers, and where the API's error schema is declared."""

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel

from tandem.logic.auth import require_scope
from tandem.logic.errors import (
    BlockedError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotAuthenticatedError,
    NotFoundError,
    RetryLaterError,
    TandemError,
    UnsupportedMediaTypeError,
)
from tandem.logic.payments import PaymentDeclinedError
from tandem.models.api import ErrorBody, ErrorDetail
from tandem.models.records import Principal, Scope
from tandem.observability import logger

# RFC 7240's `Prefer` of the routes with adaptive dispatch (POST /reports, POST /exports).
PreferHeader = Annotated[
    str | None,
    Header(
        alias="prefer", description="RFC 7240: `respond-async`, `wait=<seconds>`; anything else is ignored"
    ),
]

STATUS_OF: dict[type[TandemError], HTTPStatus] = {
    NotAuthenticatedError: HTTPStatus.UNAUTHORIZED,
    PaymentDeclinedError: HTTPStatus.PAYMENT_REQUIRED,
    BlockedError: HTTPStatus.FORBIDDEN,
    RetryLaterError: HTTPStatus.SERVICE_UNAVAILABLE,
    ForbiddenError: HTTPStatus.FORBIDDEN,
    NotFoundError: HTTPStatus.NOT_FOUND,
    ConflictError: HTTPStatus.CONFLICT,
    UnsupportedMediaTypeError: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    InvalidRequestError: HTTPStatus.UNPROCESSABLE_ENTITY,
}

_DESCRIPTIONS = {
    400: "The body is not UTF-8 text",
    401: "Missing or unknown API key",
    402: "The payment was declined; `details` carries the decline code",
    409: "Not enough stock (`details` names each SKU and what is left), or the checkout of this "
    "Idempotency-Key expired unfinished (nothing charged: use a new key)",
    403: "The API key lacks the scope this route needs, or risk checks refused the payment",
    404: "Not found (or owned by another tenant)",
    415: "The body is not sent as application/json",
    422: "The body or a parameter is invalid; `details` says which field and why",
    503: "A service we depend on is unavailable; nothing was charged or kept: retry with the same key",
}


def json_response(
    status: int, body: BaseModel | dict[str, Any], headers: dict[str, str] | None = None
) -> Response[str]:
    payload = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body)
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=payload, headers=headers
    )


def caller(router: Router, scope: Scope) -> Principal:
    """The caller the gate authenticated, if its key holds `scope` (ForbiddenError, a 403, otherwise)."""
    principal: Principal = router.context["principal"]
    require_scope(principal, scope)
    return principal


def error_response(
    status: HTTPStatus, code: str, message: str, details: list[ErrorDetail] | None = None
) -> Response[str]:
    return json_response(status, ErrorBody(error=code, message=message, details=details or []))


def documented(success: int, model: type[BaseModel], *errors: int) -> dict[int, Any]:
    """OpenAPI responses of a route: its success model and our ErrorBody for each error status.

    Powertools would document its own 422 shape; this makes the document say what
    the API really answers.
    """
    responses: dict[int, Any] = {
        success: {
            "description": HTTPStatus(success).phrase,
            "content": {"application/json": {"model": model}},
        }
    }
    for status in errors:
        responses[status] = {
            "description": _DESCRIPTIONS[status],
            "content": {"application/json": {"model": ErrorBody}},
        }
    return responses


# Powertools documents its own validation-error shapes; this API never answers them (every
# error is an ErrorBody), so the served document leaves them out.
POWERTOOLS_ERROR_SCHEMAS = frozenset({"HTTPValidationError", "ValidationError", "ResponseValidationError"})


def without_powertools_error_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document without the responses and schemas of errors the API never gives."""
    refs = {f"#/components/schemas/{name}" for name in POWERTOOLS_ERROR_SCHEMAS}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            for status, response in list(responses.items()):
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref") in refs:
                    del responses[status]
    schemas = document.get("components", {}).get("schemas", {})
    for name in POWERTOOLS_ERROR_SCHEMAS:
        schemas.pop(name, None)
    return document


def _route_path(route_key: str | None, path: str) -> str:
    """The path of the route API Gateway matched ("GET /assets/{name}" -> "/assets/{name}"), so a
    public route with a path parameter is public whatever the parameter; the request's own path
    where no route is named (the `$default` route)."""
    _, _, route_path = (route_key or "").partition(" ")
    return route_path or path


class RequestGate:
    """What every request must pass before its body is even looked at: a principal, then a JSON body.

    Checked twice on purpose. Powertools validates the body before any middleware
    runs, so an invalid body from an anonymous caller would get a 422 describing
    our fields; the validation-error handler asks the gate first (401 or 415 win).
    A valid body reaches the middleware, which asks the same questions.
    The gate fails closed: a new route is protected unless its path is listed as
    public (tests/integration checks that list against template.yaml's `Auth: NONE`).
    """

    def __init__(self, public_paths: frozenset[str]) -> None:
        self.public_paths = public_paths

    def refusal(self, app: APIGatewayHttpResolver) -> TandemError | None:
        event = app.current_event
        if _route_path(event.get("routeKey"), event.path) not in self.public_paths:
            context = event.request_context.authorizer.get_lambda or {}
            if not context.get("tenant_id"):
                return NotAuthenticatedError(str(context.get("auth_error") or "no API key was checked"))
        if event.body:
            content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
            # curl sends form encoding by default; Powertools would read the JSON as one odd form field,
            # and refuses other types (text/plain, application/merge-patch+json) before any route runs.
            if content_type and content_type != "application/json":
                return UnsupportedMediaTypeError(
                    f"send the body as JSON with 'content-type: application/json' (got '{content_type}')"
                )
        return None

    def middleware(self, app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        """Refuses, or leaves the principal in `app.context["principal"]` for the route."""
        if refusal := self.refusal(app):
            raise refusal
        context = app.current_event.request_context.authorizer.get_lambda or {}
        if context.get("tenant_id"):
            principal = Principal.model_validate(
                {
                    "tenant_id": context["tenant_id"],
                    "key_id": context.get("key_id", ""),
                    "scopes": str(context.get("scopes", "")).split(),
                }
            )
            app.append_context(principal=principal)
        return next_middleware(app)


def _validation_details(error: RequestValidationError) -> list[ErrorDetail]:
    # Only where, what and why: never the rejected input, which may be a secret.
    return [
        ErrorDetail(
            loc=list(item.get("loc", ())), msg=str(item.get("msg", "invalid")), type=str(item.get("type", ""))
        )
        for item in error.errors()
    ]


def status_of(error: TandemError) -> HTTPStatus:
    return next(
        (code for kind, code in STATUS_OF.items() if isinstance(error, kind)),
        HTTPStatus.INTERNAL_SERVER_ERROR,
    )


def _domain_response(error: TandemError) -> Response[str]:
    status = status_of(error)
    details = [ErrorDetail.model_validate(item) for item in error.details]
    return error_response(status, error.code, error.message, details)


def _not_text(_: UnicodeDecodeError) -> Response[str]:
    return error_response(HTTPStatus.BAD_REQUEST, "bad_request", "the body must be UTF-8 encoded JSON")


def _no_route(_: Exception) -> Response[str]:
    return error_response(HTTPStatus.NOT_FOUND, "not_found", "no such route")


def _unexpected(_: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "internal error; it has been logged"
    )


def _invalid(error: RequestValidationError) -> TandemError | Response[str]:
    details = _validation_details(error)
    message = "the request is invalid"
    if any(detail.loc == ["header", "idempotency-key"] and detail.type == "missing" for detail in details):
        # The one header a client most easily forgets, and the one that keeps it from paying twice.
        message = (
            "the Idempotency-Key header is required: send a key naming this purchase "
            "(e.g. a UUID made for the cart), and the same key on every retry of it"
        )
    return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error", message, details)


def _not_json(_: RequestUnsupportedContentType) -> TandemError | Response[str]:
    return UnsupportedMediaTypeError("send the body as application/json")


def _too_deep(_: RecursionError) -> TandemError | Response[str]:
    # json.loads gives up on bodies nested thousands of levels deep; that is the caller's doing.
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error", "the JSON body is nested too deeply"
    )


# Raised while Powertools reads the body, before the gate's middleware runs: the gate is asked
# first, so an anonymous caller gets 401 (and a body that is not JSON 415), never our field rules.
_BEFORE_THE_GATE: dict[type[Exception], Callable[[Any], TandemError | Response[str]]] = {
    RequestValidationError: _invalid,
    RequestUnsupportedContentType: _not_json,
    RecursionError: _too_deep,
}


def register_error_handlers(app: APIGatewayHttpResolver, gate: RequestGate) -> None:
    def gate_first(answer: Callable[[Any], TandemError | Response[str]]) -> Callable[[Any], Response[str]]:
        def handle(error: Exception) -> Response[str]:
            result = gate.refusal(app) or answer(error)
            return _domain_response(result) if isinstance(result, TandemError) else result

        return handle

    app.exception_handler(TandemError)(_domain_response)
    for kind, answer in _BEFORE_THE_GATE.items():
        app.exception_handler(kind)(gate_first(answer))
    app.exception_handler(UnicodeDecodeError)(_not_text)
    app.not_found(_no_route)
    app.exception_handler(Exception)(_unexpected)
