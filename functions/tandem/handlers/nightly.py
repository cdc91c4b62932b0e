"""Nightly batch: each tenant's rollup of the previous local day (or of any past day asked for)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.handlers.wiring import nightly as root
from tandem.logic.rollups import day_to_roll_up, run_daily_rollups
from tandem.models.nightly import NightlyRun
from tandem.observability import logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = NightlyRun.model_validate(event)
    deps = root.deps()
    day = day_to_roll_up(run.day, run.scheduled_time or run.time or deps.clock(), deps.zone)
    logger.append_keys(rollup_date=day.isoformat())
    keys = run_daily_rollups(day, run.tenants, deps)
    metrics.add_metric(name="RollupsWritten", unit=MetricUnit.Count, value=len(keys))
    logger.info("rollups written", extra={"count": len(keys)})
    return {"date": day.isoformat(), "written": keys}
