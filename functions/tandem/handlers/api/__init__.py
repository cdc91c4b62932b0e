"""ApiFunction: the synchronous HTTP API, one Router module per resource.

| module      | routes                                                  |
|-------------|---------------------------------------------------------|
| meta        | GET /health, GET /openapi.json (public)                 |
| orders      | POST /orders, GET /orders, GET /orders/{order_id}       |
| products    | GET /products, GET|PUT /products/{sku}, GET|POST /products/{sku}/stock-adjustments |
| reports     | POST /reports, GET /reports/{job_id}                    |
| payments    | POST /payments/score, PUT /fraud/blocklist              |
| ingest      | POST /ingest/{source}                                   |
| inventory   | GET /inventory/suggestions                              |
| dashboard   | GET /dashboard/kpis                                     |
| exports     | POST /exports, GET /exports/{job_id} (admin)            |
| web         | GET /, GET /dashboard, GET /assets/{name}: the dashboard page (public) |

Every route authenticates through the gate (tandem.handlers.api.http), calls one
logic function with its use case's dependency object (tandem.handlers.wiring.api)
and shapes the answer; domain exceptions become HTTP answers in one place.
"""

import json
import re
import uuid
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.handlers.api import (
    dashboard,
    exports,
    ingest,
    inventory,
    meta,
    orders,
    payments,
    products,
    reports,
    settings,
    web,
)
from tandem.handlers.api.http import RequestGate, register_error_handlers, without_powertools_error_schemas
from tandem.observability import logger, metrics

# Routes anyone may call; template.yaml gives exactly these `Auth: {Authorizer: NONE}`. The dashboard
# page's (web.PATHS) ask for the API key in the browser and send it with each API call.
PUBLIC_PATHS = frozenset({"/health", "/openapi.json"}) | web.PATHS
# Routes the OpenAPI document leaves out: the document itself and the page's HTML, CSS and JavaScript.
UNDOCUMENTED_PATHS = frozenset({"/openapi.json"}) | web.PATHS

app = APIGatewayHttpResolver(enable_validation=True)
gate = RequestGate(PUBLIC_PATHS)
app.use(middlewares=[gate.middleware])
register_error_handlers(app, gate)


def _openapi_document() -> str:
    built = json.loads(app.get_openapi_json_schema(title="Tandem", version="1"))
    return json.dumps(without_powertools_error_schemas(built))


app.include_router(meta.router_serving(_openapi_document))
for resource in (orders, products, reports, payments, ingest):
    app.include_router(resource.router)
app.include_router(inventory.router)
app.include_router(dashboard.router)
app.include_router(exports.router)
app.include_router(settings.router)
app.include_router(web.router)

_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _correlation_id(event: dict[str, Any]) -> str:
    # A caller may pass its own id to follow one purchase across its systems and ours.
    offered = (event.get("headers") or {}).get("x-correlation-id", "")
    if _CORRELATION_ID.match(offered):
        return str(offered)
    return str(event.get("requestContext", {}).get("requestId") or uuid.uuid4().hex)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    correlation_id = _correlation_id(event)
    logger.set_correlation_id(correlation_id)
    response = app.resolve(event, context)
    response.setdefault("headers", {})["x-correlation-id"] = correlation_id
    return response
