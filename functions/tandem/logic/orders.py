"""Orders as the shop reads them back: one order, or a period's orders page by page."""

from dataclasses import dataclass
from datetime import UTC, datetime

from tandem.logic.errors import InvalidRequestError, NotFoundError
from tandem.logic.ports import Clock, OrderReviews, OrderStore
from tandem.models.checkout import ReviewRequest
from tandem.models.records import Order, OrderReview, OrderStatus


@dataclass(frozen=True)
class OrderDeps:
    orders: OrderStore


@dataclass(frozen=True)
class OrderQuery:
    """GET /orders: orders created in [date_from, date_to), optionally of one status, newest first."""

    date_from: datetime
    date_to: datetime
    status: OrderStatus | None = None
    limit: int = 50
    cursor: str | None = None


def validate_period(date_from: datetime, date_to: datetime) -> tuple[datetime, datetime]:
    """The period in UTC, or InvalidRequestError: zones required, `from` before `to`, both representable.

    An offset can push a valid local time out of datetime's range (0001-01-01T00:00:00+01:00
    is before year 1 in UTC): that is the caller's mistake, a 422, never an OverflowError.
    """
    if date_from.tzinfo is None or date_to.tzinfo is None:
        raise InvalidRequestError("'from' and 'to' need a time zone, e.g. 2026-11-01T00:00:00Z")
    try:
        start, end = date_from.astimezone(UTC), date_to.astimezone(UTC)
    except OverflowError:
        raise InvalidRequestError("'from' and 'to' must lie between the years 1 and 9999 in UTC") from None
    if start >= end:
        # A rule across both parameters: no schema states it, so the detail names the query.
        detail = {"loc": ["query"], "msg": "'from' must be before 'to'", "type": "invalid_period"}
        raise InvalidRequestError("'from' must be before 'to'", [detail])
    return start, end


def get_order(tenant_id: str, order_id: str, deps: OrderDeps) -> Order:
    # Keyed by tenant: another tenant's order is simply not found (404, never 403).
    order = deps.orders.get(tenant_id, order_id)
    if order is None:
        raise NotFoundError(f"no order '{order_id}'")
    return order


@dataclass(frozen=True)
class ReviewDeps:
    orders: OrderReviews
    clock: Clock


def review_order(
    tenant_id: str, order_id: str, request: ReviewRequest, key_id: str, deps: ReviewDeps
) -> Order:
    """POST /orders/{id}/review: the shop's verdict, a label for the nightly retraining.

    The same decision again changes nothing (the first one's time and note stay); a changed one is
    added to the order's reviews, so every change of mind is kept and the last one holds."""
    review = OrderReview(
        decision=request.decision, note=request.note, reviewed_at=deps.clock(), reviewed_by=key_id
    )
    order = deps.orders.review(tenant_id, order_id, review)
    if order is None:
        raise NotFoundError(f"no order '{order_id}'")
    return order


def list_orders(tenant_id: str, query: OrderQuery, deps: OrderDeps) -> tuple[list[Order], str | None]:
    start, end = validate_period(query.date_from, query.date_to)
    return deps.orders.page(tenant_id, start, end, query.status, query.limit, query.cursor)
