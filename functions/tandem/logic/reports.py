"""Report jobs: requested by the API, run by the worker, read back by the API."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tandem.logic.backups import BackupDeps, manifest_key, run_backup
from tandem.logic.errors import EnqueueFailedError, NotFoundError, PermanentJobError, RetryLaterError
from tandem.logic.lake_reports import LakeReportDeps, compute_lake_report
from tandem.logic.morning_report import MorningReportDeps, write_morning_report
from tandem.logic.ports import (
    Clock,
    DocumentStore,
    IdFactory,
    JobListing,
    JobStore,
    MessageQueue,
    OrderSource,
    RenderedReport,
    ReportRenderer,
)
from tandem.logic.report_formats import (
    CONTENT_TYPES,
    TextRenderer,
    download_name,
    result_download_name,
    sales_document,
)
from tandem.logic.report_notifications import NotifyDeps, notify_job, pending_channels, should_notify
from tandem.logic.sales import period_bounds, summarize_sales
from tandem.models.messages import CORRELATION_ID_ATTRIBUTE, ReportRequested
from tandem.models.records import (
    LAKE_REPORT_KINDS,
    FailureReason,
    Job,
    JobStatus,
    ReportFormat,
    ReportKind,
    ReportParams,
)
from tandem.models.reports import ReportDocument, SalesSummary
from tandem.observability import logger


def report_key(tenant_id: str, job_id: str, format: ReportFormat = ReportFormat.JSON) -> str:
    """Where a job's result is stored: a function of the job, so a second run overwrites it."""
    return f"reports/{tenant_id}/{job_id}.{format.value}"


@dataclass(frozen=True)
class ReportDeps:
    """The API's side of report jobs: record and enqueue them, read them back with a result link."""

    jobs: JobStore
    queue: MessageQueue
    documents: DocumentStore
    link_ttl_seconds: int
    clock: Clock
    new_id: IdFactory


@dataclass(frozen=True)
class ReportWorkerDeps:
    """The worker's side: run a job and write its result."""

    jobs: JobStore
    orders: OrderSource
    documents: DocumentStore
    max_attempts: int
    zone: ZoneInfo
    clock: Clock
    # Table exports (POST /exports) run as jobs of this worker; None where it is not wired for them.
    backups: BackupDeps | None = None
    # What the morning report reads and sends (tandem.logic.morning_report); None where the
    # worker is built without it (a test of the sales summary alone): such jobs then fail.
    morning: MorningReportDeps | None = None
    # How the tenant is told that a sales summary ended (tandem.logic.report_notifications); None:
    # nobody is (a test of the computation alone).
    notify: NotifyDeps | None = None
    # The kinds computed over the lake (tandem.logic.lake_reports); None where the worker is built
    # without them: such jobs then fail.
    lake_reports: LakeReportDeps | None = None
    # Writes a report in its format. The default writes the text formats (JSON, CSV) alone; the
    # worker's root wires the documents layer's adapter, which writes XLSX and PDF too.
    renderer: ReportRenderer = field(default_factory=TextRenderer)


@dataclass(frozen=True)
class ReportListDeps:
    """GET /reports: the tenant's jobs, a page at a time."""

    jobs: JobListing


@dataclass(frozen=True)
class ReportQuery:
    """GET /reports: optionally of one status, newest first; `limit` is checked by the route (1 to 100)."""

    status: JobStatus | None = None
    limit: int = 20
    cursor: str | None = None


def list_reports(tenant_id: str, query: ReportQuery, deps: ReportListDeps) -> tuple[list[Job], str | None]:
    """One page of the tenant's report jobs and the next page's cursor (None on the last page).

    Only the tenant's own: the store reads its partition, and a cursor is signed for it (another
    tenant's cursor, or a forged one, is a 422). Table exports are left out, as at GET /reports/{id}.
    """
    return deps.jobs.page(tenant_id, query.status, query.limit, query.cursor)


def request_report(tenant_id: str, params: ReportParams, deps: ReportDeps, correlation_id: str | None) -> Job:
    """Record the job, then enqueue it. The job exists before its message, so the worker always finds it."""
    now = deps.clock()
    job = Job(
        tenant_id=tenant_id,
        job_id=deps.new_id(),
        params=params,
        created_at=now,
        updated_at=now,
        correlation_id=correlation_id,
    )
    deps.jobs.create(job)
    attributes = {CORRELATION_ID_ATTRIBUTE: correlation_id} if correlation_id else {}
    message = ReportRequested(tenant_id=tenant_id, job_id=job.job_id, params=params)
    enqueue_or_fail(job, message, attributes, deps.jobs, deps.queue, deps.clock)
    return job


