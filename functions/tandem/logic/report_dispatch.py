"""Adaptive dispatch of POST /reports: answered inline when the work is small, queued when heavy.

The work of a sales summary is the tenant's orders in the period: the worker reads every one of
them from OrdersTable's `by_created_at` index (`OrderSource.between`) and sums them. So the
estimate is the same read counted, not fetched (`OrderCounts.count_between`: a COUNT query over
the same keys). The lake's day manifests count rows of the shop's own exports, which the sales
summary does not read: they would estimate another computation.

The decision:
- `Prefer: respond-async` (alone): a job, always, and no estimate is made (it would change nothing);
- otherwise the budget is `inline_budget_seconds` (the default, "well within a second"), or the N of
  `Prefer: wait=N` (capped at `max_wait_seconds`, below the function's and the HTTP API's timeouts);
  with `respond-async` too, the wait rule holds (RFC 7240's own example: async if it takes longer);
- the budget in rows is `inline_max_rows` scaled to it (`inline_max_rows` orders are read and summed
  in `inline_budget_seconds`: measured, README); at most that many orders → inline, else a job.

An inline run that overruns its budget while reading (the estimate was right, the store slow) stops
and queues the job: only the part read so far is lost, and the worker starts from nothing, as it
would have. Once every order is read the summary costs little more, so it is finished and answered
even if late: throwing a finished result away to compute it again in the worker would do the work
twice for nothing.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tandem.logic.ports import Clock, OrderCounts, OrderSource
from tandem.logic.reports import ReportDeps, request_report
from tandem.logic.sales import period_bounds, summarize_sales
from tandem.models.records import Job, Order, ReportFormat, ReportKind, ReportParams
from tandem.models.reports import SalesSummary
from tandem.observability import logger

# How often (in orders read) an inline run looks at the clock: cheap, yet a page of DynamoDB
# (about 2,000 orders) is never read far past the deadline.
DEADLINE_CHECK_EVERY = 200


class Path(StrEnum):
    INLINE = "inline"
    ASYNC = "async"


@dataclass(frozen=True)
class Preferences:
    """What the client asked for in `Prefer` (RFC 7240); anything else it said is ignored."""

    respond_async: bool = False
    wait: int | None = None  # seconds


def parse_prefer(values: str | None) -> Preferences:
    """The preferences this API knows, from the `Prefer` header(s) (joined with commas).

    RFC 7240: names are case-insensitive, a preference given twice counts the first time, unknown
    preferences and parameters (after `;`) are ignored, and so is a malformed one (`wait=soon`,
    `wait=-1`): a preference is a hint, never a reason to refuse.
    """
    respond_async = False
    wait: int | None = None
    seen: set[str] = set()
    for item in (values or "").split(","):
        head = item.split(";", 1)[0].strip()
        if not head:
            continue
        name, has_value, value = head.partition("=")
        name = name.strip().lower()
        if name in seen:
            continue
        seen.add(name)
        value = value.strip().strip('"')
        if name == "respond-async" and not has_value:
            respond_async = True
        elif name == "wait" and value.isascii() and value.isdigit():
            # Any number of digits is valid delta-seconds; past 9 it is more than any cap (and int()
            # refuses over 4,300 digits): read as "very long".
            wait = int(value) if len(value) <= 9 else 10**9
    return Preferences(respond_async=respond_async, wait=wait)


@dataclass(frozen=True)
class DispatchDeps:
    report: ReportDeps  # the async path (today's request_report)
    orders: OrderSource  # what the inline run reads, as the worker does
    counts: OrderCounts  # the estimate
    zone: ZoneInfo
    clock: Clock
    # Orders read and summed within `inline_budget_seconds` (README: how it was measured).
    inline_max_rows: int
    inline_budget_seconds: float
    # The longest `Prefer: wait` honoured: below the function's timeout and the HTTP API's 30 s.
    max_wait_seconds: int


@dataclass(frozen=True)
class Dispatch:
    """What was done, for the answer's headers, the log and the metrics."""

    path: Path
    summary: SalesSummary | None  # inline
    job: Job | None  # async
    rows: int | None  # the estimate; None when none was made (respond-async)
    limit_rows: int | None  # the most rows the budget holds
    budget_seconds: float | None
    applied: tuple[str, ...]  # Preference-Applied
    overran: bool = False  # inline was tried and gave way to a job
    estimate_seconds: float | None = None  # how long the COUNT took (logged: the estimate's cost)
    # Why no estimate was made, when the request could only be queued (`worker_only`).
    reason: str | None = None


