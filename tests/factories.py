"""Small builders of domain records for tests."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal

from tandem.models.records import Order, OrderLine, OrderStatus

_ids = itertools.count(1)


def order(
    created_at: datetime,
    *lines: tuple[str, int, str],
    tenant: str = "acme",
    status: OrderStatus = OrderStatus.CONFIRMED,
    currency: str = "GBP",
) -> Order:
    """An order; each line is (sku, quantity, unit price as a string)."""
    return Order(
        tenant_id=tenant,
        order_id=f"ord-{next(_ids):06d}",
        created_at=created_at,
        status=status,
        currency=currency,
        lines=tuple(OrderLine(sku=sku, quantity=qty, unit_price=Decimal(price)) for sku, qty, price in lines)
        or (OrderLine(sku="SKU-1", quantity=1, unit_price=Decimal("10.00")),),
        country="GB",
        channel="web",
    )