def enqueue_or_fail(
    job: Job,
    message: ReportRequested,
    attributes: Mapping[str, str],
    jobs: JobStore,
    queue: MessageQueue,
    clock: Clock,
) -> None:
    """Send the job's message; if it cannot be sent, fail the job and raise EnqueueFailedError (a 503).

    Why not retry here: the queue client has already retried with backoff, and the request has a
    client waiting; a failed job it can see (and a new request) beats a queued job nobody runs.
    If even that write fails, the job stays queued and the sweeper fails it as `timed_out`.
    """
    try:
        queue.send(message, attributes)
    except Exception:
        logger.exception("job not queued: marked failed", extra={"job_id": job.job_id})
        now = clock()
        failed = job.model_copy(
            update={
                "status": JobStatus.FAILED,
                "failure_reason": FailureReason.ENQUEUE_FAILED,
                "error": "its message could not be queued; nothing ran",
                "finished_at": now,
                "updated_at": now,
                "version": job.version + 1,
            }
        )
        try:
            # Conditional like every move: nothing else can have moved it (no message exists), but
            # the rule holds everywhere.
            jobs.save(failed, expected_version=job.version)
        except Exception:
            logger.exception("job not queued and not marked failed: the sweeper will fail it")
        raise EnqueueFailedError(job.job_id) from None


def report_status(tenant_id: str, job_id: str, deps: ReportDeps) -> tuple[Job, tuple[str, datetime] | None]:
    """The job, and a link to its result (URL, expiry) once it has succeeded."""
    # Jobs are keyed by tenant, so another tenant's job is simply not found:
    # 404, never 403, which would confirm that the id exists.
    job = deps.jobs.get(tenant_id, job_id)
    # A table export is read at GET /exports/{job_id}, with its own scope.
    if job is None or job.params.kind is ReportKind.TABLE_EXPORT:
        raise NotFoundError(f"no report job '{job_id}'")
    if job.status is not JobStatus.SUCCEEDED or job.result_key is None:
        return job, None
    url = deps.documents.link(job.result_key, deps.link_ttl_seconds, result_download_name(job))
    return job, (url, deps.clock() + timedelta(seconds=deps.link_ttl_seconds))


def run_report(message: ReportRequested, attempt: int, deps: ReportWorkerDeps) -> Job:
    """Run one report job; safe to call again with the same message (one effect).

    Raises to have the message retried; returns the job once it is final. On the
    last attempt a failing job is marked failed before the message goes to the DLQ;
    a redriven message runs it again. Every change of the job (its progress too) is a
    save conditional on its version: a stale worker cannot overwrite a newer state.
    """
    jobs, clock, max_attempts = deps.jobs, deps.clock, deps.max_attempts
    job = jobs.get(message.tenant_id, message.job_id)
    if job is None:
        raise PermanentJobError(f"job {message.job_id} of tenant {message.tenant_id} does not exist")
    if job.status is JobStatus.SUCCEEDED:
        if deps.notify is not None and should_notify(job):
            # The run ended but its announcement was not recorded (the worker died in between).
            logger.info("job already succeeded, not yet announced: announcing", extra={"job_id": job.job_id})
            return _announced(job, deps)
        logger.info("job already succeeded: duplicate delivery ignored", extra={"job_id": job.job_id})
        return job

    started = clock()
    tracker = _Tracker(
        _move(
            job,
            jobs,
            status=JobStatus.RUNNING,
            started_at=started,
            attempts=attempt,
            error=None,
            failure_reason=None,
            progress=0,
            finished_at=None,
            duration_seconds=None,
            # A run again (a redriven failed job) is announced again when it ends.
            notified=None,
            clock=clock,
        ),
        jobs,
        clock,
    )

    def ended(**changes: object) -> Job:
        finished = clock()
        seconds = round((finished - started).total_seconds(), 3)
        return tracker.move(finished_at=finished, duration_seconds=seconds, **changes)

    try:
        key, size = _run(tracker, deps)
    except PermanentJobError as error:
        return _announced(
            ended(status=JobStatus.FAILED, error=error.message, failure_reason=FailureReason.CANNOT_COMPUTE),
            deps,
        )
    except DETERMINISTIC_ERRORS as error:
        # The same job over the same data fails the same way again: fail it now, consume the message.
        logger.exception("report cannot be computed: job failed without retry", extra={"job_id": job.job_id})
        return _announced(
            ended(status=JobStatus.FAILED, error=_reason(error), failure_reason=FailureReason.CANNOT_COMPUTE),
            deps,
        )
    except Exception:
        # Anything else (RetryLaterError, a store or network failure) may pass: retried.
        final = attempt >= max_attempts
        note = f"attempt {attempt} of {max_attempts} failed" + ("" if final else "; it will be retried")
        if final:
            # Failed for good (until a redrive): announced, then the message goes to the DLQ.
            _announced(
                ended(status=JobStatus.FAILED, error=note, failure_reason=FailureReason.RETRIES_EXHAUSTED),
                deps,
            )
        else:
            tracker.move(status=JobStatus.QUEUED, error=note)
        raise
    return _announced(
        ended(status=JobStatus.SUCCEEDED, result_key=key, result_bytes=size, progress=100), deps
    )


