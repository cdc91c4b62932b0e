"""HTTP API Lambda authorizer: an API key in, the tenant and scopes out (simple responses, payload 2.0)."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponseV2,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.adapters.directory_tables import ApiKeysTable
from tandem.logic.auth import authenticate
from tandem.logic.errors import NotAuthenticatedError
from tandem.models.settings import AuthorizerSettings
from tandem.observability import logger


@cache
def _keys() -> ApiKeysTable:
    return ApiKeysTable(AuthorizerSettings().api_keys_table_name)


class Unauthorized(Exception):
    """API Gateway answers 401 to an authorizer error with exactly this message."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        principal = authenticate(event.get("headers") or {}, _keys())
    except NotAuthenticatedError as refused:
        logger.info("request refused", extra={"reason": refused.message, "route": event.get("routeKey")})
        # An error whose message is "Unauthorized" makes API Gateway answer 401;
        # isAuthorized=false would be a 403, which says "known but not allowed".
        raise Unauthorized() from None
    logger.append_keys(tenant_id=principal.tenant_id, key_id=principal.key_id)
    context_values = {
        "tenant_id": principal.tenant_id,
        "key_id": principal.key_id,
        "scopes": " ".join(sorted(principal.scopes)),
    }
    return APIGatewayAuthorizerResponseV2(authorize=True, context=context_values).asdict()
