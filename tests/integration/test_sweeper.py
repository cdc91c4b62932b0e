"""SweeperFunction under moto: its handler and root, wired as template.yaml wires them.

The sweep's own rules (expire once, void, settle) are tested in the checkout's crash tests;
here: the scheduled invocation finds what a dead checkout left, through the function's own
settings, and refuses the settings it must not run with.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.checkout_store import DynamoCheckoutStore
from tandem.adapters.sandbox_gateway import DynamoLedger, SandboxGateway, authorization_id_for
from tandem.handlers import sweeper
from tandem.handlers.wiring import ConfigurationError
from tandem.handlers.wiring import sweeper as root
from tandem.models.payments import CardDetails, PaymentRequest
from tandem.models.records import CheckoutRecord, Order, OrderLine, OrderStatus
from tests.moto_stack import REGION
from tests.template_model import Resolver


def _held(stack: Resolver, hold_until: datetime) -> CheckoutRecord:
    """What a checkout that died after its payment leaves: a PENDING order holding 2 MUGs, authorized."""
    order = Order(
        tenant_id="acme",
        order_id="ord-dead",
        created_at=hold_until - timedelta(minutes=2),
        status=OrderStatus.PENDING,
        currency="GBP",
        lines=(OrderLine(sku="MUG", quantity=2, unit_price=Decimal("6.50")),),
        customer_email="ann@example.com",
    )
    record = CheckoutRecord(
        order=order, request_fingerprint="f" * 64, provider_key="pk-dead", hold_until=hold_until
    )
    DynamoCheckoutStore(
        stack.physical["OrdersTable"], stack.physical["ProductsTable"], stack.physical["AuditTable"]
    ).hold(record, [])
    secret = boto3.client("secretsmanager", region_name=REGION).get_secret_value(
        SecretId=stack.physical["CardPepperSecret"]
    )["SecretString"]
    gateway = SandboxGateway(
        pepper=secret.encode(), ledger=DynamoLedger(stack.physical["SandboxPaymentsTable"])
    )
    card = CardDetails.model_validate({"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"})
    authorization = gateway.authorize(
        PaymentRequest(amount_minor=1300, currency="GBP", reference=order.order_id, card=card), "pk-dead"
    )
    assert authorization.approved
    return record


def _ledger_voided(stack: Resolver) -> bool:
    entry = DynamoLedger(stack.physical["SandboxPaymentsTable"]).get(authorization_id_for("pk-dead"))
    assert entry is not None
    return entry.voided


def _status(stack: Resolver) -> str:
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["OrdersTable"])
    return str(table.get_item(Key={"tenant_id": "acme", "order_id": "ord-dead"})["Item"]["status"])


def test_the_scheduled_sweep_gives_back_an_expired_hold_and_voids_its_authorization_once(
    stack: Resolver, shop: CatalogTable, lambda_context: Any
) -> None:
    # Given a checkout that died holding 2 of the 5 MUGs, its hold ended a minute ago
    _held(stack, datetime.now(UTC) - timedelta(minutes=1))
    assert shop.get("acme", "MUG").stock == 3
    # When Scheduler invokes the sweeper, twice
    first = sweeper.handler({}, lambda_context)
    second = sweeper.handler({}, lambda_context)
    # Then the stock is back, the authorization voided, once
    no_jobs = {"jobs_timed_out": 0, "jobs_moved_on": 0, "jobs_failed": 0}
    assert first == {"expired": 1, "voided": 1, "settled": 1, "failed": 0, **no_jobs}
    assert second == {"expired": 0, "voided": 0, "settled": 0, "failed": 0, **no_jobs}
    assert shop.get("acme", "MUG").stock == 5
    assert _ledger_voided(stack)
    assert _status(stack) == "expired"


def test_a_hold_that_has_not_ended_is_left_alone(
    stack: Resolver, shop: CatalogTable, lambda_context: Any
) -> None:
    _held(stack, datetime.now(UTC) + timedelta(minutes=1))
    assert sweeper.handler({}, lambda_context)["expired"] == 0
    assert shop.get("acme", "MUG").stock == 3
    assert not _ledger_voided(stack)
    assert _status(stack) == "pending"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("PAYMENT_GATEWAY", "stripe", "no adapter for payment gateway 'stripe'"),
        ("STAGE", "prod", "refused in stage 'prod'"),
        ("SANDBOX_PAYMENTS_TABLE_NAME", "", "needs SANDBOX_PAYMENTS_TABLE_NAME"),
    ],
)
@pytest.mark.usefixtures("stack")
def test_the_sweeper_refuses_settings_it_must_not_run_with(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=says):
        root.deps()
