"""Inventory suggestions under moto: ERP exports curated by the night's item steps (DuckDB's
Parquet), the `inventory` product step reading them and ProductsTable, and GET
/inventory/suggestions answering from what it wrote."""

import json
from datetime import date
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.handlers import api, nightly_lake
from tandem.logic.inventory import latest_key, suggestions_key
from tandem.models.catalog import Product
from tests.events import http_event
from tests.integration.test_api import assert_matches_openapi
from tests.moto_stack import REGION
from tests.template_model import Resolver

DAY = date(2026, 11, 27)
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
# 85123A sells 6, 10 and 2 on the window's last three days (1 returned on the 27th); 71053, 1 on the 27th.
ERP = {
    date(2026, 11, 25): "536001,85123A,HEART,6,2026-11-25 10:00:00,2.55,17850.0,United Kingdom\n",
    date(2026, 11, 26): "536002,85123A,HEART,10,2026-11-26 10:00:00,2.55,17850.0,United Kingdom\n",
    DAY: (
        "536003,85123A,HEART,3,2026-11-27 10:00:00,2.55,17850.0,United Kingdom\n"
        "C536004,85123A,HEART,-1,2026-11-27 11:00:00,2.55,17850.0,United Kingdom\n"
        "536005,71053,LANTERN,1,2026-11-27 12:00:00,3.39,,France\n"
        "536005,POST,POSTAGE,1,2026-11-27 12:00:00,18.00,,France\n"
    ),
}
READER = "reports:read"


def _s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def _get(lambda_context: Any, scopes: str = READER, **query: str) -> tuple[int, Any]:
    event = http_event("GET", "/inventory/suggestions", scopes=scopes)
    event["queryStringParameters"] = query or None
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def _night(lambda_context: Any) -> dict[str, Any]:
    """The night's item steps for the three days' ERP files, then the inventory product for DAY."""
    for day in ERP:
        item = {"tenant_id": "acme", "source": "erp_orders", "date": day.isoformat()}
        assert nightly_lake.handler({"step": "item", "item": item}, lambda_context)["rows_curated"] > 0
    step = {"step": "product", "product": "inventory", "tenant_id": "acme", "date": DAY.isoformat()}
    outcome: dict[str, Any] = nightly_lake.handler(step, lambda_context)
    return outcome


@pytest.fixture
def lake(stack: Resolver) -> Resolver:
    bucket = stack.physical["DataBucket"]
    for day, lines in ERP.items():
        _s3().put_object(
            Bucket=bucket, Key=f"raw/acme/erp_orders/{day.isoformat()}/day.csv", Body=HEADER + lines
        )
    catalog = CatalogTable(stack.physical["ProductsTable"], boto3.resource("dynamodb", region_name=REGION))
    for sku, stock in (("85123A", 3), ("71053", 50)):
        catalog.put(
            Product(tenant_id="acme", sku=sku, name=sku, price=Decimal("2.55"), currency="GBP", stock=stock)
        )
    return stack


def test_before_any_night_the_route_answers_404_with_an_error_body(
    lake: Resolver, lambda_context: Any
) -> None:
    status, body = _get(lambda_context)
    assert (status, body["error"]) == (404, "not_found")


def test_the_night_product_writes_the_suggestions_the_route_serves(
    lake: Resolver, lambda_context: Any
) -> None:
    outcome = _night(lambda_context)
    assert outcome["product"] == "inventory"
    # 28-day window: only the last three days have lines (4 + 1 + 1 read; the postage is not demand)
    assert outcome["counts"] == {
        "skus": 2,
        "below_reorder_point": 1,
        "not_in_catalogue": 0,
        "days_read": 3,
        "lines_read": 6,
    }
    bucket = lake.physical["DataBucket"]
    stored = _s3().get_object(Bucket=bucket, Key=suggestions_key("acme", DAY))["Body"].read()
    assert _s3().get_object(Bucket=bucket, Key=latest_key("acme"))["Body"].read() == stored
    manifest = json.loads(
        _s3().get_object(Bucket=bucket, Key="manifests/acme/2026-11-27.json")["Body"].read()
    )
    assert manifest["products"]["inventory"]["counts"] == outcome["counts"]

    status, body = _get(lambda_context)
    assert status == 200
    assert_matches_openapi(body, "/inventory/suggestions", "get", 200, lambda_context)
    assert (body["date"], body["window"]["start"], body["window"]["days"]) == ("2026-11-27", "2026-10-31", 28)
    items = {item["sku"]: item for item in body["items"]}
    # 85123A: 6 + 10 + (3 - 1) = 18 units over 28 days; 3 on hand is below its reorder point
    heart = items["85123A"]
    assert (heart["units_sold"], heart["units_returned"]) == (19, 1)
    assert heart["mean_daily_demand"] == pytest.approx(18 / 28, abs=1e-3)
    assert (heart["stock"], heart["below_reorder_point"]) == (3, True)
    assert heart["suggested_order"] > 0
    assert (items["71053"]["stock"], items["71053"]["below_reorder_point"]) == (50, False)

    status, flagged = _get(lambda_context, below_reorder_point="true")
    assert (status, [item["sku"] for item in flagged["items"]]) == (200, ["85123A"])
    status, fine = _get(lambda_context, below_reorder_point="false")
    assert (status, [item["sku"] for item in fine["items"]]) == (200, ["71053"])

    # Re-run: that date's document replaced by the same figures (only the time it was computed moves).
    assert _night(lambda_context)["counts"] == outcome["counts"]
    again = json.loads(_s3().get_object(Bucket=bucket, Key=suggestions_key("acme", DAY))["Body"].read())
    assert again["items"] == json.loads(stored)["items"]


def test_a_bad_filter_is_a_422_and_the_route_needs_reports_read(lake: Resolver, lambda_context: Any) -> None:
    _night(lambda_context)
    status, body = _get(lambda_context, below_reorder_point="maybe")
    assert (status, body["error"]) == (422, "validation_error")
    assert [detail["loc"] for detail in body["details"]] == [["query", "below_reorder_point"]]
    assert "maybe" not in json.dumps(body)  # the rejected input is never echoed
    status, body = _get(lambda_context, scopes="orders:read orders:write")
    assert (status, body["error"]) == (403, "forbidden")
    status, _ = _get(lambda_context)
    assert status == 200
