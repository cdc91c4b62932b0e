"""The intake glue under moto: a raw file put in the data bucket → S3's event on IngestQueue (the
template's notification) → IngestWorkerFunction → Parquet parts, quarantine and manifest."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest

from tandem.handlers import ingest_worker
from tests.conftest import FakeLambdaContext
from tests.events import sqs_event
from tests.moto_stack import REGION
from tests.shared_data import SHARED_DATA
from tests.template_model import Resolver

RETAIL = SHARED_DATA / "online_retail" / "by-day" / "2010-12-09.csv"
needs_data = pytest.mark.skipif(not RETAIL.is_file(), reason="../shared/data is absent")
DIRTY = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "900001,85123A,  HEART  ,6,2010-12-09 09:00:00,2.55,17850.0,United Kingdom\n"
    "900001,85123A,  HEART  ,6,2010-12-09 09:00:00,2.55,17850.0,United Kingdom\n"
    "C900002,85123A,HEART,-1,2010-12-09 10:00:00,2.55,17850.0,United Kingdom\n"
    "900003,POST,POSTAGE,1,09/12/2010 11:00,18.00,,France\n"
    "900004,85123A,HEART,lots,2010-12-09 09:00:00,2.55,17850.0,United Kingdom\n"
)
PREFIX = "raw/acme/erp_orders/2010-12-09/"


def _s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def _deliver(stack: Resolver, context: Any = None) -> list[dict[str, Any]]:
    """Every message on IngestQueue, handed to the worker as Lambda's poller would; its answer."""
    sqs = boto3.client("sqs", region_name=REGION)
    messages = sqs.receive_message(
        QueueUrl=stack.physical["IngestQueue"], MaxNumberOfMessages=10, AttributeNames=["All"]
    ).get("Messages", [])
    event = sqs_event(messages, stack.attributes[("IngestQueue", "Arn")])
    answer = ingest_worker.handler(event, context or FakeLambdaContext())
    for message in messages:
        sqs.delete_message(QueueUrl=stack.physical["IngestQueue"], ReceiptHandle=message["ReceiptHandle"])
    return answer["batchItemFailures"]


def _get(stack: Resolver, key: str) -> bytes:
    return _s3().get_object(Bucket=stack.physical["DataBucket"], Key=key)["Body"].read()


def _parquet(body: bytes, tmp_path: Path) -> list[tuple[Any, ...]]:
    """A part's rows, read back by DuckDB itself (not by the code that wrote them)."""
    path = tmp_path / f"part-{len(list(tmp_path.iterdir()))}.parquet"
    path.write_bytes(body)
    with duckdb.connect() as db:
        return db.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()


def test_a_raw_file_put_in_the_bucket_is_curated_by_the_worker(stack: Resolver, tmp_path: Path) -> None:
    bucket = stack.physical["DataBucket"]
    assert _deliver(stack) == []  # S3's test event, sent when the notification was set: ignored
    _s3().put_object(Bucket=bucket, Key=f"{PREFIX}late.csv.gz", Body=gzip.compress(DIRTY.encode("cp1252")))
    assert _deliver(stack) == []
    manifest = json.loads(_get(stack, "manifests/acme/2010-12-09.json"))
    [counts] = manifest["sources"]["erp_orders"]
    assert (counts["rows_in"], counts["rows_curated"], counts["duplicates_removed"]) == (5, 3, 1)
    assert counts["quarantined_by_reason"] == {"bad_quantity": 1}
    lines = _parquet(
        _get(stack, "curated/order_lines/tenant=acme/date=2010-12-09/erp_orders__late.csv.gz.parquet"),
        tmp_path,
    )
    assert sorted((row[0], row[1], row[2], row[3], str(row[5]), row[-2]) for row in lines) == [
        ("900001", "85123A", "HEART", 6, "15.3000", "sale"),
        ("900002", "85123A", "HEART", -1, "-2.5500", "return"),
        ("900003", "POST", "POSTAGE", 1, "18.0000", "non_product"),
    ]
    [reject] = _get(stack, "quarantine/acme/erp_orders/2010-12-09/rejects.jsonl").decode().splitlines()
    assert json.loads(reject)["row"]["Quantity"] == "lots"


def test_a_removed_raw_file_takes_its_rows_out_of_the_lake(stack: Resolver) -> None:
    bucket = stack.physical["DataBucket"]
    _deliver(stack)
    _s3().put_object(Bucket=bucket, Key=f"{PREFIX}a.csv", Body=DIRTY.encode())
    _deliver(stack)
    assert _s3().list_objects_v2(Bucket=bucket, Prefix="curated/")["KeyCount"] == 1
    _s3().delete_object(Bucket=bucket, Key=f"{PREFIX}a.csv")
    assert _deliver(stack) == []
    assert _s3().list_objects_v2(Bucket=bucket, Prefix="curated/")["KeyCount"] == 0
    # Nothing left of the day, its manifest included: an emptied bucket stays empty
    assert _s3().list_objects_v2(Bucket=bucket, Prefix="manifests/")["KeyCount"] == 0


def test_a_key_outside_the_layout_is_consumed_not_retried(stack: Resolver) -> None:
    bucket = stack.physical["DataBucket"]
    _deliver(stack)
    _s3().put_object(Bucket=bucket, Key="raw/acme/erp_orders/2010-12-09/nested/x.csv", Body=b"x")
    _s3().put_object(Bucket=bucket, Key="raw/acme/pos_tickets/2010-12-09/x.csv", Body=b"x")
    assert _deliver(stack) == []
    assert _s3().list_objects_v2(Bucket=bucket, Prefix="manifests/")["KeyCount"] == 0


def test_a_transient_failure_returns_the_message_to_the_queue(
    stack: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deliver(stack)
    _s3().put_object(Bucket=stack.physical["DataBucket"], Key=f"{PREFIX}a.csv", Body=DIRTY.encode())

    def unavailable(*_: object, **__: object) -> Callable[..., Any]:
        raise ConnectionError("S3 is having a moment")

    from tandem.handlers.wiring import ingest_worker as root

    monkeypatch.setattr(root.deps().parquet, "encode", unavailable)
    # erp_orders files are curated and encoded in SQL (tandem.adapters.duckdb_erp_orders)
    monkeypatch.setattr(root.deps().parquet, "curate_files", unavailable)
    assert len(_deliver(stack)) == 1


@needs_data
def test_a_shared_file_goes_through_whole(stack: Resolver) -> None:
    _deliver(stack)
    _s3().put_object(
        Bucket=stack.physical["DataBucket"], Key=f"{PREFIX}{RETAIL.name}", Body=RETAIL.read_bytes()
    )
    assert _deliver(stack) == []
    [counts] = json.loads(_get(stack, "manifests/acme/2010-12-09.json"))["sources"]["erp_orders"]
    assert counts["rows_in"] == sum(1 for _ in io.StringIO(RETAIL.read_text("utf-8-sig"))) - 1
    assert (
        counts["rows_in"]
        == counts["rows_curated"] + counts["rows_quarantined"] + counts["duplicates_removed"]
    )
