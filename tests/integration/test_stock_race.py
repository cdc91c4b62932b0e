"""Product edits and stock adjustments while checkouts reserve and release the same stock.

Checkouts hold units under PENDING orders and give some back as declines do (tests/holds.py, the
checkout's own `DynamoCheckoutStore`) from several threads,
while the shop edits the product and adjusts its stock over the API (and a second tool replays the
same adjustments). At the end every unit is accounted for:
stock on hand + units still held = opening stock + the ledger's deltas, each adjustment counted once.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto.core.botocore_stubber import BotocoreStubber

from tandem.adapters.catalog_table import CatalogTable
from tandem.handlers import api
from tandem.logic import catalog
from tandem.logic.catalog import CatalogDeps
from tandem.logic.errors import OutOfStockError
from tandem.models.catalog import Product, StockAdjustmentRequest
from tests.events import http_event
from tests.holds import Holds
from tests.moto_stack import REGION
from tests.template_model import Resolver

OPENING = 20
CHECKOUTS = 6  # threads, each reserving and sometimes releasing
ROUNDS = 30  # edits and adjustments by the shop


@pytest.fixture
def one_request_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each request atomically; in-process moto does not under threads (a cancelled
    transaction restores a copy of the whole table taken when it began, erasing what other threads
    wrote meanwhile). Serialise moto's handling of each request, so that requests interleave as
    they do in DynamoDB: whole, in some order."""
    lock = threading.Lock()
    handle = BotocoreStubber.__call__

    def atomically(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        with lock:
            return handle(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", atomically)


def _table(stack: Resolver) -> CatalogTable:
    """A table of its own per thread: boto3 resources are not to be shared between threads."""
    resource = boto3.session.Session().resource("dynamodb", region_name=REGION)
    return CatalogTable(stack.physical["ProductsTable"], resource, cursor_key=b"race-test-cursor-key")


def _adjustment(n: int) -> dict[str, Any]:
    """Mostly deliveries, every third one a breakage that may find too little on hand (409)."""
    return {"delta": -4, "reason": "damaged"} if n % 3 == 2 else {"delta": 3, "reason": "restock"}


class Background:
    """Checkout threads reserving MUG (and giving some back, as declined payments do) until told to
    stop, and a second tool replaying the shop's adjustments with the same keys and bodies."""

    def __init__(self, stack: Resolver) -> None:
        self.stack = stack
        self.done = threading.Event()
        self.held = [0] * CHECKOUTS  # units each checkout thread still holds
        self.failures: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._guarded, args=(self._checkout, w)) for w in range(CHECKOUTS)
        ]
        self.threads.append(threading.Thread(target=self._guarded, args=(self._replays, 0)))

    def __enter__(self) -> Background:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _guarded(self, work: Callable[[int], None], worker: int) -> None:
        try:
            work(worker)
        except BaseException as error:  # reported by the test
            self.failures.append(error)

    def _checkout(self, worker: int) -> None:
        holds, n = Holds(self.stack, boto3.session.Session().resource("dynamodb", region_name=REGION)), 0
        while not self.done.is_set() or n < 10:
            n += 1
            quantity = 1 + n % 2
            try:
                held = holds.hold("acme", {"MUG": quantity})
            except OutOfStockError:
                continue
            self.held[worker] += quantity
            if n % 3 == 0:
                holds.release(held)
                self.held[worker] -= quantity

    def _replays(self, _: int) -> None:
        deps = CatalogDeps(products=_table(self.stack))
        for n in range(ROUNDS):
            request = StockAdjustmentRequest.model_validate(_adjustment(n))
            with contextlib.suppress(OutOfStockError):
                catalog.adjust_stock("acme", "MUG", request, f"adj-{n}", "acme-key", deps)


def _api(method: str, path: str, lambda_context: Any, **kwargs: Any) -> tuple[int, Any]:
    route = path.replace("/MUG", "/{sku}")
    event = http_event(
        method, path, route=route, scopes="admin orders:read", path_parameters={"sku": "MUG"}, **kwargs
    )
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.usefixtures("one_request_at_a_time")
def test_edits_and_adjustments_racing_checkouts_neither_lose_nor_invent_a_unit(
    stack: Resolver, lambda_context: Any
) -> None:
    # Given MUG with its opening stock
    _table(stack).put(
        Product(tenant_id="acme", sku="MUG", name="Mug", price=Decimal("6.50"), currency="GBP", stock=OPENING)
    )
    # When the shop edits MUG and adjusts its stock while checkouts and a second tool run
    answered: list[str] = []
    with Background(stack) as background:
        for n in range(ROUNDS):
            edit = {"name": f"Mug v{n}", "price": f"{6 + n % 3}.50", "currency": "GBP"}
            status, product = _api("PUT", "/products/MUG", lambda_context, body=edit)
            assert status == 200, product
            headers = {"idempotency-key": f"adj-{n}"}
            status, answer = _api(
                "POST",
                "/products/MUG/stock-adjustments",
                lambda_context,
                body=_adjustment(n),
                headers=headers,
            )
            assert status in (201, 409), answer
            answered += [answer["adjustment"]["adjustment_id"]] if status == 201 else []
    assert not background.failures, background.failures

    # Then each adjustment is in the ledger once, and every unit is accounted for
    table = _table(stack)
    entries, cursor = table.stock_adjustments("acme", "MUG", 200, None)
    ids = [entry.adjustment_id for entry in entries]
    assert cursor is None
    assert len(ids) == len(set(ids))
    assert set(answered) <= set(ids)
    product = table.get("acme", "MUG")
    assert product is not None
    assert product.stock + sum(background.held) == OPENING + sum(entry.delta for entry in entries)
    # and the details are the last edit's: no edit was lost, and none touched the stock
    assert (product.name, product.price) == (f"Mug v{ROUNDS - 1}", Decimal(f"{6 + (ROUNDS - 1) % 3}.50"))
    assert sum(background.held) > 0  # the checkouts did take units meanwhile
