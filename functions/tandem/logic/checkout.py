"""Checkout: read everything at once → price and screen → hold the stock → authorize → confirm.

The critical path waits for four AWS round trips and the payment call:

1. one concurrent wave of reads: this purchase's order (the Idempotency-Key's record), the
   prices, and every read of the risk checks (velocity, histories, blocklist, recent payments,
   fraud model, sanctions list);
2. one transaction (`CheckoutStore.hold`): every line's stock, the PENDING order and the
   audit entries of the risk decisions;
3. the payment authorization, under a provider key derived from the Idempotency-Key;
4. one conditional write (`CheckoutStore.confirm`): PENDING → CONFIRMED.

Nothing waits after the confirmation: the live counters, the risk histories and the
follow-ups (e-mail, warehouse, courier) follow from the order's change of state on the
orders table's stream, which cannot lose it (tandem.logic.order_events).

Crash-safe by construction: the order id is derived from (tenant, Idempotency-Key), so a
retry finds the same order and resumes it (the provider's idempotency makes the
authorization happen once); a checkout that dies holding stock leaves a PENDING order whose
hold ends, and the sweeper (tandem.logic.sweeper) gives the stock back and voids whatever
was authorized, exactly once. No compensation runs in this process.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from tandem.logic.concurrency import in_parallel
from tandem.logic.errors import (
    BlockedError,
    CheckoutExistsError,
    CheckoutExpiredError,
    IdempotencyKeyReusedError,
    InvalidRequestError,
)
from tandem.logic.fingerprints import payment_fingerprint
from tandem.logic.payments import PaymentDeclinedError, authorize_payment, summarize_card, validate_card
from tandem.logic.ports import (
    AuditTrail,
    CheckoutStore,
    Clock,
    ComplianceVerdict,
    PaymentGateway,
    RiskChecks,
    StockCatalog,
)
from tandem.models.audit import AuditEntry
from tandem.models.catalog import Product
from tandem.models.checkout import CheckoutRequest, TokenPayment
from tandem.models.fraud import FraudAssessment
from tandem.models.payments import Authorization, CardSummary, DeclineCode, PaymentRequest, to_minor_units
from tandem.models.records import (
    CheckoutRecord,
    Order,
    OrderLine,
    OrderPayment,
    OrderRisk,
    OrderStatus,
    ShippingAddress,
)
from tandem.observability import logger

# Order ids are UUIDs named by (tenant, Idempotency-Key) in this namespace (RFC 9562, version 5).
ORDER_NAMESPACE = uuid.UUID("6f1f8a2e-0d6b-5b0e-9a57-7a3d1c1e8b21")
# How long a checkout may hold stock before the sweeper releases it. Longer than the function's
# timeout (10 s) and a client's retries after a gateway timeout; short enough that a dead
# checkout's stock is back on sale within minutes.
DEFAULT_HOLD = timedelta(minutes=2)

T = TypeVar("T")


@dataclass(frozen=True)
class CheckoutAttempt:
    """What the risk checks see: who places the order and how they pay, never the card itself.

    `order_id` is the same for every retry of one purchase: the velocity rules count it once.
    """

    tenant_id: str
    order_id: str
    currency: str
    request: CheckoutRequest
    card: CardSummary | None
    client_ip: str | None
    client_country: str | None
    at: datetime


@dataclass(frozen=True)
class CheckoutDeps:
    catalog: StockCatalog
    store: CheckoutStore
    gateway: PaymentGateway
    risk: RiskChecks
    audit: AuditTrail
    clock: Clock
    card_pepper: bytes
    hold: timedelta = DEFAULT_HOLD


def order_id_for(tenant_id: str, idempotency_key: str) -> str:
    """The order a purchase makes: the same (tenant, Idempotency-Key) always names the same order."""
    return str(uuid.uuid5(ORDER_NAMESPACE, f"{tenant_id}\n{idempotency_key}"))


def provider_key_for(order_id: str) -> str:
    """The payment provider's idempotency key: one per purchase, whatever the retries."""
    return f"tandem-checkout-{order_id}"


