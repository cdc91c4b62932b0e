"""The job sweep: jobs queued or running with no change for longer than a message can live are
failed as timed_out, once, and never a job that moved on meanwhile."""

import json
from datetime import UTC, date, datetime, timedelta

from tandem.logic.job_sweeper import JobSweepDeps, JobSweepReport, sweep_jobs
from tandem.logic.report_notifications import NotifyDeps
from tandem.models.records import FailureReason, Job, JobStatus, ReportParams, Tenant, TenantWebhook
from tests.fakes import FakeDocuments, FakeJobs, FakeMailer, FakeTenantProfiles, FakeWebhooks

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
VISIBILITY, RECEIVES = 360, 5
IDLE_AFTER = timedelta(seconds=VISIBILITY * RECEIVES)  # 30 minutes


def _job(job_id: str, status: JobStatus, idle: timedelta, tenant: str = "acme") -> Job:
    changed = NOW - idle
    return Job(
        tenant_id=tenant,
        job_id=job_id,
        params=ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 2)),
        status=status,
        created_at=changed - timedelta(minutes=1),
        updated_at=changed,
        version=3,
    )


def _deps(jobs: FakeJobs) -> JobSweepDeps:
    return JobSweepDeps(idle=jobs, jobs=jobs, idle_after=IDLE_AFTER)


def test_stuck_jobs_are_failed_as_timed_out_and_the_rest_left_alone() -> None:
    jobs = FakeJobs()
    for job in (
        _job("killed", JobStatus.RUNNING, IDLE_AFTER + timedelta(seconds=1)),
        _job("lost", JobStatus.QUEUED, timedelta(hours=5), tenant="bravo"),
        _job("working", JobStatus.RUNNING, IDLE_AFTER - timedelta(seconds=1)),
        _job("waiting", JobStatus.QUEUED, timedelta(minutes=2)),
        _job("done", JobStatus.SUCCEEDED, timedelta(days=2)),
    ):
        jobs.items[(job.tenant_id, job.job_id)] = job
    assert sweep_jobs(_deps(jobs), NOW) == JobSweepReport(timed_out=2)

    for tenant, job_id, was in (("acme", "killed", "running"), ("bravo", "lost", "queued")):
        failed = jobs.items[(tenant, job_id)]
        assert (failed.status, failed.failure_reason, failed.version) == (
            JobStatus.FAILED,
            FailureReason.TIMED_OUT,
            4,
        )
        assert failed.finished_at == failed.updated_at == NOW
        assert failed.error is not None
        assert failed.error.startswith(f"{was} with no change for 1800 s")
    statuses = {job_id: job.status for (_, job_id), job in jobs.items.items()}
    assert statuses["working"] is JobStatus.RUNNING
    assert statuses["waiting"] is JobStatus.QUEUED
    assert statuses["done"] is JobStatus.SUCCEEDED
    # Idempotent: a sweep again finds nothing left to fail.
    assert sweep_jobs(_deps(jobs), NOW) == JobSweepReport()


class LaggingIndex(FakeJobs):
    """The index as read a moment before the job finished: it still says running."""

    def __init__(self, stale: list[Job]) -> None:
        super().__init__()
        self.stale = stale

    def idle(self, before: datetime, limit: int) -> list[Job]:  # noqa: ARG002 - the stale read, whatever asked
        return self.stale


def test_a_job_that_finished_meanwhile_is_not_failed() -> None:
    running = _job("late", JobStatus.RUNNING, timedelta(hours=1))
    jobs = LaggingIndex([running])
    # It succeeded after the index was read (its version moved on).
    finished = running.model_copy(update={"status": JobStatus.SUCCEEDED, "version": running.version + 1})
    jobs.items[("acme", "late")] = finished
    assert sweep_jobs(_deps(jobs), NOW) == JobSweepReport(moved_on=1)
    assert jobs.items[("acme", "late")] == finished


def test_one_job_that_cannot_be_saved_does_not_stop_the_others() -> None:
    first = _job("a", JobStatus.RUNNING, timedelta(hours=1))
    second = _job("b", JobStatus.RUNNING, timedelta(hours=1))
    jobs = FakeJobs()
    jobs.items = {("acme", "a"): first, ("acme", "b"): second}
    save = jobs.save

    def flaky(job: Job, expected_version: int) -> bool:
        if job.job_id == "a":
            raise ConnectionError("throttled")
        return save(job, expected_version)

    jobs.save = flaky  # type: ignore[method-assign]
    assert sweep_jobs(_deps(jobs), NOW) == JobSweepReport(timed_out=1, failed=1)
    assert jobs.items[("acme", "a")].status is JobStatus.RUNNING
    assert jobs.items[("acme", "b")].status is JobStatus.FAILED


def _notify(webhooks: FakeWebhooks, mailer: FakeMailer) -> NotifyDeps:
    tenants = FakeTenantProfiles()
    tenants.add(
        Tenant(
            tenant_id="acme",
            name="Acme Mugs",
            report_email="owner@acme.example",
            webhook=TenantWebhook(url="https://hooks.acme.example/t", secret="whsec_" + "s" * 32, set_at=NOW),
        )
    )
    return NotifyDeps(
        tenants=tenants,
        webhooks=webhooks,
        mailer=mailer,
        documents=FakeDocuments(),
        clock=lambda: NOW,
        sleep=lambda _seconds: None,
        attempts=2,
    )


def test_a_timed_out_job_is_announced_once_and_the_outcome_saved_on_it() -> None:
    jobs, webhooks, mailer = FakeJobs(), FakeWebhooks(), FakeMailer()
    stuck = _job("killed", JobStatus.RUNNING, IDLE_AFTER + timedelta(minutes=1))
    jobs.items[("acme", "killed")] = stuck
    deps = JobSweepDeps(idle=jobs, jobs=jobs, idle_after=IDLE_AFTER, notify=_notify(webhooks, mailer))
    assert sweep_jobs(deps, NOW) == JobSweepReport(timed_out=1)

    (call,) = webhooks.calls
    event = json.loads(call.body)
    assert (event["type"], event["data"]["failure_reason"], event["data"]["result"]) == (
        "report.failed",
        "timed_out",
        None,
    )
    (mail,) = mailer.sent
    assert mail.to == "owner@acme.example"
    job = jobs.items[("acme", "killed")]
    assert job.status is JobStatus.FAILED
    assert job.notified == {"webhook": "delivered", "email": "sent"}
    # Final now: no later sweep reads it, nothing is told twice.
    assert sweep_jobs(deps, NOW + timedelta(hours=1)) == JobSweepReport()
    assert (len(webhooks.calls), len(mailer.sent)) == (1, 1)


def test_a_failed_announcement_leaves_the_job_failed_as_timed_out() -> None:
    jobs, webhooks, mailer = FakeJobs(), FakeWebhooks(status=503), FakeMailer(fail_with=OSError("down"))
    jobs.items[("acme", "lost")] = _job("lost", JobStatus.QUEUED, timedelta(hours=2))
    deps = JobSweepDeps(idle=jobs, jobs=jobs, idle_after=IDLE_AFTER, notify=_notify(webhooks, mailer))
    assert sweep_jobs(deps, NOW) == JobSweepReport(timed_out=1)
    job = jobs.items[("acme", "lost")]
    assert (job.status, job.failure_reason) == (JobStatus.FAILED, FailureReason.TIMED_OUT)
    assert job.notified is not None
    assert job.notified["webhook"].startswith("failed")
    assert job.notified["email"].startswith("failed")
    assert len(webhooks.calls) == 2  # its two attempts
