"""The risk checks of a checkout: signals gathered for the fraud scorer, and compliance screening."""

from dataclasses import dataclass
from datetime import datetime

from tandem.logic.checkout import CheckoutAttempt
from tandem.logic.compliance import check
from tandem.logic.errors import InvalidRequestError
from tandem.logic.fingerprints import card_fingerprint, payment_fingerprint, token_fingerprint
from tandem.logic.fraud import (
    blocklist_value,
    normalise_email,
    score,
    velocity_keys,
)
from tandem.logic.ports import (
    AuditTrail,
    Blocklist,
    Clock,
    FraudSignalStore,
    ModelSource,
    PaymentWindow,
    SanctionsSource,
)
from tandem.models.audit import AuditEntry
from tandem.models.checkout import BlocklistEntry, ScoreRequest
from tandem.models.compliance import ComplianceDecision
from tandem.models.fraud import FraudAssessment, FraudSignals
from tandem.models.payments import to_minor_units
from tandem.models.records import Order
from tandem.observability import logger


@dataclass(frozen=True)
class PaymentFacts:
    """One payment attempt as the fraud rules see it: no card number, only its keyed fingerprint."""

    tenant_id: str
    amount_minor: int
    currency: str
    email: str
    customer_key: str
    card_fingerprint: str
    ip: str | None
    ip_country: str | None
    shipping_country: str
    at: datetime


def buyer_key(customer_id: str | None, email: str, currency: str) -> str:
    """The shop's own customer id when it sends one, else the normalised e-mail address; per currency,
    since amounts in two currencies neither add up (structuring) nor compare (z-scores)."""
    return f"{customer_id or normalise_email(email)}#{currency}"


def customer_key(attempt: CheckoutAttempt) -> str:
    customer = attempt.request.customer
    return buyer_key(customer.id, customer.email, attempt.currency)


@dataclass(frozen=True)
class Screening:
    signals: FraudSignalStore
    models: ModelSource
    sanctions: SanctionsSource
    payments: PaymentWindow

    def fraud(self, attempt: CheckoutAttempt) -> FraudAssessment:
        request = attempt.request
        # A token's card is unknown to us: its token stands in for the card (hashed by the store).
        card = (
            attempt.card.fingerprint
            if attempt.card
            else token_fingerprint(str(getattr(request.payment, "token", "")))
        )
        return self.assess(
            PaymentFacts(
                tenant_id=attempt.tenant_id,
                amount_minor=attempt.amount_minor,
                currency=attempt.currency,
                email=request.customer.email,
                customer_key=customer_key(attempt),
                card_fingerprint=card,
                ip=attempt.client_ip,
                ip_country=attempt.client_country,
                shipping_country=request.shipping_address.country,
                at=attempt.at,
            )
        )

    def assess(self, facts: "PaymentFacts") -> FraudAssessment:
        """Gather the signals of one payment attempt (counting it) and score them."""
        keys = velocity_keys(facts.card_fingerprint, facts.email, facts.ip)
        history = self.signals.history(facts.tenant_id, facts.customer_key)
        blocked = self.signals.blocklisted(facts.tenant_id, keys)
        signals = FraudSignals(
            amount_minor=facts.amount_minor,
            currency=facts.currency,
            email=facts.email,
            card_fingerprint=facts.card_fingerprint,
            card_country=None,  # the sandbox gateway has no BIN table; a provider's would
            ip=facts.ip,
            ip_country=facts.ip_country,
            shipping_country=facts.shipping_country,
            customer=history,
            tenant=self.signals.tenant_history(facts.tenant_id),
            velocity=self.signals.record_and_count(facts.tenant_id, keys, facts.at),
            is_first_order=history.order_count == 0,
            blocklisted=blocked is not None,
            blocklist_match=blocked,
        )
        return score(signals, self.models.load(), facts.tenant_id)

    def compliance(self, attempt: CheckoutAttempt) -> ComplianceDecision:
        total, count = self.payments.recent_payments(attempt.tenant_id, customer_key(attempt), attempt.at)
        return check(
            amount_minor=attempt.amount_minor,
            currency=attempt.currency,
            customer_key=customer_key(attempt),
            customer_name=attempt.request.customer.name,
            recent_24h_total_minor=total,
            recent_24h_count=count,
            sanctions=self.sanctions.load(),
        )

    def record(self, order: Order, attempt: CheckoutAttempt) -> None:
        """A confirmed order joins the histories the next checks compare against."""
        key = customer_key(attempt)
        try:
            self.signals.add_amount(attempt.tenant_id, key, attempt.amount_minor)
            self.payments.record_payment(attempt.tenant_id, key, attempt.amount_minor, order.created_at)
        except Exception:
            logger.exception("risk history not updated", extra={"order_id": order.order_id})


@dataclass(frozen=True)
class RiskDeps:
    """POST /payments/score and PUT /fraud/blocklist: the checkout's own risk checks, on their own."""

    screening: Screening
    audit: AuditTrail
    blocklist: Blocklist
    pepper: bytes
    clock: Clock


def score_payment(tenant_id: str, request: ScoreRequest, deps: RiskDeps, reference: str) -> FraudAssessment:
    """POST /payments/score: the checkout's own fraud rules for a tenant's own checkout; audited."""
    now = deps.clock()
    card = payment_fingerprint(request.card, request.payment_token, deps.pepper)
    try:
        amount_minor = to_minor_units(request.amount, request.currency)
    except ValueError as error:
        # The currency's minor unit decides how many decimals it takes: a rule of the currency,
        # not of the field's schema (which allows 4).
        detail = {"loc": ["body", "amount"], "msg": str(error), "type": "amount_precision"}
        raise InvalidRequestError(str(error), [detail]) from None
    assessment = deps.screening.assess(
        PaymentFacts(
            tenant_id=tenant_id,
            amount_minor=amount_minor,
            currency=request.currency,
            email=request.email,
            customer_key=buyer_key(request.customer_id, request.email, request.currency),
            card_fingerprint=card,
            ip=str(request.ip) if request.ip else None,
            ip_country=request.ip_country,
            shipping_country=request.shipping_country,
            at=now,
        )
    )
    deps.audit.append(AuditEntry.of_fraud(tenant_id, now, reference, assessment))
    return assessment


def add_to_blocklist(tenant_id: str, entry: BlocklistEntry, deps: RiskDeps) -> None:
    # A card is blocked by its keyed fingerprint of the same digits the checkout sees: the number itself
    # is never kept, and "4242 4242 4242 4242" blocks 4242424242424242.
    value = (
        card_fingerprint(entry.value, deps.pepper)
        if entry.kind == "card"
        else blocklist_value(entry.kind, entry.value)
    )
    deps.blocklist.block(tenant_id, entry.kind, value, entry.reason)
