"""NightlyLakeFunction's composition root (the analytics layer: DuckDB reads and writes Parquet)."""

from datetime import date
from functools import cache

from tandem.adapters.backup_objects import S3BackupObjects
from tandem.adapters.backup_tables import DynamoDbBackupTables, parse_table_names
from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.directory_tables import TenantsTable
from tandem.adapters.jobs_table import JobsTable
from tandem.adapters.lake_bucket import S3LakeBucket
from tandem.adapters.model_store import S3ModelArtifacts
from tandem.adapters.orders_table import OrdersTable
from tandem.adapters.parquet_duckdb import DuckDbParquet
from tandem.adapters.queue import S3ClaimChecks, SqsQueue
from tandem.adapters.rollups_table import RollupsTable
from tandem.handlers.wiring import now
from tandem.logic.backups import BackupDeps
from tandem.logic.fraud_retraining import RetrainingDeps, retrain_fraud_model
from tandem.logic.inventory import InventoryDeps, make_suggestions
from tandem.logic.lake.dashboard import make_rollups
from tandem.logic.lake.intake import curation_deps, tenant_config
from tandem.logic.lake.nightly import NightDeps
from tandem.logic.lake.nightly import intake_deps as _intake
from tandem.logic.lake.products import Counts, NightProduct, ProductDeps
from tandem.logic.lake.sources import tenant_fx
from tandem.logic.morning_report import MorningQueueDeps, queue_morning_report
from tandem.models.settings import NightlyLakeSettings


@cache
def settings() -> NightlyLakeSettings:
    return NightlyLakeSettings()


@cache
def deps() -> NightDeps:
    config = settings()
    bucket = S3LakeBucket(config.data_bucket_name)
    # DuckDB writes and reads the Parquet and runs the connectors it has in SQL (erp_orders)
    duckdb = DuckDbParquet()
    return NightDeps(
        raw=bucket,
        objects=bucket,
        parquet=duckdb,
        orders=OrdersTable(config.orders_table_name),
        zone=config.zone,
        bulk=duckdb,
    )


@cache
def products() -> dict[str, NightProduct]:
    """The night's products by name, each with its own adapters; the state machine's product
    states (template.yaml, NightlyStateMachine) name them."""
    # in the order the state machine runs them (template.yaml, NightlyStateMachine)
    return {
        "rollups": _rollups,
        "inventory": _inventory,
        "fraud_model": _fraud_model,
        "morning_report": _morning_report,
    }


def _rollups(tenant_id: str, day: date) -> Counts:
    night = deps()
    curation = curation_deps(tenant_id, _intake(night))
    config = tenant_config(tenant_id, night.objects)
    table = RollupsTable(settings().rollups_table_name)
    return make_rollups(tenant_id, day, curation, table, tenant_fx(config), config.channels)


@cache
def inventory() -> InventoryDeps:
    night = deps()
    return InventoryDeps(
        objects=night.objects,
        parquet=night.parquet,
        stock=CatalogTable(settings().products_table_name),
        clock=now,
    )


def _inventory(tenant_id: str, day: date) -> dict[str, int]:
    # Its adapters built when first run, not when the products are listed.
    return make_suggestions(tenant_id, day, inventory())


@cache
def fraud_retraining() -> RetrainingDeps:
    night = deps()
    return RetrainingDeps(
        orders=night.orders,
        objects=night.objects,
        parquet=night.parquet,
        artifacts=S3ModelArtifacts(settings().data_bucket_name),
    )


def _fraud_model(tenant_id: str, day: date) -> Counts:
    return retrain_fraud_model(tenant_id, day, fraud_retraining())


@cache
def morning_report() -> MorningQueueDeps:
    config = settings()
    return MorningQueueDeps(
        jobs=JobsTable(config.jobs_table_name),
        queue=SqsQueue(config.report_queue_url, claims=S3ClaimChecks(config.data_bucket_name)),
        tenants=TenantsTable(config.tenants_table_name),
        clock=now,
    )


def _morning_report(tenant_id: str, day: date) -> Counts:
    # The report itself is made and mailed by the report worker: this queues its job, once.
    return queue_morning_report(tenant_id, day, morning_report())


@cache
def product_deps() -> ProductDeps:
    return ProductDeps(products=products(), objects=deps().objects)


@cache
def failures() -> SqsQueue:
    return SqsQueue(settings().nightly_failure_queue_url)


@cache
def backup_deps() -> BackupDeps:
    config = settings()
    return BackupDeps(
        tables=DynamoDbBackupTables(parse_table_names(config.backup_tables)),
        objects=S3BackupObjects(config.data_bucket_name),
        clock=now,
    )
