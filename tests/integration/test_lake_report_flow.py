"""A lake report through the deployed shape under moto: POST /reports → ReportQueue → the report
worker as wired (S3LakeBucket, DuckDbLakeQuery) → the document in the reports bucket → GET
/reports/{id}. Two curated days written as real Parquet into the data bucket; figures by hand."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import boto3

from tandem.adapters.parquet_duckdb import DuckDbParquet
from tandem.handlers import api
from tandem.logic.lake.intake import config_key
from tandem.logic.lake.tables import ORDER_LINES, part_key
from tests.events import http_event
from tests.integration.test_report_flow import deliver, get_report
from tests.moto_stack import REGION
from tests.template_model import Resolver

D = Decimal


def _line(
    order: str, sku: str, quantity: int, price: str, day: date, kind: str = "sale"
) -> tuple[object, ...]:
    values = {
        "order_id": order,
        "sku": sku,
        "description": f"the {sku}",
        "quantity": quantity,
        "unit_price": D(price),
        "amount": D(price) * quantity,
        "currency": "GBP",
        "ordered_at": datetime(day.year, day.month, day.day, 10, tzinfo=UTC).replace(tzinfo=None),
        "customer_id": "17850",
        "country": "United Kingdom",
        "kind": kind,
        "source_file": "raw/acme/erp_orders/x.csv",
    }
    return tuple(values[name] for name in ORDER_LINES.column_names)


def _put_lake(stack: Resolver) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    bucket = stack.physical["DataBucket"]
    codec = DuckDbParquet()
    days = {
        date(2026, 11, 2): [
            _line("A", "MUG", 2, "6.50", date(2026, 11, 2)),
            _line("A", "TEA", 1, "4.25", date(2026, 11, 2)),
        ],
        date(2026, 11, 3): [
            _line("B", "MUG", 1, "6.50", date(2026, 11, 3)),
            _line("C", "MUG", -1, "6.50", date(2026, 11, 3), kind="return"),
        ],
        # outside the period: never read
        date(2026, 11, 30): [_line("Z", "TEA", 100, "4.25", date(2026, 11, 30))],
    }
    for day, rows in days.items():
        key = part_key(ORDER_LINES.name, "acme", day, "erp_orders", f"{day}.csv")
        s3.put_object(Bucket=bucket, Key=key, Body=codec.encode(ORDER_LINES, rows))
    s3.put_object(
        Bucket=bucket, Key=config_key("acme"), Body=json.dumps({"channels": {"erp_orders": "store"}}).encode()
    )


def test_a_product_performance_report_goes_from_request_to_download(
    stack: Resolver, lambda_context: Any
) -> None:
    _put_lake(stack)
    body = {
        "from": "2026-11-01",
        "to": "2026-11-27",
        "kind": "product_performance",
        "filters": {"channel": "store"},
    }
    response = api_post(body, lambda_context)
    assert response["statusCode"] == 202
    job_id = json.loads(response["body"])["job_id"]

    assert deliver(stack, lambda_context) == {"batchItemFailures": []}

    status, job = get_report(job_id, lambda_context)
    assert (status, job["status"], job["progress"]) == (200, "succeeded", 100)
    s3 = boto3.client("s3", region_name=REGION)
    stored = json.loads(
        s3.get_object(Bucket=stack.physical["ReportsBucket"], Key=f"reports/acme/{job_id}.json")[
            "Body"
        ].read()
    )
    figures = {figure["name"]: figure["value"] for figure in stored["figures"]}
    # MUG: 3 sold (13.00 + 6.50), 1 returned; TEA: 1 sold (4.25); the 30th is outside the period
    assert (D(figures["revenue"]), figures["orders"], figures["units"], figures["returned_units"]) == (
        D("23.75"),
        2,
        4,
        1,
    )
    main = stored["tables"][0]
    assert [row[1] for row in main["rows"]] == ["MUG", "TEA"]
    assert D(main["rows"][0][10]) == D("0.3333")  # MUG's return rate: 1 of 3
    assert job["result_bytes"] > 0


def api_post(body: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
    event = http_event("POST", "/reports", body=body, tenant="acme")
    response: dict[str, Any] = api.handler(event, lambda_context)
    return response