def request_fingerprint(request: CheckoutRequest, pepper: bytes) -> str:
    """What makes two requests "the same purchase": the body, the card by its keyed fingerprint only."""
    payment = request.payment
    card = payment_fingerprint(
        None if isinstance(payment, TokenPayment) else payment,
        payment.token if isinstance(payment, TokenPayment) else None,
        pepper,
    )
    body = request.model_dump(mode="json", exclude={"payment"})
    canonical = json.dumps([body, card], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def price(request: CheckoutRequest, products: dict[str, Product]) -> tuple[OrderLine, ...]:
    """Order lines at the catalogue's prices (and categories, for the live dashboard); unknown,
    inactive or other-currency products refused."""
    problems = []
    for index, item in enumerate(request.items):
        product = products.get(item.sku)
        if product is None or not product.active:
            problems.append((index, item.sku, "no such product on sale", "unknown_product"))
        elif product.currency != request.currency:
            problems.append((index, item.sku, f"priced in {product.currency}", "currency_mismatch"))
    if problems:
        raise InvalidRequestError(
            "some items cannot be sold as asked",
            [
                {"loc": ["body", "items", i, "sku"], "msg": f"{sku}: {msg}", "type": kind}
                for i, sku, msg, kind in problems
            ],
        )
    return tuple(
        OrderLine(
            sku=item.sku,
            quantity=item.quantity,
            unit_price=products[item.sku].price,
            category=products[item.sku].category,
        )
        for item in request.items
    )


def amount_in_minor_units(lines: tuple[OrderLine, ...], currency: str) -> int:
    """The amount to charge; 422 when the currency cannot carry the total or it is zero."""
    total = sum((line.amount for line in lines), Decimal(0))
    try:
        amount_minor = to_minor_units(total, currency)
    except ValueError as error:
        # The currency's minor unit decides how many decimals it takes: a rule of the currency,
        # not of the field's schema (which allows 4).
        detail = {"loc": ["body", "items"], "msg": str(error), "type": "amount_precision"}
        raise InvalidRequestError(str(error), [detail]) from None
    if amount_minor <= 0:
        # Nothing to charge, so nothing to authorize or screen: refused before any stock is taken.
        raise InvalidRequestError(
            f"the order's total is 0 {currency}: free items cannot be checked out alone",
            [
                {"loc": ["body", "items", i, "sku"], "msg": f"{line.sku}: priced 0", "type": "zero_total"}
                for i, line in enumerate(lines)
                if line.unit_price == 0
            ],
        )
    return amount_minor


def place_order(
    tenant_id: str,
    request: CheckoutRequest,
    idempotency_key: str,
    deps: CheckoutDeps,
    client_ip: str | None,
    client_country: str | None,
) -> Order:
    """Run (or resume, or replay) the purchase named by `idempotency_key`: the confirmed Order, or a
    TandemError saying why not. The same key always gives the same order and one authorization."""
    if not idempotency_key.strip():
        raise ValueError("an idempotency key is required")
    now = deps.clock()
    if not isinstance(request.payment, TokenPayment):
        # A card that cannot succeed (check digit, expiry, CVC) is declined before anything is read
        # or held. authorize_payment checks again: its own guarantee such a card never reaches the gateway.
        validate_card(request.payment, now)
    order_id = order_id_for(tenant_id, idempotency_key)
    card = (
        None
        if isinstance(request.payment, TokenPayment)
        else summarize_card(request.payment, deps.card_pepper)
    )
    attempt = CheckoutAttempt(
        tenant_id, order_id, request.currency, request, card, client_ip, client_country, now
    )
    fingerprint = request_fingerprint(request, deps.card_pepper)

    # The wave: three independent reads, one round trip deep (each captured, so that a replay is
    # answered even when, say, the sanctions list is unavailable right now).
    found, products, inputs = in_parallel(
        _captured(lambda: deps.store.find(tenant_id, order_id)),
        _captured(lambda: deps.catalog.get_many(tenant_id, [item.sku for item in request.items])),
        _captured(lambda: deps.risk.gather(attempt)),
    )
    existing = _value(found)
    if existing is not None:
        return _replay(existing, fingerprint, attempt, deps)

    lines = price(request, _value(products))
    amount_minor = amount_in_minor_units(lines, request.currency)
    fraud, compliance = deps.risk.assess(_value(inputs), attempt, amount_minor)
    audit = (AuditEntry.of_fraud(tenant_id, now, order_id, fraud), _compliance_entry(attempt, compliance))
    if fraud.decision == "block" or compliance.blocked:
        in_parallel(*(_appender(deps.audit, entry) for entry in audit))
        # The buyer learns that, not why: the reasons are for the shop (audit trail).
        if fraud.decision == "block":
            raise BlockedError("the payment was refused by risk checks", [_reason("fraud_block")])
        raise BlockedError("the payment was refused by compliance checks", [_reason("compliance_block")])

    record = CheckoutRecord(
        order=_pending_order(attempt, lines, fraud, compliance),
        request_fingerprint=fingerprint,
        provider_key=provider_key_for(order_id),
        hold_until=now + deps.hold,
    )
    try:
        deps.store.hold(record, audit)  # OutOfStockError: nothing held, nothing written
    except CheckoutExistsError:
        # A concurrent request with the same key held it first: answer as its replay.
        raced = deps.store.find(tenant_id, order_id)
        if raced is None:  # pragma: no cover - an order is never deleted
            raise
        return _replay(raced, fingerprint, attempt, deps)
    return _complete(record, attempt, deps)


def _replay(
    existing: CheckoutRecord, fingerprint: str, attempt: CheckoutAttempt, deps: CheckoutDeps
) -> Order:
    """The answer for a key whose order exists: its result again, or the rest of its checkout."""
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyKeyReusedError()
    order = existing.order
    if order.status is OrderStatus.PENDING:
        if existing.hold_until is not None and attempt.at < existing.hold_until:
            # The first attempt died, timed out or is still running: finishing it is safe, since the
            # provider key makes a second authorization return the first, and only one confirm wins.
            return _complete(existing, attempt, deps)
        raise CheckoutExpiredError()
    if order.status is OrderStatus.DECLINED:
        failure = existing.failure or {}
        raise PaymentDeclinedError(DeclineCode(failure.get("decline_code", DeclineCode.DO_NOT_HONOR)))
    if order.status is OrderStatus.EXPIRED:
        raise CheckoutExpiredError()
    return order  # confirmed (or since cancelled or refunded): the purchase happened once


def _complete(record: CheckoutRecord, attempt: CheckoutAttempt, deps: CheckoutDeps) -> Order:
    """Authorize the held order's amount and confirm it. A gateway outage (503) leaves it held: the
    client's retry resumes it, or the sweeper releases it when the hold ends."""
    order = record.order
    payment = _payment(attempt.request, to_minor_units(order.total, order.currency), order.order_id)
    try:
        authorization = authorize_payment(deps.gateway, payment, record.provider_key, deps.clock())
    except PaymentDeclinedError as declined:
        # Stock back and the answer kept for replays, in one transaction. False: another attempt
        # of this purchase (or the sweeper) settled it first; the provider's answer is the same.
        deps.store.decline(record, {"decline_code": declined.decline_code.value})
        raise
    confirmed = _confirmed(order, authorization, attempt.card)
    if deps.store.confirm(confirmed):
        return confirmed
    current = deps.store.find(order.tenant_id, order.order_id)
    if current is not None and current.order.status is OrderStatus.CONFIRMED:
        return current.order  # a concurrent retry of this purchase confirmed it (same authorization)
    # The hold ended and the sweeper released the stock: this authorization must not stand.
    _void_quietly(deps.gateway, authorization)
    raise CheckoutExpiredError()


def _pending_order(
    attempt: CheckoutAttempt,
    lines: tuple[OrderLine, ...],
    fraud: FraudAssessment,
    compliance: ComplianceVerdict,
) -> Order:
    request = attempt.request
    return Order(
        tenant_id=attempt.tenant_id,
        order_id=attempt.order_id,
        created_at=attempt.at,
        status=OrderStatus.PENDING,
        currency=attempt.currency,
        lines=lines,
        country=request.shipping_address.country,
        channel=request.channel,
        customer_id=request.customer.id,
        customer_email=request.customer.email,
        shipping_address=ShippingAddress.model_validate(request.shipping_address.model_dump()),
        risk=OrderRisk(
            fraud_score=Decimal(f"{fraud.score:.4f}"),
            fraud_decision=fraud.decision,
            compliance_flags=compliance.flags,
            fraud_features={name: Decimal(f"{strength:.4f}") for name, strength in fraud.features.items()},
        ),
    )


def _confirmed(order: Order, authorization: Authorization, card: CardSummary | None) -> Order:
    summary = authorization.card or card
    return order.model_copy(
        update={
            "status": OrderStatus.CONFIRMED,
            "payment": OrderPayment(
                brand=summary.brand.value if summary else "token",
                last4=summary.last4 if summary else "0000",
                authorization_id=authorization.authorization_id,
            ),
        }
    )


def _compliance_entry(attempt: CheckoutAttempt, verdict: ComplianceVerdict) -> AuditEntry:
    return AuditEntry(
        tenant_id=attempt.tenant_id,
        at=attempt.at,
        order_id=attempt.order_id,
        check="compliance",
        decision="block" if verdict.blocked else "flag" if verdict.flags else "allow",
        reasons=verdict.reasons,
        codes=verdict.flags,
    )


def _payment(request: CheckoutRequest, amount_minor: int, order_id: str) -> PaymentRequest:
    if isinstance(request.payment, TokenPayment):
        return PaymentRequest(
            amount_minor=amount_minor,
            currency=request.currency,
            reference=order_id,
            token=request.payment.token,
        )
    return PaymentRequest(
        amount_minor=amount_minor, currency=request.currency, reference=order_id, card=request.payment
    )


def _void_quietly(gateway: PaymentGateway, authorization: Authorization) -> None:
    try:
        gateway.void(authorization.authorization_id)
    except Exception:
        # The sweeper voids what it finds under the provider key: this is only the early try.
        logger.exception("void failed; the sweeper will retry", extra={"reference": authorization.reference})


def _reason(code: str) -> dict[str, object]:
    return {"loc": ["body"], "msg": code.replace("_", " "), "type": code}


def _appender(audit: AuditTrail, entry: AuditEntry) -> Callable[[], None]:
    return lambda: audit.append(entry)


def _captured(call: Callable[[], T]) -> Callable[[], T | BaseException]:
    def run() -> T | BaseException:
        try:
            return call()
        except Exception as error:
            return error

    return run


def _value(result: T | BaseException) -> T:
    if isinstance(result, BaseException):
        raise result
    return result
