"""Stock held the one way the code holds it: a PENDING order in a checkout's transaction.

Tests that need units taken while something else happens (a product edit, an adjustment, a
race) hold them through `DynamoCheckoutStore`, exactly as `place_order` does, without a
payment: `hold` takes the units under a PENDING order, `release` gives them back as a
declined payment does (PENDING → DECLINED, one transaction).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tandem.adapters.checkout_store import DynamoCheckoutStore
from tandem.models.records import CheckoutRecord, Order, OrderLine, OrderStatus
from tests.template_model import Resolver


class Holds:
    def __init__(self, stack: Resolver, dynamodb: Any = None) -> None:
        physical = stack.physical
        self.store = DynamoCheckoutStore(
            physical["OrdersTable"], physical["ProductsTable"], physical["AuditTable"], dynamodb
        )

    def hold(self, tenant_id: str, quantities: Mapping[str, int]) -> CheckoutRecord:
        """Take every line or none (OutOfStockError, with what is left of each short line)."""
        now = datetime.now(UTC)
        order_id = uuid.uuid4().hex
        order = Order(
            tenant_id=tenant_id,
            order_id=order_id,
            created_at=now,
            status=OrderStatus.PENDING,
            currency="GBP",
            lines=tuple(
                OrderLine(sku=sku, quantity=q, unit_price=Decimal(1)) for sku, q in quantities.items()
            ),
        )
        record = CheckoutRecord(
            order=order,
            request_fingerprint="held-by-a-test",
            provider_key=f"test-{order_id}",
            hold_until=now + timedelta(minutes=2),
        )
        self.store.hold(record, ())
        return record

    def release(self, record: CheckoutRecord) -> None:
        assert self.store.decline(record, {"decline_code": "do_not_honor"}), "the hold was already ended"