# What only the report worker makes: the lake's kinds (DuckDB, in the analytics layer) and the
# binary formats (their libraries): the API carries neither, to keep its cold start small.
WORKER_ONLY = "worker_only"


def inline_possible(params: ReportParams) -> bool:
    return params.kind is ReportKind.SALES_SUMMARY and params.format is ReportFormat.JSON


def budget(preferences: Preferences, deps: DispatchDeps) -> tuple[float, int, tuple[str, ...]]:
    """(seconds, rows, preferences applied) of an inline answer."""
    if preferences.wait is None:
        seconds = deps.inline_budget_seconds
        applied: tuple[str, ...] = ()
    else:
        waited = min(preferences.wait, deps.max_wait_seconds)
        seconds, applied = float(waited), (f"wait={waited}",)
    rows = math.floor(deps.inline_max_rows * seconds / deps.inline_budget_seconds)
    return seconds, rows, applied


def dispatch_report(
    tenant_id: str,
    params: ReportParams,
    preferences: Preferences,
    deps: DispatchDeps,
    correlation_id: str | None,
) -> Dispatch:
    """Answer the report inline or queue its job, as the estimate and the client's preferences say."""
    if preferences.respond_async and preferences.wait is None:
        job = request_report(tenant_id, params, deps.report, correlation_id)
        return Dispatch(Path.ASYNC, None, job, None, None, None, ("respond-async",))
    if not inline_possible(params):
        job = request_report(tenant_id, params, deps.report, correlation_id)
        applied: tuple[str, ...] = ("respond-async",) if preferences.respond_async else ()
        return Dispatch(Path.ASYNC, None, job, None, None, None, applied, reason=WORKER_ONLY)

    started = deps.clock()
    seconds, limit, applied = budget(preferences, deps)
    start, end = period_bounds(params.date_from, params.date_to, deps.zone)
    rows = deps.counts.count_between(tenant_id, start, end, at_most=limit)
    estimated = round((deps.clock() - started).total_seconds(), 4)
    if rows <= limit:
        summary = _inline(tenant_id, params, start, end, started + timedelta(seconds=seconds), deps)
        if summary is not None:
            return Dispatch(Path.INLINE, summary, None, rows, limit, seconds, applied, False, estimated)
    job = request_report(tenant_id, params, deps.report, correlation_id)
    # With respond-async and wait together, the fallback to a job is what respond-async asked for.
    if preferences.respond_async:
        applied = ("respond-async", *applied)
    return Dispatch(Path.ASYNC, None, job, rows, limit, seconds, applied, rows <= limit, estimated)


def _inline(
    tenant_id: str,
    params: ReportParams,
    start: datetime,
    end: datetime,
    deadline: datetime,
    deps: DispatchDeps,
) -> SalesSummary | None:
    """The summary the worker would store, or None when reading overran the deadline."""
    period: list[Order] = []
    for order in deps.orders.between(tenant_id, start, end):
        period.append(order)
        if len(period) % DEADLINE_CHECK_EVERY == 0 and deps.clock() > deadline:
            logger.warning("inline report overran its budget: queued instead", extra={"read": len(period)})
            return None
    return summarize_sales(tenant_id, period, params.date_from, params.date_to, deps.zone)
