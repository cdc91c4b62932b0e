"""Table exports as jobs: requested with the date, run by the report worker's run_report, read back."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tandem.logic import exports, reports
from tandem.logic.backups import BackupDeps
from tandem.logic.errors import NotFoundError
from tandem.models.messages import ReportRequested
from tandem.models.records import JobStatus, ReportKind, ReportParams
from tests.fakes import (
    FakeBackupObjects,
    FakeBackupTables,
    FakeClock,
    FakeDocuments,
    FakeJobs,
    FakeOrders,
    FakeQueue,
)


@pytest.fixture
def jobs() -> FakeJobs:
    return FakeJobs()


@pytest.fixture
def queue() -> FakeQueue:
    return FakeQueue()


def export_deps(jobs: FakeJobs, queue: FakeQueue) -> exports.ExportDeps:
    # FakeClock: 2026-11-28 09:30 UTC
    return exports.ExportDeps(
        jobs=jobs, queue=queue, zone=ZoneInfo("UTC"), clock=FakeClock(), new_id=lambda: "a" * 32
    )


def worker(jobs: FakeJobs, objects: FakeBackupObjects, backups: bool = True) -> reports.ReportWorkerDeps:
    tables = FakeBackupTables({"TenantsTable": ("tenant_id",)})
    tables.items["TenantsTable"] = [{"tenant_id": {"S": "acme"}}, {"tenant_id": {"S": "bravo"}}]
    return reports.ReportWorkerDeps(
        jobs=jobs,
        orders=FakeOrders(),
        documents=FakeDocuments(),
        max_attempts=3,
        zone=ZoneInfo("UTC"),
        clock=FakeClock(),
        backups=BackupDeps(tables=tables, objects=objects, clock=FakeClock()) if backups else None,
    )


def test_an_export_is_a_queued_job_of_the_day_asked_or_today_in_the_zone(
    jobs: FakeJobs, queue: FakeQueue
) -> None:
    job = exports.request_export("acme", date(2026, 11, 30), export_deps(jobs, queue), "corr-1")
    assert job.status is JobStatus.QUEUED
    assert job.params == ReportParams(
        kind=ReportKind.TABLE_EXPORT, date_from=date(2026, 11, 30), date_to=date(2026, 11, 30)
    )
    [(message, attributes)] = queue.sent
    assert message == ReportRequested(tenant_id="acme", job_id=job.job_id, params=job.params)
    assert attributes == {"correlation_id": "corr-1"}
    assert exports.request_export(
        "acme", None, export_deps(FakeJobs(), queue), None
    ).params.date_from == date(2026, 11, 28)
    # 12:00 UTC on the 28th is already 01:00 on the 29th in Auckland (UTC+13)
    noon = FakeClock(datetime(2026, 11, 28, 12, tzinfo=UTC))
    auckland = exports.ExportDeps(
        jobs=FakeJobs(), queue=queue, zone=ZoneInfo("Pacific/Auckland"), clock=noon, new_id=lambda: "c" * 32
    )
    assert exports.request_export("acme", None, auckland, None).params.date_from == date(2026, 11, 29)


def test_the_report_worker_runs_an_export_once_per_date_and_records_the_manifest(
    jobs: FakeJobs, queue: FakeQueue
) -> None:
    exports.request_export("acme", date(2026, 11, 30), export_deps(jobs, queue), None)
    message = queue.sent[0][0]
    assert isinstance(message, ReportRequested)
    objects = FakeBackupObjects()
    done = reports.run_report(message, 1, worker(jobs, objects))
    assert done.status is JobStatus.SUCCEEDED
    assert done.result_key == "backups/2026-11-30/manifest.json"
    assert sorted(objects.objects) == [
        "backups/2026-11-30/TenantsTable.jsonl.gz",
        "backups/2026-11-30/manifest.json",
    ]
    # a second delivery: the job has succeeded, nothing runs again
    objects.objects.clear()
    assert reports.run_report(message, 2, worker(jobs, objects)).status is JobStatus.SUCCEEDED
    assert objects.objects == {}


def test_a_worker_without_backups_fails_an_export_job_at_once(jobs: FakeJobs, queue: FakeQueue) -> None:
    exports.request_export("acme", date(2026, 11, 30), export_deps(jobs, queue), None)
    message = queue.sent[0][0]
    assert isinstance(message, ReportRequested)
    failed = reports.run_report(message, 1, worker(jobs, FakeBackupObjects(), backups=False))
    assert failed.status is JobStatus.FAILED
    assert failed.error == "this worker is not wired for table exports"


def test_exports_and_reports_are_read_only_at_their_own_routes(jobs: FakeJobs, queue: FakeQueue) -> None:
    deps = export_deps(jobs, queue)
    job = exports.request_export("acme", date(2026, 11, 30), deps, None)
    assert exports.export_status("acme", job.job_id, deps) == job
    with pytest.raises(NotFoundError):
        exports.export_status("bravo", job.job_id, deps)  # another tenant's
    report_deps = reports.ReportDeps(
        jobs=jobs,
        queue=queue,
        documents=FakeDocuments(),
        link_ttl_seconds=60,
        clock=FakeClock(),
        new_id=lambda: "b" * 32,
    )
    with pytest.raises(NotFoundError):
        reports.report_status("acme", job.job_id, report_deps)
    report = reports.request_report(
        "acme", ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 2)), report_deps, None
    )
    with pytest.raises(NotFoundError):
        exports.export_status("acme", report.job_id, deps)
