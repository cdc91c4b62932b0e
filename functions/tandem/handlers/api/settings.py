"""The tenant's settings: where its signed notifications go."""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from tandem.handlers.api.http import caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import webhooks
from tandem.models.webhooks import WebhookSettings, WebhookSettingsRequest

router = Router()
TAGS = ["settings"]


@router.put(
    "/settings/webhooks",
    summary="Set the webhook endpoint",
    description=(
        "Where the courier notification of every confirmed order and each report job's `report.ready` "
        "or `report.failed` are POSTed (an https URL), signed "
        "with a secret made here and answered only now: `Tandem-Signature: t=<unix seconds>,"
        'v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. Verify it and refuse old timestamps '
        "(the README has a snippet). A new PUT replaces the URL and the secret."
    ),
    tags=TAGS,
    responses=documented(200, WebhookSettings, 401, 403, 404, 415, 422),
)
def put_webhooks(request: WebhookSettingsRequest) -> Response[str]:
    principal = caller(router, "admin")
    answer = webhooks.set_webhook(principal.tenant_id, request, root.webhook_settings())
    return json_response(HTTPStatus.OK, answer)
