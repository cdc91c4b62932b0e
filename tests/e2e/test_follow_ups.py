"""The follow-ups on the local cloud: a checkout through the HTTP API, MiniStack's orders stream,
OrderEventsFunction, FollowUpQueue and FollowUpWorkerFunction. Counted from outside: the e-mails
the emulator's SES kept, the objects under picks/ in the data bucket, and the calls a courier's
endpoint (http.server on a free local port) received. A follow-up delivered again changes none."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.directory_tables import TenantsTable
from tandem.models.catalog import Product
from tandem.models.records import Tenant, TenantWebhook
from tandem_local import mail
from tests.e2e.conftest import Running, wait_until

BUYER = "follow-ups-buyer@example.com"
SECRET = "whsec_e2e"
KINDS = ("confirmation_email", "courier_notification", "warehouse_pick")


class Courier:
    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        courier = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                courier.calls.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def courier() -> Iterator[Courier]:
    endpoint = Courier()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def _done(running: Running, order_id: str) -> dict[str, Any] | None:
    table = running.cloud.resource("dynamodb").Table(running.stack.physical["OrdersTable"])
    item = table.get_item(Key={"tenant_id": "acme", "order_id": order_id}, ConsistentRead=True).get("Item")
    records = {kind: (item or {}).get(f"follow_up_{kind}") for kind in KINDS}
    return records if all(r and r["state"] == "done" for r in records.values()) else None


def _picks(running: Running) -> list[str]:
    listed = running.cloud.client("s3").list_objects_v2(
        Bucket=running.stack.physical["DataBucket"], Prefix="picks/"
    )
    return sorted(o["Key"] for o in listed.get("Contents", []))


def _queue_empty(running: Running) -> bool:
    attributes = running.cloud.client("sqs").get_queue_attributes(
        QueueUrl=running.stack.physical["FollowUpQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(value) == 0 for value in attributes.values())


def shop_with_courier(
    running: Running, courier: Courier, secret: str | None = None, **tenant: Any
) -> tuple[str, str]:
    """Tenant acme with a key, a mug in stock, and its courier webhook: set through PUT
    /settings/webhooks over the local HTTP API (an https URL, a secret shown once), then pointed at
    the test's courier, which listens on plain http, with `secret` (the one shown when None).
    Returns the key and the secret the courier's calls are signed with."""
    key = running.tenant_with_key("acme")
    dynamodb = running.cloud.resource("dynamodb")
    CatalogTable(running.stack.physical["ProductsTable"], dynamodb).put(
        Product(tenant_id="acme", sku="MUG", name="Mug", price=Decimal("6.50"), currency="GBP", stock=10)
    )
    answer = running.call("PUT", "/settings/webhooks", key=key, json={"url": "https://courier.example/hooks"})
    assert answer.status_code == 200, answer.text
    shown = answer.json()["secret"]
    assert shown.startswith("whsec_")
    signing = secret or shown
    TenantsTable(running.stack.physical["TenantsTable"], dynamodb).put(
        Tenant(
            tenant_id="acme",
            name="Acme Gifts",
            reply_to="help@acme.example",
            webhook=TenantWebhook(url=courier.url, secret=signing, set_at=datetime.now(UTC)),
            **tenant,
        )
    )
    return key, signing


def checkout(buyer: str, card_number: str = "4242424242424242", cvc: str = "123") -> dict[str, Any]:
    """POST /orders' body: two mugs for `buyer`, shipped to Leeds."""
    return {
        "items": [{"sku": "MUG", "quantity": 2}],
        "customer": {"email": buyer, "name": "Grace Hopper", "country": "GB"},
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Leeds",
            "postal_code": "LS1 1AA",
            "country": "GB",
        },
        "payment": {"card_number": card_number, "expiry": "12/30", "cvc": cvc},
        "currency": "GBP",
    }


def test_a_checkout_gets_one_email_one_pick_and_one_courier_call_even_when_redelivered(
    running: Running, courier: Courier
) -> None:
    key, _ = shop_with_courier(running, courier, secret=SECRET)
    mail.verify_address(running.cloud, BUYER)  # the emulator is an SES sandbox: recipients verified

    purchase = checkout(BUYER)
    answer = running.call("POST", "/orders", key=key, json=purchase, headers={"idempotency-key": "fu-1"})
    assert answer.status_code == 201, answer.text
    order_id = answer.json()["order_id"]

    records = wait_until(lambda: _done(running, order_id), 90, what="the order's three follow-ups")
    assert {kind: r["outcome"] for kind, r in records.items()} == dict.fromkeys(KINDS, "sent")
    (email,) = mail.sent_mail(running.cloud, BUYER)
    assert email["Subject"] == f"Acme Gifts: your order {order_id} is confirmed"
    assert "Total: £13.00" in email["BodyText"]  # 2 x 6.50
    day = records["warehouse_pick"]["reference"].split("/")[2]
    assert _picks(running) == [f"picks/acme/{day}.json", f"picks/acme/{day}/{order_id}.json"]
    ((headers, body),) = courier.calls
    fields = dict(part.split("=", 1) for part in headers["Tandem-Signature"].split(","))
    digest = hmac.new(SECRET.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert fields["v1"] == digest
    assert json.loads(body)["data"]["order_id"] == order_id

    # When every follow-up is delivered again (what a sender dying before its write would cause)
    sqs = running.cloud.client("sqs")
    for kind in KINDS:
        message = {
            "type": "order.follow_up",
            "version": 1,
            "kind": kind,
            "tenant_id": "acme",
            "order_id": order_id,
        }
        sqs.send_message(QueueUrl=running.stack.physical["FollowUpQueue"], MessageBody=json.dumps(message))
    time.sleep(2)
    wait_until(lambda: _queue_empty(running), 60, what="the redelivered follow-ups consumed")

    # Then nothing more: one e-mail, the same two objects, one call
    assert len(mail.sent_mail(running.cloud, BUYER)) == 1
    assert _picks(running) == [f"picks/acme/{day}.json", f"picks/acme/{day}/{order_id}.json"]
    assert len(courier.calls) == 1
    assert _done(running, order_id) == records
