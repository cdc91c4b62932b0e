"""Card payments: the gateway port, card checks that need a clock, and what may be kept of a card.

The gateway is a port (`PaymentGateway`): tandem.adapters.sandbox_gateway implements
it for tests and the local cloud; a real provider's adapter implements the same two
calls. Amounts travel in integer minor units (tandem.models.payments.to_minor_units).
"""

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Protocol

from tandem.logic.errors import RetryLaterError, TandemError
from tandem.models.payments import (
    Authorization,
    CardBrand,
    CardDetails,
    CardSummary,
    DeclineCode,
    PaymentRequest,
    card_brand,
)

# A pepper shorter than this would make fingerprints guessable by brute force.
MIN_PEPPER_BYTES = 16

# What the customer is told. A stolen or blocked card gets the generic answer on
# purpose: card networks ask merchants not to reveal a fraud suspicion to the payer.
_DECLINE_MESSAGES: dict[DeclineCode, str] = {
    DeclineCode.INSUFFICIENT_FUNDS: "the card has insufficient funds",
    DeclineCode.STOLEN_CARD: "the card was declined",
    DeclineCode.DO_NOT_HONOR: "the card was declined",
    DeclineCode.INVALID_CARD: "the card details are not valid",
    DeclineCode.EXPIRED_CARD: "the card has expired",
    DeclineCode.INCORRECT_CVC: "the card's security code is not valid",
}


class PaymentDeclinedError(TandemError):
    """The issuer (or our own card checks) refused the payment: retrying with the same card won't help.

    `code` stays "payment_declined" (the API's error code); the reason is `decline_code`.
    """

    code = "payment_declined"

    def __init__(self, decline_code: DeclineCode, message: str | None = None) -> None:
        text = message or _DECLINE_MESSAGES[decline_code]
        # The reason code travels in the error's details: the buyer's app can act on it.
        super().__init__(text, [{"loc": ["body", "payment"], "msg": text, "type": decline_code.value}])
        self.decline_code = decline_code


class GatewayUnavailableError(RetryLaterError):
    """The provider failed or timed out: the outcome is unknown, so retry with the same idempotency key.

    A RetryLaterError, so a queue worker puts the message back; the idempotency key
    makes the retry charge at most once even if the first attempt did go through.
    """

    code = "gateway_unavailable"

    def __init__(self, message: str = "the payment provider is unavailable; try again shortly") -> None:
        super().__init__(message)


class PaymentGateway(Protocol):
    def authorize(self, request: PaymentRequest, idempotency_key: str) -> Authorization:
        """Reserve the amount on the card. The same key returns the first answer and never charges twice.

        Returns a declined Authorization when the issuer says no; raises
        GatewayUnavailableError when there is no answer.
        """
        ...

    def void(self, authorization_id: str) -> None:
        """Release an approved authorization (compensation when a later checkout step fails)."""
        ...


def card_fingerprint(card_number: str, pepper: bytes) -> str:
    """HMAC-SHA256 of the card number keyed by a per-deployment secret pepper, in hex.

    Keyed rather than a plain SHA-256: card numbers are few enough (a known issuer
    prefix, a known last four, a check digit) that an unkeyed hash is reversed by
    brute force in minutes. The pepper comes from the deployment's secret store, is
    never stored beside the fingerprints, and stays the same for the deployment's
    life (changing it makes every stored fingerprint unmatchable).
    """
    if len(pepper) < MIN_PEPPER_BYTES:
        raise ValueError(f"the fingerprint pepper must have at least {MIN_PEPPER_BYTES} bytes")
    return hmac.new(pepper, card_number.encode("ascii"), hashlib.sha256).hexdigest()


def summarize_number(card_number: str, pepper: bytes) -> CardSummary:
    """The storable summary of a card number already normalised to digits."""
    return CardSummary(
        brand=card_brand(card_number),
        last4=card_number[-4:],
        fingerprint=card_fingerprint(card_number, pepper),
    )


def summarize_card(card: CardDetails, pepper: bytes) -> CardSummary:
    return summarize_number(card.card_number.get_secret_value(), pepper)


def card_expired(card: CardDetails, now: datetime) -> bool:
    """A card is good through the last moment of its expiry month (UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    return (now.year, now.month) > (card.expiry_year, card.expiry_month)


def validate_card(card: CardDetails, now: datetime) -> None:
    """The checks the model cannot make alone: expiry against `now`, and the CVC length the brand uses.

    The model has already checked the digits, the Luhn check digit and the form of
    the expiry. Raises PaymentDeclinedError (expired_card, incorrect_cvc).
    """
    if card_expired(card, now):
        raise PaymentDeclinedError(DeclineCode.EXPIRED_CARD)
    brand = card_brand(card.card_number.get_secret_value())
    cvc_length = len(card.cvc.get_secret_value())
    # American Express prints a 4-digit code; the other brands we know use 3.
    expected = {CardBrand.AMEX: 4, CardBrand.UNKNOWN: cvc_length}.get(brand, 3)
    if cvc_length != expected:
        raise PaymentDeclinedError(DeclineCode.INCORRECT_CVC)


def authorize_payment(
    gateway: PaymentGateway, request: PaymentRequest, idempotency_key: str, now: datetime
) -> Authorization:
    """Check the card, then authorize; an approved Authorization or PaymentDeclinedError.

    Checking before the call saves a round trip and a decline on the merchant's
    record for cards that cannot succeed. GatewayUnavailableError passes through:
    the caller retries with the same idempotency key.
    """
    if not idempotency_key.strip():
        raise ValueError("an idempotency key is required")
    if request.card is not None:
        validate_card(request.card, now)
    authorization = gateway.authorize(request, idempotency_key)
    if authorization.decline_code is not None:
        raise PaymentDeclinedError(authorization.decline_code)
    return authorization
