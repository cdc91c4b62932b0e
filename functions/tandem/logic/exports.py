"""Table exports on demand (POST /exports): a backup of every table as a job of the report worker.

The job is recorded and queued like a report (tandem.logic.reports), so it has the same life
(queued → running → succeeded | failed), retries, dead-letter queue and status record; the
worker runs tandem.logic.backups.run_backup for the job's date. A backup of a date run again
rewrites that date, so a redelivered message has one effect.

Adaptive dispatch (`dispatch_export`), the decision of POST /reports applied to exports: the work
is every item of every table, estimated from stored metadata (DynamoDB's ItemCount, no scan).
The export itself always runs in the worker: doing it in the API would give the public function
read access to every table and write access to backups/, a bad trade for a few seconds. So
"inline" here means the API waits for the worker's job to end and answers 200 with its final
state, when the estimate says it ends within the budget; otherwise it answers 202 at once (waiting
for a job that cannot end in time would hold the client for nothing). `Prefer: respond-async` and
`Prefer: wait=N` (RFC 7240) work as at POST /reports.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tandem.logic.errors import NotFoundError
from tandem.logic.ports import Clock, IdFactory, JobStore, MessageQueue, TableSizes
from tandem.logic.report_dispatch import Path, Preferences
from tandem.logic.reports import enqueue_or_fail
from tandem.models.messages import CORRELATION_ID_ATTRIBUTE, ReportRequested
from tandem.models.records import Job, ReportKind, ReportParams


@dataclass(frozen=True)
class ExportDeps:
    jobs: JobStore
    queue: MessageQueue  # the report worker's queue
    zone: ZoneInfo  # the deployment's reporting zone: what "today" is
    clock: Clock
    new_id: IdFactory


def request_export(tenant_id: str, day: date | None, deps: ExportDeps, correlation_id: str | None) -> Job:
    """Record the export job (of `day`, default today in the deployment's zone), then enqueue it."""
    now = deps.clock()
    day = day or now.astimezone(deps.zone).date()
    job = Job(
        tenant_id=tenant_id,
        job_id=deps.new_id(),
        params=ReportParams(kind=ReportKind.TABLE_EXPORT, date_from=day, date_to=day),
        created_at=now,
        updated_at=now,
        correlation_id=correlation_id,
    )
    deps.jobs.create(job)  # before its message, so the worker always finds it
    attributes = {CORRELATION_ID_ATTRIBUTE: correlation_id} if correlation_id else {}
    message = ReportRequested(tenant_id=tenant_id, job_id=job.job_id, params=job.params)
    # Not left queued when the send fails: failed (enqueue_failed) and a 503, as POST /reports.
    enqueue_or_fail(job, message, attributes, deps.jobs, deps.queue, deps.clock)
    return job


def export_status(tenant_id: str, job_id: str, deps: ExportDeps) -> Job:
    """The export job; a report job's id, or another tenant's job, is not found."""
    job = deps.jobs.get(tenant_id, job_id)
    if job is None or job.params.kind is not ReportKind.TABLE_EXPORT:
        raise NotFoundError(f"no export job '{job_id}'")
    return job


@dataclass(frozen=True)
class ExportDispatchDeps:
    export: ExportDeps
    sizes: TableSizes  # the estimate
    sleep: Callable[[float], None]
    # Items the worker exports within `inline_budget_seconds`, queueing and its start included.
    inline_max_items: int
    inline_budget_seconds: float
    max_wait_seconds: int  # the longest `Prefer: wait` honoured (under the API's timeout)
    poll_seconds: float = 0.25  # how often the waiting API reads the job


@dataclass(frozen=True)
class ExportDispatch:
    path: Path  # inline: the job ended while the API waited (200 with its final state)
    job: Job
    items: int | None  # the estimate; None when none was made (respond-async)
    limit_items: int | None
    budget_seconds: float | None
    applied: tuple[str, ...]  # Preference-Applied
    waited: bool = False  # the API waited for the job, and it did not end in time


def dispatch_export(
    tenant_id: str,
    day: date | None,
    preferences: Preferences,
    deps: ExportDispatchDeps,
    correlation_id: str | None,
) -> ExportDispatch:
    """Queue the export, then wait for its end when the estimate says it ends within the budget."""
    if preferences.respond_async and preferences.wait is None:
        job = request_export(tenant_id, day, deps.export, correlation_id)
        return ExportDispatch(Path.ASYNC, job, None, None, None, ("respond-async",))
    applied: tuple[str, ...] = ()
    if preferences.wait is None:
        seconds = deps.inline_budget_seconds
    else:
        waited = min(preferences.wait, deps.max_wait_seconds)
        seconds, applied = float(waited), (f"wait={waited}",)
    limit = math.floor(deps.inline_max_items * seconds / deps.inline_budget_seconds)
    items = deps.sizes.item_count()
    job = request_export(tenant_id, day, deps.export, correlation_id)
    if preferences.respond_async:
        applied = ("respond-async", *applied)
    if items > limit:
        return ExportDispatch(Path.ASYNC, job, items, limit, seconds, applied)
    ended = _wait_for_end(job, deps.export.clock() + timedelta(seconds=seconds), deps)
    if ended is not None:
        return ExportDispatch(Path.INLINE, ended, items, limit, seconds, applied)
    return ExportDispatch(Path.ASYNC, job, items, limit, seconds, applied, waited=True)


def _wait_for_end(job: Job, deadline: datetime, deps: ExportDispatchDeps) -> Job | None:
    """The job once final, read every `poll_seconds` until the deadline; None if it did not end."""
    export = deps.export
    while export.clock() < deadline:
        deps.sleep(deps.poll_seconds)
        current = export.jobs.get(job.tenant_id, job.job_id)
        if current is not None and current.status.is_final:
            return current
    return None
