"""The catalogue's use cases over the fakes: edits keep the stock, adjustments are deltas kept in a
ledger, once per Idempotency-Key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tandem.logic import catalog
from tandem.logic.catalog import CatalogDeps, adjustment_id
from tandem.logic.errors import IdempotencyKeyReusedError, NotFoundError, OutOfStockError
from tandem.models.catalog import Product, ProductUpdate, StockAdjustmentRequest
from tests.fakes import FakeCatalog

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _deps(stock: int = 5) -> CatalogDeps:
    mug = Product(tenant_id="acme", sku="MUG", name="Mug", price=Decimal("6.50"), currency="GBP", stock=stock)
    return CatalogDeps(products=FakeCatalog(mug), clock=Clock())


def _edit(**change: object) -> ProductUpdate:
    return ProductUpdate.model_validate({"name": "Mug", "price": "7.00", "currency": "GBP", **change})


def _request(delta: int, reason: str = "count_correction", note: str | None = None) -> StockAdjustmentRequest:
    return StockAdjustmentRequest.model_validate({"delta": delta, "reason": reason, "note": note})


def test_an_edit_keeps_the_stock_and_a_new_product_starts_with_none() -> None:
    deps = _deps(stock=5)
    product, created = catalog.set_product("acme", "MUG", _edit(category="kitchen"), deps)
    assert (created, product.stock, product.price, product.category) == (False, 5, Decimal("7.00"), "kitchen")
    product, created = catalog.set_product("acme", "TEA", _edit(), deps)
    assert (created, product.stock) == (True, 0)


def test_the_adjustment_id_is_the_same_per_key_and_distinct_per_tenant_sku_and_key() -> None:
    ids = {
        adjustment_id(tenant, sku, key)
        for tenant in ("acme", "bravo")
        for sku in ("MUG", "TEA")
        for key in ("k1", "k2")
    }
    assert len(ids) == 8
    assert adjustment_id("acme", "MUG", "k1") == adjustment_id("acme", "MUG", "k1")


def test_an_adjustment_moves_the_stock_and_a_replay_answers_the_first_entry() -> None:
    deps = _deps(stock=5)
    first = catalog.adjust_stock("acme", "MUG", _request(+10, "restock"), "k1", "key-a", deps)
    assert (first.stock, first.adjustment.delta, first.adjustment.by) == (15, 10, "key-a")
    # A retry, later and through another key holder, adds nothing and answers the first entry
    again = catalog.adjust_stock("acme", "MUG", _request(+10, "restock"), "k1", "key-b", deps)
    assert again == first
    # The same key for another change is refused
    with pytest.raises(IdempotencyKeyReusedError):
        catalog.adjust_stock("acme", "MUG", _request(+10, "restock", note="other box"), "k1", "key-a", deps)
    entries, _ = catalog.list_stock_adjustments("acme", "MUG", 10, None, deps)
    assert [e.adjustment_id for e in entries] == [first.adjustment.adjustment_id]
    assert catalog.get_product("acme", "MUG", deps).stock == 15


def test_stock_never_goes_below_zero_and_unknown_skus_are_not_found() -> None:
    deps = _deps(stock=5)
    with pytest.raises(OutOfStockError) as refused:
        catalog.adjust_stock("acme", "MUG", _request(-6), "k1", "key-a", deps)
    assert refused.value.details[0]["ctx"] == {"sku": "MUG", "delta": -6, "stock": 5}
    assert catalog.adjust_stock("acme", "MUG", _request(-5), "k2", "key-a", deps).stock == 0
    with pytest.raises(NotFoundError):
        catalog.adjust_stock("acme", "NOPE", _request(1), "k3", "key-a", deps)
    with pytest.raises(NotFoundError):
        catalog.list_stock_adjustments("acme", "NOPE", 10, None, deps)
    with pytest.raises(NotFoundError):
        catalog.list_stock_adjustments("bravo", "MUG", 10, None, deps)


def test_the_ledger_is_newest_first() -> None:
    deps = _deps()
    for n in range(1, 4):
        catalog.adjust_stock("acme", "MUG", _request(n, "restock"), f"k{n}", "key-a", deps)
    first, cursor = catalog.list_stock_adjustments("acme", "MUG", 2, None, deps)
    rest, end = catalog.list_stock_adjustments("acme", "MUG", 2, cursor, deps)
    assert ([e.delta for e in first], [e.delta for e in rest], end) == ([3, 2], [1], None)
