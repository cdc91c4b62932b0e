"""Card payments: the gateway port, card checks that need a clock, and what may be kept of a card.

The gateway is a port (`PaymentGateway`): tandem.adapters.sandbox_gateway implements
it for tests and the local cloud; a real provider's adapter implements the same two
calls. Amounts travel in integer minor units (tandem.models.payments.to_minor_units).
"""

from datetime import UTC, datetime

from tandem.logic.errors import RetryLaterError, TandemError
from tandem.logic.fingerprints import card_fingerprint
from tandem.logic.ports import PaymentGateway
from tandem.models.payments import (
    Authorization,
    CardBrand,
    CardDetails,
    CardSummary,
    DeclineCode,
    PaymentRequest,
    card_brand,
    luhn_valid,
)

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

    The model has already checked the digits and the form of the expiry. The Luhn check
    digit is checked here, as a provider would: a decline (invalid_card, 402), since the
    API's schema cannot state it. Raises PaymentDeclinedError (invalid_card, expired_card,
    incorrect_cvc).
    """
    if not luhn_valid(card.card_number.get_secret_value()):
        raise PaymentDeclinedError(DeclineCode.INVALID_CARD)
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
