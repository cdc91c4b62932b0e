"""The worker's record of a job: progress by phase, attempts, error and its reason, result size,
duration; every write conditional on the job's version."""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tandem.logic import reports
from tandem.logic.errors import EnqueueFailedError, PermanentJobError, RetryLaterError
from tandem.models.messages import ReportRequested
from tandem.models.records import FailureReason, Job, JobStatus, Order, ReportParams
from tests.factories import order
from tests.fakes import FakeClock, FakeDocuments, FakeJobs, FakeOrders, FakeQueue

PARAMS = ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 27))


class RecordingJobs(FakeJobs):
    """FakeJobs that keeps every state saved, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[tuple[JobStatus, int]] = []

    def save(self, job: Job, expected_version: int) -> bool:
        saved = super().save(job, expected_version)
        if saved:
            self.history.append((job.status, job.progress))
        return saved


class SlowOrders(FakeOrders):
    """Reading the period takes `seconds` of the clock, and may run `meanwhile` (a racing writer)."""

    def __init__(self, orders: list[Order], clock: FakeClock, seconds: float) -> None:
        super().__init__(orders)
        self.clock, self.seconds = clock, seconds
        self.meanwhile = lambda: None

    def between(self, tenant_id: str, start: datetime, end: datetime) -> Iterable[Order]:
        self.clock.advance(seconds=self.seconds)
        self.meanwhile()
        return super().between(tenant_id, start, end)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jobs() -> RecordingJobs:
    return RecordingJobs()


@pytest.fixture
def orders(clock: FakeClock) -> SlowOrders:
    return SlowOrders([order(datetime(2026, 11, 2, 12, tzinfo=UTC), ("A", 2, "5.00"))], clock, seconds=2.5)


@pytest.fixture
def documents() -> FakeDocuments:
    return FakeDocuments()


def _request(jobs: FakeJobs, clock: FakeClock) -> ReportRequested:
    deps = reports.ReportDeps(
        jobs=jobs,
        queue=FakeQueue(),
        documents=FakeDocuments(),
        link_ttl_seconds=900,
        clock=clock,
        new_id=lambda: "job-1",
    )
    job = reports.request_report("acme", PARAMS, deps, None)
    return ReportRequested(tenant_id="acme", job_id=job.job_id, params=PARAMS)


def _run(
    message: ReportRequested,
    jobs: FakeJobs,
    orders: FakeOrders,
    documents: FakeDocuments,
    clock: FakeClock,
    attempt: int = 1,
) -> Job:
    deps = reports.ReportWorkerDeps(
        jobs=jobs, orders=orders, documents=documents, max_attempts=3, zone=ZoneInfo("UTC"), clock=clock
    )
    return reports.run_report(message, attempt, deps)


def test_a_summary_moves_through_its_phases_and_records_size_and_duration(
    jobs: RecordingJobs, orders: SlowOrders, documents: FakeDocuments, clock: FakeClock
) -> None:
    message = _request(jobs, clock)
    job = _run(message, jobs, orders, documents, clock)
    assert jobs.history == [
        (JobStatus.RUNNING, 0),
        (JobStatus.RUNNING, reports.PROGRESS_ORDERS_READ),
        (JobStatus.RUNNING, reports.PROGRESS_SUMMARIZED),
        (JobStatus.SUCCEEDED, 100),
    ]
    assert job.result_bytes == len(documents.objects["reports/acme/job-1.json"])
    assert job.duration_seconds == 2.5  # the read took 2.5 s of the clock; nothing else moved it
    assert (job.attempts, job.error, job.failure_reason) == (1, None, None)
    assert jobs.get("acme", "job-1") == job


def test_a_permanent_error_fails_with_its_reason_and_duration(
    jobs: RecordingJobs, orders: SlowOrders, documents: FakeDocuments, clock: FakeClock
) -> None:
    message = _request(jobs, clock)
    orders.meanwhile = lambda: (_ for _ in ()).throw(PermanentJobError("no data source for the period"))
    job = _run(message, jobs, orders, documents, clock)
    assert (job.status, job.failure_reason, job.error) == (
        JobStatus.FAILED,
        FailureReason.CANNOT_COMPUTE,
        "no data source for the period",
    )
    assert job.duration_seconds == 2.5
    assert job.result_bytes is None


def test_the_last_attempt_fails_with_retries_exhausted_and_a_redrive_clears_it(
    jobs: RecordingJobs, orders: SlowOrders, documents: FakeDocuments, clock: FakeClock
) -> None:
    message = _request(jobs, clock)
    orders.fail_with = TimeoutError("read timed out")
    with pytest.raises(TimeoutError):
        _run(message, jobs, orders, documents, clock, attempt=3)
    failed = jobs.get("acme", "job-1")
    assert failed is not None
    assert (failed.status, failed.failure_reason, failed.attempts) == (
        JobStatus.FAILED,
        FailureReason.RETRIES_EXHAUSTED,
        3,
    )
    orders.fail_with = None
    again = _run(message, jobs, orders, documents, clock, attempt=1)
    assert (again.status, again.failure_reason, again.error, again.progress) == (
        JobStatus.SUCCEEDED,
        None,
        None,
        100,
    )


def test_a_stale_worker_cannot_overwrite_a_newer_state(
    jobs: RecordingJobs, orders: SlowOrders, documents: FakeDocuments, clock: FakeClock
) -> None:
    message = _request(jobs, clock)

    def swept() -> None:
        # While the worker reads, the sweeper (or another delivery) moves the job on.
        current = jobs.get("acme", "job-1")
        assert current is not None
        newer = current.model_copy(
            update={
                "status": JobStatus.FAILED,
                "failure_reason": FailureReason.TIMED_OUT,
                "version": current.version + 1,
            }
        )
        assert jobs.save(newer, expected_version=current.version)

    orders.meanwhile = swept
    with pytest.raises(RetryLaterError):
        _run(message, jobs, orders, documents, clock)
    stored = jobs.get("acme", "job-1")
    assert stored is not None
    assert (stored.status, stored.failure_reason, stored.progress) == (
        JobStatus.FAILED,
        FailureReason.TIMED_OUT,
        0,
    )
    assert documents.objects == {}  # it stopped at its next step: nothing written


def _api(jobs: FakeJobs, queue: FakeQueue, clock: FakeClock) -> reports.ReportDeps:
    return reports.ReportDeps(
        jobs=jobs,
        queue=queue,
        documents=FakeDocuments(),
        link_ttl_seconds=900,
        clock=clock,
        new_id=lambda: "job-1",
    )


def test_a_job_whose_message_cannot_be_queued_is_failed_not_left_queued(clock: FakeClock) -> None:
    jobs = FakeJobs()
    queue = FakeQueue(fail_with=ConnectionError("sqs unreachable"))
    with pytest.raises(EnqueueFailedError) as raised:
        reports.request_report("acme", PARAMS, _api(jobs, queue, clock), None)
    assert raised.value.details[0]["ctx"] == {"job_id": "job-1"}
    job = jobs.get("acme", "job-1")
    assert job is not None
    assert (job.status, job.failure_reason, job.version) == (
        JobStatus.FAILED,
        FailureReason.ENQUEUE_FAILED,
        2,
    )
    assert job.finished_at == clock.now
    assert "sqs" not in (job.error or "")  # internals stay in the logs
    assert queue.sent == []


def test_when_the_job_cannot_be_failed_either_it_stays_queued_for_the_sweeper(clock: FakeClock) -> None:
    jobs = FakeJobs()

    def down(job: Job, expected_version: int) -> bool:
        raise ConnectionError("dynamodb unreachable")

    jobs.save = down  # type: ignore[method-assign]
    with pytest.raises(EnqueueFailedError):
        reports.request_report("acme", PARAMS, _api(jobs, FakeQueue(fail_with=TimeoutError()), clock), None)
    job = jobs.get("acme", "job-1")
    assert job is not None
    assert job.status is JobStatus.QUEUED
