"""The consumers of FollowUpQueue, with fakes: the confirmation e-mail's content, and one effect per
(order, kind) however often the message comes, whatever fails in between."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tandem.logic import follow_ups
from tandem.logic.follow_ups import (
    CourierUnavailableError,
    FollowUpBusyError,
    FollowUpDeps,
    FollowUpNotBuiltError,
    UnknownOrderError,
    handle,
    rebuild_day,
    render_confirmation,
)
from tandem.models.catalog import Product, StockReason
from tandem.models.follow_ups import FollowUpOutcome
from tandem.models.messages import OrderFollowUp
from tandem.models.records import Order, ShippingAddress, Tenant, TenantWebhook
from tests import factories
from tests.fakes import (
    FakeCatalog,
    FakeClock,
    FakeFollowUpLedger,
    FakeLakeObjects,
    FakeMailer,
    FakeOrders,
    FakeTenantProfiles,
    FakeWebhooks,
)

AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
ADDRESS = ShippingAddress(
    line1="1 High St", line2="Flat 2", city="Leeds", postal_code="LS1 1AA", country="GB"
)


def an_order(**changes: object) -> Order:
    base = factories.order(AT, ("MUG-01", 2, "7.50"), ("TEE-XL", 1, "19.99"))
    return base.model_copy(
        update={"customer_email": "buyer@example.com", "shipping_address": ADDRESS, **changes}
    )


class World:
    def __init__(self, *orders: Order) -> None:
        self.orders = FakeOrders(list(orders))
        self.ledger = FakeFollowUpLedger()
        self.tenants = FakeTenantProfiles()
        self.tenants.add(Tenant(tenant_id="acme", name="Acme Mugs", reply_to="help@acme.example"))
        self.mailer = FakeMailer()
        self.clock = FakeClock(AT)
        self.catalog = FakeCatalog(
            Product(
                tenant_id="acme", sku="MUG-01", name="Mug", price=Decimal("7.50"), currency="GBP", stock=8
            ),
            Product(
                tenant_id="acme", sku="TEE-XL", name="Tee", price=Decimal("19.99"), currency="GBP", stock=3
            ),
        )
        self.picks = FakeLakeObjects()
        self.webhooks = FakeWebhooks()
        self.deps = FollowUpDeps(
            orders=self.orders,
            ledger=self.ledger,
            tenants=self.tenants,
            mailer=self.mailer,
            stock=self.catalog,
            picks=self.picks,
            webhooks=self.webhooks,
            clock=self.clock,
            zone=ZoneInfo("Europe/London"),
        )


def email(order: Order) -> OrderFollowUp:
    return OrderFollowUp(kind="confirmation_email", tenant_id=order.tenant_id, order_id=order.order_id)


def test_the_confirmation_goes_to_the_buyer_with_lines_total_address_and_the_shops_reply_to() -> None:
    order = an_order()
    world = World(order)

    handled = handle(email(order), world.deps)

    assert handled.result is not None
    assert handled.result.outcome is FollowUpOutcome.SENT
    assert handled.result.reference == "message-1"
    [mail] = world.mailer.sent
    assert mail.to == "buyer@example.com"
    assert mail.reply_to == "help@acme.example"
    assert mail.subject == f"Acme Mugs: your order {order.order_id} is confirmed"
    # 2 x 7.50 + 19.99, by hand
    assert "  MUG-01: 2 at £7.50 = £15.00" in mail.text
    assert "  TEE-XL: 1 at £19.99 = £19.99" in mail.text
    assert "Total: £34.99" in mail.text
    assert "Shipping to:\n  1 High St\n  Flat 2\n  LS1 1AA Leeds\n  GB\n" in mail.text
    assert "<th style='text-align:right'>£34.99</th>" in mail.html
    assert "1 High St<br>Flat 2<br>LS1 1AA Leeds<br>GB" in mail.html
    assert world.ledger.done[("acme", order.order_id, "confirmation_email")].reference == "message-1"


def test_html_escapes_what_the_buyer_and_the_shop_typed() -> None:
    order = an_order(shipping_address=ADDRESS.model_copy(update={"line1": "<script>x</script>"}))
    _, text, html = render_confirmation(order, Tenant(tenant_id="acme", name="Tom & Jerry's"))
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "Tom &amp; Jerry&#x27;s" in html
    assert "<script>x</script>" in text  # plain text stays as typed


def test_a_redelivered_message_sends_one_email() -> None:
    order = an_order()
    world = World(order)

    first = handle(email(order), world.deps)
    world.clock.now += timedelta(hours=1)  # long after any lease
    second = handle(email(order), world.deps)

    assert not first.duplicate
    assert second.duplicate
    assert len(world.mailer.sent) == 1


def test_an_order_without_a_buyer_address_is_consumed_as_skipped_with_its_reason() -> None:
    order = an_order(customer_email=None)
    world = World(order)

    handled = handle(email(order), world.deps)

    assert handled.result is not None
    assert handled.result.outcome is FollowUpOutcome.SKIPPED
    assert handled.result.reason == "the order has no buyer e-mail address"
    assert world.mailer.sent == []
    assert handle(email(order), world.deps).duplicate  # recorded: not tried again


def test_an_address_ses_refuses_is_skipped_not_retried() -> None:
    order = an_order()
    world = World(order)
    world.mailer.refuse.add("buyer@example.com")

    handled = handle(email(order), world.deps)

    assert handled.result is not None
    assert handled.result.outcome is FollowUpOutcome.SKIPPED
    assert handled.result.reason is not None
    assert handled.result.reason.startswith("refused by the mail service")


def test_a_transient_failure_releases_the_claim_and_the_next_delivery_sends() -> None:
    order = an_order()
    world = World(order)
    world.mailer.fail_with = ConnectionError("SES unreachable")

    with pytest.raises(ConnectionError):
        handle(email(order), world.deps)
    assert world.ledger.claims == {}  # released: the retry need not wait for the lease

    world.mailer.fail_with = None
    handled = handle(email(order), world.deps)  # at once, same clock
    assert not handled.duplicate
    assert len(world.mailer.sent) == 1


def test_a_claim_under_way_makes_a_second_delivery_fail_until_its_lease_runs_out() -> None:
    order = an_order()
    world = World(order)
    # Another delivery claimed it and died mid-send: its claim stays, with its lease.
    world.ledger.claim("acme", order.order_id, "confirmation_email", AT, AT + world.deps.lease)

    with pytest.raises(FollowUpBusyError):
        handle(email(order), world.deps)
    assert world.mailer.sent == []

    world.clock.now = AT + world.deps.lease + timedelta(seconds=1)
    handled = handle(email(order), world.deps)
    assert not handled.duplicate
    assert len(world.mailer.sent) == 1


def test_no_shipping_address_and_no_tenant_record_still_make_an_email() -> None:
    order = an_order(shipping_address=None)
    world = World(order)
    world.tenants.tenants.clear()

    handle(email(order), world.deps)

    [mail] = world.mailer.sent
    assert mail.subject.startswith("acme: ")
    assert mail.reply_to is None
    assert "Shipping to" not in mail.text


def test_an_unknown_order_is_refused_for_good() -> None:
    world = World()
    with pytest.raises(UnknownOrderError):
        handle(OrderFollowUp(kind="confirmation_email", tenant_id="acme", order_id="nope"), world.deps)


def test_a_kind_without_a_consumer_fails_so_it_waits_in_the_dlq(monkeypatch: pytest.MonkeyPatch) -> None:
    order = an_order()
    world = World(order)
    monkeypatch.delitem(follow_ups.CONSUMERS, "courier_notification")  # a kind added before its consumer
    message = OrderFollowUp(kind="courier_notification", tenant_id="acme", order_id=order.order_id)
    with pytest.raises(FollowUpNotBuiltError):
        handle(message, world.deps)
    assert world.ledger.claims == {}
    assert world.ledger.done == {}


# ---------------------------------------------------------------- the warehouse pick
def pick(order: Order) -> OrderFollowUp:
    return OrderFollowUp(kind="warehouse_pick", tenant_id=order.tenant_id, order_id=order.order_id)


def test_a_pick_writes_the_orders_document_the_days_batch_list_and_one_ledger_entry_per_line() -> None:
    order = an_order()
    world = World(order)

    handled = handle(pick(order), world.deps)

    key = f"picks/acme/2026-11-28/{order.order_id}.json"
    assert handled.result is not None
    assert handled.result.reference == key
    document = json.loads(world.picks.objects[key])
    assert document["lines"] == [{"sku": "MUG-01", "quantity": 2}, {"sku": "TEE-XL", "quantity": 1}]
    assert document["units"] == 3
    assert document["ship_to"]["postal_code"] == "LS1 1AA"
    batch = json.loads(world.picks.objects["picks/acme/2026-11-28.json"])
    assert batch["orders"] == [order.order_id]
    assert batch["units"] == 3
    # The stock is what the hold left: the ledger records the sale, the stock does not move again
    assert {sku: p.stock for (_, sku), p in world.catalog.products.items()} == {"MUG-01": 8, "TEE-XL": 3}
    mug = world.catalog.ledger[("acme", "MUG-01")]
    assert [(e.delta, e.reason, e.at, e.adjustment_id) for e in mug] == [
        (-2, StockReason.SOLD, AT, f"order:{order.order_id}:MUG-01")
    ]
    assert [e.delta for e in world.catalog.ledger[("acme", "TEE-XL")]] == [-1]


def test_a_redelivered_pick_writes_nothing_more() -> None:
    order = an_order()
    world = World(order)
    handle(pick(order), world.deps)
    before = dict(world.picks.objects)

    # done: nothing; and even a pick that died before recording itself done repeats its effects only
    assert handle(pick(order), world.deps).duplicate
    world.ledger.done.clear()
    world.clock.now += timedelta(hours=1)
    handle(pick(order), world.deps)

    assert world.picks.objects == before
    assert len(world.catalog.ledger[("acme", "MUG-01")]) == 1


def test_the_days_batch_list_adds_up_the_days_orders_in_the_reporting_time_zone() -> None:
    # New York is UTC-5 in November: 03:30 UTC on the 28th is 22:30 on the 27th there.
    late = an_order(created_at=datetime(2026, 11, 28, 3, 30, tzinfo=UTC))
    first = an_order()  # 09:30 UTC: 04:30 on the 28th in New York
    second = factories.order(AT, ("MUG-01", 3, "7.50"), ("CAP-01", 1, "9.00"))
    world = World(late, first, second)
    world.deps = replace(world.deps, zone=ZoneInfo("America/New_York"))

    for order in (late, first, second):
        handle(pick(order), world.deps)

    assert f"picks/acme/2026-11-27/{late.order_id}.json" in world.picks.objects
    batch = json.loads(world.picks.objects["picks/acme/2026-11-28.json"])
    assert batch["orders"] == sorted([first.order_id, second.order_id])
    # MUG-01: 2 + 3; TEE-XL: 1; CAP-01: 1 (by hand)
    assert [(line["sku"], line["quantity"]) for line in batch["lines"]] == [
        ("CAP-01", 1),
        ("MUG-01", 5),
        ("TEE-XL", 1),
    ]
    assert batch["units"] == 7
    assert json.loads(world.picks.objects["picks/acme/2026-11-27.json"])["orders"] == [late.order_id]


class RacingPicks(FakeLakeObjects):
    """Another worker's document lands between this rebuild's listing and its write."""

    def __init__(self, late_key: str, late_body: bytes) -> None:
        super().__init__()
        self.late = (late_key, late_body)
        self.lists = 0

    def keys(self, prefix: str) -> list[str]:
        listed = super().keys(prefix)
        self.lists += 1
        if self.lists == 1:
            self.objects[self.late[0]] = self.late[1]  # after the listing was taken
        return listed


def test_a_document_put_during_a_rebuild_is_in_the_batch_list_in_the_end() -> None:
    day = AT.date()
    other = {"order_id": "ord-late", "lines": [{"sku": "MUG-01", "quantity": 4}]}
    picks = RacingPicks(f"picks/acme/{day}/ord-late.json", json.dumps(other).encode())
    picks.put(f"picks/acme/{day}/ord-a.json", json.dumps({"order_id": "ord-a", "lines": []}).encode(), "x")

    document = rebuild_day("acme", day, picks)

    assert document["orders"] == ["ord-a", "ord-late"]
    assert json.loads(picks.objects[f"picks/acme/{day}.json"])["orders"] == ["ord-a", "ord-late"]


# ---------------------------------------------------------------- the courier notification
SECRET = "whsec_courier"


def courier(order: Order) -> OrderFollowUp:
    return OrderFollowUp(kind="courier_notification", tenant_id=order.tenant_id, order_id=order.order_id)


def with_endpoint(world: World) -> None:
    world.tenants.add(
        Tenant(
            tenant_id="acme",
            name="Acme Mugs",
            webhook=TenantWebhook(url="https://courier.example/hooks", secret=SECRET, set_at=AT),
        )
    )


def test_the_courier_gets_one_signed_call_with_the_shipment() -> None:
    order = an_order()
    world = World(order)
    with_endpoint(world)

    handle(courier(order), world.deps)
    world.clock.now += timedelta(hours=1)
    assert handle(courier(order), world.deps).duplicate

    [call] = world.webhooks.calls
    assert call.url == "https://courier.example/hooks"
    assert call.timeout_seconds == 10.0
    sent = json.loads(call.body)
    assert sent["type"] == "order.courier_notification"
    assert sent["id"] == f"{order.order_id}:courier_notification"
    assert sent["data"]["ship_to"]["city"] == "Leeds"
    assert sent["data"]["lines"] == [{"quantity": 2, "sku": "MUG-01"}, {"quantity": 1, "sku": "TEE-XL"}]
    # Verified as a receiver would (the scheme, done again by hand)
    fields = dict(part.split("=", 1) for part in call.headers["Tandem-Signature"].split(","))
    assert fields["t"] == str(int(AT.timestamp()))
    expected = hmac.new(SECRET.encode(), fields["t"].encode() + b"." + call.body, hashlib.sha256).hexdigest()
    assert fields["v1"] == expected


@pytest.mark.parametrize("status", [500, 503, 404, 301])
def test_a_courier_that_does_not_answer_2xx_fails_the_message_and_the_retry_calls_again(status: int) -> None:
    order = an_order()
    world = World(order)
    with_endpoint(world)
    world.webhooks.status = status

    with pytest.raises(CourierUnavailableError):
        handle(courier(order), world.deps)
    assert world.ledger.claims == {}  # released: the retry need not wait

    world.webhooks.status = 200
    handle(courier(order), world.deps)
    assert len(world.webhooks.calls) == 2
    assert world.ledger.done[("acme", order.order_id, "courier_notification")].reference == "200"


def test_a_courier_that_is_unreachable_fails_the_message() -> None:
    order = an_order()
    world = World(order)
    with_endpoint(world)
    world.webhooks.fail_with = TimeoutError("timed out")
    with pytest.raises(TimeoutError):
        handle(courier(order), world.deps)
    assert world.ledger.done == {}


def test_a_tenant_without_an_endpoint_is_skipped_with_the_reason() -> None:
    order = an_order()
    world = World(order)
    handled = handle(courier(order), world.deps)
    assert handled.result is not None
    assert handled.result.outcome is FollowUpOutcome.SKIPPED
    assert handled.result.reason == "the tenant has no courier endpoint (PUT /settings/webhooks)"
    assert world.webhooks.calls == []
