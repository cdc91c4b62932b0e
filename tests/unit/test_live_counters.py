"""The live counters' dashboard attributes (adapters/live_tables.py): names that parse back to their
fields whatever the values hold, and an update DynamoDB accepts for the largest checkout."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import MagicMock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tandem.adapters.live_tables import (
    LiveCountersTable,
    cell_attribute,
    decode_field,
    encode_field,
    hour_from_item,
    revenue_attribute,
    units_attribute,
)
from tandem.models.records import Order, OrderLine, OrderStatus
from tests.fakes import FakeCounters

HOUR = datetime(2026, 3, 1, 10, tzinfo=UTC)
AWKWARD = [
    "Tea | Coffee",
    "100% cotton",
    "%7C",
    "%25|%",
    "#1 sellers",
    "Küche & Bad",
    "家居",
    "a||b",
    " ",
    "tab\tand\nline",
]


def _counters() -> LiveCountersTable:
    # add_update only builds the update: no table is called.
    return LiveCountersTable("counters", MagicMock())


def _apply(item: dict[str, Any], entry: dict[str, Any]) -> None:
    """What DynamoDB does with the update: each `ADD #name :value` adds to the named attribute."""
    update = entry["Update"]
    adds = re.fullmatch(r"ADD (.*) SET #exp = :exp", update["UpdateExpression"])
    assert adds is not None
    for clause in adds.group(1).split(", "):
        name, value = clause.split(" ")
        attribute = update["ExpressionAttributeNames"][name]
        item[attribute] = item.get(attribute, 0) + update["ExpressionAttributeValues"][value]


def _order(order_id: str, channel: str | None, country: str | None, *lines: OrderLine) -> Order:
    return Order(
        tenant_id="acme", order_id=order_id, created_at=HOUR + timedelta(minutes=5),
        status=OrderStatus.CONFIRMED, currency="EUR", channel=channel, country=country, lines=lines,
    )  # fmt: skip


@given(st.text(max_size=20))
def test_a_field_decodes_to_itself_and_never_holds_the_separator(value: str) -> None:
    encoded = encode_field(value)
    assert "|" not in encoded
    assert not any(ord(char) < 0x20 or char == "\x7f" for char in encoded)
    assert decode_field(encoded) == value


@pytest.mark.parametrize("category", AWKWARD)
def test_names_split_into_exactly_their_fields(category: str) -> None:
    assert cell_attribute("web", "DE", category).split("|")[1:] == ["web", "DE", encode_field(category)]
    assert len(units_attribute("a|b", "%", category, "SKU-1").split("|")) == 5
    assert len(revenue_attribute("EUR", "a|b", "%", category, "SKU-1").split("|")) == 6


def test_an_hours_updates_read_back_as_the_orders_counted_independently() -> None:
    # Given orders with lines in awkward categories, a SKU twice in one order, no channel or country
    line = OrderLine
    orders = [
        _order(
            "o1", "web", "DE",
            line(sku="MUG", quantity=2, unit_price=Decimal("6.50"), category=AWKWARD[0]),
            line(sku="TEA", quantity=1, unit_price=Decimal("3.2500"), category=AWKWARD[1]),
            line(sku="MUG", quantity=1, unit_price=Decimal("6.50"), category=AWKWARD[0]),
        ),
        _order("o2", None, None, *(line(sku=f"S{i}", quantity=i, unit_price=Decimal(i), category=c)
                                  for i, c in enumerate(AWKWARD, start=1))),
        _order("o3", "web", "DE", line(sku="MUG", quantity=1, unit_price=Decimal("7"), category=AWKWARD[0])),
    ]  # fmt: skip
    item: dict[str, Any] = {"tenant_id": "acme", "bucket": "hour#2026-03-01T10"}
    fake = FakeCounters()
    # When each is counted
    for order in orders:
        _apply(item, _counters().add_update(order))
        fake.add(order)
    # Then the item reads back as the fake sums the same orders
    assert [hour_from_item(item)] == fake.hours("acme", HOUR, HOUR + timedelta(hours=1))
    # and the older attributes are as they were
    assert (item["orders"], item["units"], item["channel#unknown"], item["country#DE"]) == (3, 60, 1, 2)


def test_an_hour_counted_before_the_cells_existed_has_totals_and_no_cells() -> None:
    item = {"tenant_id": "acme", "bucket": "hour#2026-03-01T10", "orders": Decimal(2), "units": Decimal(3),
            "revenue#GBP": Decimal("9.75"), "channel#web": Decimal(2), "expires_at": Decimal(1)}  # fmt: skip
    hour = hour_from_item(item)
    assert (hour.hour, hour.orders, hour.units, hour.revenue, hour.cells, hour.skus) == (
        HOUR, 2, 3, {"GBP": Decimal("9.75")}, [], [],
    )  # fmt: skip


def test_the_largest_checkout_fits_dynamodbs_expression_limits() -> None:
    # Given 96 lines (the checkout's most), each its own SKU and category, names as long as allowed
    lines = tuple(
        OrderLine(sku=f"{i:02d}".ljust(64, "X"), quantity=1000, unit_price=Decimal("99999999.9999"),
                  category=f"{i:02d}" + "|" * 62)
        for i in range(96)
    )  # fmt: skip
    update = _counters().add_update(_order("big", "marketplace", "GB", *lines))["Update"]
    # Then the expression is under DynamoDB's 4 KB, every placeholder is used and each names one attribute
    expression = update["UpdateExpression"]
    assert len(expression.encode()) < 4096 - 512
    used = set(re.findall(r"[#:][a-z0-9]+", expression))
    assert used == set(update["ExpressionAttributeNames"]) | set(update["ExpressionAttributeValues"])
    assert len(set(update["ExpressionAttributeNames"].values())) == len(update["ExpressionAttributeNames"])
    assert len(update["ExpressionAttributeNames"]) == 3 + 3 + 96 * 3
