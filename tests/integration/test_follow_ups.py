"""FollowUpWorkerFunction under moto, fed from FollowUpQueue as checkout and the orders stream fill it:
POST /orders → the stream (read as Lambda's poller reads it) → OrderEventsFunction → FollowUpQueue →
the worker → SES (moto keeps sent mail). One e-mail per order however often its message comes."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.directory_tables import TenantsTable
from tandem.adapters.orders_table import OrdersTable
from tandem.adapters.ses_mailer import SesMailer
from tandem.handlers import api, follow_up_worker, order_events
from tandem.models.catalog import StockAdjustment, StockReason
from tandem.models.records import Order, OrderLine, OrderStatus, Tenant, TenantWebhook
from tests.conftest import FakeLambdaContext
from tests.events import http_event, sqs_event
from tests.integration.test_order_events import StreamFeed
from tests.moto_stack import REGION
from tests.template_model import Resolver

CHECKOUT = {
    "items": [{"sku": "MUG", "quantity": 2}, {"sku": "TEA", "quantity": 1}],
    "customer": {"email": "ada@example.com", "name": "Ada Lovelace", "country": "GB"},
    "shipping_address": {
        "line1": "12 St James's Square",
        "city": "London",
        "postal_code": "SW1Y 4LB",
        "country": "GB",
    },
    "payment": {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"},
    "currency": "GBP",
}


@pytest.fixture
def feed(stack: Resolver, monkeypatch: pytest.MonkeyPatch) -> StreamFeed:
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")  # as test_order_events
    return StreamFeed(stack.physical["OrdersTable"])


SECRET = "whsec_integration"


class Courier:
    """A courier's endpoint on a free local port: records each call, answers `status`."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        courier = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                courier.calls.append((dict(self.headers.items()), body))
                self.send_response(courier.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def courier() -> Iterator[Courier]:
    endpoint = Courier()
    yield endpoint
    endpoint.close()


@pytest.fixture
def tenant(stack: Resolver, courier: Courier) -> None:
    tenants = TenantsTable(stack.physical["TenantsTable"], boto3.resource("dynamodb", region_name=REGION))
    webhook = TenantWebhook(url=courier.url, secret=SECRET, set_at=datetime(2026, 11, 28, tzinfo=UTC))
    tenants.put(Tenant(tenant_id="acme", name="Acme Gifts", reply_to="help@acme.example", webhook=webhook))


def _sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def _receive(stack: Resolver) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    return sqs.receive_message(
        QueueUrl=stack.physical["FollowUpQueue"], MaxNumberOfMessages=10, AttributeNames=["All"]
    ).get("Messages", [])


def _work(stack: Resolver, messages: list[dict[str, Any]]) -> dict[str, Any]:
    event = sqs_event(messages, stack.attributes[("FollowUpQueue", "Arn")])
    answer: dict[str, Any] = follow_up_worker.handler(event, FakeLambdaContext())
    return answer


def _kind(message: dict[str, Any]) -> str:
    return str(json.loads(message["Body"])["kind"])


def _failed_kinds(answer: dict[str, Any], messages: list[dict[str, Any]]) -> list[str]:
    by_id = {m["MessageId"]: _kind(m) for m in messages}
    return sorted(by_id[failure["itemIdentifier"]] for failure in answer["batchItemFailures"])


def _s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def _object(stack: Resolver, key: str) -> bytes:
    body: bytes = _s3().get_object(Bucket=stack.physical["DataBucket"], Key=key)["Body"].read()
    return body


def _order_item(stack: Resolver, order_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["OrdersTable"])
    item: dict[str, Any] = table.get_item(Key={"tenant_id": "acme", "order_id": order_id})["Item"]
    return item


def test_a_checkout_gets_one_email_one_pick_and_one_courier_call_however_often_its_messages_come(
    stack: Resolver, shop: CatalogTable, tenant: None, courier: Courier, feed: StreamFeed, lambda_context: Any
) -> None:
    # Given a checkout, confirmed, and its stream records delivered to OrderEventsFunction
    event = http_event(
        "POST",
        "/orders",
        body=CHECKOUT,
        scopes="orders:read orders:write",
        headers={"idempotency-key": uuid.uuid4().hex},
    )
    response = api.handler(event, lambda_context)
    assert response["statusCode"] == 201, response["body"]
    order_id = json.loads(response["body"])["order_id"]
    assert order_events.handler({"Records": feed.new_records()}, FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    messages = _receive(stack)
    assert sorted(map(_kind, messages)) == ["confirmation_email", "courier_notification", "warehouse_pick"]

    # When the worker gets the batch, and the same batch again (at-least-once delivery)
    first = _work(stack, messages)
    second = _work(stack, messages)

    # Then one e-mail went to the buyer, from the verified sender
    (mail,) = _sent()
    assert mail.source == "reports@tandem.example"
    assert mail.destinations == {"ToAddresses": ["ada@example.com"]}
    assert mail.subject == f"Acme Gifts: your order {order_id} is confirmed"
    # MUG 2 x 6.50 = 13.00, TEA 1 x 3.25, total 16.25 (the catalogue's prices)
    for part in ("£13.00", "£3.25", "£16.25", "12 St James&#x27;s Square<br>SW1Y 4LB London<br>GB"):
        assert part in mail.body, part  # moto keeps the HTML part
    assert first == second == {"batchItemFailures": []}
    # And the order records the e-mail as done, with SES's message id
    item = _order_item(stack, order_id)
    done = item["follow_up_confirmation_email"]
    assert (done["state"], done["outcome"], done["reference"]) == ("done", "sent", mail.id)
    # And the courier got one call, signed with the tenant's secret (checked by hand, as a receiver)
    ((headers, body),) = courier.calls
    fields = dict(part.split("=", 1) for part in headers["Tandem-Signature"].split(","))
    assert abs(time.time() - int(fields["t"])) < 60
    digest = hmac.new(SECRET.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert fields["v1"] == digest
    shipment = json.loads(body)
    assert (shipment["id"], shipment["data"]["ship_to"]["postal_code"]) == (
        f"{order_id}:courier_notification",
        "SW1Y 4LB",
    )
    assert item["follow_up_courier_notification"]["reference"] == "200"
    # And the pick wrote one document and the day's batch list (the day in ReportingTimezone, UTC
    # in the test stack), nothing else
    day = datetime.fromisoformat(item["created_at"]).astimezone(UTC).date().isoformat()
    listed = _s3().list_objects_v2(Bucket=stack.physical["DataBucket"], Prefix="picks/")
    assert sorted(o["Key"] for o in listed["Contents"]) == [
        f"picks/acme/{day}.json",
        f"picks/acme/{day}/{order_id}.json",
    ]
    assert item["follow_up_warehouse_pick"]["reference"] == f"picks/acme/{day}/{order_id}.json"
    batch = json.loads(_object(stack, f"picks/acme/{day}.json"))
    assert (batch["orders"], batch["units"]) == ([order_id], 3)
    assert [(line["sku"], line["quantity"]) for line in batch["lines"]] == [("MUG", 2), ("TEA", 1)]
    document = json.loads(_object(stack, f"picks/acme/{day}/{order_id}.json"))
    assert document["ship_to"]["line1"] == "12 St James's Square"
    # And the stock ledger has one sale entry per line; the stock is what the hold left (5-2, 2-1)
    assert {sku: shop.get("acme", sku).stock for sku in ("MUG", "TEA")} == {"MUG": 3, "TEA": 1}
    for sku, quantity in (("MUG", 2), ("TEA", 1)):
        entries, _ = shop.stock_adjustments("acme", sku, 10, None)
        assert [(e.delta, e.reason.value, e.adjustment_id) for e in entries] == [
            (-quantity, "sold", f"order:{order_id}:{sku}")
        ]


def _an_order(stack: Resolver, order_id: str, email: str | None) -> None:
    orders = OrdersTable(stack.physical["OrdersTable"], boto3.resource("dynamodb", region_name=REGION))
    orders.put(
        Order(
            tenant_id="acme",
            order_id=order_id,
            created_at=datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
            status=OrderStatus.CONFIRMED,
            currency="GBP",
            lines=(OrderLine(sku="MUG", quantity=1, unit_price=Decimal("6.50")),),
            customer_email=email,
        )
    )


def _queue(stack: Resolver, *bodies: dict[str, Any]) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    for body in bodies:
        sqs.send_message(QueueUrl=stack.physical["FollowUpQueue"], MessageBody=json.dumps(body))
    return _receive(stack)


def _email(order_id: str) -> dict[str, Any]:
    return {
        "type": "order.follow_up",
        "version": 1,
        "kind": "confirmation_email",
        "tenant_id": "acme",
        "order_id": order_id,
    }


def test_no_buyer_address_an_unknown_order_and_a_bad_body_are_each_settled_alone(
    stack: Resolver, tenant: None
) -> None:
    _an_order(stack, "ord-none", email=None)
    _an_order(stack, "ord-ok", email="bob@example.com")
    bad = {"type": "order.follow_up", "kind": "confirmation_email"}  # no order id: never parses
    messages = _queue(stack, _email("ord-none"), _email("ord-missing"), _email("ord-ok"), bad)
    assert len(messages) == 4

    answer = _work(stack, messages)

    # The body that does not parse is parked in the DLQ at once, with its reason; nothing fails
    assert answer == {"batchItemFailures": []}
    sqs = boto3.client("sqs", region_name=REGION)
    [parked] = sqs.receive_message(
        QueueUrl=stack.physical["FollowUpDeadLetterQueue"], MessageAttributeNames=["All"]
    )["Messages"]
    assert json.loads(parked["Body"]) == bad
    assert "poison_reason" in parked["MessageAttributes"]
    assert [m.destinations["ToAddresses"] for m in _sent()] == [["bob@example.com"]]
    skipped = _order_item(stack, "ord-none")["follow_up_confirmation_email"]
    assert (skipped["state"], skipped["outcome"], skipped["reason"]) == (
        "done",
        "skipped",
        "the order has no buyer e-mail address",
    )


def test_an_unverified_sender_is_a_refusal_recorded_as_skipped(
    stack: Resolver, tenant: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORT_SENDER_EMAIL", "nobody@unverified.example")
    _an_order(stack, "ord-1", email="bob@example.com")

    assert _work(stack, _queue(stack, _email("ord-1"))) == {"batchItemFailures": []}

    assert _sent() == []
    record = _order_item(stack, "ord-1")["follow_up_confirmation_email"]
    assert record["outcome"] == "skipped"
    assert record["reason"].startswith("refused by the mail service: MessageRejected")


def test_the_mailer_passes_the_reply_to_address() -> None:
    calls: list[dict[str, Any]] = []

    class Ses:
        def send_email(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            return {"MessageId": "m-1"}

    mailer = SesMailer("shop@tandem.example", Ses())
    mailer.send("a@example.com", "s", "t", "<p>h</p>", reply_to="help@acme.example")
    mailer.send("a@example.com", "s", "t", "<p>h</p>")
    assert calls[0]["ReplyToAddresses"] == ["help@acme.example"]
    assert "ReplyToAddresses" not in calls[1]
    assert calls[0]["Content"]["Simple"]["Body"]["Text"]["Data"] == "t"


def test_a_sale_recorded_twice_is_one_ledger_entry_and_the_stock_never_moves(shop: CatalogTable) -> None:
    at = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    sale = StockAdjustment(
        adjustment_id="order:ord-1:MUG", sku="MUG", delta=-2, reason=StockReason.SOLD, at=at, by="checkout"
    )
    later = sale.model_copy(update={"at": at.replace(hour=10)})  # a redelivery, built again

    assert shop.record_movement("acme", sale) == sale
    assert shop.record_movement("acme", later) == sale  # the entry recorded first

    entries, _ = shop.stock_adjustments("acme", "MUG", 10, None)
    assert entries == [sale]
    assert shop.get("acme", "MUG").stock == 5  # the fixture's stock, untouched


def test_a_courier_that_is_down_fails_the_message_until_it_answers(
    stack: Resolver, tenant: None, courier: Courier
) -> None:
    _an_order(stack, "ord-1", email="bob@example.com")
    body = {"type": "order.follow_up", "version": 1, "kind": "courier_notification", "tenant_id": "acme"}
    messages = _queue(stack, {**body, "order_id": "ord-1"})
    courier.status = 503

    down = _work(stack, messages)
    assert down == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    assert "follow_up_courier_notification" not in _order_item(stack, "ord-1")  # claim given back

    courier.status = 200
    assert _work(stack, messages) == {"batchItemFailures": []}  # SQS's next delivery
    assert _work(stack, messages) == {"batchItemFailures": []}  # and a duplicate of it
    assert len(courier.calls) == 2  # the refused one, then the one that went through
    assert courier.calls[0][1] == courier.calls[1][1]  # the same bytes, re-signed


def _put_webhook(
    lambda_context: Any, body: Any, scopes: str = "admin", tenant: str = "acme"
) -> tuple[int, Any]:
    event = http_event("PUT", "/settings/webhooks", body=body, scopes=scopes, tenant=tenant)
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def test_put_settings_webhooks_stores_the_url_and_a_new_secret_shown_once(
    stack: Resolver, tenant: None, lambda_context: Any
) -> None:
    status, answer = _put_webhook(lambda_context, {"url": "https://courier.example/hooks"})
    assert status == 200, answer
    assert answer["url"] == "https://courier.example/hooks"
    assert answer["secret"].startswith("whsec_")
    stored = TenantsTable(stack.physical["TenantsTable"], boto3.resource("dynamodb", region_name=REGION)).get(
        "acme"
    )
    assert stored is not None
    assert stored.webhook is not None
    assert (stored.webhook.url, stored.webhook.secret) == ("https://courier.example/hooks", answer["secret"])
    assert stored.name == "Acme Gifts"  # the rest of the record kept

    _, again = _put_webhook(lambda_context, {"url": "https://courier.example/v2"})
    assert again["secret"] != answer["secret"]  # a new PUT, a new secret


@pytest.mark.parametrize(
    ("body", "scopes", "tenant_id", "status"),
    [
        ({"url": "http://courier.example/hooks"}, "admin", "acme", 422),  # not https
        ({"url": "https://user:pw@courier.example/"}, "admin", "acme", 422),  # credentials in the URL
        ({"url": "https://courier.example/", "secret": "mine"}, "admin", "acme", 422),  # unknown field
        ({}, "admin", "acme", 422),
        ({"url": "https://courier.example/"}, "orders:write", "acme", 403),
        ({"url": "https://courier.example/"}, "admin", "nobody", 404),  # no tenant record
    ],
)
def test_put_settings_webhooks_refuses_what_it_cannot_keep(
    stack: Resolver,
    tenant: None,
    lambda_context: Any,
    body: dict[str, Any],
    scopes: str,
    tenant_id: str,
    status: int,
) -> None:
    got, answer = _put_webhook(lambda_context, body, scopes=scopes, tenant=tenant_id)
    assert got == status, answer
    assert "secret" not in answer
