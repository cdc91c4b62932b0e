"""place_order with in-memory fakes: one purchase per Idempotency-Key, one authorization, and nothing
held for long when anything fails, the process included (the sweeper gives it back)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest

from tandem.handlers.api.http import status_of
from tandem.logic.checkout import (
    CheckoutDeps,
    order_id_for,
    place_order,
    provider_key_for,
)
from tandem.logic.compliance import SanctionsIndex
from tandem.logic.errors import (
    BlockedError,
    CheckoutExpiredError,
    IdempotencyKeyReusedError,
    InvalidRequestError,
    OutOfStockError,
    RetryLaterError,
    ScreeningUnavailableError,
)
from tandem.logic.payments import GatewayUnavailableError, PaymentDeclinedError
from tandem.logic.ports import RiskChecks
from tandem.logic.risk import Screening
from tandem.logic.sweeper import SweepDeps, sweep
from tandem.models.catalog import Product
from tandem.models.checkout import CheckoutRequest
from tandem.models.payments import DeclineCode
from tandem.models.records import Order, OrderStatus
from tests.fakes import (
    FakeAudit,
    FakeCatalog,
    FakeCheckoutStore,
    FakeClock,
    FakeFraudSignals,
    FakeGateway,
    FakeModels,
    FakePaymentWindow,
    FakeRisk,
    FakeSanctions,
    FakeVerdict,
)

TENANT = "acme"
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
HOLD = timedelta(minutes=2)
PEPPER = b"tandem-test-pepper-0123456789"
CARD = "4242424242424242"
FUTURE_EXPIRY = f"12/{(NOW.year + 3) % 100:02d}"
INITIAL_STOCK = {"MUG": 5, "TEA": 2}
PRICES = {"MUG": "6.50", "TEA": "3.25"}
KEY = "cart-7f3a"


class ProcessKilled(BaseException):
    """What a Lambda timeout or an out-of-memory kill is to the code: nothing after it runs."""


def _catalog() -> FakeCatalog:
    return FakeCatalog(
        *(
            Product(
                tenant_id=TENANT, sku=sku, name=sku, price=Decimal(PRICES[sku]), currency="GBP", stock=stock
            )
            for sku, stock in INITIAL_STOCK.items()
        )
    )


@dataclass
class Shop:
    catalog: FakeCatalog = field(default_factory=_catalog)
    gateway: FakeGateway = field(default_factory=FakeGateway)
    risk: RiskChecks = field(default_factory=FakeRisk)
    audit: FakeAudit = field(default_factory=FakeAudit)
    clock: FakeClock = field(default_factory=lambda: FakeClock(NOW))
    store: FakeCheckoutStore = field(init=False)

    def __post_init__(self) -> None:
        self.store = FakeCheckoutStore(self.catalog, self.audit)

    def deps(self) -> CheckoutDeps:
        return CheckoutDeps(
            catalog=self.catalog,
            store=self.store,
            gateway=self.gateway,
            risk=self.risk,
            audit=self.audit,
            clock=self.clock,
            card_pepper=PEPPER,
            hold=HOLD,
        )

    def checkout(self, request: CheckoutRequest | None = None, key: str = KEY) -> Order:
        return place_order(TENANT, request or order_request(), key, self.deps(), "203.0.113.7", "GB")

    def sweep(self, after: timedelta = HOLD + timedelta(seconds=1)) -> None:
        sweep(SweepDeps(store=self.store, gateway=self.gateway), NOW + after)


def order_request(
    card: str = CARD, expiry: str = FUTURE_EXPIRY, name: str = "Ada Lovelace", **items: int
) -> CheckoutRequest:
    """A valid POST /orders body (2 MUG and 1 TEA unless told), parsed as the API parses it: from JSON."""
    lines = items or {"MUG": 2, "TEA": 1}
    return CheckoutRequest.model_validate_json(
        json.dumps(
            {
                "items": [{"sku": sku, "quantity": quantity} for sku, quantity in lines.items()],
                "customer": {"email": "ada@example.com", "name": name, "country": "GB"},
                "shipping_address": {
                    "line1": "12 St James's Square",
                    "city": "London",
                    "postal_code": "SW1Y 4LB",
                    "country": "GB",
                },
                "payment": {"card_number": card, "expiry": expiry, "cvc": "123"},
                "currency": "GBP",
            }
        )
    )


def screening(sanctions: FakeSanctions | None = None) -> Screening:
    """The real risk checks over fakes of their own ports."""
    return Screening(
        signals=FakeFraudSignals(),
        models=FakeModels(),
        sanctions=sanctions or FakeSanctions(),
        payments=FakePaymentWindow(),
    )


def assert_nothing_held(shop: Shop) -> None:
    """Every unit back in stock (or sold), no money held on a card without a confirmed order."""
    sold = shop.store.sold(TENANT)
    assert shop.store.held(TENANT) == {}
    for sku, initial in INITIAL_STOCK.items():
        assert shop.catalog.stock(TENANT)[sku] + sold.get(sku, 0) == initial, (
            sku,
            shop.catalog.stock(TENANT),
        )
    confirmed = {o.payment.authorization_id for o in shop.store.of_status(OrderStatus.CONFIRMED) if o.payment}
    assert {a.authorization_id for a in shop.gateway.open_authorizations} == confirmed


# --- the happy path -----------------------------------------------------------------------------------


def test_place_order_holds_authorizes_once_and_confirms_under_the_keys_order_id() -> None:
    shop = Shop()
    order = shop.checkout()
    # The order is named by (tenant, key), confirmed at the catalogue's prices
    assert (order.order_id, order.status, order.total) == (
        order_id_for(TENANT, KEY),
        OrderStatus.CONFIRMED,
        Decimal("16.25"),
    )
    assert (order.created_at, order.customer_email) == (NOW, "ada@example.com")
    assert order.payment is not None
    assert (order.payment.brand, order.payment.last4) == ("visa", "4242")
    # the stock is taken once, and stays taken by the confirmed order
    assert shop.catalog.stock(TENANT) == {"MUG": 3, "TEA": 1}
    assert shop.store.held(TENANT) == {}
    assert shop.store.of_status(OrderStatus.CONFIRMED) == [order]
    # one authorization for the total, under the provider key derived from the purchase
    [(payment, provider_key)] = shop.gateway.calls
    assert (payment.amount_minor, payment.currency, payment.reference) == (1625, "GBP", order.order_id)
    assert provider_key == provider_key_for(order.order_id)
    assert [a.authorization_id for a in shop.gateway.open_authorizations] == [order.payment.authorization_id]
    # both risk decisions are audited with the hold, in the same step
    assert [(e.check, e.decision, e.order_id) for e in shop.audit.entries] == [
        ("fraud", "approve", order.order_id),
        ("compliance", "allow", order.order_id),
    ]
    # and the checkout made exactly its four steps: read, hold, (authorize), confirm
    assert shop.store.calls == ["find", "hold", "confirm"]


def test_the_same_key_names_the_same_order_and_other_tenants_or_keys_another() -> None:
    assert order_id_for("acme", "k1") == order_id_for("acme", "k1")
    assert len({order_id_for("acme", "k1"), order_id_for("acme", "k2"), order_id_for("zeta", "k1")}) == 3


def test_an_empty_idempotency_key_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        Shop().checkout(key=" ")


# --- replays: one purchase per key ----------------------------------------------------------------------


def test_a_replay_of_a_confirmed_purchase_answers_the_same_order_and_charges_nothing_more() -> None:
    shop = Shop()
    first = shop.checkout()
    shop.clock.advance(hours=3)
    again = shop.checkout()
    assert again == first
    assert len(shop.gateway.authorizations) == 1
    assert shop.catalog.stock(TENANT) == {"MUG": 3, "TEA": 1}
    assert len(shop.audit.entries) == 2  # the replay decided nothing new


def test_a_replay_is_answered_even_while_screening_is_unavailable() -> None:
    sanctions = FakeSanctions()
    shop = Shop(risk=screening(sanctions))
    first = shop.checkout()
    sanctions.fail_with = ScreeningUnavailableError()
    assert shop.checkout() == first


def test_the_same_key_with_another_body_is_refused_and_changes_nothing() -> None:
    shop = Shop()
    shop.checkout()
    with pytest.raises(IdempotencyKeyReusedError) as raised:
        shop.checkout(order_request(MUG=1))
    assert status_of(raised.value) == HTTPStatus.UNPROCESSABLE_ENTITY
    assert raised.value.details[0]["loc"] == ["header", "idempotency-key"]
    with pytest.raises(IdempotencyKeyReusedError):
        shop.checkout(order_request(card="5555555555554444"))  # another card is another purchase
    assert len(shop.gateway.authorizations) == 1
    assert shop.catalog.stock(TENANT) == {"MUG": 3, "TEA": 1}


def test_twenty_concurrent_replays_make_one_order_and_one_authorization() -> None:
    shop = Shop()
    start = threading.Barrier(20)
    answers: list[Order | BaseException] = []

    def replay() -> None:
        start.wait()
        try:
            answers.append(shop.checkout())
        except Exception as error:
            answers.append(error)

    threads = [threading.Thread(target=replay) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Every replay is answered with the one order (a loser of the race resumes or replays it)
    assert {a.order_id if isinstance(a, Order) else repr(a) for a in answers} == {order_id_for(TENANT, KEY)}
    assert len(shop.store.records) == 1
    assert len(shop.gateway.authorizations) == 1
    assert shop.catalog.stock(TENANT) == {"MUG": 3, "TEA": 1}


# --- refusals before anything is held -------------------------------------------------------------------


def test_out_of_stock_holds_nothing_and_authorizes_nothing() -> None:
    shop = Shop()
    with pytest.raises(OutOfStockError) as raised:
        shop.checkout(order_request(MUG=1, TEA=3))
    assert status_of(raised.value) == HTTPStatus.CONFLICT
    assert [d["ctx"] for d in raised.value.details] == [{"sku": "TEA", "requested": 3, "available": 2}]
    assert shop.catalog.stock(TENANT) == INITIAL_STOCK
    assert shop.store.records == {}
    assert shop.gateway.calls == []


def test_an_unknown_product_is_refused_before_anything_is_held() -> None:
    shop = Shop()
    with pytest.raises(InvalidRequestError) as raised:
        shop.checkout(order_request(MUG=1, NOPE=1))
    assert [d["type"] for d in raised.value.details] == ["unknown_product"]
    assert shop.store.calls == ["find"]
    assert shop.gateway.calls == []


def test_a_zero_total_is_refused_before_anything_is_held() -> None:
    shop = Shop()
    shop.catalog.put(
        Product(tenant_id=TENANT, sku="FREE", name="Free", price=Decimal(0), currency="GBP", stock=9)
    )
    with pytest.raises(InvalidRequestError) as raised:
        shop.checkout(order_request(FREE=1))
    assert [d["type"] for d in raised.value.details] == ["zero_total"]
    assert shop.store.calls == ["find"]


def test_a_fraud_block_is_audited_and_holds_nothing() -> None:
    shop = Shop(risk=FakeRisk(decision="block"))
    with pytest.raises(BlockedError) as raised:
        shop.checkout()
    assert status_of(raised.value) == HTTPStatus.FORBIDDEN
    assert [d["type"] for d in raised.value.details] == ["fraud_block"]
    assert sorted((e.check, e.decision) for e in shop.audit.entries) == [
        ("compliance", "allow"),
        ("fraud", "block"),
    ]
    assert shop.store.records == {}
    assert shop.gateway.calls == []
    assert shop.catalog.stock(TENANT) == INITIAL_STOCK


@pytest.mark.parametrize(
    "risk",
    [
        lambda: FakeRisk(verdict=FakeVerdict(blocked=True, reasons=("sanctions_match",))),
        lambda: screening(FakeSanctions(SanctionsIndex.from_names(["Ada Lovelace"]))),
    ],
    ids=["set verdict", "real screening"],
)
def test_a_compliance_block_is_audited_and_holds_nothing(risk: Callable[[], RiskChecks]) -> None:
    shop = Shop(risk=risk())
    with pytest.raises(BlockedError) as raised:
        shop.checkout()
    assert [d["type"] for d in raised.value.details] == ["compliance_block"]
    assert ("compliance", "block") in [(e.check, e.decision) for e in shop.audit.entries]
    assert shop.store.records == {}
    assert shop.gateway.calls == []


def test_without_a_sanctions_list_the_checkout_fails_closed_holding_nothing() -> None:
    shop = Shop(risk=screening(FakeSanctions(fail_with=ScreeningUnavailableError())))
    with pytest.raises(ScreeningUnavailableError) as raised:
        shop.checkout()
    assert isinstance(raised.value, RetryLaterError)
    assert status_of(raised.value) == HTTPStatus.SERVICE_UNAVAILABLE
    assert shop.store.records == {}
    assert shop.gateway.calls == []


def test_an_expired_card_is_declined_before_anything_is_read() -> None:
    shop = Shop()
    with pytest.raises(PaymentDeclinedError) as raised:
        shop.checkout(order_request(expiry="01/20"))
    assert raised.value.decline_code is DeclineCode.EXPIRED_CARD
    assert shop.store.calls == []
    assert shop.gateway.calls == []


def test_a_card_failing_its_check_digit_is_declined_before_anything_is_read() -> None:
    shop = Shop()
    with pytest.raises(PaymentDeclinedError) as raised:
        shop.checkout(order_request(card="4242424242424241"))
    assert raised.value.decline_code is DeclineCode.INVALID_CARD
    assert shop.store.calls == []


# --- the payment ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", [DeclineCode.INSUFFICIENT_FUNDS, DeclineCode.STOLEN_CARD, DeclineCode.DO_NOT_HONOR]
)
def test_a_declined_payment_gives_the_stock_back_and_its_replay_gets_the_same_answer(
    code: DeclineCode,
) -> None:
    shop = Shop(gateway=FakeGateway(code))
    with pytest.raises(PaymentDeclinedError) as raised:
        shop.checkout()
    assert raised.value.decline_code is code
    assert shop.catalog.stock(TENANT) == INITIAL_STOCK
    [declined] = shop.store.of_status(OrderStatus.DECLINED)
    assert declined.order_id == order_id_for(TENANT, KEY)
    # The replay is answered from the record: the gateway is not asked again
    with pytest.raises(PaymentDeclinedError) as again:
        shop.checkout()
    assert again.value.decline_code is code
    assert len(shop.gateway.calls) == 1
    assert shop.catalog.stock(TENANT) == INITIAL_STOCK


def test_a_gateway_outage_keeps_the_hold_and_the_retry_with_the_same_key_completes_the_purchase() -> None:
    shop = Shop(gateway=FakeGateway("unavailable"))
    with pytest.raises(GatewayUnavailableError) as raised:
        shop.checkout()
    assert status_of(raised.value) == HTTPStatus.SERVICE_UNAVAILABLE
    assert shop.store.held(TENANT) == {"MUG": 2, "TEA": 1}
    # The provider is back; the client retries with the same key a few seconds later
    shop.gateway.outcome = "approve"
    shop.clock.advance(seconds=5)
    order = shop.checkout()
    assert order.status is OrderStatus.CONFIRMED
    assert order.created_at == NOW  # the purchase it resumed
    assert len(shop.gateway.open_authorizations) == 1
    assert shop.catalog.stock(TENANT) == {"MUG": 3, "TEA": 1}
    assert shop.store.calls.count("hold") == 1


def test_a_gateway_that_charges_then_loses_the_answer_charges_once_when_the_client_retries() -> None:
    # The double charge: authorized, the answer lost, a 503, the client retries the same key.
    shop = Shop(gateway=FakeGateway("charge_then_time_out"))
    with pytest.raises(GatewayUnavailableError):
        shop.checkout()
    assert len(shop.gateway.open_authorizations) == 1
    shop.gateway.outcome = "approve"
    shop.clock.advance(seconds=2)
    order = shop.checkout()
    # Exactly one authorization, and it is the confirmed order's
    [authorization] = shop.gateway.authorizations
    assert order.payment is not None
    assert order.payment.authorization_id == authorization.authorization_id
    assert [key for _, key in shop.gateway.calls] == [provider_key_for(order.order_id)] * 2
    assert_nothing_held(shop)


def test_a_gateway_that_charges_then_loses_the_answer_and_no_retry_comes_is_voided_by_the_sweeper() -> None:
    shop = Shop(gateway=FakeGateway("charge_then_time_out"))
    with pytest.raises(GatewayUnavailableError):
        shop.checkout()
    shop.sweep()
    [expired] = shop.store.of_status(OrderStatus.EXPIRED)
    assert expired.order_id == order_id_for(TENANT, KEY)
    assert shop.gateway.open_authorizations == []
    assert shop.catalog.stock(TENANT) == INITIAL_STOCK
    assert_nothing_held(shop)


@pytest.mark.parametrize("swept", [False, True], ids=["before the sweep", "after the sweep"])
def test_a_retry_after_the_hold_ended_is_told_the_checkout_expired(swept: bool) -> None:
    shop = Shop(gateway=FakeGateway("unavailable"))
    with pytest.raises(GatewayUnavailableError):
        shop.checkout()
    if swept:
        shop.sweep()
    shop.gateway.outcome = "approve"
    shop.clock.advance(seconds=HOLD.total_seconds() + 1)
    with pytest.raises(CheckoutExpiredError) as raised:
        shop.checkout()
    assert status_of(raised.value) == HTTPStatus.CONFLICT
    assert "new Idempotency-Key" in raised.value.message
    assert shop.gateway.authorizations == []


def test_a_confirmation_that_loses_to_the_sweeper_voids_its_authorization() -> None:
    # A checkout so slow that its hold ended and the sweeper released the stock before it confirmed
    shop = Shop()
    original_confirm = shop.store.confirm

    def sweep_first(order: Order) -> bool:
        shop.sweep()
        return original_confirm(order)

    shop.store.confirm = sweep_first  # type: ignore[method-assign]
    with pytest.raises(CheckoutExpiredError):
        shop.checkout()
    assert shop.store.of_status(OrderStatus.CONFIRMED) == []
    assert_nothing_held(shop)
    assert shop.catalog.stock(TENANT) == INITIAL_STOCK


# --- a process that dies at any step --------------------------------------------------------------------

STEPS = ["find", "hold", "authorize", "after authorize", "confirm"]


@pytest.mark.parametrize("step", STEPS)
def test_a_checkout_killed_at_any_step_leaves_nothing_held_after_the_sweeper(step: str) -> None:
    shop = Shop()
    if step == "authorize":
        shop.gateway.fail_with = ProcessKilled()
    elif step == "after authorize":
        shop.gateway.die_after_charge = ProcessKilled()
    else:
        shop.store.fail_on[step] = ProcessKilled()
    with pytest.raises(ProcessKilled):
        shop.checkout()
    shop.store.fail_on.clear()
    shop.sweep()
    assert_nothing_held(shop)
    assert shop.catalog.stock(TENANT) == INITIAL_STOCK
    assert shop.store.of_status(OrderStatus.PENDING) == []


def test_a_sweeper_killed_between_the_release_and_the_void_voids_on_its_next_run() -> None:
    shop = Shop(gateway=FakeGateway("charge_then_time_out"))
    with pytest.raises(GatewayUnavailableError):
        shop.checkout()
    shop.gateway.void_fails_with = ProcessKilled()
    with pytest.raises(ProcessKilled):
        shop.sweep()
    assert shop.catalog.stock(TENANT) == INITIAL_STOCK  # released, once
    assert len(shop.gateway.open_authorizations) == 1
    shop.gateway.void_fails_with = None
    shop.sweep(after=HOLD + timedelta(minutes=1))
    assert shop.gateway.open_authorizations == []
    assert shop.catalog.stock(TENANT) == INITIAL_STOCK  # not released twice
    assert shop.store.stale(NOW + timedelta(hours=1), 10) == []


def test_sweeps_racing_each_other_release_the_stock_once() -> None:
    shop = Shop(gateway=FakeGateway("unavailable"))
    for key in ("k1", "k2", "k3"):
        with pytest.raises(GatewayUnavailableError):
            shop.checkout(order_request(MUG=1), key=key)
    assert shop.catalog.stock(TENANT) == {"MUG": 2, "TEA": 2}
    threads = [threading.Thread(target=shop.sweep) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shop.catalog.stock(TENANT) == INITIAL_STOCK
    assert len(shop.store.of_status(OrderStatus.EXPIRED)) == 3


def test_the_sweeper_leaves_an_order_whose_hold_has_not_ended() -> None:
    shop = Shop(gateway=FakeGateway("unavailable"))
    with pytest.raises(GatewayUnavailableError):
        shop.checkout()
    shop.sweep(after=HOLD - timedelta(seconds=1))
    assert shop.store.held(TENANT) == {"MUG": 2, "TEA": 1}


def test_one_order_failing_to_sweep_does_not_stop_the_others() -> None:
    shop = Shop(gateway=FakeGateway("charge_then_time_out"))
    for key in ("k1", "k2"):
        with pytest.raises(GatewayUnavailableError):
            shop.checkout(order_request(MUG=1), key=key)
    shop.gateway.void_fails_with = RuntimeError("provider down")
    report = sweep(SweepDeps(store=shop.store, gateway=shop.gateway), NOW + HOLD + timedelta(seconds=1))
    assert (report.expired, report.failed) == (2, 2)
    shop.gateway.void_fails_with = None
    report = sweep(SweepDeps(store=shop.store, gateway=shop.gateway), NOW + HOLD + timedelta(minutes=1))
    assert (report.expired, report.voided, report.settled) == (0, 2, 2)
    assert_nothing_held(shop)


def test_each_line_keeps_its_products_category_as_the_catalogue_had_it() -> None:
    # Given MUG in an awkwardly named category and TEA in none
    shop = Shop()
    mug = shop.catalog.products[(TENANT, "MUG")]
    shop.catalog.products[(TENANT, "MUG")] = mug.model_copy(update={"category": "Küche | 100% #1"})
    # When it is bought
    order = shop.checkout()
    # Then each line carries its product's category at the time of sale
    assert {line.sku: line.category for line in order.lines} == {"MUG": "Küche | 100% #1", "TEA": None}
    assert shop.store.of_status(OrderStatus.CONFIRMED) == [order]
