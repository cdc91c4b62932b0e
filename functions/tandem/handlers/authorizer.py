"""HTTP API Lambda authorizer: an API key in, the tenant and scopes out (simple responses, payload 2.0).

API Gateway calls it on every request to an authenticated route: its own authorizer
cache is off, because a key may come in either of two headers (`Authorization: Bearer`
or `x-api-key`). A cache there needs an identity source, every header of which API
Gateway then requires, answering a bare 401 itself when one is missing, before this
function could accept the other header or explain the refusal with our JSON body.

So the cache is here instead (decided with bench.authorizer, figures in bench/README.md):
each warm process keeps the keys it found active for 30 s, by key hash
(`tandem.logic.auth.CachedKeys`, at most 1,000 keys, least recently used dropped). A
known key then costs one DynamoDB read per 30 s per process instead of one per request,
a round trip of a few ms taken off every authenticated request. The price: revoking a key
(or changing its scopes) takes effect within 30 s, not at once. Unknown and revoked keys
are never cached: they are read on every request, so a new key works at once; malformed
ones are refused before any read (`KEY_FORMAT`).
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponseV2,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.handlers.wiring import authorizer as root
from tandem.handlers.wiring import now
from tandem.logic.auth import authenticate
from tandem.logic.errors import NotAuthenticatedError
from tandem.observability import logger


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Always lets the request through, carrying either the principal or why there is none.

    An HTTP API authorizer can only refuse with a bare 403 (`isAuthorized: false`)
    or a 500 (an error); neither says "who are you?" (401) nor explains itself.
    So the refusal is made by the API, which answers 401 with our JSON error body
    before any route runs (tandem.handlers.api.http: `RequestGate`).
    """
    try:
        principal = authenticate(event.get("headers") or {}, root.keys(), now())
    except NotAuthenticatedError as refused:
        logger.info("no valid API key", extra={"reason": refused.message, "route": event.get("routeKey")})
        return APIGatewayAuthorizerResponseV2(
            authorize=True, context={"auth_error": refused.message}
        ).asdict()
    logger.append_keys(tenant_id=principal.tenant_id, key_id=principal.key_id)
    context_values = {
        "tenant_id": principal.tenant_id,
        "key_id": principal.key_id,
        "scopes": " ".join(sorted(principal.scopes)),
    }
    return APIGatewayAuthorizerResponseV2(authorize=True, context=context_values).asdict()
