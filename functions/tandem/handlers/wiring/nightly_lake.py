"""NightlyLakeFunction's composition root (the analytics layer: DuckDB reads and writes Parquet)."""

from functools import cache

from tandem.adapters.lake_bucket import S3LakeBucket
from tandem.adapters.model_store import S3ModelArtifacts
from tandem.adapters.orders_table import OrdersTable
from tandem.adapters.parquet_duckdb import DuckDbParquet
from tandem.adapters.queue import SqsQueue
from tandem.logic.fraud_retraining import RetrainingDeps, retrain_fraud_model
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
    return {
        "fraud_model": lambda tenant_id, day: retrain_fraud_model(tenant_id, day, fraud_retraining()),
    }


@cache
def fraud_retraining() -> RetrainingDeps:
    night = deps()
    return RetrainingDeps(
        orders=night.orders,
        objects=night.objects,
        parquet=night.parquet,
        artifacts=S3ModelArtifacts(settings().data_bucket_name),
    )


@cache
def product_deps() -> ProductDeps:
    return ProductDeps(products=products(), objects=deps().objects)


@cache
def failures() -> SqsQueue:
    return SqsQueue(settings().nightly_failure_queue_url)
