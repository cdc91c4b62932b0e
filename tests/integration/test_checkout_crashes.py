"""A checkout killed at every step boundary, under moto: after the sweeper nothing stays held, and a
client's retry with the same Idempotency-Key completes the purchase once.

The kill is a fault hook in the test, never in function code: every AWS call goes through
botocore's `BaseClient._make_api_call`, which the hook wraps to raise a BaseException — what a
Lambda timeout or an out-of-memory kill is to the code: nothing after it runs, no `except
Exception` catches it. It fires before the n-th call (the call never happens) or after it
(the call happened, the answer was lost), for every n of a checkout's calls.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.client
import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.checkout_store import DynamoCheckoutStore
from tandem.adapters.sandbox_gateway import SandboxGateway
from tandem.handlers import api
from tandem.handlers.wiring import api as root
from tandem.logic.sweeper import SweepDeps, sweep
from tests.events import http_event
from tests.moto_stack import REGION
from tests.template_model import Resolver

SCOPES = "orders:read orders:write"
INITIAL = {"MUG": 5, "TEA": 2}


class ProcessKilled(BaseException):
    """The process died: a Lambda timeout, an out-of-memory kill."""


def _card(n: int) -> str:
    """A Luhn-valid Visa number of buyer n: every round is another buyer, or the velocity rules
    would rightly block one card killed and retried a dozen times."""
    body = f"4242420{n:08d}"
    digits = [int(d) for d in reversed(body)]
    total = sum(d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return body + str((10 - total % 10) % 10)


def _body(buyer: int) -> dict[str, Any]:
    return {
        "items": [{"sku": "MUG", "quantity": 2}, {"sku": "TEA", "quantity": 1}],
        "customer": {"email": f"buyer{buyer}@example.com", "name": "Ada Lovelace", "country": "GB"},
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Leeds",
            "postal_code": "LS1 1AA",
            "country": "GB",
        },
        "payment": {"card_number": _card(buyer), "expiry": "12/30", "cvc": "123"},
        "currency": "GBP",
    }


def _checkout(lambda_context: Any, key: str, buyer: int = 0) -> tuple[int, dict[str, Any]]:
    event = http_event("POST", "/orders", body=_body(buyer), scopes=SCOPES, headers={"idempotency-key": key})
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


class Faults:
    """Counts AWS calls and kills the process before or after the n-th one."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.kill_at: int | None = None
        self.after = False
        real = botocore.client.BaseClient._make_api_call
        faults = self

        def make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            index = len(faults.calls)
            faults.calls.append(f"{client.meta.service_model.service_name}.{operation}")
            if index == faults.kill_at and not faults.after:
                raise ProcessKilled(f"killed before {faults.calls[-1]}")
            answer = real(client, operation, params)
            if index == faults.kill_at:
                raise ProcessKilled(f"killed after {faults.calls[-1]}")
            return answer

        self.make_api_call = make_api_call

    def arm(self, at: int | None, after: bool = False) -> None:
        self.calls, self.kill_at, self.after = [], at, after


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    installed = Faults()
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", installed.make_api_call)
    return installed


def _stock(shop: CatalogTable) -> dict[str, int]:
    return {sku: shop.get("acme", sku).stock for sku in INITIAL}


def _orders(stack: Resolver) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["OrdersTable"])
    return list(table.scan(ConsistentRead=True)["Items"])


def _sweep(stack: Resolver, gateway: SandboxGateway) -> None:
    store = DynamoCheckoutStore(
        stack.physical["OrdersTable"], stack.physical["ProductsTable"], stack.physical["AuditTable"]
    )
    hold = timedelta(seconds=root.settings().checkout_hold_seconds)
    sweep(SweepDeps(store=store, gateway=gateway), datetime.now(UTC) + hold + timedelta(seconds=1))


def _calls_of_one_checkout(lambda_context: Any, faults: Faults) -> list[str]:
    # A first checkout warms the process (secret, model and sanctions list are read once).
    assert _checkout(lambda_context, "warm-up", buyer=1000)[0] == 201
    faults.arm(None)
    assert _checkout(lambda_context, "counted", buyer=1001)[0] == 201
    return list(faults.calls)


