"""POST /orders under moto: every answer of the checkout, stock always accounted for, no card data kept."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.checkout_store import DynamoCheckoutStore
from tandem.handlers import api
from tandem.handlers.wiring import api as root
from tandem.logic.sweeper import SweepDeps, sweep
from tests.events import http_event
from tests.moto_stack import REGION
from tests.template_model import Resolver

CARD = "4242424242424242"
SCOPES = "orders:read orders:write"


def body(card: str = CARD, name: str = "Ada Lovelace", **items: int) -> dict[str, Any]:
    return {
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in (items or {"MUG": 2}).items()],
        "customer": {"email": "ada@example.com", "name": name, "country": "GB"},
        "shipping_address": {
            "line1": "12 St James's Square",
            "city": "London",
            "postal_code": "SW1Y 4LB",
            "country": "GB",
        },
        "payment": {"card_number": card, "expiry": "12/30", "cvc": "123"},
        "currency": "GBP",
    }


def checkout(
    lambda_context: Any, payload: dict[str, Any], key: str | None = None
) -> tuple[int, dict[str, Any]]:
    """POST /orders; a purchase of its own (a fresh Idempotency-Key) unless a key is given."""
    event = http_event(
        "POST", "/orders", body=payload, scopes=SCOPES, headers={"idempotency-key": key or uuid.uuid4().hex}
    )
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def stock(shop: CatalogTable) -> dict[str, int]:
    return {sku: shop.get("acme", sku).stock for sku in ("MUG", "TEA")}


def queued_follow_ups(stack: Resolver) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    messages = sqs.receive_message(QueueUrl=stack.physical["FollowUpQueue"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_a_checkout_is_confirmed_priced_from_the_catalogue_and_followed_up(
    stack: Resolver, shop: CatalogTable, lambda_context: Any
) -> None:
    payload = body(MUG=2, TEA=1)
    payload["items"][0]["price"] = "0.01"  # a buyer cannot send prices: the strict body refuses it
    status, answer = checkout(lambda_context, payload)
    assert status == 422
    del payload["items"][0]["price"]

    status, answer = checkout(lambda_context, payload)
    assert status == 201, answer
    assert (answer["status"], answer["total"], answer["currency"]) == ("confirmed", "16.25", "GBP")
    assert answer["payment"] == {"brand": "visa", "last4": "4242"}
    assert answer["fraud"]["decision"] in ("approve", "review")
    assert stock(shop) == {"MUG": 3, "TEA": 1}
    # The checkout queues nothing itself: the follow-ups come from the order's stream (order_events).
    assert queued_follow_ups(stack) == []

    event = http_event(
        "GET", f"/orders/{answer['order_id']}", route="/orders/{order_id}", scopes=SCOPES,
        path_parameters={"order_id": answer["order_id"]},
    )  # fmt: skip
    stored = json.loads(api.handler(event, lambda_context)["body"])
    assert stored["payment"]["last4"] == "4242"
    assert stored["risk"]["fraud_decision"] == answer["fraud"]["decision"]


def test_out_of_stock_answers_409_with_what_is_left_and_reserves_nothing(
    shop: CatalogTable, lambda_context: Any
) -> None:
    status, answer = checkout(lambda_context, body(MUG=1, TEA=3))
    assert status == 409
    assert answer["error"] == "out_of_stock"
    assert [d["ctx"] for d in answer["details"]] == [{"sku": "TEA", "requested": 3, "available": 2}]
    assert stock(shop) == {"MUG": 5, "TEA": 2}


@pytest.mark.parametrize("card", ["4000000000009995", "4000000000009979"], ids=["funds", "stolen"])
def test_a_declined_payment_gives_the_stock_back(card: str, shop: CatalogTable, lambda_context: Any) -> None:
    status, answer = checkout(lambda_context, body(card=card, MUG=2))
    assert (status, answer["error"]) == (402, "payment_declined")
    assert answer["details"][0]["type"] in ("insufficient_funds", "stolen_card")
    assert stock(shop) == {"MUG": 5, "TEA": 2}


def test_a_gateway_outage_holds_the_stock_until_a_retry_or_the_sweeper(
    stack: Resolver, shop: CatalogTable, lambda_context: Any
) -> None:
    # The provider fails (card 0119): the answer is a retryable 503 and the purchase stays held
    status, answer = checkout(lambda_context, body(card="4000000000000119", MUG=2), key="outage")
    assert (status, answer["error"]) == (503, "gateway_unavailable")
    assert stock(shop) == {"MUG": 3, "TEA": 2}
    # No retry comes: when the hold ends the sweeper puts the stock back on sale
    store = DynamoCheckoutStore(
        stack.physical["OrdersTable"], stack.physical["ProductsTable"], stack.physical["AuditTable"]
    )
    later = datetime.now(UTC) + timedelta(seconds=root.settings().checkout_hold_seconds + 1)
    report = sweep(SweepDeps(store=store, gateway=root.checkout().gateway), later)
    assert (report.expired, report.voided, report.settled) == (1, 0, 1)
    assert stock(shop) == {"MUG": 5, "TEA": 2}


@pytest.mark.usefixtures("shop")
def test_a_checkout_without_an_idempotency_key_is_refused_saying_why(lambda_context: Any) -> None:
    event = http_event("POST", "/orders", body=body(MUG=1), scopes=SCOPES)
    response = api.handler(event, lambda_context)
    answer = json.loads(response["body"])
    assert response["statusCode"] == 422
    assert "Idempotency-Key header is required" in answer["message"]
    assert answer["details"][0]["loc"] == ["header", "idempotency-key"]


def test_a_sanctioned_customer_is_blocked_with_a_reason_code_and_audited(
    stack: Resolver, shop: CatalogTable, lambda_context: Any
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    listed = [{"id": "EU-001", "name": "Ivan Petrov", "aliases": [], "list": "EU"}]
    s3.put_object(
        Bucket=stack.physical["DataBucket"], Key="compliance/sanctions.json", Body=json.dumps(listed)
    )
    status, answer = checkout(lambda_context, body(name="PETROV, Ivan"))
    assert (status, answer["error"]) == (403, "blocked")
    assert [d["type"] for d in answer["details"]] == ["compliance_block"]
    assert "EU-001" not in json.dumps(answer)  # no internals leak to the buyer
    assert stock(shop) == {"MUG": 5, "TEA": 2}
    audit = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["AuditTable"]).scan()["Items"]
    assert {a["check"] for a in audit} == {"fraud", "compliance"}
    compliance = [a for a in audit if a["check"] == "compliance"]
    assert [(a["decision"], a["codes"]) for a in compliance] == [("block", ["sanctions_match"])]


def test_orders_are_listed_newest_first_by_period_and_status(shop: CatalogTable, lambda_context: Any) -> None:
    placed = [checkout(lambda_context, body(MUG=1))[1]["order_id"] for _ in range(3)]
    event = http_event("GET", "/orders", scopes=SCOPES)
    event["queryStringParameters"] = {
        "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "status": "confirmed", "limit": "2",
    }  # fmt: skip
    first = json.loads(api.handler(event, lambda_context)["body"])
    event["queryStringParameters"]["cursor"] = first["next_cursor"]
    second = json.loads(api.handler(event, lambda_context)["body"])
    listed = [o["order_id"] for o in first["items"] + second["items"]]
    assert sorted(listed) == sorted(placed)
    assert len(first["items"]) == 2
    event["queryStringParameters"] = {"from": "2000-01-01T00:00:00", "to": "2100-01-01T00:00:00Z"}
    assert api.handler(event, lambda_context)["statusCode"] == 422  # a time without a zone is ambiguous


@pytest.mark.usefixtures("shop")
def test_the_same_idempotency_key_and_body_answer_the_same_and_charge_once(
    stack: Resolver, lambda_context: Any
) -> None:
    first = checkout(lambda_context, body(MUG=1), key="order-7")
    again = checkout(lambda_context, body(MUG=1), key="order-7")
    assert first == again
    assert first[0] == 201
    orders = (
        boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["OrdersTable"]).scan()["Items"]
    )
    assert len(orders) == 1
    assert len(root.checkout().gateway.charges) == 1  # type: ignore[attr-defined]

    status, answer = checkout(lambda_context, body(MUG=2), key="order-7")
    assert (status, answer["error"]) == (422, "idempotency_key_reused")


@pytest.mark.usefixtures("shop")
def test_a_declined_answer_is_remembered_for_its_key_too(lambda_context: Any) -> None:
    declined = checkout(lambda_context, body(card="4000000000009995"), key="order-8")
    assert declined[0] == 402
    assert checkout(lambda_context, body(card="4000000000009995"), key="order-8") == declined


@pytest.mark.usefixtures("shop")
def test_no_card_number_or_cvc_reaches_a_log_a_table_or_a_queue(
    stack: Resolver, lambda_context: Any, logged: Callable[[], list[dict[str, Any]]]
) -> None:
    checkout(lambda_context, body(MUG=1), key="order-9")
    checkout(lambda_context, body(card="4000000000009995"), key="order-10")
    checkout(lambda_context, body(card="4242424242424241"), key="order-11")  # fails Luhn: 422
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    stored = [json.dumps(dynamodb.Table(name).scan()["Items"], default=str) for name in _tables(stack)]
    everything = json.dumps(logged()) + "".join(stored) + json.dumps(queued_follow_ups(stack))
    for secret in (CARD, "4000000000009995", "4242424242424241", '"123"'):
        assert secret not in everything


def _tables(stack: Resolver) -> list[str]:
    client = boto3.client("dynamodb", region_name=REGION)
    return client.list_tables()["TableNames"]


def _score(lambda_context: Any, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    event = http_event("POST", "/payments/score", body=payload, scopes=SCOPES)
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


SCORE = {
    "amount": "25.00",
    "currency": "GBP",
    "email": "grace@example.com",
    "card": {"card_number": CARD, "expiry": "12/30", "cvc": "123"},
    "ip": "203.0.113.7",
    "shipping_country": "GB",
}


@pytest.mark.usefixtures("stack")
def test_a_tenants_own_checkout_can_ask_for_a_score_with_reasons(lambda_context: Any) -> None:
    status, answer = _score(lambda_context, SCORE)
    assert status == 200
    assert answer["decision"] == "approve"
    assert 0 <= answer["score"] < 0.5
    assert answer["model_version"] == "builtin-1"
    assert _score(lambda_context, {**SCORE, "amount": 25.5})[0] == 422  # money never as a float
    status, answer = _score(lambda_context, {**SCORE, "email": "x@mailinator.com", "shipping_country": "FR"})
    assert answer["score"] > 0
    assert any("disposable" in reason for reason in answer["reasons"])


@pytest.mark.usefixtures("shop")
def test_a_blocklisted_card_is_refused_by_number_without_keeping_it(
    stack: Resolver, lambda_context: Any
) -> None:
    event = http_event(
        "PUT",
        "/fraud/blocklist",
        body={"kind": "card", "value": CARD, "reason": "chargeback"},
        scopes="admin",
    )
    response = api.handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert CARD not in response["body"]
    status, answer = checkout(lambda_context, body(MUG=1))
    assert (status, answer["details"][0]["type"]) == (403, "fraud_block")
    assert _score(lambda_context, SCORE)[1]["decision"] == "block"
    items = (
        boto3.resource("dynamodb", region_name=REGION)
        .Table(stack.physical["FraudSignalsTable"])
        .scan()["Items"]
    )
    assert CARD not in json.dumps(items, default=str)


@pytest.mark.usefixtures("stack")
def test_only_an_admin_key_edits_the_blocklist(lambda_context: Any) -> None:
    event = http_event(
        "PUT", "/fraud/blocklist", body={"kind": "email", "value": "a@b.co", "reason": "x"}, scopes=SCOPES
    )
    assert api.handler(event, lambda_context)["statusCode"] == 403
