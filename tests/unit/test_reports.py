import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tandem.logic import reports
from tandem.logic.errors import NotFoundError, PermanentJobError, RetryLaterError
from tandem.models.messages import ReportRequested
from tandem.models.records import JobStatus, ReportParams
from tests.factories import order
from tests.fakes import FakeClock, FakeDocuments, FakeJobs, FakeOrders, FakeQueue

UTC_ZONE = ZoneInfo("UTC")
PARAMS = ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 27))


@pytest.fixture
def world() -> dict:
    return {
        "jobs": FakeJobs(),
        "queue": FakeQueue(),
        "orders": FakeOrders(
            [
                order(datetime(2026, 11, 2, 12, tzinfo=UTC), ("A", 2, "5.00")),
                order(datetime(2026, 11, 3, 12, tzinfo=UTC), ("B", 1, "7.50")),
                order(datetime(2026, 11, 3, 12, tzinfo=UTC), ("B", 1, "7.50"), tenant="other"),
            ]
        ),
        "documents": FakeDocuments(),
        "clock": FakeClock(),
    }


def _request(world: dict, tenant: str = "acme") -> ReportRequested:
    job = reports.request_report(tenant, PARAMS, _api_deps(world), correlation_id="corr-1")
    message, attributes = world["queue"].sent[-1]
    assert isinstance(message, ReportRequested)
    assert message.job_id == job.job_id
    assert attributes == {"correlation_id": "corr-1"}
    return message


def _api_deps(world: dict) -> reports.ReportDeps:
    return reports.ReportDeps(
        jobs=world["jobs"],
        queue=world["queue"],
        documents=world["documents"],
        link_ttl_seconds=900,
        clock=world["clock"],
        new_id=lambda: f"job-{len(world['jobs'].items) + 1}",
    )


def _run(world: dict, message: ReportRequested, attempt: int = 1, max_attempts: int = 3):
    deps = reports.ReportWorkerDeps(
        jobs=world["jobs"],
        orders=world["orders"],
        documents=world["documents"],
        max_attempts=max_attempts,
        zone=UTC_ZONE,
        clock=world["clock"],
    )
    return reports.run_report(message, attempt, deps)


def test_request_report_records_a_queued_job_before_enqueuing(world: dict) -> None:
    message = _request(world)
    job = world["jobs"].get("acme", message.job_id)
    assert job.status is JobStatus.QUEUED
    assert job.correlation_id == "corr-1"
    assert job.params == PARAMS


def test_run_report_writes_the_summary_and_succeeds(world: dict) -> None:
    message = _request(world)
    world["clock"].advance(seconds=3)
    job = _run(world, message)
    assert job.status is JobStatus.SUCCEEDED
    assert job.attempts == 1
    assert job.finished_at == world["clock"].now
    assert job.result_key == f"reports/acme/{message.job_id}.json"
    document = json.loads(world["documents"].objects[job.result_key])
    assert document["orders"] == 2  # the other tenant's order is not counted
    assert document["by_currency"]["GBP"]["revenue"] == "17.50"
    assert world["jobs"].get("acme", message.job_id) == job


def test_run_report_twice_has_one_effect(world: dict) -> None:
    message = _request(world)
    first = _run(world, message)
    second = _run(world, message, attempt=2)
    assert second == first
    assert world["documents"].puts == 1


def test_run_report_failure_before_the_last_attempt_requeues_the_job_and_raises(world: dict) -> None:
    message = _request(world)
    world["orders"].fail_with = TimeoutError("dynamodb timed out")
    with pytest.raises(TimeoutError):
        _run(world, message, attempt=1, max_attempts=3)
    job = world["jobs"].get("acme", message.job_id)
    assert job.status is JobStatus.QUEUED
    assert job.error == "attempt 1 of 3 failed; it will be retried"
    assert "dynamodb" not in job.error  # internals stay in the logs


def test_run_report_failure_on_the_last_attempt_fails_the_job_and_a_redrive_runs_it_again(
    world: dict,
) -> None:
    message = _request(world)
    world["orders"].fail_with = TimeoutError()
    with pytest.raises(TimeoutError):
        _run(world, message, attempt=3, max_attempts=3)
    failed = world["jobs"].get("acme", message.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.finished_at is not None
    # When the message is redriven from the DLQ after the cause is fixed
    world["orders"].fail_with = None
    job = _run(world, message, attempt=1)
    assert job.status is JobStatus.SUCCEEDED
    assert job.error is None


def test_run_report_fails_at_once_on_a_permanent_error(world: dict) -> None:
    message = _request(world)
    world["orders"].fail_with = PermanentJobError("the period holds no data source")
    job = _run(world, message)
    assert job.status is JobStatus.FAILED
    assert job.error == "the period holds no data source"


def test_run_report_for_an_unknown_job_is_permanent(world: dict) -> None:
    message = ReportRequested(tenant_id="acme", job_id="nope", params=PARAMS)
    with pytest.raises(PermanentJobError):
        _run(world, message)


def test_run_report_loses_a_race_and_asks_for_a_retry(world: dict) -> None:
    message = _request(world)
    jobs = world["jobs"]
    jobs.save = lambda *_, **__: False  # another delivery moved the job first
    with pytest.raises(RetryLaterError):
        _run(world, message)


def test_report_status_hides_other_tenants_jobs(world: dict) -> None:
    message = _request(world, tenant="acme")
    job, _ = reports.report_status("acme", message.job_id, _api_deps(world))
    assert job.job_id == message.job_id
    with pytest.raises(NotFoundError):
        reports.report_status("other", message.job_id, _api_deps(world))


def test_report_status_links_the_result_only_once_the_job_has_succeeded(world: dict) -> None:
    message = _request(world)
    assert reports.report_status("acme", message.job_id, _api_deps(world))[1] is None
    done = _run(world, message)
    _, link = reports.report_status("acme", message.job_id, _api_deps(world))
    assert link is not None
    url, expires_at = link
    # Saved under its name: <kind>-<from>-<to>.<ext>
    assert url.endswith(f"{done.result_key}?ttl=900&filename=sales_summary-2026-11-01-2026-11-27.json")
    assert (expires_at - world["clock"].now).total_seconds() == 900


def test_list_reports_pages_the_tenants_jobs_newest_first(world: dict) -> None:
    for tenant in ("acme", "acme", "other", "acme"):
        _request(world, tenant=tenant)
        world["clock"].advance(seconds=1)
    deps = reports.ReportListDeps(jobs=world["jobs"])
    first, cursor = reports.list_reports("acme", reports.ReportQuery(limit=2), deps)
    assert [job.job_id for job in first] == ["job-4", "job-2"]
    rest, end = reports.list_reports("acme", reports.ReportQuery(limit=2, cursor=cursor), deps)
    assert ([job.job_id for job in rest], end) == (["job-1"], None)
    queued, _ = reports.list_reports("acme", reports.ReportQuery(status=JobStatus.SUCCEEDED), deps)
    assert queued == []