@pytest.mark.usefixtures("shop")
def test_a_warm_checkout_makes_a_known_set_of_calls(faults: Faults, lambda_context: Any) -> None:
    calls = _calls_of_one_checkout(lambda_context, faults)
    # The wave (order, prices, velocity, histories, recent payments), the hold, the sandbox's ledger
    # (the payment), the confirmation; nothing else.
    assert calls.count("dynamodb.TransactWriteItems") == 1
    assert not [call for call in calls if call.startswith("sqs.")]
    assert calls[-1] == "dynamodb.UpdateItem"  # the confirmation is the last thing the checkout waits for


@pytest.mark.parametrize("after", [False, True], ids=["before the call", "after the call"])
def test_killed_at_every_call_then_swept_leaves_nothing_held_and_nothing_charged(
    stack: Resolver, shop: CatalogTable, faults: Faults, lambda_context: Any, after: bool
) -> None:
    calls = _calls_of_one_checkout(lambda_context, faults)
    gateway = root.checkout().gateway
    assert isinstance(gateway, SandboxGateway)
    for index in range(len(calls)):
        _restock(stack)
        faults.arm(index, after)
        with pytest.raises(ProcessKilled):
            _checkout(lambda_context, f"killed-{index}-{after}", buyer=index)
        faults.arm(None)
        _sweep(stack, gateway)
        # Only a process that died after its confirmation was written has sold (its retry gets the 201).
        _assert_round(stack, shop, gateway, sold=after and index == len(calls) - 1)


def _restock(stack: Resolver) -> None:
    """Each round starts from the initial stock (set directly: the API only moves stock by deltas)."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["ProductsTable"])
    for sku, quantity in INITIAL.items():
        table.update_item(
            Key={"tenant_id": "acme", "sku": sku},
            UpdateExpression="SET stock = :q",
            ExpressionAttributeValues={":q": quantity},
        )


def _assert_round(stack: Resolver, shop: CatalogTable, gateway: SandboxGateway, sold: bool) -> None:
    """Nothing PENDING; the round's stock all back unless it sold; every open authorization is a sale's."""
    _assert_no_open_holds(stack, gateway)
    assert _stock(shop) == ({"MUG": 3, "TEA": 1} if sold else INITIAL)


@pytest.mark.parametrize("after", [False, True], ids=["before the call", "after the call"])
def test_killed_at_every_call_then_retried_with_the_same_key_sells_once(
    stack: Resolver, shop: CatalogTable, faults: Faults, lambda_context: Any, after: bool
) -> None:
    calls = _calls_of_one_checkout(lambda_context, faults)
    gateway = root.checkout().gateway
    assert isinstance(gateway, SandboxGateway)
    for index in range(len(calls)):
        _restock(stack)
        key = f"retried-{index}-{after}"
        faults.arm(index, after)
        with pytest.raises(ProcessKilled):
            _checkout(lambda_context, key, buyer=index)
        faults.arm(None)
        status, answer = _checkout(lambda_context, key, buyer=index)
        assert status == 201, (index, calls[index], answer)
        again = _checkout(lambda_context, key, buyer=index)
        assert again == (status, answer)
        assert _stock(shop) == {"MUG": 3, "TEA": 1}, (index, calls[index])
        mine = [a for a in gateway.charges if a.reference == answer["order_id"]]
        assert len(mine) == 1, (index, calls[index], mine)
    _sweep(stack, gateway)
    _assert_no_open_holds(stack, gateway)


def _assert_no_open_holds(stack: Resolver, gateway: SandboxGateway) -> None:
    orders = _orders(stack)
    assert not [o for o in orders if o["status"] == "pending"]
    confirmed_ids = {o["payment"]["authorization_id"] for o in orders if o["status"] == "confirmed"}
    assert {a.authorization_id for a in gateway.open_authorizations()} == confirmed_ids
