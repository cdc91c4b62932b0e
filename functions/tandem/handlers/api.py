"""The synchronous HTTP API: health, the OpenAPI document, report jobs."""

import re
import uuid
from datetime import datetime
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.handlers import orders, wiring
from tandem.handlers.http import RequestGate, documented, json_response, register_error_handlers
from tandem.logic import catalog, reports, risk
from tandem.logic.auth import require_scope
from tandem.logic.errors import InvalidRequestError, NotFoundError
from tandem.models.api import Health, JobAccepted, JobResult, JobView, ReportRequest
from tandem.models.catalog import Product, ProductPage, ProductUpdate
from tandem.models.checkout import (
    BlocklistAdded,
    BlocklistEntry,
    CheckoutRequest,
    OrderConfirmation,
    OrderPage,
    ScoreAnswer,
    ScoreRequest,
)
from tandem.models.records import Job, Order, OrderStatus, Principal, Scope
from tandem.observability import logger, metrics

# Routes anyone may call; template.yaml gives exactly these `Auth: {Authorizer: NONE}`.
PUBLIC_PATHS = frozenset({"/health", "/openapi.json"})

app = APIGatewayHttpResolver(enable_validation=True)
gate = RequestGate(PUBLIC_PATHS)
app.use(middlewares=[gate.middleware])
register_error_handlers(app, gate)

_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _caller(scope: Scope) -> Principal:
    """The caller the gate authenticated, if its key holds `scope` (403 otherwise)."""
    principal: Principal = app.context["principal"]
    require_scope(principal, scope)
    return principal


@app.get("/health", responses=documented(200, Health))
def health() -> Response[str]:
    return json_response(200, Health(status="ok", service=logger.service))


@cache
def _openapi_document() -> str:
    # Built from every route's models: tens of milliseconds, so once per warm process.
    return app.get_openapi_json_schema(title="Tandem", version="1")


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(200, "application/json", _openapi_document())


@app.post("/reports", responses=documented(202, JobAccepted, 401, 403, 415, 422))
def create_report(request: ReportRequest) -> Response[str]:
    principal = _caller("reports:write")
    job = reports.request_report(
        principal.tenant_id,
        request.to_params(),
        jobs=wiring.jobs(),
        queue=wiring.report_queue(),
        clock=wiring.now,
        new_id=wiring.new_id,
        correlation_id=logger.get_correlation_id(),
    )
    metrics.add_metric(name="ReportRequested", unit=MetricUnit.Count, value=1)
    status_url = f"/reports/{job.job_id}"
    body = JobAccepted(job_id=job.job_id, status=job.status, status_url=status_url)
    return json_response(HTTPStatus.ACCEPTED, body, headers={"Location": status_url})


@app.post("/orders", responses=documented(201, OrderConfirmation, 401, 402, 403, 409, 415, 422, 503))
def create_order(request: CheckoutRequest) -> Response[str]:
    principal = _caller("orders:write")
    event = app.current_event
    outcome = orders.checkout(
        principal.tenant_id,
        request,
        event.headers.get("idempotency-key"),
        event.request_context.http.source_ip,
        # CloudFront adds the buyer's country when it fronts the API; without it the IP's country is unknown.
        event.headers.get("cloudfront-viewer-country"),
    )
    return json_response(outcome["status"], outcome["body"])


@app.post("/payments/score", responses=documented(200, ScoreAnswer, 401, 403, 415, 422))
def score_payment(request: ScoreRequest) -> Response[str]:
    principal = _caller("orders:write")
    assessment = risk.score_payment(
        principal.tenant_id,
        request,
        wiring.screening(),
        wiring.audit(),
        wiring.pepper(),
        wiring.now(),
        reference=f"score:{logger.get_correlation_id()}",
    )
    return json_response(200, ScoreAnswer(**assessment.model_dump()))


@app.put("/fraud/blocklist", responses=documented(200, BlocklistAdded, 401, 403, 415, 422))
def block(entry: BlocklistEntry) -> Response[str]:
    principal = _caller("admin")
    risk.add_to_blocklist(principal.tenant_id, entry, wiring.fraud_signals(), wiring.pepper())
    # The answer never repeats a card number: only what kind of entry was added, and why.
    return json_response(200, BlocklistAdded(kind=entry.kind, reason=entry.reason))


@app.get("/orders/<order_id>", responses=documented(200, Order, 401, 403, 404))
def get_order(order_id: str) -> Response[str]:
    principal = _caller("orders:read")
    order = wiring.orders().get(principal.tenant_id, order_id)
    if order is None:
        raise NotFoundError(f"no order '{order_id}'")
    return json_response(200, order)


@app.get("/orders", responses=documented(200, OrderPage, 401, 403, 422))
def list_orders(
    date_from: Annotated[datetime, Query(alias="from")],
    date_to: Annotated[datetime, Query(alias="to")],
    status: Annotated[OrderStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Response[str]:
    principal = _caller("orders:read")
    if date_from.tzinfo is None or date_to.tzinfo is None:
        raise InvalidRequestError("'from' and 'to' need a time zone, e.g. 2026-11-01T00:00:00Z")
    items, next_cursor = wiring.orders().page(principal.tenant_id, date_from, date_to, status, limit, cursor)
    return json_response(200, OrderPage(items=items, next_cursor=next_cursor))


@app.get("/products", responses=documented(200, ProductPage, 401, 403, 422))
def list_products(
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: Annotated[str | None, Query()] = None
) -> Response[str]:
    principal = _caller("orders:read")
    items, next_cursor = wiring.catalog().page(principal.tenant_id, limit, cursor)
    return json_response(200, ProductPage(items=items, next_cursor=next_cursor))


@app.get("/products/<sku>", responses=documented(200, Product, 401, 403, 404))
def get_product(sku: str) -> Response[str]:
    principal = _caller("orders:read")
    return json_response(200, catalog.get_product(principal.tenant_id, sku, wiring.catalog()))


@app.put("/products/<sku>", responses=documented(200, Product, 401, 403, 415, 422))
def put_product(sku: str, update: ProductUpdate) -> Response[str]:
    principal = _caller("admin")
    return json_response(200, catalog.set_product(principal.tenant_id, sku, update, wiring.catalog()))


@app.get("/reports/<job_id>", responses=documented(200, JobView, 401, 403, 404))
def get_report(job_id: str) -> Response[str]:
    principal = _caller("reports:read")
    job = reports.get_job(principal.tenant_id, job_id, wiring.jobs())
    link = reports.result_link(
        job, wiring.reports_bucket(), wiring.settings().result_url_ttl_seconds, wiring.now
    )
    result = JobResult(url=link[0], expires_at=link[1]) if link else None
    return json_response(200, _job_view(job, result))


def _job_view(job: Job, result: JobResult | None) -> JobView:
    return JobView(
        job_id=job.job_id,
        kind=job.params.kind,
        params={"from": job.params.date_from.isoformat(), "to": job.params.date_to.isoformat()},
        status=job.status,
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        attempts=job.attempts,
        error=job.error,
        result=result,
    )


def _correlation_id(event: dict[str, Any]) -> str:
    # A caller may pass its own id to follow one purchase across its systems and ours.
    offered = (event.get("headers") or {}).get("x-correlation-id", "")
    if _CORRELATION_ID.match(offered):
        return str(offered)
    return str(event.get("requestContext", {}).get("requestId") or uuid.uuid4().hex)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    orders.register_context(context)
    correlation_id = _correlation_id(event)
    logger.set_correlation_id(correlation_id)
    response = app.resolve(event, context)
    response.setdefault("headers", {})["x-correlation-id"] = correlation_id
    return response
