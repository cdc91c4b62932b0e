"""NightlyLakeFunction: the steps of the nightly state machine, one call per step.

- `item`: one (tenant, source, date): the checkout's orders exported, or a source's raw files
  curated into the lake. Answers the files' counts.
- `finish`: one tenant's day: its manifest assembled and its sales rollup computed from the lake.
- `product`: one of the night's products for one tenant's finished day (tandem.logic.lake.products:
  rollups, inventory suggestions, …), its outcome recorded in the day's manifest.
- `backup`: every table of the deployment exported to backups/{date}/ with its manifest
  (tandem.logic.backups), once a night after the tenants' days. Answers each table's item count.
- `outcome`: every failure the state machine caught parked on NightlyFailureQueue with its reason;
  the step (and so the run) fails if there was one, which the alarm on failed runs sees.

An error raised here is what the state machine retries and then catches, so it is let through.
"""

from typing import Annotated, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, TypeAdapter

from tandem.handlers.wiring import nightly_lake as root
from tandem.logic.backups import run_backup
from tandem.logic.lake.nightly import finish_day, night_outcome, run_item
from tandem.logic.lake.products import run_product
from tandem.models.nightly import BackupStep, FinishStep, ItemStep, OutcomeStep, ProductStep
from tandem.observability import logger, metrics

Step = Annotated[ItemStep | FinishStep | ProductStep | OutcomeStep | BackupStep, Field(discriminator="step")]
STEP: TypeAdapter[ItemStep | FinishStep | ProductStep | OutcomeStep | BackupStep] = TypeAdapter(Step)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = STEP.validate_python(event)
    if isinstance(step, ItemStep):
        item = step.item
        logger.append_keys(tenant_id=item.tenant_id, source=item.source, night=item.day.isoformat())
        files = run_item(item, root.deps())
        metrics.add_metric(name="NightlyItemDone", unit=MetricUnit.Count, value=1)
        return {
            "item": item.model_dump(mode="json", by_alias=True),
            "files": len(files),
            "rows_in": sum(f.rows_in for f in files),
            "rows_curated": sum(f.rows_curated for f in files),
        }
    if isinstance(step, FinishStep):
        logger.append_keys(tenant_id=step.tenant_id, night=step.day.isoformat())
        manifest, summary = finish_day(step.tenant_id, step.day, root.deps())
        logger.info("day finished", extra={"balanced": manifest.balanced, "orders": summary.orders})
        return {"tenant_id": step.tenant_id, "balanced": manifest.balanced, "orders": summary.orders}
    if isinstance(step, ProductStep):
        logger.append_keys(tenant_id=step.tenant_id, night=step.day.isoformat(), product=step.product)
        outcome = run_product(step.product, step.tenant_id, step.day, root.product_deps())
        logger.info("product made", extra={"counts": outcome.counts, "seconds": outcome.seconds})
        metrics.add_metric(name="NightlyProductDone", unit=MetricUnit.Count, value=1)
        return outcome.model_dump(mode="json")
    if isinstance(step, BackupStep):
        logger.append_keys(night=step.day.isoformat())
        backup = run_backup(step.day, root.backup_deps())
        metrics.add_metric(name="NightlyBackupDone", unit=MetricUnit.Count, value=1)
        return {"date": step.day.isoformat(), "tables": {t.table: t.items for t in backup.tables}}
    processed = night_outcome(step, root.failures())
    return {"date": step.day.isoformat(), "items": processed}
