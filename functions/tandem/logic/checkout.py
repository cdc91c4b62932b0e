"""Checkout: validate → price → reserve stock → fraud → compliance → authorize → confirm.

Anything that fails after the reservation gives the stock back (and voids an
authorization already made), so stock is never lost. What can wait (e-mail,
warehouse, courier) is queued, never awaited.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tandem.logic.errors import BlockedError, InvalidRequestError
from tandem.logic.payments import authorize_payment, summarize_card, validate_card
from tandem.logic.ports import (
    AuditTrail,
    Clock,
    ComplianceVerdict,
    IdFactory,
    LiveCounters,
    MessageQueue,
    OrderSink,
    PaymentGateway,
    RiskChecks,
    StockCatalog,
)
from tandem.models.audit import AuditEntry
from tandem.models.checkout import CheckoutRequest, TokenPayment
from tandem.models.fraud import FraudAssessment
from tandem.models.messages import FollowUpKind, OrderFollowUp
from tandem.models.payments import Authorization, CardSummary, PaymentRequest, to_minor_units
from tandem.models.records import Order, OrderLine, OrderPayment, OrderRisk, OrderStatus
from tandem.observability import logger

FOLLOW_UPS: tuple[FollowUpKind, ...] = ("confirmation_email", "warehouse_pick", "courier_notification")


@dataclass(frozen=True)
class CheckoutAttempt:
    """What the risk checks see: the priced order and who places it, never the card itself."""

    tenant_id: str
    order_id: str
    amount_minor: int
    currency: str
    request: CheckoutRequest
    card: CardSummary | None
    client_ip: str | None
    client_country: str | None
    at: datetime


@dataclass(frozen=True)
class CheckoutDeps:
    catalog: StockCatalog
    orders: OrderSink
    gateway: PaymentGateway
    risk: RiskChecks
    counters: LiveCounters
    audit: AuditTrail
    follow_ups: MessageQueue
    clock: Clock
    new_id: IdFactory
    card_pepper: bytes


def price(tenant_id: str, request: CheckoutRequest, catalog: StockCatalog) -> tuple[OrderLine, ...]:
    """Order lines at the catalogue's prices; unknown, inactive or other-currency products refused."""
    products = catalog.get_many(tenant_id, [item.sku for item in request.items])
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
        OrderLine(sku=item.sku, quantity=item.quantity, unit_price=products[item.sku].price)
        for item in request.items
    )


def place_order(
    tenant_id: str,
    request: CheckoutRequest,
    deps: CheckoutDeps,
    client_ip: str | None,
    client_country: str | None,
) -> Order:
    """Run the checkout; a confirmed Order, or a TandemError saying why not (stock always given back)."""
    lines = price(tenant_id, request, deps.catalog)
    total = sum((line.amount for line in lines), Decimal(0))
    try:
        amount_minor = to_minor_units(total, request.currency)
    except ValueError as error:
        # The currency's minor unit decides how many decimals it takes: a rule of the currency,
        # not of the field's schema (which allows 4).
        detail = {"loc": ["body", "items"], "msg": str(error), "type": "amount_precision"}
        raise InvalidRequestError(str(error), [detail]) from None
    if amount_minor <= 0:
        # Nothing to charge, so nothing to authorize or screen: refused before any stock is taken.
        raise InvalidRequestError(
            f"the order's total is 0 {request.currency}: free items cannot be checked out alone",
            [
                {"loc": ["body", "items", i, "sku"], "msg": f"{line.sku}: priced 0", "type": "zero_total"}
                for i, line in enumerate(lines)
                if line.unit_price == 0
            ],
        )
    now = deps.clock()
    order_id = deps.new_id()
    card = (
        summarize_card(request.payment, deps.card_pepper)
        if not isinstance(request.payment, TokenPayment)
        else None
    )
    attempt = CheckoutAttempt(
        tenant_id, order_id, amount_minor, request.currency, request, card, client_ip, client_country, now
    )
    quantities = {line.sku: line.quantity for line in lines}
    if not isinstance(request.payment, TokenPayment):
        # A card that cannot succeed (check digit, expiry, CVC) is declined before any stock is
        # taken: a pure check instead of a reservation and its release. authorize_payment checks
        # again, its own guarantee that such a card never reaches the gateway.
        validate_card(request.payment, now)

    deps.catalog.reserve(tenant_id, quantities)  # all lines or none; OutOfStockError otherwise
    authorization: Authorization | None = None
    try:
        fraud = _screen_fraud(attempt, deps)
        compliance = _screen_compliance(attempt, deps)
        authorization = authorize_payment(
            deps.gateway, _payment(request, amount_minor, order_id), order_id, now
        )
        order = _confirmed(attempt, lines, authorization, fraud, compliance)
        deps.orders.put(order)
    except BaseException:
        _compensate(tenant_id, quantities, authorization, deps)
        raise
    _after_confirmation(order, attempt, deps)
    return order


