"""A payment gateway in memory that behaves like a provider's test mode (the numbers follow Stripe's).

Test cards (any future expiry; CVC of 3 digits, 4 for American Express):

| card number              | brand      | outcome                                                     |
|--------------------------|------------|-------------------------------------------------------------|
| 4242 4242 4242 4242      | visa       | approved                                                    |
| 5555 5555 5555 4444      | mastercard | approved                                                    |
| 3782 822463 10005        | amex       | approved                                                    |
| 6011 1111 1111 1117      | discover   | approved                                                    |
| 4000 0000 0000 9995      | visa       | declined: insufficient_funds                                |
| 4000 0000 0000 9979      | visa       | declined: stolen_card                                       |
| 4000 0000 0000 0002      | visa       | declined: do_not_honor                                      |
| 4000 0000 0000 0119      | visa       | gateway error: GatewayUnavailableError at once              |
| 4000 0000 0000 3220      | visa       | timeout: GatewayUnavailableError after `timeout_seconds`    |
| any other Luhn-valid one | by prefix  | approved                                                    |

A past expiry is declined with expired_card, a CVC of the wrong length for the brand
with incorrect_cvc (tandem.logic.payments.validate_card). A number failing the Luhn
check never gets here: PaymentRequest refuses it.

Test tokens, for `PaymentRequest(token=…)`:

| token                  | behaves as                |
|------------------------|---------------------------|
| tok_visa               | 4242 4242 4242 4242       |
| tok_mastercard         | 5555 5555 5555 4444       |
| tok_insufficient_funds | 4000 0000 0000 9995       |
| tok_stolen_card        | 4000 0000 0000 9979       |
| tok_gateway_error      | 4000 0000 0000 0119       |
| tok_timeout            | 4000 0000 0000 3220       |
| any other token        | declined: invalid_card    |

Idempotency as a provider does it: the same key returns the first Authorization
(approved or declined) and charges once; the same key with a different request is a
ConflictError. A gateway error or a timeout records nothing, so a retry with the same
key is processed afresh (a real timeout may have charged: the key is what makes that
retry safe against a real provider).

The gateway keeps only CardSummary (brand, last four, fingerprint), never the card
number or the CVC. It is safe to share between threads (concurrent checkouts in one
warm process).
"""

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from tandem.logic.errors import ConflictError, NotFoundError
from tandem.logic.fingerprints import check_pepper
from tandem.logic.payments import (
    GatewayUnavailableError,
    PaymentDeclinedError,
    summarize_number,
    validate_card,
)
from tandem.logic.ports import Clock
from tandem.models.payments import (
    Authorization,
    AuthorizationStatus,
    CardSummary,
    DeclineCode,
    PaymentRequest,
)
from tandem.observability import logger

Outcome = DeclineCode | Literal["approve", "error", "timeout"]

TEST_CARD_OUTCOMES: dict[str, Outcome] = {
    "4242424242424242": "approve",
    "5555555555554444": "approve",
    "378282246310005": "approve",
    "6011111111111117": "approve",
    "4000000000009995": DeclineCode.INSUFFICIENT_FUNDS,
    "4000000000009979": DeclineCode.STOLEN_CARD,
    "4000000000000002": DeclineCode.DO_NOT_HONOR,
    "4000000000000119": "error",
    "4000000000003220": "timeout",
}

TEST_TOKENS: dict[str, str] = {
    "tok_visa": "4242424242424242",
    "tok_mastercard": "5555555555554444",
    "tok_insufficient_funds": "4000000000009995",
    "tok_stolen_card": "4000000000009979",
    "tok_gateway_error": "4000000000000119",
    "tok_timeout": "4000000000003220",
}

