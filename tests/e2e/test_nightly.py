"""The night on the local cloud: the schedule fired "as of" a date plans the night and starts the
nightly state machine (Step Functions on the emulator), which curates each tenant's sources,
exports the checkout's orders, and writes each tenant's rollup computed from the lake."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import requests
from boto3.dynamodb.conditions import Key

from tandem.adapters.catalog_table import CatalogTable
from tandem.logic.rollups import rollup_key
from tandem.logic.sales import summarize_sales
from tandem.models.catalog import Product
from tandem_local import schedules
from tests.e2e.conftest import Running, wait_until
from tests.factories import order


def _finished(running: Running, execution: str) -> dict[str, Any]:
    sfn = running.cloud.client("stepfunctions")

    def done() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=execution)
        return None if described["status"] == "RUNNING" else dict(described)

    return wait_until(done, timeout=180, every=1, what="the night's state machine to finish")


def _lake_report(running: Running, key: str, kind: str, day: str, fmt: str = "json") -> Any:
    created = running.call(
        "POST", "/reports", key=key, json={"kind": kind, "from": day, "to": day, "format": fmt}
    )
    assert created.status_code == 202, created.text
    assert created.headers["Tandem-Estimate"] == "path=async; reason=worker_only"
    status_url = created.json()["status_url"]
    job = wait_until(
        lambda: (
            (j := running.call("GET", status_url, key=key).json())["status"] in ("succeeded", "failed") and j
        ),
        timeout=90,
        what=f"the {kind} report",
    )
    assert job["status"] == "succeeded", job
    downloaded = requests.get(job["result"]["url"], timeout=10)
    assert downloaded.status_code == 200
    return downloaded.json() if fmt == "json" else downloaded


def test_the_nightly_schedule_fired_for_a_date_runs_the_night_and_writes_rollups(running: Running) -> None:
    key = running.tenant_with_key("acme")
    running.tenant_with_key("bravo")
    orders = [
        order(
            datetime(2026, 11, 19, 23, 59, tzinfo=UTC), ("MUG", 1, "6.50"), tenant="acme"
        ),  # the day before
        order(datetime(2026, 11, 20, 0, 1, tzinfo=UTC), ("MUG", 2, "6.50"), tenant="acme"),
        order(datetime(2026, 11, 20, 17, 0, tzinfo=UTC), ("TEA", 3, "3.25"), tenant="acme"),
        order(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), ("TEA", 1, "3.25"), tenant="bravo"),
    ]
    running.put_orders(orders)
    catalog = CatalogTable(running.stack.physical["ProductsTable"], running.cloud.resource("dynamodb"))
    catalog.put(
        Product(tenant_id="acme", sku="MUG", name="Mug", price=Decimal("6.50"), currency="GBP", stock=1)
    )
    nightly = schedules.find(running.cloud, running.stack, "Nightly")

    # Fired on 21 November at 02:00 London: the night covers 20 November.
    event, result = schedules.run(running.cloud, nightly, date(2026, 11, 21))
    assert event == {"scheduled_time": "2026-11-21T02:00:00Z"}
    assert (result["date"], result["tenants"], result["items"]) == ("2026-11-20", ["acme", "bravo"], 2)
    run = _finished(running, result["execution"])
    assert run["status"] == "SUCCEEDED", run
    assert json.loads(run["output"]) == {"date": "2026-11-20", "items": 2}

    s3 = running.cloud.client("s3")
    bucket = running.stack.outputs["DataBucketName"]
    zone = ZoneInfo(nightly.timezone)
    for tenant in ("acme", "bravo"):
        body = s3.get_object(Bucket=bucket, Key=rollup_key(tenant, date(2026, 11, 20)))["Body"].read()
        expected = summarize_sales(tenant, orders, date(2026, 11, 20), date(2026, 11, 20), zone)
        rolled = json.loads(body)
        assert (rolled["orders"], rolled["units"], rolled["by_currency"]) == (
            expected.orders,
            expected.units,
            json.loads(expected.model_dump_json())["by_currency"],
        )
    exported = s3.get_object(Bucket=bucket, Key="raw/acme/checkout/2026-11-20/orders.jsonl")["Body"].read()
    assert len(exported.splitlines()) == 2
    # the night's products ran as states after each tenant's day: the dashboard's rollup is in the
    # day's manifest (counts, timing) and in RollupsTable
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="manifests/acme/2026-11-20.json")["Body"].read())
    assert manifest["products"]["rollups"]["counts"]["orders"] == 2
    table = running.cloud.resource("dynamodb").Table(running.stack.outputs["RollupsTableName"])
    [day] = table.query(KeyConditionExpression=Key("tenant_id").eq("acme") & Key("key").eq("day#2026-11-20"))[
        "Items"
    ]
    assert Decimal(json.loads(str(day["doc"]))["revenue_tenant"]) == Decimal("22.75")  # 2 x 6.50 + 3 x 3.25

    # The night's inventory product ran after each tenant's day: acme's MUG (2 sold, 1 on hand) is
    # below its reorder point; TEA is not in its catalogue (no stock known, never flagged).
    suggestions = running.call("GET", "/inventory/suggestions", key)
    assert suggestions.status_code == 200, suggestions.text
    answer = suggestions.json()
    items = {item["sku"]: item for item in answer["items"]}
    assert (answer["date"], sorted(items)) == ("2026-11-20", ["MUG", "TEA"])
    assert (items["MUG"]["stock"], items["MUG"]["below_reorder_point"]) == (1, True)
    assert (items["TEA"]["stock"], items["TEA"]["below_reorder_point"]) == (None, None)
    flagged = running.call("GET", "/inventory/suggestions?below_reorder_point=true", key).json()
    assert [item["sku"] for item in flagged["items"]] == ["MUG"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="manifests/acme/2026-11-20.json")["Body"].read())
    assert manifest["products"]["inventory"]["counts"]["below_reorder_point"] == 1
    # The night's fraud_model product ran after each tenant's day: too few labels here, and it says so.
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="manifests/acme/2026-11-20.json")["Body"].read())
    fraud_model = manifest["products"]["fraud_model"]["counts"]
    assert (fraud_model["status"], fraud_model["promoted"], fraud_model["version"]) == (
        "too_few_labels",
        False,
        None,
    )

    # The night's last state backed every table up (logic/backups.py), each as the manifest says
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="backups/2026-11-20/manifest.json")["Body"].read())
    dynamodb = running.cloud.client("dynamodb")
    for entry in manifest["tables"]:
        table = running.stack.physical[entry["table"]]
        assert entry["items"] == dynamodb.scan(TableName=table, Select="COUNT")["Count"], entry
        body = s3.get_object(Bucket=bucket, Key=entry["key"])["Body"].read()
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
    assert {t["table"]: t["items"] for t in manifest["tables"]}["TenantsTable"] == 2

    # A report over the lake the night just curated: the report worker (DuckDB in its layer) reads
    # the day's order lines from the data bucket; the checkout's orders are the "checkout" source.
    performance = _lake_report(running, key, "product_performance", "2026-11-20")
    rows = {row[1]: row for row in performance["tables"][0]["rows"]}  # by sku
    assert sorted(rows) == ["MUG", "TEA"]
    names = [column["name"] for column in performance["tables"][0]["columns"]]
    units, revenue = names.index("units"), names.index("revenue")
    assert (rows["MUG"][units], rows["TEA"][units]) == (2, 3)
    assert (Decimal(str(rows["MUG"][revenue])), Decimal(str(rows["TEA"][revenue]))) == (
        Decimal("13.00"),
        Decimal("9.75"),
    )

    # The same report as a spreadsheet: written by the documents layer's XlsxWriter in the worker,
    # downloaded under its name, read back with openpyxl.
    xlsx = _lake_report(running, key, "product_performance", "2026-11-20", fmt="xlsx")
    assert xlsx.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="product_performance-2026-11-20-2026-11-20.xlsx"' in xlsx.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[1]
    header = [cell.value for cell in sheet[1]]
    by_sku = {row[header.index("SKU")]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert by_sku["MUG"][header.index("Units sold")] == 2

    # The same firing again: the same run (a retry of a firing starts nothing new)
    first = s3.get_object(Bucket=bucket, Key=rollup_key("acme", date(2026, 11, 20)))["Body"].read()
    _, again = schedules.run(running.cloud, nightly, date(2026, 11, 21))
    assert again["execution"] == result["execution"]
    assert s3.get_object(Bucket=bucket, Key=rollup_key("acme", date(2026, 11, 20)))["Body"].read() == first


def test_one_tenants_failure_is_parked_with_its_reason_and_the_others_night_goes_on(running: Running) -> None:
    running.tenant_with_key("acme")
    running.tenant_with_key("broken")
    running.put_orders([order(datetime(2026, 11, 21, 9, 0, tzinfo=UTC), ("MUG", 1, "6.50"), tenant="acme")])
    s3 = running.cloud.client("s3")
    bucket = running.stack.outputs["DataBucketName"]
    # A tenant whose lake configuration is broken: every one of its steps fails, again and again
    s3.put_object(Bucket=bucket, Key="config/broken/lake.json", Body=b'{"currency": "pounds"}')
    nightly = schedules.find(running.cloud, running.stack, "Nightly")

    # Another firing than the test above's: a firing's run is named after it, and the emulator keeps
    # executions when the tests empty the tables and buckets.
    _, result = schedules.run(running.cloud, nightly, date(2026, 11, 22))
    run = _finished(running, result["execution"])
    assert run["status"] == "FAILED", run  # the run says so (and NightlyRunFailedAlarm watches that)

    # acme's night went on: its rollup is there
    body = s3.get_object(Bucket=bucket, Key=rollup_key("acme", date(2026, 11, 21)))["Body"].read()
    assert json.loads(body)["orders"] == 1
    # broken's failures wait on NightlyFailureQueue, each with its reason
    sqs = running.cloud.client("sqs")
    queue = running.stack.outputs["NightlyFailureQueueUrl"]
    parked = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
    ]
    assert {(p["tenant_id"], p["source"]) for p in parked} == {("broken", "checkout"), ("broken", None)}
    assert all("config/broken/lake.json" in (p["cause"] or "") for p in parked)
