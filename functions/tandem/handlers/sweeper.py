"""Every minute: what checkouts that never finished hold is given back, their authorizations voided;
report jobs nobody will finish are failed (timed_out)."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.handlers.wiring import now
from tandem.handlers.wiring import sweeper as root
from tandem.logic.job_sweeper import sweep_jobs
from tandem.logic.sweeper import sweep
from tandem.observability import logger, metrics

# SweepReport's counts, as the metrics they are published under.
METRICS = {
    "expired": "SweepExpired",
    "voided": "SweepVoided",
    "settled": "SweepSettled",
    "failed": "SweepFailed",
}


# JobSweepReport's counts, as the metrics (and the answer's keys, prefixed `jobs_`).
JOB_METRICS = {
    "timed_out": "SweepJobsTimedOut",
    "moved_on": "SweepJobsMovedOn",
    "failed": "SweepJobsFailed",
}


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # Two duties, each on its own: one that raises does not stop the other; the run still fails
    # afterwards, so SweeperFailureQueue and its alarm see it.
    counts: dict[str, int] = {}
    errors: list[Exception] = []
    for duty in (_checkouts, _jobs):
        try:
            counts.update(duty())
        except Exception as error:
            logger.exception("a sweeper duty failed; the next run retries it", extra={"duty": duty.__name__})
            errors.append(error)
    if errors:
        raise errors[0]
    return counts


def _checkouts() -> dict[str, int]:
    # As of the function's own clock: a late or retried run still sweeps everything due.
    counts = asdict(sweep(root.deps(), now()))
    for field, name in METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=counts[field])
    logger.info("sweep finished", extra=counts)
    return counts


def _jobs() -> dict[str, int]:
    counts = asdict(sweep_jobs(root.jobs(), now()))
    for field, name in JOB_METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=counts[field])
    logger.info("job sweep finished", extra=counts)
    return {f"jobs_{field}": value for field, value in counts.items()}
