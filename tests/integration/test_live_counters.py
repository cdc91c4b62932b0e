"""The live counters' cells and SKUs under moto: checkouts confirmed through the API, counted by the
orders stream's consumer, read back by `LiveCountersTable.hours` (the dashboard's LiveCounterReader).

Each answer is compared with `FakeCounters`, which sums the stored orders on its own (tests/fakes.py,
its numbers checked by hand in tests/unit/test_fakes.py).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.live_tables import CELL_PREFIX, LiveCountersTable
from tandem.adapters.order_effects import DynamoOrderEffects
from tandem.adapters.orders_table import order_from_item, order_to_item
from tandem.handlers import api, order_events
from tandem.handlers.wiring import api as root
from tandem.handlers.wiring import order_events as order_events_root
from tandem.models.catalog import Product
from tandem.models.records import Order, OrderLine, OrderStatus
from tests.conftest import FakeLambdaContext
from tests.events import http_event
from tests.fakes import FakeCounters
from tests.integration.test_order_events import StreamFeed
from tests.moto_stack import REGION
from tests.template_model import Resolver

# Values a category may hold that a naive attribute name would mangle.
CATEGORIES = {
    "MUG": "Tea | Coffee",
    "TEA": "100% #1 sellers",
    "BAG": "Küche & Bad 家居",
    "PEN": None,  # uncategorised: 'unknown'
}
TEN = datetime(2026, 3, 1, 10, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


@pytest.fixture
def feed(stack: Resolver, monkeypatch: pytest.MonkeyPatch) -> StreamFeed:
    monkeypatch.setenv(
        "AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled"
    )  # as tests/integration/test_order_events.py
    return StreamFeed(stack.physical["OrdersTable"])


@pytest.fixture
def catalogue(stack: Resolver) -> None:
    catalog = CatalogTable(stack.physical["ProductsTable"], boto3.resource("dynamodb", region_name=REGION))
    for index, (sku, category) in enumerate(CATEGORIES.items()):
        catalog.put(
            Product(
                tenant_id="acme", sku=sku, name=sku, price=Decimal("2.50") * (index + 1), currency="GBP",
                stock=100, category=category,
            )
        )  # fmt: skip


def _checkout(lambda_context: Any, channel: str, country: str, **items: int) -> str:
    body = {
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items.items()],
        "customer": {"email": "ada@example.com", "name": "Ada Lovelace", "country": country},
        "shipping_address": {"line1": "1 Road", "city": "Town", "postal_code": "AB1 2CD", "country": country},
        "payment": {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"},
        "currency": "GBP",
        "channel": channel,
    }
    event = http_event(
        "POST", "/orders", body=body, scopes="orders:read orders:write",
        headers={"idempotency-key": uuid.uuid4().hex},
    )  # fmt: skip
    response = api.handler(event, lambda_context)
    assert response["statusCode"] == 201, response["body"]
    return str(json.loads(response["body"])["order_id"])


def _stored(stack: Resolver) -> list[Order]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["OrdersTable"])
    return [order_from_item(item) for item in table.scan()["Items"]]


def _deliver(feed: StreamFeed, times: int = 1) -> None:
    records = feed.new_records()
    for _ in range(times):
        assert order_events.handler({"Records": records}, FakeLambdaContext()) == {"batchItemFailures": []}


def _confirmed(stack: Resolver, order_id: str, at: datetime, *lines: OrderLine) -> Order:
    """An order held and then confirmed, as the checkout writes it, at a chosen time."""
    order = Order(
        tenant_id="acme", order_id=order_id, created_at=at, status=OrderStatus.PENDING, currency="EUR",
        lines=lines, channel="web", country="DE", customer_email="ann@example.com",
    )  # fmt: skip
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["OrdersTable"])
    table.put_item(Item=order_to_item(order))
    table.update_item(
        Key={"tenant_id": "acme", "order_id": order_id},
        UpdateExpression="SET #status = :confirmed",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":confirmed": "confirmed"},
    )
    return order.model_copy(update={"status": OrderStatus.CONFIRMED})


@pytest.mark.usefixtures("catalogue")
def test_checkouts_across_cells_read_back_as_their_orders_sum_counted_once_when_redelivered(
    stack: Resolver, feed: StreamFeed, lambda_context: Any
) -> None:
    # Given checkouts across channels, countries and awkwardly named categories
    ids = [
        _checkout(lambda_context, "web", "GB", MUG=2, TEA=1, PEN=3),
        _checkout(lambda_context, "web", "GB", MUG=1),
        _checkout(lambda_context, "mobile", "DE", BAG=2, TEA=4),
        _checkout(lambda_context, "marketplace", "FR", PEN=1, BAG=1, MUG=5),
    ]
    # When the stream delivers their confirmations, each batch twice (at-least-once)
    _deliver(feed, times=2)
    # Then every line kept its product's category
    orders = _stored(stack)
    assert sorted(o.order_id for o in orders) == sorted(ids)
    assert {line.sku: line.category for o in orders for line in o.lines} == CATEGORIES
    # And the hours read back are what the orders sum to, each counted once
    expected = FakeCounters()
    for order in orders:
        expected.add(order)
    now = datetime.now(UTC)
    window = (now - timedelta(hours=2), now + timedelta(hours=1))
    hours = root.live_counter_reader().hours("acme", *window)
    assert hours == expected.hours("acme", *window)
    assert sum(h.orders for h in hours) == 4
    # (and by hand: 8 MUG at 2.50, 5 TEA at 5.00, 3 BAG at 7.50, 4 PEN at 10.00)
    assert sum(s.units for h in hours for s in h.skus) == 20
    assert sum(s.revenue["GBP"] for h in hours for s in h.skus) == Decimal("107.50")
    assert sum(h.revenue["GBP"] for h in hours) == Decimal("107.50")
    cells = {(c.channel, c.country, c.category): c.orders for h in hours for c in h.cells}
    assert cells[("web", "GB", "Tea | Coffee")] == 2
    assert cells[("marketplace", "FR", "unknown")] == 1
    # And another tenant's hours are its own
    assert root.live_counter_reader().hours("zeta", *window) == []


def test_an_order_falls_in_the_utc_hour_it_was_made_and_the_end_is_excluded(
    stack: Resolver, feed: StreamFeed
) -> None:
    # Given orders a second either side of 11:00 UTC (one made in another offset), and one at noon
    late = _confirmed(
        stack, "o-1059", TEN + timedelta(minutes=59, seconds=59),
        OrderLine(sku="MUG", quantity=1, unit_price=Decimal("6.50"), category="a|b"),
    )  # fmt: skip
    eleven = _confirmed(
        stack, "o-1100", (TEN + timedelta(hours=1)).astimezone(PLUS_TWO),
        OrderLine(sku="MUG", quantity=2, unit_price=Decimal("6.50"), category="a|b"),
    )  # fmt: skip
    noon = _confirmed(
        stack, "o-1200", TEN + timedelta(hours=2),
        OrderLine(sku="TEA", quantity=1, unit_price=Decimal("3.25")),
    )  # fmt: skip
    _deliver(feed)
    reader = root.live_counter_reader()
    expected = FakeCounters(added=[late, eleven, noon])
    # Then [10:00, 11:00) holds only the order at 10:59:59
    (ten,) = reader.hours("acme", TEN, TEN + timedelta(hours=1))
    assert (ten.hour, ten.orders, [(c.category, c.units) for c in ten.cells]) == (TEN, 1, [("a|b", 1)])
    # And [10:00, 12:00) has two hours, without noon's
    both = reader.hours("acme", TEN, TEN + timedelta(hours=2))
    assert [(h.hour, h.orders, h.units) for h in both] == [(TEN, 1, 1), (TEN + timedelta(hours=1), 1, 2)]
    assert both == expected.hours("acme", TEN, TEN + timedelta(hours=2))
    # And a window ending mid-hour holds that hour (it started in it); one starting mid-hour does not
    assert [
        h.hour for h in reader.hours("acme", TEN + timedelta(minutes=30), TEN + timedelta(hours=2, minutes=1))
    ] == [
        TEN + timedelta(hours=1),
        TEN + timedelta(hours=2),
    ]
    assert reader.hours("acme", TEN + timedelta(hours=1), TEN + timedelta(hours=1)) == []
    # And the customers' payment windows, in the same table, are never read as hours
    items = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["LiveCountersTable"]).scan()
    assert any(str(item["tenant_id"]).startswith("acme#customer#") for item in items["Items"])


def test_the_hours_are_read_page_by_page(stack: Resolver, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given five hours counted, and a table that answers one item per page
    counters = LiveCountersTable(
        stack.physical["LiveCountersTable"], boto3.resource("dynamodb", region_name=REGION)
    )
    orders = [
        Order(
            tenant_id="acme", order_id=f"o{n}", created_at=TEN + timedelta(hours=n),
            status=OrderStatus.CONFIRMED, currency="GBP",
            lines=(OrderLine(sku="MUG", quantity=n + 1, unit_price=Decimal(1), category="x"),),
        )
        for n in range(5)
    ]  # fmt: skip
    for order in orders:
        counters.add(order)
    query = counters._table.query
    pages: list[int] = []

    def one_item_pages(**arguments: Any) -> Any:
        page = query(**arguments, Limit=1)
        pages.append(len(page["Items"]))
        return page

    monkeypatch.setattr(counters._table, "query", one_item_pages)
    # When they are read
    hours = counters.hours("acme", TEN, TEN + timedelta(hours=5))
    # Then every page was read, and the hours are the orders'
    assert len(pages) >= 5
    assert hours == FakeCounters(added=orders).hours("acme", TEN, TEN + timedelta(hours=5))


def test_an_hour_too_full_for_an_orders_cells_counts_its_totals_and_says_so(
    stack: Resolver, feed: StreamFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a first order of the hour, and a second whose cells would take the hour's item past
    # 400 KB (moto does not enforce the limit: DynamoDB's answer is played for the update with cells)
    first = _confirmed(
        stack, "o-first", TEN, OrderLine(sku="MUG", quantity=1, unit_price=Decimal("6.50"), category="Mugs")
    )
    _deliver(feed)
    second = _confirmed(
        stack, "o-full", TEN + timedelta(minutes=1),
        OrderLine(sku="TEA", quantity=3, unit_price=Decimal("3.25"), category="Tea"),
    )  # fmt: skip
    effects = order_events_root.deps().effects
    assert isinstance(effects, DynamoOrderEffects)
    transact = effects._client.transact_write_items
    calls: list[bool] = []

    def full_hour(**arguments: Any) -> Any:
        names = arguments["TransactItems"][1]["Update"]["ExpressionAttributeNames"].values()
        calls.append(any(name.startswith(CELL_PREFIX) for name in names))
        if calls[-1]:
            reasons = [{"Code": "None"}, {"Code": "ValidationError", "Message": "Item size has exceeded"}]
            error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
            raise ClientError({"Error": error, "CancellationReasons": reasons}, "TransactWriteItems")
        return transact(**arguments)

    monkeypatch.setattr(effects._client, "transact_write_items", full_hour)
    # When the second is delivered
    _deliver(feed)
    # Then its effects were applied with its totals only, and the hour says one order has no cells
    assert calls == [True, False]
    (hour,) = root.live_counter_reader().hours("acme", TEN, TEN + timedelta(hours=1))
    assert (hour.orders, hour.units, hour.revenue, hour.orders_without_cells) == (
        2, 4, {"EUR": Decimal("16.25")}, 1,
    )  # fmt: skip
    (only_first,) = FakeCounters(added=[first]).hours("acme", TEN, TEN + timedelta(hours=1))
    assert (hour.cells, hour.skus) == (only_first.cells, only_first.skus)
    orders = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["OrdersTable"])
    assert (
        "effects_applied_at"
        in orders.get_item(Key={"tenant_id": "acme", "order_id": second.order_id})["Item"]
    )
