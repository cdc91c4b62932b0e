"""Nightly batch: each tenant's rollup of the previous local day (or of any past day asked for)."""

from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tandem.adapters.directory_tables import TenantsTable
from tandem.adapters.documents import S3Documents
from tandem.adapters.orders_table import OrdersTable
from tandem.logic.rollups import day_to_roll_up, run_daily_rollups
from tandem.models.settings import NightlySettings
from tandem.observability import logger, metrics


class NightlyRun(BaseModel):
    """What the schedule sends (template.yaml: Input), or what an operator sends to re-run a day.

    `time` is there too so an EventBridge scheduled event works unchanged.
    """

    model_config = ConfigDict(extra="ignore")

    day: date | None = Field(default=None, alias="date", description="the local day; default: yesterday")
    scheduled_time: AwareDatetime | None = None
    time: AwareDatetime | None = None
    tenants: list[str] | None = Field(default=None, description="only these tenants; default: all")


@cache
def _settings() -> NightlySettings:
    return NightlySettings()  # filled from the environment


@cache
def _adapters() -> tuple[TenantsTable, OrdersTable, S3Documents]:
    settings = _settings()
    return (
        TenantsTable(settings.tenants_table_name),
        OrdersTable(settings.orders_table_name),
        S3Documents(settings.data_bucket_name),
    )


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = NightlyRun.model_validate(event)
    settings = _settings()
    fired_at = run.scheduled_time or run.time or datetime.now(UTC)
    day = day_to_roll_up(run.day, fired_at, settings.zone)
    logger.append_keys(rollup_date=day.isoformat())
    tenants, orders, documents = _adapters()
    keys = run_daily_rollups(
        day, tenants=tenants, orders=orders, documents=documents, zone=settings.zone, only=run.tenants
    )
    metrics.add_metric(name="RollupsWritten", unit=MetricUnit.Count, value=len(keys))
    logger.info("rollups written", extra={"count": len(keys)})
    return {"date": day.isoformat(), "written": keys}
