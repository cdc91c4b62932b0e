"""The risk checks of a checkout: signals gathered for the fraud scorer, and compliance screening."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tandem.logic.checkout import CheckoutAttempt
from tandem.logic.compliance import ComplianceDecision, SanctionsSource, check
from tandem.logic.fraud import FraudSignalStore, ModelSource, normalise_email, score, velocity_keys
from tandem.models.fraud import FraudAssessment, FraudSignals
from tandem.models.records import Order
from tandem.observability import logger


class PaymentWindow(Protocol):
    """A customer's recent payments, for structuring: several payments that together cross a limit."""

    def recent_payments(self, tenant_id: str, customer_key: str, now: datetime) -> tuple[int, int]:
        """(total in minor units, count) over the last 24 hours."""
        ...

    def record_payment(self, tenant_id: str, customer_key: str, amount_minor: int, at: datetime) -> None: ...


def customer_key(attempt: CheckoutAttempt) -> str:
    """The shop's own customer id when it sends one, else the normalised e-mail address; per currency,
    since amounts in two currencies neither add up (structuring) nor compare (z-scores)."""
    customer = attempt.request.customer
    return f"{customer.id or normalise_email(customer.email)}#{attempt.currency}"


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
            else "token:" + hashlib.sha256(str(getattr(request.payment, "token", "")).encode()).hexdigest()
        )
        keys = velocity_keys(card, request.customer.email, attempt.client_ip)
        history = self.signals.history(attempt.tenant_id, customer_key(attempt))
        signals = FraudSignals(
            amount_minor=attempt.amount_minor,
            currency=attempt.currency,
            email=request.customer.email,
            card_fingerprint=card,
            card_country=None,  # the sandbox gateway has no BIN table; a provider's would
            ip=attempt.client_ip,
            ip_country=attempt.client_country,
            shipping_country=request.shipping_address.country,
            customer=history,
            tenant=self.signals.tenant_history(attempt.tenant_id),
            velocity=self.signals.record_and_count(attempt.tenant_id, keys, attempt.at),
            is_first_order=history.order_count == 0,
        )
        return score(signals, self.models.load(), attempt.tenant_id)

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
