"""The morning report: each tenant's day, ready and announced by e-mail the next morning.

Two halves, on the async report path:

- the night's product `morning_report` (`queue_morning_report`), the tenant's last product state
  (after the rollups and the inventory suggestions it reads), records a report job and queues it.
  The job's id is a function of (tenant, day) (`morning_job_id`): a re-run of the night finds the
  job and queues nothing when it has succeeded (or is running), so the shop gets one e-mail per
  day however often the night runs. A job still queued (its message lost with a crash between
  the record and the send) or failed is queued again: the worker runs a job once it has a message
  and skips one that has succeeded.
- the report worker (`write_morning_report`, called by tandem.logic.reports.run_report for jobs
  of kind `morning_report`) builds the document from what the night stored, sends the e-mail to
  the tenant's `report_email` (TenantsTable) if it has one, and stores the document as the job's
  result (`reports/{tenant}/{job_id}.json`, like every report: GET /reports/{job_id} links it).

What the report says (`build_report`):
- the day's revenue (tenant's currency) and orders from its dashboard rollup (RollupStore), against
  the same weekday seven days earlier, with the change in %; a day without a rollup says "no data";
- the top 5 products by revenue (then units, then SKU), from the rollup's per-SKU sales;
- returns: lines, units and value (the rollup's cells summed);
- stock alerts: the SKUs the night's inventory suggestions for the day flag below their reorder
  point (`inventory/{tenant}/{date}.json`), with stock and reorder point.

The e-mail is sent before the job is marked succeeded: a worker that dies in between (or whose
result cannot be stored) has its message delivered again and sends a second e-mail. SES has no
idempotency key, so that narrow window is at-least-once; every later delivery is a no-op.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from pydantic import ValidationError

from tandem.logic.errors import RetryLaterError
from tandem.logic.inventory import suggestions_key
from tandem.logic.ports import (
    Clock,
    DocumentStore,
    JobStore,
    LakeObjects,
    Mailer,
    MessageQueue,
    RollupStore,
    TenantProfiles,
)
from tandem.models.dashboard import DayRollup
from tandem.models.inventory import InventorySuggestions
from tandem.models.messages import CORRELATION_ID_ATTRIBUTE, ReportRequested
from tandem.models.morning_report import (
    Change,
    DayFigures,
    EmailOutcome,
    MorningReport,
    ReturnsFigures,
    StockAlert,
    TopProduct,
)
from tandem.models.records import Job, JobStatus, ReportKind, ReportParams

TOP_PRODUCTS = 5
COMPARE_DAYS = 7  # the same weekday a week earlier: weekly rhythm (weekends) compared like with like
JSON = "application/json"
SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


class MailRejectedError(Exception):
    """The mail service refused the message for what it is (an unverified or malformed address):
    sending it again would be refused again. The report is kept, its e-mail marked not sent."""


def morning_job_id(tenant_id: str, day: date) -> str:
    """The report job of (tenant, day): the same id every night that makes it (a job id's shape:
    32 hex digits), so the job is found, not made again."""
    return hashlib.sha256(f"morning_report/{tenant_id}/{day.isoformat()}".encode()).hexdigest()[:32]


# ---------------------------------------------------------------- the night: the job queued
@dataclass(frozen=True)
class MorningQueueDeps:
    jobs: JobStore
    queue: MessageQueue
    tenants: TenantProfiles
    clock: Clock


def queue_morning_report(
    tenant_id: str, day: date, deps: MorningQueueDeps, *, resend: bool = False
) -> dict[str, str | bool]:
    """The night product `morning_report`: the day's report job recorded and queued, once.

    `resend` (an operator's `tandem report resend`, never the night) queues a job that has
    succeeded again: it is made and mailed anew."""
    job_id = morning_job_id(tenant_id, day)
    tenant = deps.tenants.get(tenant_id)
    email = "to_report_email" if tenant is not None and tenant.report_email else "no_report_email"
    job = deps.jobs.get(tenant_id, job_id)
    if job is None:
        now = deps.clock()
        params = ReportParams(kind=ReportKind.MORNING_REPORT, date_from=day, date_to=day)
        job = Job(tenant_id=tenant_id, job_id=job_id, params=params, created_at=now, updated_at=now)
        deps.jobs.create(job)
    elif job.status is JobStatus.RUNNING or (job.status is JobStatus.SUCCEEDED and not resend):
        # Made (and mailed) by an earlier run of this night, or being made now: nothing to do.
        return {"job_id": job_id, "queued": False, "job_status": job.status.value, "email": email}
    elif job.status is JobStatus.SUCCEEDED:
        job = _requeued(job, deps)
    message = ReportRequested(tenant_id=tenant_id, job_id=job_id, params=job.params)
    deps.queue.send(message, {CORRELATION_ID_ATTRIBUTE: f"night-{day.isoformat()}-{tenant_id}"})
    return {"job_id": job_id, "queued": True, "job_status": job.status.value, "email": email}


def _requeued(job: Job, deps: MorningQueueDeps) -> Job:
    """A succeeded job back to queued (the worker skips succeeded ones), on condition that nobody
    moved it meanwhile."""
    queued = job.model_copy(
        update={
            "status": JobStatus.QUEUED,
            "error": None,
            "finished_at": None,
            "updated_at": deps.clock(),
            "version": job.version + 1,
        }
    )
    if not deps.jobs.save(queued, expected_version=job.version):
        raise RetryLaterError(f"job {job.job_id} changed concurrently: ask again")
    return queued


# ---------------------------------------------------------------- the worker: built and sent
@dataclass(frozen=True)
class MorningReportDeps:
    rollups: RollupStore
    lake: LakeObjects  # the night's inventory suggestions (the data bucket)
    tenants: TenantProfiles
    mailer: Mailer


def write_morning_report(job: Job, key: str, documents: DocumentStore, deps: MorningReportDeps) -> None:
    """The report of the job's day built, e-mailed to the tenant's address if it has one, and stored."""
    tenant = deps.tenants.get(job.tenant_id)
    name = tenant.name if tenant is not None else job.tenant_id
    report = build_report(job.tenant_id, name, job.params.date_to, deps.rollups, deps.lake)
    address = tenant.report_email if tenant is not None else None
    if address is None:
        outcome = EmailOutcome(to=None, sent=False, note="the tenant has no report_email: nothing sent")
    else:
        subject, text, html = render_email(report)
        try:
            message_id = deps.mailer.send(address, subject, text, html)
            outcome = EmailOutcome(to=address, sent=True, message_id=message_id)
        except MailRejectedError as error:
            outcome = EmailOutcome(to=address, sent=False, note=f"refused by the mail service: {error}"[:500])
    report = report.model_copy(update={"email": outcome})
    documents.put(key, report.model_dump_json(indent=2).encode(), JSON)


def build_report(
    tenant_id: str, tenant_name: str, day: date, rollups: RollupStore, lake: LakeObjects
) -> MorningReport:
    earlier = day - timedelta(days=COMPARE_DAYS)
    stored = {rollup.day: rollup for rollup in rollups.days(tenant_id, earlier, day)}
    today, before = stored.get(day), stored.get(earlier)
    currency = next((r.currency for r in (today, before) if r is not None), None)
    alerts, alerts_date = _stock_alerts(tenant_id, day, lake)
    return MorningReport(
        tenant_id=tenant_id,
        tenant_name=tenant_name,
        currency=currency or "GBP",
        day=_figures(day, today),
        week_before=_figures(earlier, before),
        change=Change(
            # A day without a rollup was not computed (the night writes one for every day, orders
            # or not): no change is claimed from it, on either side.
            revenue_pct=_change(
                today.revenue_tenant if today else None, before.revenue_tenant if before else None
            ),
            orders_pct=_change(today.orders if today else None, before.orders if before else None),
        ),
        top_products=_top_products(today),
        returns=_returns(today),
        stock_alerts=alerts,
        stock_alerts_date=alerts_date,
    )


def _figures(day: date, rollup: DayRollup | None) -> DayFigures:
    if rollup is None:
        return DayFigures(date=day, has_data=False, revenue=_cents(Decimal(0)), orders=0)
    return DayFigures(date=day, has_data=True, revenue=_cents(rollup.revenue_tenant), orders=rollup.orders)


def _cents(amount: Decimal | None) -> Decimal | None:
    """Money in the document as the e-mail shows it: to the cent (the rollups keep converted
    amounts to 4 places)."""
    return None if amount is None else amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _change(now: Decimal | int | None, before: Decimal | int | None) -> Decimal | None:
    """(now - before) / before in %, to 0.1; None without both figures (no earlier rollup, a rate
    missing), or with 0 before (no % of nothing)."""
    if now is None or before is None or before == 0:
        return None
    return ((Decimal(now) - Decimal(before)) * 100 / Decimal(before)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


def _top_products(rollup: DayRollup | None) -> list[TopProduct]:
    if rollup is None:
        return []
    sold = [sku for sku in rollup.skus if sku.units > 0]
    # Revenue first (a SKU whose revenue is unknown, a rate missing, after the known ones).
    ranked = sorted(
        sold, key=lambda s: (s.revenue_tenant is None, -(s.revenue_tenant or Decimal(0)), -s.units, s.sku)
    )
    return [
        TopProduct(sku=s.sku, units=s.units, orders=s.orders, revenue=_cents(s.revenue_tenant))
        for s in ranked[:TOP_PRODUCTS]
    ]


def _returns(rollup: DayRollup | None) -> ReturnsFigures:
    if rollup is None:
        return ReturnsFigures(lines=0, units=0, value=_cents(Decimal(0)))
    value: Decimal | None = Decimal(0)
    for cell in rollup.cells:
        value = (
            None
            if value is None or cell.returned_value_tenant is None
            else value + cell.returned_value_tenant
        )
    return ReturnsFigures(
        lines=sum(cell.returns for cell in rollup.cells),
        units=sum(cell.returned_units for cell in rollup.cells),
        value=_cents(value),
    )


def _stock_alerts(tenant_id: str, day: date, lake: LakeObjects) -> tuple[list[StockAlert], date | None]:
    body = lake.get(suggestions_key(tenant_id, day))
    if body is None:
        return [], None
    try:
        document = InventorySuggestions.model_validate_json(body)
    except ValidationError:
        # A document of an older shape: the report goes out without its alerts rather than not at all.
        return [], None
    alerts = [
        StockAlert(
            sku=item.sku,
            stock=item.stock,
            reorder_point=item.reorder_point,
            suggested_order=item.suggested_order,
        )
        for item in document.items
        if item.below_reorder_point and item.stock is not None
    ]
    return alerts, document.date


# ---------------------------------------------------------------- the e-mail
def money(amount: Decimal | None, currency: str) -> str:
    """£1,234.50 for the currencies with a known symbol, else 1,234.50 CHF; None: unknown."""
    if amount is None:
        return "unknown (an exchange rate is missing)"
    text = f"{abs(amount):,.2f}"
    sign = "-" if amount < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def _pct(change: Decimal | None, figures: DayFigures) -> str:
    if not figures.has_data:
        return "no data"
    if change is None:
        return "n/a"
    return f"{change:+.1f}%"


def _day(value: date) -> str:
    return f"{value:%a} {value.isoformat()}"


def render_email(report: MorningReport) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the report's e-mail."""
    cur, today, before, change = report.currency, report.day, report.week_before, report.change
    subject = f"{report.tenant_name}: {_day(today.date)}: {money(today.revenue, cur)}, {today.orders} orders"
    earlier = f"{money(before.revenue, cur)}, {before.orders} orders" if before.has_data else "no data"
    lines = [
        f"Daily sales report of {report.tenant_name} for {_day(today.date)}",
        "",
        f"Revenue: {money(today.revenue, cur)} ({_pct(change.revenue_pct, before)} vs {_day(before.date)})",
        f"Orders: {today.orders} ({_pct(change.orders_pct, before)} vs {_day(before.date)})",
        f"Same weekday last week ({_day(before.date)}): {earlier}",
    ]
    if not today.has_data:
        lines.append("No sales figures were made for the day (no rollup).")
    lines += ["", f"Top {TOP_PRODUCTS} products by revenue:"]
    lines += [
        f"  {n}. {p.sku}: {money(p.revenue, cur)}, {p.units} units, {p.orders} orders"
        for n, p in enumerate(report.top_products, 1)
    ] or ["  none sold"]
    returns = report.returns
    lines += [
        "",
        f"Returns: {returns.lines} lines, {returns.units} units, {money(returns.value, cur)}",
        "",
        "Stock alerts (below the reorder point):",
    ]
    if report.stock_alerts_date is None:
        lines.append("  no inventory suggestions for the day")
    else:
        lines += [
            f"  {a.sku}: stock {a.stock}, reorder point {a.reorder_point:g}"
            + (f", suggested order {a.suggested_order}" if a.suggested_order else "")
            for a in report.stock_alerts
        ] or ["  none"]
    text = "\n".join(lines) + "\n"
    return subject, text, _html(report, lines)


def _html(report: MorningReport, lines: list[str]) -> str:
    # The plain text's lines, escaped, in a preformatted block: the same figures, no layout to keep in step.
    body = "\n".join(escape(line) for line in lines)
    title = escape(f"{report.tenant_name}: daily sales report")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><pre style='font-family: sans-serif'>{body}</pre></body></html>"
    )
