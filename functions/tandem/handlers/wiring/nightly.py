"""NightlyFunction's composition root: plans the night and starts its state machine (no DuckDB)."""

from functools import cache

from tandem.adapters.directory_tables import TenantsTable
from tandem.adapters.lake_bucket import S3LakeBucket
from tandem.adapters.state_machine import StepFunctionsRunner
from tandem.handlers.wiring import now
from tandem.logic.lake.nightly import NightStartDeps
from tandem.models.settings import NightlySettings


@cache
def deps() -> NightStartDeps:
    config = NightlySettings()
    bucket = S3LakeBucket(config.data_bucket_name)
    return NightStartDeps(
        tenants=TenantsTable(config.tenants_table_name),
        raw=bucket,
        objects=bucket,
        runner=StepFunctionsRunner(config.nightly_state_machine_arn),
        zone=config.zone,
        clock=now,
    )
