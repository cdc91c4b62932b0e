"""Table exports on demand (POST /exports): a backup of every table as a job of the report worker.

The job is recorded and queued like a report (tandem.logic.reports), so it has the same life
(queued → running → succeeded | failed), retries, dead-letter queue and status record; the
worker runs tandem.logic.backups.run_backup for the job's date. A backup of a date run again
rewrites that date, so a redelivered message has one effect.
"""

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from tandem.logic.errors import NotFoundError
from tandem.logic.ports import Clock, IdFactory, JobStore, MessageQueue
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