def _announced(job: Job, deps: ReportWorkerDeps) -> Job:
    """The ended job, announced to its tenant (if it is one to announce) with the outcome saved on it.

    Never raises: a notification's failure, or a lost save of its outcome, leaves the report as it
    ended (the outcome is in the log; a lost save means another delivery moved the job)."""
    if deps.notify is None or not should_notify(job):
        return job
    saved = job

    def record(outcomes: dict[str, str]) -> None:
        # Each channel's outcome saved before the next channel is tried: a redelivery after a
        # kill repeats at most the one channel whose outcome was not saved yet. A save that fails
        # does not stop the other channels; the outcomes are saved again at the end.
        nonlocal saved
        try:
            saved = _move(saved, deps.jobs, clock=deps.clock, notified=outcomes)
        except Exception:
            logger.exception("announcement's outcome not recorded yet", extra={"job_id": job.job_id})

    try:
        outcomes = notify_job(job, deps.notify, record)
    except Exception as error:  # the tenant's record or the link could not be read
        logger.exception("report not announced", extra={"job_id": job.job_id})
        failed = {channel: f"failed: {type(error).__name__}" for channel in pending_channels(saved)}
        outcomes = {**(saved.notified or {}), **failed}
    logger.info("report announced", extra={"job_id": job.job_id, "notified": outcomes})
    if saved.notified != outcomes:
        try:
            saved = _move(saved, deps.jobs, clock=deps.clock, notified=outcomes)
        except Exception:  # the report stands whatever happens to its announcement's record
            logger.exception("announcement not recorded on the job", extra={"job_id": job.job_id})
    return saved


class _Tracker:
    """The running job as last saved: each move (a progress step, the outcome) is conditional on it."""

    def __init__(self, job: Job, jobs: JobStore, clock: Clock) -> None:
        self.job, self._jobs, self._clock = job, jobs, clock

    def move(self, **changes: object) -> Job:
        self.job = _move(self.job, self._jobs, clock=self._clock, **changes)
        return self.job

    def progress(self, percent: int) -> None:
        # A lost condition raises RetryLaterError: someone else moved the job (another delivery,
        # the sweeper), so this run stops rather than overwrite their state.
        self.move(progress=percent)


class _Measured:
    """A DocumentStore that remembers the size of what it stored, by key: the job's result size."""

    def __init__(self, documents: DocumentStore) -> None:
        self._documents = documents
        self.sizes: dict[str, int] = {}

    def put(self, key: str, body: bytes, content_type: str, filename: str | None = None) -> None:
        self._documents.put(key, body, content_type, filename)
        self.sizes[key] = len(body)

    def link(self, key: str, ttl_seconds: int, filename: str | None = None) -> str:
        return self._documents.link(key, ttl_seconds, filename)


# The sales summary's steps, as the job's progress (percent): its orders read, its figures computed;
# 100 once the document is stored and the job succeeded.
PROGRESS_ORDERS_READ = 50
PROGRESS_SUMMARIZED = 90


