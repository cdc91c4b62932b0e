"""The outbox on the local cloud: MiniStack's DynamoDB stream of the orders table drives
OrderEventsFunction, which sends each confirmed order's follow-ups and writes its counters once;
what fails is parked in OrderEventsDeadLetterQueue, and `tandem redrive` brings it back."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.live_tables import LiveCountersTable
from tandem.models.catalog import Product
from tandem.models.records import Order, OrderLine, OrderStatus
from tandem_local.redrive import redrive, source_of
from tests.e2e.conftest import Running, wait_until

# A category whose name a naive counter attribute would mangle.
CATEGORY = "Mugs | Cups 100% ☕"


def _purchase(n: int) -> dict[str, Any]:
    return {
        "items": [{"sku": "MUG", "quantity": 2}],
        "customer": {"email": f"buyer{n}@example.com", "name": "Grace Hopper", "country": "GB"},
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Leeds",
            "postal_code": "LS1 1AA",
            "country": "GB",
        },
        "payment": {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"},
        "currency": "GBP",
    }


def _shop(running: Running) -> str:
    key = running.tenant_with_key("acme")
    CatalogTable(running.stack.physical["ProductsTable"], running.cloud.resource("dynamodb")).put(
        Product(
            tenant_id="acme", sku="MUG", name="Mug", price=Decimal("6.50"), currency="GBP", stock=100,
            category=CATEGORY,
        )
    )  # fmt: skip
    return key


def _buy(running: Running, key: str, n: int) -> str:
    answer = running.call(
        "POST", "/orders", key=key, json=_purchase(n), headers={"idempotency-key": f"buy-{n}"}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["order_id"])


def _receive_all(running: Running, queue: str) -> list[dict[str, Any]]:
    sqs = running.cloud.client("sqs")
    url = running.stack.physical[queue]
    bodies: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    ):
        for message in batch:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _applied(running: Running, order_id: str) -> bool:
    table = running.cloud.resource("dynamodb").Table(running.stack.physical["OrdersTable"])
    item = table.get_item(Key={"tenant_id": "acme", "order_id": order_id}, ConsistentRead=True).get("Item")
    return bool(item and "effects_applied_at" in item)


def _hour_orders(running: Running) -> int:
    table = running.cloud.resource("dynamodb").Table(running.stack.physical["LiveCountersTable"])
    items = [i for i in table.scan(ConsistentRead=True)["Items"] if i["tenant_id"] == "acme"]
    return sum(int(i["orders"]) for i in items)


def test_a_confirmed_checkout_gets_its_follow_ups_and_counters_once_and_imports_get_none(
    running: Running,
) -> None:
    key = _shop(running)
    # Given an imported order, written CONFIRMED outright, before a checkout
    running.put_orders(
        [
            Order(
                tenant_id="acme",
                order_id="imported-1",
                created_at=datetime.now(UTC),
                status=OrderStatus.CONFIRMED,
                currency="GBP",
                lines=(OrderLine(sku="MUG", quantity=1, unit_price=Decimal("6.50")),),
            )
        ]
    )
    # When a buyer checks out
    order_id = _buy(running, key, 1)
    # Then the stream's consumer applies the checkout's effects (the import comes first on the stream)
    wait_until(lambda: _applied(running, order_id), 60, what="the order's effects")
    # (FollowUpWorkerFunction consumes the follow-ups: each records itself done on the order)
    assert wait_until(lambda: _follow_ups_done(running, order_id), 60, what="the follow-ups") == sorted(
        ["confirmation_email", "courier_notification", "warehouse_pick"]
    )
    assert _hour_orders(running) == 1
    # (and the dashboard reads its cell back: channel, country and the product's category)
    now = datetime.now(UTC)
    hours = LiveCountersTable(
        running.stack.physical["LiveCountersTable"], running.cloud.resource("dynamodb")
    ).hours("acme", now - timedelta(hours=2), now + timedelta(hours=1))
    assert [
        (c.channel, c.country, c.category, c.orders, c.units, c.revenue) for h in hours for c in h.cells
    ] == [("web", "GB", CATEGORY, 1, 2, {"GBP": Decimal("13.00")})]
    assert not _applied(running, "imported-1")
    assert _follow_ups_done(running, "imported-1") is None
    # And its own change (effects_applied_at) comes back on the stream and changes nothing
    time.sleep(3)
    assert _receive_all(running, "FollowUpQueue") == []
    assert _hour_orders(running) == 1


def test_effects_that_keep_failing_are_parked_and_a_redrive_applies_them(running: Running) -> None:
    key = _shop(running)
    sqs = running.cloud.client("sqs")
    follow_up_url = running.stack.physical["FollowUpQueue"]
    name = follow_up_url.rsplit("/", 1)[1]
    # Given the follow-up queue is gone: every send fails
    sqs.delete_queue(QueueUrl=follow_up_url)
    try:
        order_id = _buy(running, key, 2)
        # Then after its retries the consumer parks the order, naming it and the error
        parked = wait_until(
            lambda: _peek(running, "OrderEventsDeadLetterQueue"), 60, what="a parked order event"
        )
        assert (parked["type"], parked["tenant_id"], parked["order_id"]) == (
            "order.effects_parked",
            "acme",
            order_id,
        )
        assert not _applied(running, order_id)
    finally:
        sqs.create_queue(QueueName=name)
    # When the operator redrives the dead letters (`tandem redrive OrderEventsDeadLetterQueue`)
    dead_letters, source = source_of(running.cloud, running.stack, "OrderEventsDeadLetterQueue")
    assert source == running.stack.physical["OrderEventsRedriveQueue"]
    assert redrive(running.cloud, dead_letters, source) == 1
    # Then the function applies them from its redrive queue, once
    wait_until(lambda: _applied(running, order_id), 60, what="the redriven order's effects")
    assert len(wait_until(lambda: _follow_ups_done(running, order_id), 60, what="the follow-ups")) == 3
    assert _hour_orders(running) == 1


def _follow_ups_done(running: Running, order_id: str) -> list[str] | None:
    """The kinds of the order's follow-ups recorded done by their consumer, once all three are."""
    table = running.cloud.resource("dynamodb").Table(running.stack.physical["OrdersTable"])
    item = (
        table.get_item(Key={"tenant_id": "acme", "order_id": order_id}, ConsistentRead=True).get("Item") or {}
    )
    done = sorted(
        name.removeprefix("follow_up_")
        for name, value in item.items()
        if name.startswith("follow_up_") and value.get("state") == "done"
    )
    return done if len(done) == 3 else None


def _peek(running: Running, queue: str) -> dict[str, Any] | None:
    sqs = running.cloud.client("sqs")
    batch = sqs.receive_message(QueueUrl=running.stack.physical[queue], VisibilityTimeout=0).get(
        "Messages", []
    )
    return json.loads(batch[0]["Body"]) if batch else None