# What identifies "the same request" for idempotency: never the card number itself.
_RequestIdentity = tuple[int, str, str, str]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SandboxGateway:
    def __init__(
        self,
        pepper: bytes,
        *,
        timeout_seconds: float = 0.0,
        clock: Clock = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        check_pepper(pepper)  # fail when the process starts, not at the first payment
        self._pepper = pepper
        self._timeout_seconds = timeout_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._by_key: dict[str, tuple[_RequestIdentity, Authorization]] = {}
        self._by_id: dict[str, Authorization] = {}
        self._charges: list[Authorization] = []
        self._voids: list[str] = []

    def authorize(self, request: PaymentRequest, idempotency_key: str) -> Authorization:
        summary, outcome = self._assess(request)
        identity = (
            request.amount_minor,
            request.currency,
            request.reference,
            summary.fingerprint if request.card and summary else f"token:{request.token}",
        )
        with self._lock:
            # Check and record under one lock: two concurrent calls with one key charge once.
            if (replay := self._replay(idempotency_key, identity)) is not None:
                return replay
            if outcome == "error":
                raise GatewayUnavailableError("the payment provider failed to process the payment")
            if outcome != "timeout":
                authorization = self._record(request, idempotency_key, identity, summary, outcome)
        if outcome == "timeout":
            # Sleep outside the lock: a slow provider must not stall every other checkout.
            self._sleep(self._timeout_seconds)
            raise GatewayUnavailableError("the payment provider did not answer in time")
        logger.info(
            "sandbox authorization",
            extra={
                "authorization_id": authorization.authorization_id,
                "status": authorization.status.value,
                "decline_code": authorization.decline_code,
                "brand": summary.brand.value if summary else None,
                "last4": summary.last4 if summary else None,
                "amount_minor": authorization.amount_minor,
                "currency": authorization.currency,
            },
        )
        return authorization

    def void(self, authorization_id: str) -> None:
        """Idempotent, as compensation must be: voiding twice is voiding once."""
        with self._lock:
            authorization = self._by_id.get(authorization_id)
            if authorization is None:
                raise NotFoundError("no such authorization")
            if not authorization.approved:
                raise ConflictError("only an approved authorization can be voided")
            if authorization_id not in self._voids:
                self._voids.append(authorization_id)

    @property
    def charge_count(self) -> int:
        """Approved authorizations actually processed; idempotent replays don't count."""
        with self._lock:
            return len(self._charges)

    @property
    def charges(self) -> tuple[Authorization, ...]:
        with self._lock:
            return tuple(self._charges)

    @property
    def voids(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._voids)

    def get(self, authorization_id: str) -> Authorization | None:
        with self._lock:
            return self._by_id.get(authorization_id)

    def _assess(self, request: PaymentRequest) -> tuple[CardSummary | None, Outcome]:
        """The card's summary and what the test number says; the number stays in this frame only."""
        if request.card is not None:
            number = request.card.card_number.get_secret_value()
            try:
                validate_card(request.card, self._clock())
            except PaymentDeclinedError as declined:
                return summarize_number(number, self._pepper), declined.decline_code
        else:
            test_number = TEST_TOKENS.get(request.token or "")
            if test_number is None:
                return None, DeclineCode.INVALID_CARD
            number = test_number
        return summarize_number(number, self._pepper), TEST_CARD_OUTCOMES.get(number, "approve")

    def _replay(self, idempotency_key: str, identity: _RequestIdentity) -> Authorization | None:
        stored = self._by_key.get(idempotency_key)
        if stored is None:
            return None
        stored_identity, authorization = stored
        if stored_identity != identity:
            raise ConflictError("this idempotency key was already used for a different payment")
        return authorization

    def _record(
        self,
        request: PaymentRequest,
        idempotency_key: str,
        identity: _RequestIdentity,
        summary: CardSummary | None,
        outcome: DeclineCode | Literal["approve"],
    ) -> Authorization:
        declined = outcome != "approve"
        authorization = Authorization(
            authorization_id=f"auth_{uuid.uuid4().hex}",
            status=AuthorizationStatus.DECLINED if declined else AuthorizationStatus.APPROVED,
            decline_code=DeclineCode(outcome) if declined else None,
            amount_minor=request.amount_minor,
            currency=request.currency,
            reference=request.reference,
            card=summary,
        )
        self._by_key[idempotency_key] = (identity, authorization)
        self._by_id[authorization.authorization_id] = authorization
        if not declined:
            self._charges.append(authorization)
        return authorization
