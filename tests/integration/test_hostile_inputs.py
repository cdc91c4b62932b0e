"""Issue 7's hostile inputs through the API under moto: each one a 4xx with our error body, never a 500."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.handlers import api
from tandem.models.catalog import Product
from tests.events import http_event
from tests.moto_stack import REGION
from tests.template_model import Resolver

pytestmark = pytest.mark.usefixtures("stack")

ALL = "admin orders:read orders:write reports:read reports:write"
CARD = "4242424242424242"


KEY = {"idempotency-key": "purchase-1"}


def call(event: dict[str, Any], lambda_context: Any) -> tuple[int, dict[str, Any]]:
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def get(
    path: str, lambda_context: Any, route: str | None = None, **parameters: str
) -> tuple[int, dict[str, Any]]:
    event = http_event("GET", path, route=route, scopes=ALL, path_parameters=parameters or None)
    return call(event, lambda_context)


@pytest.fixture
def shop(stack: Resolver) -> CatalogTable:
    catalog = CatalogTable(stack.physical["ProductsTable"], boto3.resource("dynamodb", region_name=REGION))
    for sku, price in (("MUG", "6.50"), ("FREEBIE", "0")):
        catalog.put(
            Product(tenant_id="acme", sku=sku, name=sku, price=Decimal(price), currency="GBP", stock=5)
        )
    return catalog


def order_body(card: str = CARD, **items: int) -> dict[str, Any]:
    return {
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in (items or {"MUG": 1}).items()],
        "customer": {"email": "ada@example.com", "name": "Ada Lovelace", "country": "GB"},
        "shipping_address": {"line1": "1 Road", "city": "London", "postal_code": "N1 1AA", "country": "GB"},
        "payment": {"card_number": card, "expiry": "12/30", "cvc": "123"},
        "currency": "GBP",
    }


def assert_refused(status: int, body: dict[str, Any], expected: int = 422) -> None:
    assert status == expected, body
    assert set(body) == {"error", "message", "details"}


# 1 and 7: path ids


def test_a_sku_of_65_characters_is_refused_when_setting_a_product(lambda_context: Any) -> None:
    sku = "S" * 65
    event = http_event(
        "PUT", f"/products/{sku}", route="/products/{sku}", scopes=ALL, path_parameters={"sku": sku},
        body={"name": "Mug", "price": "6.50", "currency": "GBP"},
    )  # fmt: skip
    status, body = call(event, lambda_context)
    assert_refused(status, body)
    assert body["details"][0]["loc"] == ["path", "sku"]


@pytest.mark.parametrize(
    ("route", "name"),
    [("/orders/{order_id}", "order_id"), ("/products/{sku}", "sku"), ("/reports/{job_id}", "job_id")],
)
def test_path_ids_past_dynamodbs_key_limit_are_refused(route: str, name: str, lambda_context: Any) -> None:
    value = "x" * 2000
    status, body = get(route.replace("{" + name + "}", value), lambda_context, route=route, **{name: value})
    assert_refused(status, body)


# 2: nesting


@pytest.mark.parametrize("path", ["/orders", "/reports"])
def test_a_body_nested_50000_levels_deep_is_refused(path: str, lambda_context: Any) -> None:
    event = http_event("POST", path, scopes=ALL, body="[" * 50_000 + "]" * 50_000)
    status, body = call(event, lambda_context)
    assert 400 <= status < 500, body
    assert set(body) == {"error", "message", "details"}


# 3: a checkout worth nothing


def test_a_checkout_of_a_product_priced_0_is_refused_and_takes_no_stock(
    shop: CatalogTable, lambda_context: Any
) -> None:
    status, body = call(
        http_event("POST", "/orders", scopes=ALL, body=order_body(FREEBIE=1), headers=KEY), lambda_context
    )
    assert_refused(status, body)
    assert body["details"][0]["type"] == "zero_total"
    assert shop.get("acme", "FREEBIE").stock == 5


# 4: periods


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [
        ("0001-01-01T00:00:00+01:00", "2026-01-01T00:00:00Z"),
        ("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z"),
        ("2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"),
        ("2026-11-01T00:00:00", "2026-11-02T00:00:00Z"),
    ],
)
def test_a_period_that_is_not_one_is_refused(date_from: str, date_to: str, lambda_context: Any) -> None:
    event = http_event("GET", "/orders", scopes=ALL)
    event["queryStringParameters"] = {"from": date_from, "to": date_to}
    assert_refused(*call(event, lambda_context))


def test_a_period_before_the_year_1000_is_an_empty_page(lambda_context: Any) -> None:
    event = http_event("GET", "/orders", scopes=ALL)
    event["queryStringParameters"] = {"from": "0005-01-01T00:00:00Z", "to": "0010-01-01T00:00:00Z"}
    assert call(event, lambda_context) == (200, {"items": [], "next_cursor": None})


# 5: cursors


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/products", {}),
        ("/orders", {"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}),
    ],
)
@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(b'{"tenant_id":"acme"}').decode(),
        base64.urlsafe_b64encode(b'{"tenant_id":"acme","sku":"MUG"}').decode().rstrip("="),
        "A" * 5000,
    ],
)
def test_a_forged_cursor_is_refused(
    path: str, query: dict[str, str], cursor: str, lambda_context: Any
) -> None:
    event = http_event("GET", path, scopes=ALL)
    event["queryStringParameters"] = {**query, "cursor": cursor}
    assert_refused(*call(event, lambda_context))


# 6: the blocklist


@pytest.mark.parametrize("value", ["\uff14\uff12" * 8, "4242 4242 4242 424\u00e9", "\U0001f0a1" * 16])
def test_a_card_value_that_is_not_a_card_number_is_refused(value: str, lambda_context: Any) -> None:
    event = http_event(
        "PUT", "/fraud/blocklist", scopes=ALL, body={"kind": "card", "value": value, "reason": "chargeback"}
    )
    assert_refused(*call(event, lambda_context))


def test_blocking_a_spaced_card_number_blocks_the_card(shop: CatalogTable, lambda_context: Any) -> None:
    spaced = "4242 4242 4242 4242"
    event = http_event(
        "PUT", "/fraud/blocklist", scopes=ALL, body={"kind": "card", "value": spaced, "reason": "chargeback"}
    )
    assert call(event, lambda_context)[0] == 200
    status, body = call(
        http_event("POST", "/orders", scopes=ALL, body=order_body(CARD), headers=KEY), lambda_context
    )
    assert (status, body["details"][0]["type"]) == (403, "fraud_block")
    assert shop.get("acme", "MUG").stock == 5


# 8: report days


@pytest.mark.parametrize(
    "days",
    [
        {"from": "9999-12-30", "to": "9999-12-31"},
        {"from": "1900-01-01", "to": "1900-01-02"},
        {"from": 1, "to": 2},
    ],
)
def test_report_days_out_of_bounds_are_refused_at_the_door(days: dict[str, Any], lambda_context: Any) -> None:
    assert_refused(*call(http_event("POST", "/reports", scopes=ALL, body=days), lambda_context))


# 9: the document states the constraints


def _document(lambda_context: Any) -> dict[str, Any]:
    status, document = call(http_event("GET", "/openapi.json", tenant=None), lambda_context)
    assert status == 200
    return document


def test_the_openapi_document_states_the_patterns_the_validators_enforce(lambda_context: Any) -> None:
    schemas = _document(lambda_context)["components"]["schemas"]
    card = schemas["CardDetails"]["properties"]
    assert {name: "pattern" in card[name] for name in ("card_number", "expiry", "cvc")} == {
        "card_number": True,
        "expiry": True,
        "cvc": True,
    }
    assert schemas["ProductUpdate"]["properties"]["price"]["type"] == "string"
    assert "pattern" in schemas["ProductUpdate"]["properties"]["price"]
    assert schemas["ScoreRequest"]["properties"]["amount"]["type"] == "string"
    assert "pattern" in schemas["ScoreRequest"]["properties"]["amount"]
    assert all("pattern" in schemas["ReportRequest"]["properties"][day] for day in ("from", "to"))
    assert "`to` must not be before `from`" in schemas["ReportRequest"]["description"]
    assert schemas["CardBlock"]["properties"]["value"]["pattern"]
    for page in ("ProductPage", "OrderPage"):
        cursor = schemas[page]["properties"]["next_cursor"]["anyOf"][0]
        assert (cursor["maxLength"], cursor["pattern"]) == (1024, "^[A-Za-z0-9_-]+$")
