"""Keyed fingerprints of payment instruments: the one place a card number or token becomes a storable key.

The fraud rules (velocity, blocklist), the checkout's idempotency record and the
sandbox gateway all compare cards by these fingerprints, so they must agree on
the normalisation: "4242 4242 4242 4242" and "4242424242424242" are one card.
"""

import hashlib
import hmac

from tandem.models.payments import CardDetails, card_digits

# A pepper shorter than this would make fingerprints guessable by brute force.
MIN_PEPPER_BYTES = 16


def check_pepper(pepper: bytes) -> bytes:
    if len(pepper) < MIN_PEPPER_BYTES:
        raise ValueError(f"the fingerprint pepper must have at least {MIN_PEPPER_BYTES} bytes")
    return pepper


def card_fingerprint(card_number: str, pepper: bytes) -> str:
    """HMAC-SHA256 of the card's digits keyed by a per-deployment secret pepper, in hex.

    Keyed rather than a plain SHA-256: card numbers are few enough (a known issuer
    prefix, a known last four, a check digit) that an unkeyed hash is reversed by
    brute force in minutes. The pepper lives in the deployment's secret store, is
    never stored beside the fingerprints, and stays the same for the deployment's
    life (changing it makes every stored fingerprint unmatchable).
    Raises ValueError for a value that is not a card number.
    """
    digits = card_digits(card_number)
    return hmac.new(check_pepper(pepper), digits.encode("ascii"), hashlib.sha256).hexdigest()


def token_fingerprint(token: str) -> str:
    """A provider's payment token is already opaque: a plain hash keeps it out of our tables."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()


def payment_fingerprint(card: CardDetails | None, token: str | None, pepper: bytes) -> str:
    """The card's keyed fingerprint, or the token's when the buyer paid with one."""
    if card is not None:
        return card_fingerprint(card.card_number.get_secret_value(), pepper)
    return token_fingerprint(token or "")
