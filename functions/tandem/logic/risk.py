"""The risk checks of a checkout: signals gathered for the fraud scorer, and compliance screening.

Two steps, so that a checkout waits for one round trip of reads, made before the price is known:
`Screening.gather` reads everything at once (velocity counts, which also count this attempt,
histories and blocklist in one `FraudSignalStore.observe`; the customer's recent payments; the
fraud model; the sanctions list), and `Screening.assess` scores and screens the priced attempt
without any I/O.
"""

from dataclasses import dataclass
from datetime import datetime

from tandem.logic.checkout import CheckoutAttempt
from tandem.logic.compliance import SanctionsIndex, check
from tandem.logic.concurrency import in_parallel
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
    RiskInputs,
    SanctionsSource,
)
from tandem.models.audit import AuditEntry
from tandem.models.checkout import BlocklistEntry, ScoreRequest
from tandem.models.compliance import ComplianceDecision
from tandem.models.fraud import FraudAssessment, FraudModel, FraudSignals, SignalSnapshot
from tandem.models.payments import to_minor_units


@dataclass(frozen=True)
class PaymentFacts:
    """One payment attempt as the fraud rules see it, before its price: no card number, only its
    keyed fingerprint. `attempt_id` is what the velocity rules count once, however often it comes."""

    tenant_id: str
    attempt_id: str
    currency: str
    email: str
    customer_key: str
    card_fingerprint: str
    ip: str | None
    ip_country: str | None
    shipping_country: str
    at: datetime


@dataclass(frozen=True)
class Gathered:
    """What `Screening.gather` read for one attempt (a `RiskInputs`); `Screening.assess` decides on it.

    `sanctions` is None when only the fraud rules' inputs were read (POST /payments/score).
    """

    facts: PaymentFacts
    signals: SignalSnapshot
    model: FraudModel
    recent_24h_total_minor: int = 0
    recent_24h_count: int = 0
    sanctions: SanctionsIndex | None = None


def buyer_key(customer_id: str | None, email: str, currency: str) -> str:
    """The shop's own customer id when it sends one, else the normalised e-mail address; per currency,
    since amounts in two currencies neither add up (structuring) nor compare (z-scores)."""
    return f"{customer_id or normalise_email(email)}#{currency}"


def customer_key(attempt: CheckoutAttempt) -> str:
    customer = attempt.request.customer
    return buyer_key(customer.id, customer.email, attempt.currency)


def attempt_facts(attempt: CheckoutAttempt) -> PaymentFacts:
    request = attempt.request
    # A token's card is unknown to us: its token stands in for the card (hashed by the store).
    card = (
        attempt.card.fingerprint
        if attempt.card
        else token_fingerprint(str(getattr(request.payment, "token", "")))
    )
    return PaymentFacts(
        tenant_id=attempt.tenant_id,
        attempt_id=attempt.order_id,
        currency=attempt.currency,
        email=request.customer.email,
        customer_key=customer_key(attempt),
        card_fingerprint=card,
        ip=attempt.client_ip,
        ip_country=attempt.client_country,
        shipping_country=request.shipping_address.country,
        at=attempt.at,
    )


@dataclass(frozen=True)
class Screening:
    """Implements `tandem.logic.ports.RiskChecks`."""

    signals: FraudSignalStore
    models: ModelSource
    sanctions: SanctionsSource
    payments: PaymentWindow

    def gather(self, attempt: CheckoutAttempt) -> Gathered:
        """Every read of both checks, concurrently: one round trip deep. Counts the attempt (once per
        `attempt.order_id`). Raises ScreeningUnavailableError when there is no sanctions list."""
        facts = attempt_facts(attempt)
        signals, (total, count), model, sanctions = in_parallel(
            lambda: self._observe(facts),
            lambda: self.payments.recent_payments(facts.tenant_id, facts.customer_key, facts.at),
            self.models.load,
            self.sanctions.load,
        )
        return Gathered(facts, signals, model, total, count, sanctions)

    def gather_fraud(self, facts: PaymentFacts) -> Gathered:
        """The fraud rules' reads alone, concurrently (no compliance screening: no sanctions list)."""
        signals, model = in_parallel(lambda: self._observe(facts), self.models.load)
        return Gathered(facts, signals, model)

    def assess(
        self, inputs: RiskInputs, attempt: CheckoutAttempt, amount_minor: int
    ) -> tuple[FraudAssessment, ComplianceDecision]:
        """Score and screen the priced attempt from what `gather` read for it: no I/O."""
        if not isinstance(inputs, Gathered) or inputs.facts.attempt_id != attempt.order_id:
            raise ValueError("assess takes what gather read for the same attempt")
        if inputs.sanctions is None:
            raise ValueError("compliance needs the sanctions list: use gather, not gather_fraud")
        decision = check(
            amount_minor=amount_minor,
            currency=attempt.currency,
            customer_key=inputs.facts.customer_key,
            customer_name=attempt.request.customer.name,
            recent_24h_total_minor=inputs.recent_24h_total_minor,
            recent_24h_count=inputs.recent_24h_count,
            sanctions=inputs.sanctions,
        )
        return self.score(inputs, amount_minor), decision

    @staticmethod
    def score(inputs: Gathered, amount_minor: int) -> FraudAssessment:
        """The fraud score of the gathered attempt at this amount: no I/O."""
        facts, observed = inputs.facts, inputs.signals
        signals = FraudSignals(
            amount_minor=amount_minor,
            currency=facts.currency,
            email=facts.email,
            card_fingerprint=facts.card_fingerprint,
            card_country=None,  # the sandbox gateway has no BIN table; a provider's would
            ip=facts.ip,
            ip_country=facts.ip_country,
            shipping_country=facts.shipping_country,
            customer=observed.customer,
            tenant=observed.tenant,
            velocity=observed.velocity,
            is_first_order=observed.customer.order_count == 0,
            blocklisted=observed.blocklist_match is not None,
            blocklist_match=observed.blocklist_match,
        )
        return score(signals, inputs.model, facts.tenant_id)

    def _observe(self, facts: PaymentFacts) -> SignalSnapshot:
        keys = velocity_keys(facts.card_fingerprint, facts.email, facts.ip)
        return self.signals.observe(facts.tenant_id, keys, facts.attempt_id, facts.customer_key, facts.at)


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
    facts = PaymentFacts(
        tenant_id=tenant_id,
        attempt_id=reference,
        currency=request.currency,
        email=request.email,
        customer_key=buyer_key(request.customer_id, request.email, request.currency),
        card_fingerprint=card,
        ip=str(request.ip) if request.ip else None,
        ip_country=request.ip_country,
        shipping_country=request.shipping_country,
        at=now,
    )
    screening = deps.screening
    assessment = screening.score(screening.gather_fraud(facts), amount_minor)
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
