"""review_order with the fakes: the verdict recorded once, a change kept, an unknown order not found."""

from datetime import UTC, datetime

import pytest

from tandem.logic.errors import NotFoundError
from tandem.logic.orders import ReviewDeps, review_order
from tandem.models.checkout import ReviewRequest
from tests.factories import order
from tests.fakes import FakeClock, FakeOrders

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_a_verdict_is_recorded_once_and_a_change_beside_it() -> None:
    placed = order(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    orders, clock = FakeOrders([placed]), FakeClock(NOW)
    deps = ReviewDeps(orders=orders, clock=clock)
    first = review_order(
        "acme", placed.order_id, ReviewRequest(decision="fraud", note="chargeback"), "k1", deps
    )
    assert [(r.decision, r.note, r.reviewed_at, r.reviewed_by) for r in first.reviews] == [
        ("fraud", "chargeback", NOW, "k1")
    ]
    again = review_order("acme", placed.order_id, ReviewRequest(decision="fraud", note="again"), "k2", deps)
    assert again.reviews == first.reviews
    changed = review_order("acme", placed.order_id, ReviewRequest(decision="legit"), "k2", deps)
    assert [r.decision for r in changed.reviews] == ["fraud", "legit"]
    assert orders.get("acme", placed.order_id) == changed


def test_another_tenants_order_is_not_found() -> None:
    placed = order(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), tenant="globex")
    deps = ReviewDeps(orders=FakeOrders([placed]), clock=FakeClock(NOW))
    with pytest.raises(NotFoundError):
        review_order("acme", placed.order_id, ReviewRequest(decision="fraud"), "k1", deps)
