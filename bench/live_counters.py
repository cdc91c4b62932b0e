"""How big an hour's live counters item grows (LiveCountersTable, DynamoDB's 400 KB per item).

    .venv/bin/python -m bench.live_counters

Counts busy hours in memory: each order's update (`add_update`) is applied as DynamoDB applies
its ADDs, and the item is measured by DynamoDB's rules (a name's UTF-8 bytes, a number's 1 byte
plus 1 per two significant digits). Orders of 1 to 3 lines (1.7 on average) over 4 channels,
10 countries and 30 categories of ~25 characters, SKUs "SKU-000123", all drawn at random (seeded):
nearly every (channel, country, category, SKU) of the hour is new, the worst case for its size.
Prints one line per hour: orders, (cell, SKU) pairs, cells, the item's size, bytes per pair.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import MagicMock

from tandem.adapters.live_tables import CELL_PREFIX, UNITS_PREFIX, LiveCountersTable
from tandem.models.records import Order, OrderLine, OrderStatus

HOUR = datetime(2026, 3, 1, 10, tzinfo=UTC)
KINDS = (
    "Kitchen",
    "Garden",
    "Home Decor",
    "Toys",
    "Stationery",
    "Lighting",
    "Bath",
    "Outdoor",
    "Gifts",
    "Party",
)
CATEGORIES = [f"{kind} & Accessories {n}" for kind in KINDS for n in range(3)]
COUNTRIES = ("GB", "DE", "FR", "NL", "IE", "ES", "IT", "BE", "US", "SE")
CHANNELS = ("web", "mobile", "pos", "marketplace")


def item_size(item: dict[str, Any]) -> int:
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if isinstance(value, int | Decimal):
            digits = len(Decimal(value).normalize().as_tuple().digits)
            size += 1 + (digits + 1) // 2
        else:
            size += len(str(value).encode())
    return size


def apply(item: dict[str, Any], entry: dict[str, Any]) -> None:
    update = entry["Update"]
    adds = re.fullmatch(r"ADD (.*) SET #exp = :exp", update["UpdateExpression"])
    assert adds is not None
    for clause in adds.group(1).split(", "):
        name, value = clause.split(" ")
        attribute = update["ExpressionAttributeNames"][name]
        item[attribute] = item.get(attribute, 0) + update["ExpressionAttributeValues"][value]
    item["expires_at"] = update["ExpressionAttributeValues"][":exp"]


def busy_hour(orders: int, catalogue: int, rng: random.Random) -> dict[str, Any]:
    counters = LiveCountersTable("LiveCountersTable", MagicMock())  # only builds updates
    category = {f"SKU-{n:06d}": rng.choice(CATEGORIES) for n in range(catalogue)}
    skus = list(category)
    item: dict[str, Any] = {"tenant_id": "acme", "bucket": "hour#2026-03-01T10"}
    for number in range(orders):
        lines = {
            sku: OrderLine(
                sku=sku,
                quantity=rng.randint(1, 3),
                unit_price=Decimal(rng.randint(100, 9999)) / 100,
                category=category[sku],
            )
            for sku in rng.sample(skus, rng.choice((1, 1, 2, 2, 1, 3)))
        }
        order = Order(
            tenant_id="acme",
            order_id=f"o{number}",
            created_at=HOUR + timedelta(seconds=number),
            status=OrderStatus.CONFIRMED,
            currency="GBP",
            channel=rng.choice(CHANNELS),
            country=rng.choice(COUNTRIES),
            lines=tuple(lines.values()),
        )
        apply(item, counters.add_update(order))
    return item


def main() -> None:
    rng = random.Random(7)
    print(f"{'orders':>7} {'pairs':>6} {'cells':>6} {'item KB':>8} {'B/pair':>7}")
    for orders in (250, 500, 1000, 2000, 3000):
        item = busy_hour(orders, 20_000, rng)
        pairs = sum(1 for name in item if name.startswith(UNITS_PREFIX))
        cells = sum(1 for name in item if name.startswith(CELL_PREFIX))
        size = item_size(item)
        print(f"{orders:>7} {pairs:>6} {cells:>6} {size / 1024:>8.0f} {size / pairs:>7.0f}")


if __name__ == "__main__":
    main()