def _screen_fraud(attempt: CheckoutAttempt, deps: CheckoutDeps) -> FraudAssessment:
    fraud = deps.risk.fraud(attempt)
    deps.audit.append(AuditEntry.of_fraud(attempt.tenant_id, attempt.at, attempt.order_id, fraud))
    if fraud.decision == "block":
        # The buyer learns that, not why: the reasons are for the shop (audit trail).
        raise BlockedError("the payment was refused by risk checks", [_reason("fraud_block")])
    return fraud


def _screen_compliance(attempt: CheckoutAttempt, deps: CheckoutDeps) -> ComplianceVerdict:
    verdict = deps.risk.compliance(attempt)
    decision = "block" if verdict.blocked else "flag" if verdict.flags else "allow"
    deps.audit.append(
        AuditEntry(
            tenant_id=attempt.tenant_id,
            at=attempt.at,
            order_id=attempt.order_id,
            check="compliance",
            decision=decision,
            reasons=verdict.reasons,
            codes=verdict.flags,
        )
    )
    if verdict.blocked:
        raise BlockedError("the payment was refused by compliance checks", [_reason("compliance_block")])
    return verdict


def _reason(code: str) -> dict[str, object]:
    return {"loc": ["body"], "msg": code.replace("_", " "), "type": code}


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


def _confirmed(
    attempt: CheckoutAttempt,
    lines: tuple[OrderLine, ...],
    authorization: Authorization,
    fraud: FraudAssessment,
    compliance: ComplianceVerdict,
) -> Order:
    card = authorization.card or attempt.card
    return Order(
        tenant_id=attempt.tenant_id,
        order_id=attempt.order_id,
        created_at=attempt.at,
        status=OrderStatus.CONFIRMED,
        currency=attempt.currency,
        lines=lines,
        country=attempt.request.shipping_address.country,
        channel=attempt.request.channel,
        customer_id=attempt.request.customer.id,
        payment=OrderPayment(
            brand=card.brand.value if card else "token",
            last4=card.last4 if card else "0000",
            authorization_id=authorization.authorization_id,
        ),
        risk=OrderRisk(
            fraud_score=Decimal(f"{fraud.score:.4f}"),
            fraud_decision=fraud.decision,
            compliance_flags=compliance.flags,
        ),
    )


def _compensate(
    tenant_id: str, quantities: Mapping[str, int], authorization: Authorization | None, deps: CheckoutDeps
) -> None:
    """Undo what the failed checkout took: the authorization first, then the stock.

    Raises nothing of its own; the stock is released even if voiding is interrupted.
    """
    try:
        if authorization is not None:
            try:
                deps.gateway.void(authorization.authorization_id)
            except Exception:
                logger.exception(
                    "void failed: the authorization will lapse", extra={"reference": authorization.reference}
                )
    finally:
        try:
            deps.catalog.release(tenant_id, quantities)
        except Exception:
            # Reported loudly: these units are held until someone releases them.
            logger.exception("stock release failed", extra={"quantities": dict(quantities)})


def _after_confirmation(order: Order, attempt: CheckoutAttempt, deps: CheckoutDeps) -> None:
    """The confirmed order is already safe; a failure here is logged, not turned into a failed checkout.

    A checkout that failed here would be retried by the buyer and charged again.
    """
    try:
        deps.risk.record(order, attempt)
    except Exception:
        logger.exception("risk history not updated", extra={"order_id": order.order_id})
    try:
        deps.counters.add(order)
    except Exception:
        logger.exception("live counters not updated", extra={"order_id": order.order_id})
    for kind in FOLLOW_UPS:
        try:
            deps.follow_ups.send(
                OrderFollowUp(kind=kind, tenant_id=order.tenant_id, order_id=order.order_id), {}
            )
        except Exception:
            # Logged with what is needed to send it again; an outbox would make this lossless.
            logger.exception("follow-up not queued", extra={"order_id": order.order_id, "kind": kind})
