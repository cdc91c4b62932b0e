"""IngestWorkerFunction's composition root (the analytics layer: DuckDB writes the Parquet)."""

from functools import cache

from tandem.adapters.lake_bucket import S3LakeBucket
from tandem.adapters.parquet_duckdb import DuckDbParquet
from tandem.logic.lake.intake import IntakeDeps
from tandem.models.settings import IngestSettings


@cache
def deps() -> IntakeDeps:
    config = IngestSettings()
    bucket = S3LakeBucket(config.data_bucket_name)
    return IntakeDeps(raw=bucket, objects=bucket, parquet=DuckDbParquet(), zone=config.reporting_timezone)
