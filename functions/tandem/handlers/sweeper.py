"""Every minute: what checkouts that never finished hold is given back, their authorizations voided."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.handlers.wiring import now
from tandem.handlers.wiring import sweeper as root
from tandem.logic.sweeper import sweep
from tandem.observability import logger, metrics

# SweepReport's counts, as the metrics they are published under.
METRICS = {
    "expired": "SweepExpired",
    "voided": "SweepVoided",
    "settled": "SweepSettled",
    "failed": "SweepFailed",
}


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # As of the function's own clock: a late or retried run still sweeps everything due.
    counts = asdict(sweep(root.deps(), now()))
    for field, name in METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=counts[field])
    logger.info("sweep finished", extra=counts)
    return counts
