"""NightlyLakeFunction's composition root (the analytics layer: DuckDB reads and writes Parquet)."""

from functools import cache

from tandem.adapters.backup_objects import S3BackupObjects
from tandem.adapters.backup_tables import DynamoDbBackupTables, parse_table_names
from tandem.adapters.lake_bucket import S3LakeBucket
from tandem.adapters.orders_table import OrdersTable
from tandem.adapters.parquet_duckdb import DuckDbParquet
from tandem.adapters.queue import SqsQueue
from tandem.handlers.wiring import now
from tandem.logic.backups import BackupDeps
from tandem.logic.lake.nightly import NightDeps
from tandem.logic.lake.products import NightProduct, ProductDeps
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
    return {}


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
