"""Checkout on the local cloud under load: stock is never oversold, an Idempotency-Key charges once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from tandem.adapters.catalog_table import CatalogTable
from tandem.models.catalog import Product
from tests.e2e.conftest import Running

STOCK = 50
BUYERS = 200
# Simultaneous connections. The emulator starts a Lambda worker per concurrent call and runs
# them all on this 2-core machine: 10 at once keeps every answer well inside the timeout.
CLIENTS = 10


def _card(n: int) -> str:
    """A distinct Luhn-valid Visa number per buyer: one card hammered 200 times is fraud, rightly blocked."""
    body = f"4242420{n:08d}"
    digits = [int(d) for d in body]
    total = sum(d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
    return body + str((10 - total % 10) % 10)


def _order(n: int = 0) -> dict[str, Any]:
    return {
        "items": [{"sku": "LIMITED", "quantity": 1}],
        "customer": {"email": f"buyer{n}@example.com", "name": "Grace Hopper", "country": "GB"},
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Leeds",
            "postal_code": "LS1 1AA",
            "country": "GB",
        },
        "payment": {"card_number": _card(n), "expiry": "12/30", "cvc": "123"},
        "currency": "GBP",
    }


def _catalog(running: Running) -> CatalogTable:
    catalog = CatalogTable(running.stack.physical["ProductsTable"], running.cloud.resource("dynamodb"))
    catalog.put(
        Product(
            tenant_id="acme",
            sku="LIMITED",
            name="Limited print",
            price=Decimal("30"),
            currency="GBP",
            stock=STOCK,
        )
    )
    return catalog


def _warm_up(running: Running, key: str) -> None:
    """One concurrent wave of reads first: the emulator starts a worker per concurrent call, and
    CLIENTS cold starts at once on 2 cores can outlast the function's timeout. What these tests
    measure is the stock and the charges, not the emulator's cold starts."""

    def read(_: int) -> int:
        return running.call("GET", "/products/LIMITED", key=key, timeout=120).status_code

    with ThreadPoolExecutor(CLIENTS) as clients:
        assert set(clients.map(read, range(CLIENTS))) == {200}


def _orders(running: Running) -> list[dict[str, Any]]:
    table = running.cloud.resource("dynamodb").Table(running.stack.physical["OrdersTable"])
    return list(table.scan()["Items"])


def test_200_concurrent_checkouts_sell_exactly_the_50_in_stock(running: Running) -> None:
    key = running.tenant_with_key("acme")
    catalog = _catalog(running)
    _warm_up(running, key)

    def buy(n: int) -> int:
        answer = running.call(
            "POST", "/orders", key=key, json=_order(n), headers={"idempotency-key": f"buyer-{n}"}, timeout=120
        )
        return answer.status_code

    with ThreadPoolExecutor(CLIENTS) as clients:
        statuses = Counter(clients.map(buy, range(BUYERS)))

    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] == STOCK
    left = catalog.get("acme", "LIMITED").stock
    sold = sum(int(line["quantity"]) for order in _orders(running) for line in order["lines"])
    assert (left, sold) == (0, STOCK)
    assert left + sold == STOCK


def test_50_concurrent_replays_of_one_key_make_one_order_and_one_charge(running: Running) -> None:
    key = running.tenant_with_key("acme")
    catalog = _catalog(running)
    _warm_up(running, key)

    def replay(_: int) -> tuple[int, str]:
        answer = running.call(
            "POST",
            "/orders",
            key=key,
            json=_order(),
            headers={"idempotency-key": "one-purchase"},
            timeout=120,
        )
        return answer.status_code, answer.json().get("order_id", answer.json().get("error"))

    with ThreadPoolExecutor(CLIENTS) as clients:
        answers = list(clients.map(replay, range(50)))

    # Each replay gets the order, or is told the first is still running (409): never a second order.
    assert {status for status, _ in answers} <= {201, 409}, answers
    confirmed = {order_id for status, order_id in answers if status == 201}
    assert len(confirmed) == 1
    assert len(_orders(running)) == 1
    assert catalog.get("acme", "LIMITED").stock == STOCK - 1
    # One charge: the authorization behind the one order is the only one (the sandbox is per process,
    # so the order's single authorization id is what proves it across workers).
    assert len({order["payment"]["authorization_id"] for order in _orders(running)}) == 1


def test_the_deployed_sample_sanctions_list_screens_checkouts(running: Running) -> None:
    # Screening fails closed without a list (tests/integration/test_deploy_settings.py), so the local
    # cloud publishes a sample of fictional names on deploy (infra/local/sanctions-sample.json).
    key = running.tenant_with_key("acme")
    catalog = _catalog(running)
    listed = {**_order(900), "customer": {**_order(900)["customer"], "name": "PETROV, Ivan"}}
    answer = running.call("POST", "/orders", key=key, json=listed, headers={"idempotency-key": "listed"})
    assert (answer.status_code, answer.json()["error"]) == (403, "blocked")
    assert catalog.get("acme", "LIMITED").stock == STOCK
