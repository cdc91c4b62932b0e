"""The sweeper's second duty: report jobs that nobody will finish are failed (`timed_out`), once.

A job's message is delivered at most maxReceiveCount times, each delivery hiding it for the
visibility timeout, and every delivery that reaches the worker moves the job (to running, back to
queued, to its end). So a job still queued or running with no change for longer than visibility x
max receives has no message left to run it: its worker was killed by its timeout on the last
delivery (the job then stays `running` for ever), or the message was lost. The sweep fails such
jobs with the reason `timed_out`.

Each failure is one save conditional on the job's version, as every move of a job is: a job that
finished (or moved on) meanwhile is left alone, and overlapping or repeated sweeps fail it once.
A job failed here whose message turns up after all (a backlog, a redrive) is run by the worker
as any failed job is: it can still succeed.

A job failed here is announced to its tenant as the worker announces the jobs it fails
(tandem.logic.report_notifications: `report.failed`, webhook and e-mail), and the outcome is saved
on it (`notified`), channel by channel. The announcement never undoes the failure, and a sweep
whose announcement's save is lost leaves that channel unrecorded: the job is final, so no later
sweep reads it again; the outcome is in the log.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from tandem.logic.ports import IdleJobs, JobStore
from tandem.logic.report_notifications import NotifyDeps, notify_job, should_notify
from tandem.models.records import FailureReason, Job, JobStatus
from tandem.observability import logger


@dataclass(frozen=True)
class JobSweepDeps:
    idle: IdleJobs
    jobs: JobStore
    # ReportQueue's visibility timeout x its maxReceiveCount (template parameters, passed to the
    # sweeper's environment): how long a job's message can live after its last change.
    idle_after: timedelta
    batch: int = 100
    # How the tenant is told (None: nobody is). Few attempts: one sweep may fail many jobs.
    notify: NotifyDeps | None = None


@dataclass(frozen=True)
class JobSweepReport:
    timed_out: int = 0  # jobs failed as timed_out
    moved_on: int = 0  # changed since they were read (finished, retried): left alone
    failed: int = 0  # could not be saved (logged); the next sweep retries them


def sweep_jobs(deps: JobSweepDeps, now: datetime) -> JobSweepReport:
    """Fail every job queued or running with no change since `now - idle_after`; each on its own."""
    timed_out = moved_on = failed = 0
    seconds = int(deps.idle_after.total_seconds())
    for job in deps.idle.idle(now - deps.idle_after, deps.batch):
        if job.status.is_final:  # the index is read eventually consistent: it may lag the table
            moved_on += 1
            continue
        ended = job.model_copy(
            update={
                "status": JobStatus.FAILED,
                "failure_reason": FailureReason.TIMED_OUT,
                "error": (
                    f"{job.status.value} with no change for {seconds} s, longer than its message can "
                    "live: its worker was stopped (a timeout) or the message was lost. Ask again"
                ),
                "finished_at": now,
                "updated_at": now,
                "version": job.version + 1,
            }
        )
        try:
            if deps.jobs.save(ended, expected_version=job.version):
                timed_out += 1
                logger.warning(
                    "job timed out: failed by the sweeper",
                    extra={"tenant_id": job.tenant_id, "job_id": job.job_id, "was": job.status.value},
                )
                _announce(ended, deps)
            else:
                moved_on += 1
        except Exception:
            failed += 1
            logger.exception(
                "sweep failed for one job; the next sweep retries it",
                extra={"tenant_id": job.tenant_id, "job_id": job.job_id},
            )
    return JobSweepReport(timed_out=timed_out, moved_on=moved_on, failed=failed)


def _announce(job: Job, deps: JobSweepDeps) -> None:
    """Tell the tenant its job failed; never raises (the failure stands whatever happens here)."""
    if deps.notify is None or not should_notify(job):
        return
    saved = job

    def record(outcomes: dict[str, str]) -> None:
        # Each channel's outcome saved before the next is tried (as the worker does).
        nonlocal saved
        notified = saved.model_copy(update={"notified": outcomes, "version": saved.version + 1})
        if not deps.jobs.save(notified, expected_version=saved.version):
            raise RuntimeError("the job moved on while it was announced")
        saved = notified

    try:
        outcomes = notify_job(job, deps.notify, record)
        logger.info("timed-out job announced", extra={"job_id": job.job_id, "notified": outcomes})
    except Exception:
        logger.exception("timed-out job not announced", extra={"job_id": job.job_id})
