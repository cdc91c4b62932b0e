"""Checkout on the local cloud, under load and under failure: stock is never oversold, an
Idempotency-Key makes one order and one authorization, and a checkout that dies (the process
killed mid-payment, the provider's answer lost) leaves nothing held once the sweeper has run."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from tandem.adapters.catalog_table import CatalogTable
from tandem.models.catalog import Product
from tests.e2e.conftest import Running, wait_until

STOCK = 50
BUYERS = 200
# Clients at once. The :3000 proxy queues what the emulator's workers cannot take at once, so
# every buyer may arrive at the same moment (tests/e2e/test_burst.py holds the proxy to it).
CLIENTS = 100
REPLAYS = 20


def _card(n: int) -> str:
    """A distinct Luhn-valid Visa number per buyer: one card hammered 200 times is fraud, rightly blocked."""
    body = f"4242420{n:08d}"
    digits = [int(d) for d in body]
    total = sum(d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
    return body + str((10 - total % 10) % 10)


def _order(n: int = 0, card: str | None = None) -> dict[str, Any]:
    return {
        "items": [{"sku": "LIMITED", "quantity": 1}],
        "customer": {"email": f"buyer{n}@example.com", "name": "Grace Hopper", "country": "GB"},
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Leeds",
            "postal_code": "LS1 1AA",
            "country": "GB",
        },
        "payment": {"card_number": card or _card(n), "expiry": "12/30", "cvc": "123"},
        "currency": "GBP",
    }


def _catalog(running: Running, stock: int = STOCK) -> CatalogTable:
    catalog = CatalogTable(running.stack.physical["ProductsTable"], running.cloud.resource("dynamodb"))
    catalog.put(
        Product(
            tenant_id="acme",
            sku="LIMITED",
            name="Limited print",
            price=Decimal("30"),
            currency="GBP",
            stock=stock,
        )
    )
    return catalog


def _orders(running: Running) -> list[dict[str, Any]]:
    table = running.cloud.resource("dynamodb").Table(running.stack.physical["OrdersTable"])
    return list(table.scan(ConsistentRead=True)["Items"])


def _ledger(running: Running) -> list[dict[str, Any]]:
    """The sandbox gateway's authorizations (SandboxPaymentsTable), across every worker."""
    table = running.cloud.resource("dynamodb").Table(running.stack.physical["SandboxPaymentsTable"])
    items = table.scan(ConsistentRead=True)["Items"]
    return [{**json.loads(item["authorization"]), "voided": item.get("voided", False)} for item in items]


def _open_authorizations(running: Running) -> list[dict[str, Any]]:
    return [a for a in _ledger(running) if a["status"] == "approved" and not a["voided"]]


def test_200_concurrent_checkouts_sell_exactly_the_50_in_stock(running: Running) -> None:
    key = running.tenant_with_key("acme")
    catalog = _catalog(running)

    def buy(n: int) -> int:
        answer = running.call(
            "POST", "/orders", key=key, json=_order(n), headers={"idempotency-key": f"buyer-{n}"}, timeout=300
        )
        return answer.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as clients:
        statuses = Counter(clients.map(buy, range(BUYERS)))
    elapsed = time.perf_counter() - started
    print(f"\n{BUYERS} checkouts by {CLIENTS} clients at once: {statuses}, {BUYERS / elapsed:.1f}/s")

    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] == STOCK
    left = catalog.get("acme", "LIMITED").stock
    confirmed = [o for o in _orders(running) if o["status"] == "confirmed"]
    sold = sum(int(line["quantity"]) for order in confirmed for line in order["lines"])
    assert (left, sold) == (0, STOCK)
    # Every authorization is a sale's: the 150 refused were refused before the payment.
    assert len(_open_authorizations(running)) == STOCK
    assert not [o for o in _orders(running) if o["status"] == "pending"]


