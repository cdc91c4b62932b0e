"""What follows a confirmation, read from the orders table's stream: the outbox's consumer.

The checkout answers 201 as soon as its order is CONFIRMED and waits for nothing else. The
order's own change PENDING → CONFIRMED is the outbox: the table's stream carries it here, and
for each confirmed order, once:

a. its three follow-ups (confirmation e-mail, warehouse pick, courier notification) are sent
   to the follow-up queue, all in one call;
b. then ONE transaction marks the order's effects applied (`effects_applied_at`, on condition
   that it is not set and the order is still CONFIRMED) and adds the order to the live
   counters, its customer's payment window and the customer's and tenant's amount histories.

Idempotent per order: before (a), the order is read (strongly consistent); if its effects are
applied (a redelivered record, a redriven one) or it is no longer CONFIRMED, nothing is done.
The condition in (b) settles a race of two deliveries. The follow-ups alone may go out twice:
when a process dies (or a write keeps failing) between (a) and (b), the next delivery sends
them again. Their consumers dedupe by (order_id, kind).

Failures, per record, so one order never holds up another: a transient error is retried a few
times here with backoff; what still fails is parked (OrderEventsDeadLetterQueue, a message
naming the tenant, the order and the error) and the batch goes on. A record that cannot even be
parked is reported as a batch item failure (AWS retries from it; MiniStack ignores the report).
A deterministic error (an order that cannot be read or priced) is parked at once.

Only changes from PENDING to CONFIRMED count: orders written CONFIRMED outright (the demo
seed, imports) were never sold through this checkout and have no follow-ups to send.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import get_args

from tandem.logic.ports import Clock, EventParking, FollowUpPublisher, OrderEffectsStore, StreamReplay
from tandem.logic.risk import buyer_key
from tandem.models.messages import FollowUpKind, OrderFollowUp
from tandem.models.order_events import ParkedOrderEvent, StreamBatchInfo
from tandem.models.payments import to_minor_units
from tandem.models.records import Order, OrderStatus
from tandem.observability import logger

FOLLOW_UPS: tuple[FollowUpKind, ...] = get_args(FollowUpKind)


class UnusableOrderError(ValueError):
    """The order cannot be turned into its effects (no customer to key its history on): retrying
    cannot help, so it is parked at once."""


@dataclass(frozen=True)
class OrderChange:
    """One record of the orders table's stream, as far as this consumer needs it."""

    event_id: str
    sequence_number: str  # what AWS's batchItemFailures name
    tenant_id: str
    order_id: str
    old_status: str | None  # None: the item did not exist (an INSERT)
    new_status: str | None  # None: the item was deleted (a REMOVE)


@dataclass(frozen=True)
class OrderEffects:
    """What a confirmed order adds, once: `order` to the counters, `amount_minor` to the histories
    and the payment window of `customer_key` (tandem.logic.risk.buyer_key)."""

    order: Order
    customer_key: str
    amount_minor: int
    applied_at: datetime


class Outcome(StrEnum):
    APPLIED = "applied"  # follow-ups sent, counters and histories written
    SKIPPED = "skipped"  # applied before (a redelivery), or the order is no longer CONFIRMED
    IGNORED = "ignored"  # not a PENDING → CONFIRMED change
    PARKED = "parked"  # failed every attempt; waits in the dead-letter queue
    FAILED = "failed"  # failed, and could not be parked either


@dataclass(frozen=True)
class OrderEventsDeps:
    effects: OrderEffectsStore
    follow_ups: FollowUpPublisher
    parking: EventParking
    replay: StreamReplay
    clock: Clock
    sleep: Callable[[float], None]
    attempts: int = 3  # per record, in this process
    backoff_seconds: float = 0.2  # before the 2nd attempt; 4 times longer before each next one


@dataclass
class BatchReport:
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    # The sequence numbers of the records that failed and could not be parked.
    failed: list[str] = field(default_factory=list)

    def add(self, change: OrderChange, outcome: Outcome) -> None:
        self.counts[outcome] += 1
        if outcome is Outcome.FAILED:
            self.failed.append(change.sequence_number)


