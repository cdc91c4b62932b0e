"""NightlyFunction: the 02:00 schedule (or an operator re-running a day) → the night planned, per
(tenant, source, date), and the nightly state machine started with that plan.

The work itself runs in the state machine's steps (NightlyLakeFunction), so one tenant's or one
file's failure is retried and recorded alone while the others go on.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.handlers.wiring import nightly as root
from tandem.logic.lake.nightly import start_night
from tandem.models.nightly import NightlyRun
from tandem.observability import logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan, execution = start_night(NightlyRun.model_validate(event), root.deps())
    logger.append_keys(night=plan.day.isoformat())
    metrics.add_metric(name="NightlyItemsPlanned", unit=MetricUnit.Count, value=len(plan.items))
    logger.info("night started", extra={"execution": execution, "items": len(plan.items)})
    return {
        "date": plan.day.isoformat(),
        "execution": execution,
        "tenants": plan.tenants,
        "items": len(plan.items),
    }
