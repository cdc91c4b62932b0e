"""The orders stream's consumer (tandem.logic.order_events) with fakes: once per order, retried, parked."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

from tandem.logic.order_events import (
    FOLLOW_UPS,
    OrderChange,
    OrderEventsDeps,
    Outcome,
    UnusableOrderError,
    apply_effects,
    consume_changes,
    effects_of,
    reapply,
    replay_batch,
)
from tandem.logic.risk import buyer_key
from tandem.models.order_events import ParkedOrderEvent, StreamBatchInfo
from tandem.models.records import Order, OrderStatus
from tests.factories import order as make_order
from tests.fakes import FakeClock, FakeFollowUps, FakeOrderEffects, FakeParking, FakeStreamReplay

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def _order(status: OrderStatus = OrderStatus.CONFIRMED, **changes: object) -> Order:
    base = make_order(NOW, ("MUG", 2, "6.50"), ("TEA", 1, "3.25"), status=status)
    return base.model_copy(update={"customer_email": "Ann.Lee+shop@Example.com", **changes})


def _change(
    order: Order, old: str | None = "pending", new: str | None = "confirmed", seq: str = "100"
) -> OrderChange:
    return OrderChange(
        event_id=f"evt-{seq}",
        sequence_number=seq,
        tenant_id=order.tenant_id,
        order_id=order.order_id,
        old_status=old,
        new_status=new,
    )


@dataclass
class World:
    effects: FakeOrderEffects = field(default_factory=FakeOrderEffects)
    follow_ups: FakeFollowUps = field(default_factory=FakeFollowUps)
    parking: FakeParking = field(default_factory=FakeParking)
    replay: FakeStreamReplay = field(default_factory=FakeStreamReplay)
    sleeps: list[float] = field(default_factory=list)

    def deps(self) -> OrderEventsDeps:
        return OrderEventsDeps(
            effects=self.effects,
            follow_ups=self.follow_ups,
            parking=self.parking,
            replay=self.replay,
            clock=FakeClock(NOW),
            sleep=self.sleeps.append,
        )


def _plenty() -> float:
    return 60.0


@pytest.fixture
def world() -> World:
    return World()


def test_a_confirmation_sends_three_follow_ups_and_applies_its_effects_once(world: World) -> None:
    # Given a confirmed order whose effects are not applied
    order = _order()
    world.effects.store(order)
    # When its PENDING → CONFIRMED record is consumed, then delivered again
    first = consume_changes([_change(order)], world.deps(), _plenty)
    again = consume_changes([_change(order)], world.deps(), _plenty)
    # Then the three follow-ups went out once, and the effects were applied once
    assert [(m.kind, m.order_id) for m in world.follow_ups.sent] == [
        (kind, order.order_id) for kind in FOLLOW_UPS
    ]
    assert sorted(FOLLOW_UPS) == ["confirmation_email", "courier_notification", "warehouse_pick"]
    (effects,) = world.effects.applied
    assert effects.order == order
    assert effects.amount_minor == 1625  # 2 x 6.50 + 3.25 GBP
    assert (
        effects.customer_key
        == buyer_key(None, "Ann.Lee+shop@Example.com", "GBP")
        == "ann.lee@example.com#GBP"
    )
    assert effects.applied_at == NOW
    assert first.counts[Outcome.APPLIED] == 1
    assert again.counts[Outcome.SKIPPED] == 1
    assert first.failed == again.failed == []


def test_the_shops_own_customer_id_keys_the_histories_when_there_is_one() -> None:
    effects = effects_of(_order(customer_id="cust-7"), NOW)
    assert effects.customer_key == "cust-7#GBP"


def test_anything_but_pending_to_confirmed_is_ignored(world: World) -> None:
    # Given a confirmed order (as an import writes it) and its changes of every other kind
    order = _order()
    world.effects.store(order)
    changes = [
        _change(order, old=None, new="confirmed"),  # an INSERT of a confirmed order: seeding, imports
        _change(order, old=None, new="pending"),  # a checkout's hold
        _change(order, old="pending", new="declined"),
        _change(order, old="pending", new="expired"),
        _change(order, old="confirmed", new="confirmed"),  # effects_applied_at written
        _change(order, old="confirmed", new="refunded"),
        _change(order, old="confirmed", new=None),  # a REMOVE
    ]
    # When they are consumed
    report = consume_changes(changes, world.deps(), _plenty)
    # Then nothing is sent or written
    assert report.counts[Outcome.IGNORED] == len(changes)
    assert world.follow_ups.sent == []
    assert world.effects.applied == []


def test_an_order_no_longer_confirmed_when_read_gets_nothing(world: World) -> None:
    # Given a record of a confirmation, but the order was refunded since
    order = _order(status=OrderStatus.REFUNDED)
    world.effects.store(order)
    report = consume_changes([_change(order)], world.deps(), _plenty)
    assert report.counts[Outcome.SKIPPED] == 1
    assert world.follow_ups.sent == []
    assert world.effects.applied == []


def test_a_lost_race_sends_the_follow_ups_but_writes_nothing_twice(world: World) -> None:
    # Given an order another delivery applied between this one's read and its transaction
    order = _order()
    world.effects.store(order)
    deps = world.deps()
    assert deps.effects.unapplied(order.tenant_id, order.order_id) == order
    world.effects.applied.append(effects_of(order, NOW))
    world.effects.orders[(order.tenant_id, order.order_id)] = order  # still CONFIRMED

    # When this delivery's transaction runs (its read said "not applied")
    class Stale(FakeOrderEffects):
        def unapplied(self, tenant_id: str, order_id: str) -> Order | None:  # noqa: ARG002
            return order  # read before the other delivery's transaction

    stale = Stale(orders=world.effects.orders, applied=world.effects.applied)
    outcome = apply_effects(order.tenant_id, order.order_id, _with(world, effects=stale))
    # Then its condition fails: skipped, the effects still counted once
    assert outcome is Outcome.SKIPPED
    assert len(world.effects.applied) == 1
    assert len(world.follow_ups.sent) == 3  # the documented duplicate: consumers dedupe by (order, kind)


def _with(world: World, **changes: object) -> OrderEventsDeps:
    return replace(world.deps(), **changes)  # type: ignore[arg-type]


def test_a_transient_failure_is_retried_with_backoff_and_then_applied(world: World) -> None:
    # Given a transaction that fails twice, then works
    order = _order()
    world.effects.store(order)
    world.effects.failures = [ConnectionError("reset"), TimeoutError("slow")]
    # When the record is consumed
    report = consume_changes([_change(order)], world.deps(), _plenty)
    # Then it is applied on the third attempt, after growing pauses, and nothing is parked
    assert report.counts[Outcome.APPLIED] == 1
    assert world.sleeps == [0.2, 0.8]
    assert len(world.effects.applied) == 1
    assert world.parking.parked == []
    # Each attempt sent the follow-ups before its transaction failed: that is the documented duplicate
    assert len(world.follow_ups.sent) == 9


def test_a_record_that_fails_every_attempt_is_parked_and_the_batch_goes_on(world: World) -> None:
    # Given two confirmed orders; sending the first one's follow-ups keeps failing
    failing, fine = _order(), _order()
    world.effects.store(failing, fine)
    world.follow_ups.failures = [RuntimeError("SQS refused follow-ups (warehouse_pick: InternalError)")] * 3
    # When both records are consumed in one batch
    report = consume_changes([_change(failing, seq="1"), _change(fine, seq="2")], world.deps(), _plenty)
    # Then the first is parked after three attempts, naming the tenant, the order and the error
    (parked,) = world.parking.parked
    assert (parked.tenant_id, parked.order_id, parked.event_id) == (
        failing.tenant_id,
        failing.order_id,
        "evt-1",
    )
    assert parked.error == "RuntimeError: SQS refused follow-ups (warehouse_pick: InternalError)"
    assert parked.parked_at == NOW
    assert world.sleeps == [0.2, 0.8]
    # And the second is applied; no record is reported failed
    assert [e.order.order_id for e in world.effects.applied] == [fine.order_id]
    assert report.counts[Outcome.PARKED] == report.counts[Outcome.APPLIED] == 1
    assert report.failed == []


def test_a_deterministic_error_is_parked_at_once(world: World) -> None:
    # Given a confirmed order with neither a customer id nor an e-mail address
    order = _order(customer_email=None)
    world.effects.store(order)
    report = consume_changes([_change(order)], world.deps(), _plenty)
    # Then it is parked without a retry, and nothing was sent for it
    assert report.counts[Outcome.PARKED] == 1
    assert world.sleeps == []
    assert world.follow_ups.sent == []
    assert world.parking.parked[0].error.startswith("UnusableOrderError: ")
    with pytest.raises(UnusableOrderError):
        effects_of(order, NOW)


def test_no_backoff_starts_that_the_invocation_could_not_finish(world: World) -> None:
    # Given an invocation with 3 seconds left and a failing transaction
    order = _order()
    world.effects.store(order)
    world.effects.failures = [ConnectionError("reset")] * 3
    report = consume_changes([_change(order)], world.deps(), lambda: 3.0)
    # Then the record is parked at once instead of sleeping into a timeout
    assert world.sleeps == []
    assert report.counts[Outcome.PARKED] == 1


def test_a_record_that_cannot_be_parked_either_is_reported_by_its_sequence_number(world: World) -> None:
    order = _order()
    world.effects.store(order)
    world.effects.failures = [ConnectionError("reset")] * 3
    world.parking.fail_with = ConnectionError("SQS down too")
    report = consume_changes([_change(order, seq="4242")], world.deps(), _plenty)
    assert report.counts[Outcome.FAILED] == 1
    assert report.failed == ["4242"]


def test_a_redriven_parked_event_is_applied_if_it_still_needs_to_be(world: World) -> None:
    order = _order()
    world.effects.store(order)
    event = ParkedOrderEvent(tenant_id=order.tenant_id, order_id=order.order_id, error="x", parked_at=NOW)
    assert reapply(event, world.deps()) is Outcome.APPLIED
    assert reapply(event, world.deps()) is Outcome.SKIPPED
    assert len(world.follow_ups.sent) == 3


def test_a_redriven_parked_event_fails_loudly_for_the_queue_to_retry(world: World) -> None:
    order = _order()
    world.effects.store(order)
    world.effects.failures = [ConnectionError("reset")]
    event = ParkedOrderEvent(tenant_id=order.tenant_id, order_id=order.order_id, error="x", parked_at=NOW)
    with pytest.raises(ConnectionError):
        reapply(event, world.deps())
    assert world.parking.parked == []


def test_a_failed_stream_batch_is_read_again_and_its_confirmations_applied(world: World) -> None:
    # Given Lambda's record of a failed batch of two records, one of them a confirmation
    confirmed, declined = _order(), _order(status=OrderStatus.DECLINED)
    world.effects.store(confirmed, declined)
    world.replay.batches["7"] = [
        _change(confirmed, seq="7"),
        _change(declined, old="pending", new="declined", seq="8"),
    ]
    batch = StreamBatchInfo.model_validate(
        {
            "shardId": "shardId-1",
            "startSequenceNumber": "7",
            "endSequenceNumber": "8",
            "streamArn": "arn:aws:dynamodb:eu-west-1:1:table/orders/stream/x",
            "batchSize": 2,
        }
    )
    # When it is replayed
    outcomes = replay_batch(batch, world.deps())
    # Then the confirmation is applied and the rest ignored
    assert outcomes == [Outcome.APPLIED, Outcome.IGNORED]
    assert [e.order.order_id for e in world.effects.applied] == [confirmed.order_id]