def is_confirmation(change: OrderChange) -> bool:
    return change.old_status == OrderStatus.PENDING.value and change.new_status == OrderStatus.CONFIRMED.value


def follow_ups(order: Order) -> list[OrderFollowUp]:
    return [
        OrderFollowUp(kind=kind, tenant_id=order.tenant_id, order_id=order.order_id) for kind in FOLLOW_UPS
    ]


def effects_of(order: Order, now: datetime) -> OrderEffects:
    if not (order.customer_id or order.customer_email):
        raise UnusableOrderError("the order names neither a customer id nor an e-mail address")
    return OrderEffects(
        order=order,
        customer_key=buyer_key(order.customer_id, order.customer_email or "", order.currency),
        amount_minor=to_minor_units(order.total, order.currency),
        applied_at=now,
    )


def apply_effects(tenant_id: str, order_id: str, deps: OrderEventsDeps) -> Outcome:
    """Send the order's follow-ups and write its effects, unless that was done (or it is not CONFIRMED)."""
    order = deps.effects.unapplied(tenant_id, order_id)
    if order is None:
        return Outcome.SKIPPED
    effects = effects_of(order, deps.clock())  # an unusable order fails before anything is sent
    deps.follow_ups.publish(follow_ups(order))
    return Outcome.APPLIED if deps.effects.apply(effects) else Outcome.SKIPPED


def consume_changes(
    changes: Sequence[OrderChange], deps: OrderEventsDeps, seconds_left: Callable[[], float]
) -> BatchReport:
    """The stream's batch, record by record: each confirmation applied, retried, or parked.

    `seconds_left` is the invocation's remaining time: no backoff starts that would not end
    well before it (what is left then is parked, not lost to a timeout).
    """
    report = BatchReport()
    for change in changes:
        if not is_confirmation(change):
            report.add(change, Outcome.IGNORED)
            continue
        report.add(change, _apply_or_park(change, deps, seconds_left))
    return report


def reapply(event: ParkedOrderEvent, deps: OrderEventsDeps) -> Outcome:
    """A parked event, redriven: applied if it still needs to be. Errors propagate (the queue retries)."""
    return apply_effects(event.tenant_id, event.order_id, deps)


def replay_batch(batch: StreamBatchInfo, deps: OrderEventsDeps) -> list[Outcome]:
    """A stream batch that failed every attempt (Lambda's on-failure record), read from the stream
    again and applied. Errors propagate (the queue retries, then the record returns to the DLQ)."""
    return [
        apply_effects(change.tenant_id, change.order_id, deps) if is_confirmation(change) else Outcome.IGNORED
        for change in deps.replay.changes(batch)
    ]


# Kept free at the end of an invocation: enough to park what is left and answer.
_RESERVE_SECONDS = 5.0


def _apply_or_park(change: OrderChange, deps: OrderEventsDeps, seconds_left: Callable[[], float]) -> Outcome:
    context = {"tenant_id": change.tenant_id, "order_id": change.order_id, "event_id": change.event_id}
    attempt = 1
    while True:
        try:
            return apply_effects(change.tenant_id, change.order_id, deps)
        except ValueError as error:  # deterministic (UnusableOrderError, an order that does not parse)
            last: Exception = error
            break
        except Exception as error:
            last = error
            delay = deps.backoff_seconds * 4 ** (attempt - 1)
            if attempt >= deps.attempts or seconds_left() < delay + _RESERVE_SECONDS:
                break
            logger.warning(
                "order effects failed; retrying",
                extra={**context, "attempt": attempt, "delay_seconds": delay, "error": _describe(error)},
            )
            deps.sleep(delay)
            attempt += 1
    logger.error(
        "order effects failed; parking the event", extra={**context, "attempts": attempt}, exc_info=last
    )
    parked = ParkedOrderEvent(
        tenant_id=change.tenant_id,
        order_id=change.order_id,
        error=_describe(last)[:2000],
        event_id=change.event_id,
        parked_at=deps.clock(),
    )
    try:
        deps.parking.park(parked)
    except Exception:
        logger.exception("order event could not be parked; reported as a batch item failure", extra=context)
        return Outcome.FAILED
    return Outcome.PARKED


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