def test_20_concurrent_replays_of_one_key_make_one_order_and_one_authorization(running: Running) -> None:
    key = running.tenant_with_key("acme")
    catalog = _catalog(running)

    def replay(_: int) -> tuple[int, str]:
        answer = running.call(
            "POST",
            "/orders",
            key=key,
            json=_order(),
            headers={"idempotency-key": "one-purchase"},
            timeout=300,
        )
        return answer.status_code, answer.json().get("order_id", answer.json().get("error"))

    with ThreadPoolExecutor(REPLAYS) as clients:
        answers = list(clients.map(replay, range(REPLAYS)))

    # Every replay is answered with the one order: a loser of the race resumes or replays it.
    assert {status for status, _ in answers} == {201}, answers
    assert len({order_id for _, order_id in answers}) == 1
    assert len(_orders(running)) == 1
    assert catalog.get("acme", "LIMITED").stock == STOCK - 1
    # One authorization across every worker, and it is the order's
    [authorization] = _ledger(running)
    assert authorization["authorization_id"] == _orders(running)[0]["payment"]["authorization_id"]


@contextmanager
def _api_function(running: Running, timeout: int, **variables: str) -> Iterator[None]:
    """ApiFunction with another timeout and environment for a while (a change starts new workers)."""
    lambda_ = running.cloud.client("lambda")
    name = running.function("ApiFunction")
    before = lambda_.get_function_configuration(FunctionName=name)
    lambda_.update_function_configuration(
        FunctionName=name,
        Timeout=timeout,
        Environment={"Variables": {**before["Environment"]["Variables"], **variables}},
    )
    try:
        yield
    finally:
        lambda_.update_function_configuration(
            FunctionName=name, Timeout=before["Timeout"], Environment=before["Environment"]
        )


def _sweep(running: Running) -> dict[str, Any]:
    """What the every-minute schedule does, at once: invoke SweeperFunction."""
    answer = running.cloud.client("lambda").invoke(
        FunctionName=running.function("SweeperFunction"), Payload=b"{}"
    )
    assert "FunctionError" not in answer, answer["Payload"].read()
    return dict(json.loads(answer["Payload"].read() or b"{}") or {})


HOLD_SECONDS = 15  # the shortest hold the template allows; the default is 120


def test_checkouts_that_die_mid_payment_leave_nothing_held_after_the_sweeper(running: Running) -> None:
    key = running.tenant_with_key("acme")
    catalog = _catalog(running, stock=10)
    # The sandbox's timeout card charges, then keeps the answer 8 s: past a 4 s function timeout,
    # the emulator kills the process mid-payment. The provider-error card fails before charging.
    with _api_function(
        running, timeout=4, CHECKOUT_HOLD_SECONDS=str(HOLD_SECONDS), SANDBOX_TIMEOUT_SECONDS="8"
    ):
        wait_until(
            lambda: running.call("GET", "/products/LIMITED", key=key).status_code == 200, 60, what="a worker"
        )
        killed = running.call(
            "POST",
            "/orders",
            key=key,
            json=_order(1, "4000000000003220"),
            headers={"idempotency-key": "killed"},
        )
        failed = running.call(
            "POST",
            "/orders",
            key=key,
            json=_order(2, "4000000000000119"),
            headers={"idempotency-key": "failed"},
        )
        placed = running.call(
            "POST", "/orders", key=key, json=_order(3), headers={"idempotency-key": "placed"}
        )
    # The killed one never answered a 201; the failed one is a retryable 503; the third sold.
    assert killed.status_code >= 500, killed.text
    assert (failed.status_code, failed.json()["error"]) == (503, "gateway_unavailable")
    assert placed.status_code == 201, placed.text
    # Both held their unit and the killed one's card is charged: what a dead checkout leaves
    assert catalog.get("acme", "LIMITED").stock == 7
    assert sorted(o["status"] for o in _orders(running)) == ["confirmed", "pending", "pending"]
    assert len(_open_authorizations(running)) == 2

    time.sleep(HOLD_SECONDS + 1)
    _sweep(running)
    assert catalog.get("acme", "LIMITED").stock == 9
    assert sorted(o["status"] for o in _orders(running)) == ["confirmed", "expired", "expired"]
    [left_open] = _open_authorizations(running)
    assert left_open["reference"] == placed.json()["order_id"]  # the sale's, and only it
    # A second sweep finds nothing more to do: the release happened once
    _sweep(running)
    assert catalog.get("acme", "LIMITED").stock == 9
    # The killed purchase's retry is told it expired and to use a new key; nothing is charged again
    retried = running.call(
        "POST", "/orders", key=key, json=_order(1, "4000000000003220"), headers={"idempotency-key": "killed"}
    )
    assert (retried.status_code, retried.json()["error"]) == (409, "checkout_expired")
    assert len(_open_authorizations(running)) == 1
