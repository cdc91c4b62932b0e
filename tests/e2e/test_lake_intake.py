"""The lake's intake on the local cloud: every shared file dropped into raw/ as a tenant's system
would drop it, S3 → IngestQueue → IngestWorkerFunction, and each file counted in its day's
manifest with rows_in = rows_curated + rows_quarantined + duplicates_removed. The expected
numbers are counted here with the csv module, never with the code under test."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tandem.logic.lake.layout import raw_key
from tests.e2e.conftest import Running, wait_until
from tests.shared_data import SHARED_DATA, exact_duplicates, read_rows

RETAIL = sorted((SHARED_DATA / "online_retail" / "by-day").glob("*.csv"))
OLIST = SHARED_DATA / "olist"
# source → files; the catalogue, the CRM and the ads land on one day (their exports are not daily)
UNDATED = date(2011, 3, 1)
OTHERS = {
    "erp_products": [OLIST / "olist_products_dataset.csv"],
    "crm_leads": [OLIST / "olist_marketing_qualified_leads_dataset.csv"],
    "crm_deals": [OLIST / "olist_closed_deals_dataset.csv"],
    "ads_spend": [SHARED_DATA / "ads" / "KAG_conversion_data.csv"],
}
pytestmark = pytest.mark.skipif(not RETAIL, reason="../shared/data is absent")


def _drops() -> list[tuple[str, date, Path]]:
    drops = [("erp_orders", date.fromisoformat(path.stem), path) for path in RETAIL]
    drops += [(source, UNDATED, path) for source, paths in OTHERS.items() for path in paths]
    return drops


def _manifest(running: Running, day: date) -> dict[str, Any] | None:
    s3 = running.cloud.client("s3")
    key = f"manifests/acme/{day.isoformat()}.json"
    try:
        return json.loads(
            s3.get_object(Bucket=running.stack.outputs["DataBucketName"], Key=key)["Body"].read()
        )
    except s3.exceptions.NoSuchKey:
        return None


def test_every_shared_file_dropped_in_raw_is_curated_and_balances(running: Running, tmp_path: Path) -> None:
    s3 = running.cloud.client("s3")
    bucket = running.stack.outputs["DataBucketName"]
    drops = _drops()
    for source, day, path in drops:
        s3.put_object(Bucket=bucket, Key=raw_key("acme", source, day, path.name), Body=path.read_bytes())

    expected = {(source, day, path.name) for source, day, path in drops}

    def all_counted() -> dict[tuple[str, date, str], dict[str, Any]] | None:
        counted: dict[tuple[str, date, str], dict[str, Any]] = {}
        for day in {day for _, day, _ in drops}:
            manifest = _manifest(running, day) or {"sources": {}}
            for source, files in manifest["sources"].items():
                counted |= {(source, day, file["file"]): file for file in files}
        return counted if set(counted) >= expected else None

    counted = wait_until(all_counted, timeout=300, every=2, what="every file in its day's manifest")
    for (source, day, name), file in counted.items():
        path = next(p for s, d, p in drops if (s, d, p.name) == (source, day, name))
        rows = read_rows(path, "utf-8-sig")
        assert file["error"] is None, name
        assert file["rows_in"] == len(rows), name
        assert file["duplicates_removed"] == exact_duplicates(rows), name
        assert file["rows_in"] == file["rows_curated"] + file["rows_quarantined"] + file["duplicates_removed"]
        assert file["rows_quarantined"] == sum(file["quarantined_by_reason"].values())

    # The Parquet holds every curated row: read back by DuckDB, apart from the code that wrote it
    curated = sum(f["rows_curated"] for (s, _, _), f in counted.items() if s == "erp_orders")
    parts = [
        key
        for prefix in ("curated/order_lines/tenant=acme/",)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for key in (item["Key"] for item in page.get("Contents", []))
    ]
    assert len(parts) >= len(RETAIL)
    for index, key in enumerate(parts):
        (tmp_path / f"{index}.parquet").write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    with duckdb.connect() as db:
        [(rows,)] = db.execute("SELECT count(*) FROM read_parquet(?)", [f"{tmp_path}/*.parquet"]).fetchall()
    assert rows == curated