# Errors of the computation itself (a date out of range, a bad amount, a stored record
# that no longer validates: pydantic's ValidationError is a ValueError; OverflowError and
# decimal's errors are ArithmeticErrors). Retrying cannot help, so they are permanent.
DETERMINISTIC_ERRORS: tuple[type[Exception], ...] = (ValueError, ArithmeticError)


def _reason(error: Exception) -> str:
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"the report cannot be computed: {type(error).__name__}: {first_line}"[:500]


def _run(tracker: _Tracker, deps: ReportWorkerDeps) -> tuple[str, int | None]:
    """The job's work; answers the key of its result and the result's size in bytes."""
    job = tracker.job
    if job.params.kind is ReportKind.TABLE_EXPORT:
        if deps.backups is None:
            raise PermanentJobError("this worker is not wired for table exports")
        # A backup of a date run again rewrites that date: a redelivery has one effect.
        manifest = run_backup(job.params.date_from, deps.backups)
        # Its size is the backup's: every table's object (the manifest only lists them).
        return manifest_key(job.params.date_from), sum(table.size_bytes for table in manifest.tables)
    documents = _Measured(deps.documents)
    if job.params.kind is ReportKind.MORNING_REPORT:
        if deps.morning is None:
            raise PermanentJobError("this worker cannot make morning reports (built without their ports)")
        # The morning report is an e-mail and its JSON record, whatever the format field says.
        key = report_key(job.tenant_id, job.job_id)
        write_morning_report(job, key, documents, deps.morning)
    elif job.params.kind in LAKE_REPORT_KINDS:
        key = _write_lake_report(tracker, documents, deps.lake_reports, deps.renderer)
    else:
        key = _write_summary(tracker, deps.orders, documents, deps.zone, deps.renderer)
    return key, documents.sizes.get(key)


def store_report(
    result: ReportDocument | SalesSummary, job: Job, documents: DocumentStore, renderer: ReportRenderer
) -> str:
    """Write the job's result in the job's format to reports/{tenant}/{job_id}.{ext}; answers the key.

    The key is a function of the job: a second run overwrites the same object (one effect). A sales
    summary asked for as JSON stays the SalesSummary document its clients read; in any other format,
    and for every other kind, the ReportDocument is rendered. The object carries its content type and
    the file name a download is saved as.
    """
    format = job.params.format
    if isinstance(result, SalesSummary) and format is ReportFormat.JSON:
        rendered = RenderedReport(
            result.model_dump_json(indent=2).encode(),
            CONTENT_TYPES[ReportFormat.JSON],
            ReportFormat.JSON.value,
        )
    else:
        document = (
            result if isinstance(result, ReportDocument) else sales_document(result, job.params.granularity)
        )
        rendered = renderer.render(document, format)
    key = report_key(job.tenant_id, job.job_id, format)
    documents.put(key, rendered.body, rendered.content_type, download_name(job.params, rendered.extension))
    return key


def _write_summary(
    tracker: _Tracker, orders: OrderSource, documents: DocumentStore, zone: ZoneInfo, renderer: ReportRenderer
) -> str:
    job = tracker.job
    params = job.params
    start, end = period_bounds(params.date_from, params.date_to, zone)
    # Read whole before summing, so "read" is a step the job can show (a period's orders of a small
    # shop fit the worker's memory many times over).
    period = list(orders.between(job.tenant_id, start, end))
    tracker.progress(PROGRESS_ORDERS_READ)
    summary = summarize_sales(job.tenant_id, period, params.date_from, params.date_to, zone)
    tracker.progress(PROGRESS_SUMMARIZED)
    return store_report(summary, job, documents, renderer)


def _write_lake_report(
    tracker: _Tracker, documents: DocumentStore, lake: LakeReportDeps | None, renderer: ReportRenderer
) -> str:
    document = compute_lake_report(tracker.job, lake)
    tracker.progress(PROGRESS_SUMMARIZED)
    # The key is the job's: a second run writes the same bytes (the document has no time in it).
    return store_report(document, tracker.job, documents, renderer)


def _move(job: Job, jobs: JobStore, *, clock: Clock, **changes: object) -> Job:
    updated = job.model_copy(update={**changes, "updated_at": clock(), "version": job.version + 1})
    if not jobs.save(updated, expected_version=job.version):
        # Another delivery of the same message moved the job first; let SQS
        # bring this one back later, when the job's state is settled.
        raise RetryLaterError(f"job {job.job_id} changed concurrently")
    return updated
