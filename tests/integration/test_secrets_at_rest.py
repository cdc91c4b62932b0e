"""No card number, CVC, API key, e-mail address or webhook secret where it need not be.

A checkout (a card, its CVC, the buyer's e-mail), its follow-ups (the confirmation e-mail, the
warehouse pick, the courier's signed webhook), a report job and the API key that made them run
under moto, through the authorizer, the API, the orders stream and the workers. Then every item of
every table, every message sent to any queue and every log line is scanned. A table may hold what
the shop needs to do its work (the buyer's address to send the confirmation to, the webhook secret
that signs the courier's calls): each such field is listed in KEPT with its reason, and nothing
else is found anywhere. The scan itself is tests/secrets_scan.py; the same scan over a full
end-to-end run on the local cloud (its CloudWatch Logs, tables and queues, the night included) is
tests/e2e/test_secrets_in_logs.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.handlers import api, authorizer, order_events
from tests.conftest import FakeLambdaContext
from tests.events import authorizer_event, http_event
from tests.integration.conftest import receive_reports
from tests.integration.test_follow_ups import CHECKOUT, SECRET, Courier, _receive, _work

# The follow-ups tests' fixtures: a courier endpoint, tenant acme with its webhook, the orders stream.
from tests.integration.test_follow_ups import courier as courier
from tests.integration.test_follow_ups import feed as feed
from tests.integration.test_follow_ups import tenant as tenant
from tests.integration.test_order_events import StreamFeed
from tests.integration.test_report_flow import deliver
from tests.moto_stack import REGION
from tests.secrets_scan import KEPT, Known, scan
from tests.template_model import Resolver

KEY = "tdm_secret_scan_key_0123456789abcdefghij"
CVC = "739"  # distinctive: found only where it leaked
CARD = CHECKOUT["payment"]["card_number"]
KNOWN = Known(keys=frozenset({KEY}), webhook_secrets=frozenset({SECRET}), cvc=CVC)


def test_the_scan_finds_what_it_looks_for() -> None:
    """The scan itself, on what it must find and what it must not."""
    assert scan({"a": CARD, "b": "4242 4242 4242 4242", "c": "4242-4242-4242-4242"}) == {
        "a": {"card number"}, "b": {"card number"}, "c": {"card number"},
    }  # fmt: skip
    assert scan({"cvc": "1"}) == {"cvc": {"CVC or card field"}}
    assert scan({"x": CVC, "k": KEY, "m": "mail ada@example.com", "w": SECRET}, KNOWN) == {
        "x": {"CVC"}, "k": {"API key"}, "m": {"e-mail address"}, "w": {"webhook secret"},
    }  # fmt: skip
    # A run's own secrets are found whatever their shape; its CVC in free text beside its name.
    odd = Known(keys=frozenset({"plainkey123"}), webhook_secrets=frozenset({"s3cr3t"}), cvc=CVC)
    assert scan({"k": "Bearer plainkey123", "w": "signed with s3cr3t", "c": "paid, CVV: 739"}, odd) == {
        "k": {"API key"}, "w": {"webhook secret"}, "c": {"CVC"},
    }  # fmt: skip
    assert scan({"line": "REPORT RequestId: 1 Duration: 739.20 ms", "bytes": 739}, odd) == {}
    # An SES Message-ID (as the local cloud's SES gives it) names a message, not a mailbox
    assert scan({"reference": "e21d2af2-e9ea@email.amazonses.com", "to": "ada@amazonses.com"}) == {
        "to": {"e-mail address"}
    }
    assert scan({"nested": json.dumps({"deep": [CARD]})}) == {"nested.deep": {"card number"}}
    clean = {
        "ts": 1796282807078, "last4": "4242", "order": "inv-C536379", "job": "4242424242424242abc",
        "amount": "4242424242424241", "iso": "2026-12-03T07:26:47Z", "hash": "4" * 64,
    }  # fmt: skip
    assert scan(clean, KNOWN) == {}


def _tables() -> dict[str, list[dict[str, Any]]]:
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    items: dict[str, list[dict[str, Any]]] = {}
    for table in dynamodb.tables.all():
        scan_args: dict[str, Any] = {}
        rows: list[dict[str, Any]] = []
        while True:
            page = table.scan(**scan_args)
            rows += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            scan_args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        items[table.name] = rows
    return items


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every message any function sends to SQS (the body and its attributes), as it is sent."""
    from botocore.client import BaseClient

    messages: list[dict[str, Any]] = []
    original = BaseClient._make_api_call

    def recorded(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "SendMessage":
            messages.append(params)
        elif operation == "SendMessageBatch":
            messages.extend(params["Entries"])
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    return messages


def _principal(lambda_context: Any) -> dict[str, str]:
    answer = authorizer.handler(authorizer_event({"authorization": f"Bearer {KEY}"}), lambda_context)
    return dict(answer["context"])


def _api(lambda_context: Any, method: str, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
    event = http_event(method, path, body=body, headers={"authorization": f"Bearer {KEY}", **headers})
    event["requestContext"]["authorizer"]["lambda"] = _principal(lambda_context)
    return dict(api.handler(event, lambda_context))


@pytest.mark.usefixtures("tenant")
def test_a_checkout_its_follow_ups_and_a_report_leave_no_secret_behind(
    stack: Resolver,
    shop: CatalogTable,
    seed: Callable[..., Any],
    courier: Courier,
    feed: StreamFeed,
    sent: list[dict[str, Any]],
    logged: Callable[[], list[dict[str, Any]]],
    lambda_context: Any,
) -> None:
    seed(keys={KEY: "acme"})
    purchase = {**CHECKOUT, "payment": {**CHECKOUT["payment"], "cvc": CVC}}
    answer = _api(lambda_context, "POST", "/orders", purchase, {"idempotency-key": uuid.uuid4().hex})
    assert answer["statusCode"] == 201, answer["body"]
    assert order_events.handler({"Records": feed.new_records()}, FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    assert _work(stack, _receive(stack)) == {"batchItemFailures": []}
    assert len(courier.calls) == 1  # the webhook went out, signed with the secret

    period = {"from": "2026-11-01", "to": datetime.now(UTC).date().isoformat()}
    answer = _api(lambda_context, "POST", "/reports", period, {"prefer": "respond-async"})
    assert answer["statusCode"] == 202, answer["body"]
    job = receive_reports(stack)
    assert deliver(stack, lambda_context, extra=job)["batchItemFailures"] == []

    # The run did what it should: so a clean scan means something.
    assert len(sent) >= 4  # three follow-ups, the report job
    assert any("order_id" in json.dumps(message) for message in sent)
    assert logged()

    physical = {name: logical for logical, name in stack.physical.items()}
    for table, items in _tables().items():
        logical = physical[table]
        for item in items:
            for path, found in scan(item, KNOWN).items():
                assert (logical, path) in KEPT, f"{logical} holds {found} at {path}: {item}"
    for message in sent:
        assert scan(message, KNOWN) == {}, f"a queued message holds {scan(message, KNOWN)}: {message}"
    for line in logged():
        assert scan(line, KNOWN) == {}, f"a log line holds {scan(line, KNOWN)}: {line}"
