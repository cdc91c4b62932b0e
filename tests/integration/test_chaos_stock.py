"""Chaos, stock: concurrent checkouts over 10 SKUs (random quantities, 20 % declined cards, 5 %
crashed mid-checkout, some payments timing out after the card was charged, AWS throttling and 500s)
and then the sweeper, through its handler. For every SKU, stock + sold = initial; stock is never
seen below zero; every open authorization is a confirmed order's, each order charged at most once.

Smoke: 60 checkouts; `TANDEM_CHAOS=full` (`make chaos`): 500. The harness: tests/integration/chaos.py.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tandem.adapters import sandbox_gateway
from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.sandbox_gateway import SandboxGateway
from tandem.handlers import api, sweeper
from tandem.handlers.wiring import api as api_root
from tandem.handlers.wiring import sweeper as sweeper_root
from tandem.models.catalog import Product
from tests.conftest import FakeLambdaContext
from tests.events import http_event
from tests.integration.chaos import Boundary, ChaosContext, Figures, InvocationTimedOut, ProcessKilled, sized
from tests.integration.test_checkout_crashes import _card
from tests.moto_stack import REGION
from tests.template_model import Resolver

CHECKOUTS = sized(60, 500)
THREADS = 8
SKUS = [f"SKU-{n:02d}" for n in range(10)]
INITIAL = sized(20, 200)  # per SKU: enough that some sell out and later checkouts find too little
SEED = 20261204
DECLINED_CARD = "4000000000000002"  # the sandbox's do_not_honor


def _body(n: int, rng: random.Random) -> dict[str, Any]:
    skus = rng.sample(SKUS, rng.randint(1, 3))
    declined = rng.random() < 0.20
    return {
        "items": [{"sku": sku, "quantity": rng.randint(1, 4)} for sku in skus],
        "customer": {"email": f"buyer{n}@example.com", "name": "Ada Lovelace", "country": "GB"},
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Leeds",
            "postal_code": "LS1 1AA",
            "country": "GB",
        },
        "payment": {"card_number": DECLINED_CARD if declined else _card(n), "expiry": "12/30", "cvc": "123"},
        "currency": "GBP",
    }


class PaymentTimeouts:
    """The gateway's boundary: a seeded share of authorizations charge the card and then lose the
    answer (the provider's worst case, which the sandbox's own timeout card also plays)."""

    def __init__(self, seed: int, rate: float, monkeypatch: pytest.MonkeyPatch) -> None:
        self.random, self.rate, self.count, self.lock = random.Random(seed), rate, 0, threading.Lock()
        authorize = SandboxGateway.authorize

        def authorizing(gateway: SandboxGateway, request: Any, idempotency_key: str) -> Any:
            authorization = authorize(gateway, request, idempotency_key)
            with self.lock:
                timed_out = self.random.random() < self.rate
                self.count += timed_out
            if timed_out:
                raise sandbox_gateway.GatewayUnavailableError("the payment provider did not answer in time")
            return authorization

        monkeypatch.setattr(SandboxGateway, "authorize", authorizing)


def _sold(orders: list[dict[str, Any]]) -> Counter[str]:
    """Units of each SKU in confirmed orders."""
    return Counter(
        {
            sku: sum(
                int(line["quantity"])
                for o in orders
                if o["status"] == "confirmed"
                for line in o["lines"]
                if line["sku"] == sku
            )
            for sku in SKUS
        }
    )


def test_concurrent_checkouts_with_declines_crashes_and_timeouts_neither_lose_nor_invent_a_unit(
    stack: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    figures = Figures("stock under concurrent checkouts")
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    catalog = CatalogTable(stack.physical["ProductsTable"], dynamodb)
    for sku in SKUS:
        catalog.put(
            Product(tenant_id="acme", sku=sku, name=sku, price=Decimal("4.50"), currency="GBP", stock=INITIAL)
        )
    rng = random.Random(SEED)
    plans = [(n, _body(n, rng), rng.random()) for n in range(CHECKOUTS)]
    boundary = Boundary(SEED, throttle_rate=0.02, error_rate=0.01)
    boundary.install(monkeypatch)
    timeouts = PaymentTimeouts(SEED, 0.05, monkeypatch)
    api_root.checkout()  # the warm process's gateway and clients, built once before the threads race
    outcomes: Counter[str] = Counter()
    lowest: dict[str, int] = dict.fromkeys(SKUS, INITIAL)
    done = threading.Event()

    def checkout(n: int, body: dict[str, Any], roll: float) -> None:
        crash = roll < 0.05
        # The crash: killed before one of the checkout's own requests (its reads, the hold's
        # transaction, the payment's ledger write, the confirmation), nothing after it runs.
        context = ChaosContext(kill_at=random.Random(n).randint(1, 6) if crash else None)
        event = http_event(
            "POST",
            "/orders",
            body=body,
            scopes="orders:read orders:write",
            headers={"idempotency-key": f"chaos-{n}"},
        )
        try:
            with boundary.armed(context):
                response = api.handler(event, FakeLambdaContext())
        except (ProcessKilled, InvocationTimedOut):
            outcomes["crashed"] += 1
            return
        status = response["statusCode"]
        answer = json.loads(response["body"])
        outcomes[f"{status} {answer.get('status') or answer.get('error')}"] += 1

    def sample() -> None:
        # Stock as a reader sees it, all through the run: it must never be below zero.
        reader = CatalogTable(
            stack.physical["ProductsTable"], boto3.session.Session().resource("dynamodb", region_name=REGION)
        )
        with boundary.exempt():
            while not done.is_set():
                for sku in SKUS:
                    product = reader.get("acme", sku)
                    assert product is not None
                    lowest[sku] = min(lowest[sku], product.stock)
                time.sleep(0.1)

    started = time.monotonic()
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda plan: checkout(*plan), plans))
    finally:
        done.set()
        sampler.join()
    figures.faults.update(boundary.faults)
    del figures.faults["worker killed mid-batch"]  # here: the checkouts' crashes, counted below
    figures.faults["payment timed out (charged)"] = timeouts.count

    # Then the sweeper, through its handler, once the checkout holds are over
    hold = timedelta(seconds=api_root.settings().checkout_hold_seconds)
    monkeypatch.setattr(sweeper, "now", lambda: datetime.now(UTC) + hold + timedelta(seconds=1))
    swept = sweeper.handler({}, FakeLambdaContext())
    seconds = round(time.monotonic() - started, 1)

    orders = list(dynamodb.Table(stack.physical["OrdersTable"]).scan(ConsistentRead=True)["Items"])
    statuses = Counter(str(o["status"]) for o in orders)
    sold = _sold(orders)
    stock = {sku: catalog.get("acme", sku).stock for sku in SKUS}  # type: ignore[union-attr]
    gateway = sweeper_root.deps().gateway
    assert isinstance(gateway, SandboxGateway)
    charged = Counter(a.reference for a in gateway.charges if a.status.value == "approved")
    confirmed = {o["payment"]["authorization_id"] for o in orders if o["status"] == "confirmed"}
    unbalanced = {sku: (stock[sku], sold[sku]) for sku in SKUS if stock[sku] + sold[sku] != INITIAL}
    figures.jobs["checkouts"] = CHECKOUTS
    figures.faults["checkout crashed mid-way"] = outcomes["crashed"]
    figures.lost = sum(INITIAL - stock[sku] - sold[sku] for sku in SKUS if stock[sku] + sold[sku] < INITIAL)
    figures.duplicated = sum(n - 1 for n in charged.values() if n > 1) + sum(
        stock[sku] + sold[sku] - INITIAL for sku in SKUS if stock[sku] + sold[sku] > INITIAL
    )
    figures.extra.update(
        {f"answer {k}": v for k, v in sorted(outcomes.items()) if k != "crashed"}
        | {f"orders {k}": v for k, v in sorted(statuses.items())}
        | {f"swept {k}": v for k, v in swept.items() if v and not k.startswith("jobs_")}
        | {
            "units sold": sum(sold.values()),
            "lowest stock seen": min(lowest.values()),
            "open authorizations": len(gateway.open_authorizations()),
            "seconds": seconds,
        }
    )
    figures.show()

    assert outcomes["crashed"] > 0
    assert timeouts.count > 0
    assert statuses["confirmed"] > 0
    assert statuses["declined"] > 0
    assert unbalanced == {}  # stock + sold == initial, for every SKU
    assert min(lowest.values()) >= 0
    assert min(stock.values()) >= 0
    assert statuses["pending"] == 0  # the sweeper finished every checkout a crash or a timeout left
    assert {a.authorization_id for a in gateway.open_authorizations()} == confirmed
    assert figures.lost == 0
    assert figures.duplicated == 0
