"""POST /exports' adaptive dispatch: wait for the job when the tables are small, answer 202 when not.

The "worker" here is the real run_report, run on the queued message when the waiting API sleeps:
what the report worker does in the cloud between two of the API's reads of the job."""

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from tandem.logic import exports, reports
from tandem.logic.backups import BackupDeps
from tandem.logic.report_dispatch import Path, Preferences
from tandem.models.messages import ReportRequested
from tandem.models.records import JobStatus
from tests.fakes import (
    FakeBackupObjects,
    FakeBackupTables,
    FakeClock,
    FakeDocuments,
    FakeJobs,
    FakeOrders,
    FakeQueue,
    FakeTableSizes,
)


@dataclass
class Cloud:
    """The API's deps, and a worker that runs a queued message after `worker_delay` seconds."""

    items: int = 100
    worker_delay: float = 0.5
    clock: FakeClock = field(default_factory=FakeClock)
    jobs: FakeJobs = field(default_factory=FakeJobs)
    queue: FakeQueue = field(default_factory=FakeQueue)
    slept: float = 0.0
    objects: FakeBackupObjects = field(default_factory=FakeBackupObjects)

    def deps(self) -> exports.ExportDispatchDeps:
        export = exports.ExportDeps(
            jobs=self.jobs, queue=self.queue, zone=ZoneInfo("UTC"), clock=self.clock, new_id=lambda: "e" * 32
        )
        return exports.ExportDispatchDeps(
            export=export,
            sizes=FakeTableSizes(items=self.items),
            sleep=self.sleep,
            inline_max_items=2000,
            inline_budget_seconds=2.0,
            max_wait_seconds=8,
        )

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds=seconds)
        self.slept += seconds
        if self.slept >= self.worker_delay and self.queue.sent:
            message, _ = self.queue.sent.pop(0)
            assert isinstance(message, ReportRequested)
            tables = FakeBackupTables({"TenantsTable": ("tenant_id",)})
            tables.items["TenantsTable"] = [{"tenant_id": {"S": "acme"}}]
            worker = reports.ReportWorkerDeps(
                jobs=self.jobs,
                orders=FakeOrders(),
                documents=FakeDocuments(),
                max_attempts=1,
                zone=ZoneInfo("UTC"),
                clock=self.clock,
                backups=BackupDeps(tables=tables, objects=self.objects, clock=self.clock),
            )
            reports.run_report(message, 1, worker)


def test_small_tables_are_waited_for_and_answered_with_the_ended_job() -> None:
    cloud = Cloud(items=150, worker_delay=0.75)
    done = exports.dispatch_export("acme", None, Preferences(), cloud.deps(), None)
    assert done.path is Path.INLINE
    assert done.job.status is JobStatus.SUCCEEDED
    assert (done.items, done.limit_items, done.budget_seconds) == (150, 2000, 2.0)
    assert done.applied == ()
    assert cloud.slept == 0.75  # read every 0.25 s until it ended, no longer
    assert "backups/2026-11-28/manifest.json" in cloud.objects.objects


def test_large_tables_are_answered_at_once_without_waiting() -> None:
    cloud = Cloud(items=2001)
    done = exports.dispatch_export("acme", None, Preferences(), cloud.deps(), None)
    assert done.path is Path.ASYNC
    assert not done.waited
    assert done.job.status is JobStatus.QUEUED
    assert cloud.slept == 0
    assert len(cloud.queue.sent) == 1


def test_a_job_that_does_not_end_within_the_budget_is_answered_202_after_the_wait() -> None:
    cloud = Cloud(items=10, worker_delay=5)
    done = exports.dispatch_export("acme", None, Preferences(), cloud.deps(), None)
    assert done.path is Path.ASYNC
    assert done.waited
    assert cloud.slept == 2.0  # the budget, then 202: the job is still queued and runs later
    assert cloud.jobs.get("acme", done.job.job_id).status is JobStatus.QUEUED  # type: ignore[union-attr]


def test_prefer_wait_scales_the_budget_and_is_capped() -> None:
    cloud = Cloud(items=7000, worker_delay=3)
    done = exports.dispatch_export("acme", None, Preferences(wait=60), cloud.deps(), None)
    # capped at 8 s: 8,000 items fit, the job ends after 3 s
    assert (done.path, done.limit_items, done.budget_seconds, done.applied) == (
        Path.INLINE,
        8000,
        8.0,
        ("wait=8",),
    )
    assert cloud.slept == 3


def test_respond_async_gets_a_job_at_once_and_nothing_is_estimated() -> None:
    cloud = Cloud(items=1)
    deps = cloud.deps()
    done = exports.dispatch_export("acme", None, Preferences(respond_async=True), deps, None)
    assert (done.path, done.items, done.applied) == (Path.ASYNC, None, ("respond-async",))
    assert deps.sizes.reads == 0  # type: ignore[attr-defined]
    assert cloud.slept == 0


def test_respond_async_with_wait_waits_then_falls_back_as_asked() -> None:
    cloud = Cloud(items=1, worker_delay=10)
    done = exports.dispatch_export("acme", None, Preferences(respond_async=True, wait=1), cloud.deps(), None)
    assert (done.path, done.applied, done.waited) == (Path.ASYNC, ("respond-async", "wait=1"), True)
    assert cloud.slept == 1
