"""IngestWorkerFunction's composition root (the analytics layer: DuckDB writes the Parquet)."""

from functools import cache

from tandem.adapters.lake_bucket import S3LakeBucket
from tandem.adapters.parquet_duckdb import DuckDbParquet
from tandem.adapters.queue import SqsPoisonParking
from tandem.logic.lake.intake import IntakeDeps
from tandem.logic.ports import PoisonParking
from tandem.models.settings import IngestSettings


@cache
def deps() -> IntakeDeps:
    config = IngestSettings()
    bucket = S3LakeBucket(config.data_bucket_name)
    # DuckDB writes the Parquet and runs the connectors it has in SQL (erp_orders)
    duckdb = DuckDbParquet()
    return IntakeDeps(raw=bucket, objects=bucket, parquet=duckdb, zone=config.reporting_timezone, bulk=duckdb)


@cache
def poison_parking() -> PoisonParking:
    return SqsPoisonParking(IngestSettings().ingest_dead_letter_queue_url)
