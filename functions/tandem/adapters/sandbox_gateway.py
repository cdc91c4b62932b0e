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
| 4000 0000 0000 3220      | visa       | charged, then GatewayUnavailableError after `timeout_seconds` |
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
ConflictError. A gateway error records nothing, so a retry with the same key is
processed afresh. A timeout is the worst case a real provider has: the card **is
charged and the answer is lost** — only a retry with the same key learns the outcome
(the first authorization, not a second charge). `find(key)` tells what a key did, as a
provider's lookup does; `void` is idempotent.

Where the record lives: a `Ledger`. In memory by default (unit tests, one process);
`DynamoLedger` (SandboxPaymentsTable) when several processes share the sandbox — the
checkout authorizes, the sweeper (another function) finds and voids. Authorization ids
are derived from the idempotency key, so the ledger needs one key per authorization.

The gateway keeps only CardSummary (brand, last four, fingerprint), never the card
number or the CVC. It is safe to share between threads (concurrent checkouts in one
warm process).
"""

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from botocore.exceptions import ClientError

from tandem.adapters import aws
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

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

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


@dataclass(frozen=True)
class LedgerEntry:
    """What the sandbox did under one idempotency key."""

    identity: _RequestIdentity
    authorization: Authorization
    voided: bool = False


class Ledger(Protocol):
    """The sandbox's memory, by authorization id (derived from the idempotency key)."""

    def claim(self, authorization_id: str, entry: LedgerEntry) -> LedgerEntry:
        """Store `entry` unless the id has one already; the stored entry either way (atomic)."""
        ...

    def get(self, authorization_id: str) -> LedgerEntry | None: ...

    def mark_voided(self, authorization_id: str) -> None: ...

    def entries(self) -> list[LedgerEntry]:
        """Every entry (tests and the local cloud's checks; never the payment path)."""
        ...


class MemoryLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, LedgerEntry] = {}

    def claim(self, authorization_id: str, entry: LedgerEntry) -> LedgerEntry:
        with self._lock:
            return self._entries.setdefault(authorization_id, entry)

    def get(self, authorization_id: str) -> LedgerEntry | None:
        with self._lock:
            return self._entries.get(authorization_id)

    def mark_voided(self, authorization_id: str) -> None:
        with self._lock:
            self._entries[authorization_id] = replace(self._entries[authorization_id], voided=True)

    def entries(self) -> list[LedgerEntry]:
        with self._lock:
            return list(self._entries.values())


class DynamoLedger:
    """SandboxPaymentsTable: key `idempotency_key` (S) holding the authorization id; TTL `expires_at`.

    A claim is a conditional put, so two processes authorizing under one key charge once.
    """

    def __init__(
        self,
        table_name: str,
        dynamodb: "DynamoDBServiceResource | None" = None,
        *,
        keep: timedelta = timedelta(days=7),
    ) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)
        self._keep = keep

    def claim(self, authorization_id: str, entry: LedgerEntry) -> LedgerEntry:
        item: dict[str, Any] = {
            "idempotency_key": authorization_id,
            "identity": list(entry.identity),
            "authorization": entry.authorization.model_dump_json(),
            "voided": entry.voided,
            "expires_at": int((datetime.now(UTC) + self._keep).timestamp()),
        }
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(idempotency_key)")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            stored = self.get(authorization_id)
            if stored is None:  # pragma: no cover - entries are never deleted before their TTL
                raise
            return stored
        return entry

    def get(self, authorization_id: str) -> LedgerEntry | None:
        item = self._table.get_item(Key={"idempotency_key": authorization_id}, ConsistentRead=True).get(
            "Item"
        )
        return _entry(item) if item else None

    def mark_voided(self, authorization_id: str) -> None:
        self._table.update_item(
            Key={"idempotency_key": authorization_id},
            UpdateExpression="SET voided = :yes",
            ConditionExpression="attribute_exists(idempotency_key)",
            ExpressionAttributeValues={":yes": True},
        )

    def entries(self) -> list[LedgerEntry]:
        items: list[dict[str, Any]] = []
        scan: dict[str, Any] = {"ConsistentRead": True}
        while True:
            page = self._table.scan(**scan)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return [_entry(item) for item in items]
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _entry(item: dict[str, Any]) -> LedgerEntry:
    amount, currency, reference, card = item["identity"]
    return LedgerEntry(
        identity=(int(amount), str(currency), str(reference), str(card)),
        authorization=Authorization.model_validate_json(item["authorization"]),
        voided=bool(item.get("voided", False)),
    )


def authorization_id_for(idempotency_key: str) -> str:
    return "auth_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SandboxGateway:
    def __init__(
        self,
        pepper: bytes,
        *,
        ledger: Ledger | None = None,
        timeout_seconds: float = 0.0,
        clock: Clock = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        check_pepper(pepper)  # fail when the process starts, not at the first payment
        self._pepper = pepper
        self._ledger: Ledger = ledger if ledger is not None else MemoryLedger()
        self._timeout_seconds = timeout_seconds
        self._clock = clock
        self._sleep = sleep

    def authorize(self, request: PaymentRequest, idempotency_key: str) -> Authorization:
        summary, outcome = self._assess(request)
        identity = (
            request.amount_minor,
            request.currency,
            request.reference,
            summary.fingerprint if request.card and summary else f"token:{request.token}",
        )
        authorization_id = authorization_id_for(idempotency_key)
        if outcome == "error":
            # Nothing is recorded for an error, so a retry is processed afresh; a key that did
            # charge before is still answered with its first authorization.
            if (stored := self._ledger.get(authorization_id)) is not None:
                return self._replay(stored, identity)
            raise GatewayUnavailableError("the payment provider failed to process the payment")
        declined = outcome not in ("approve", "timeout")
        candidate = LedgerEntry(
            identity,
            Authorization(
                authorization_id=authorization_id,
                status=AuthorizationStatus.DECLINED if declined else AuthorizationStatus.APPROVED,
                decline_code=DeclineCode(outcome) if declined else None,
                amount_minor=request.amount_minor,
                currency=request.currency,
                reference=request.reference,
                card=summary,
            ),
        )
        # One conditional write, atomic: of two calls with one key (concurrent or a retry), one
        # charges and the other gets the first one's answer.
        entry = self._ledger.claim(authorization_id, candidate)
        if entry is not candidate:
            return self._replay(entry, identity)
        authorization = entry.authorization
        if outcome == "timeout":
            # Charged, and the answer never arrives: what makes a retry without the same key double-charge.
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
        entry = self._ledger.get(authorization_id)
        if entry is None:
            raise NotFoundError("no such authorization")
        if not entry.authorization.approved:
            raise ConflictError("only an approved authorization can be voided")
        if not entry.voided:
            self._ledger.mark_voided(authorization_id)

    def find(self, idempotency_key: str) -> Authorization | None:
        entry = self._ledger.get(authorization_id_for(idempotency_key))
        return entry.authorization if entry else None

    @property
    def charge_count(self) -> int:
        """Approved authorizations actually processed; idempotent replays don't count."""
        return len(self.charges)

    @property
    def charges(self) -> tuple[Authorization, ...]:
        return tuple(e.authorization for e in self._ledger.entries() if e.authorization.approved)

    @property
    def voids(self) -> tuple[str, ...]:
        return tuple(e.authorization.authorization_id for e in self._ledger.entries() if e.voided)

    def open_authorizations(self) -> tuple[Authorization, ...]:
        """Approved and not voided: money held on a card."""
        return tuple(
            e.authorization for e in self._ledger.entries() if e.authorization.approved and not e.voided
        )

    def get(self, authorization_id: str) -> Authorization | None:
        entry = self._ledger.get(authorization_id)
        return entry.authorization if entry else None

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

    @staticmethod
    def _replay(entry: LedgerEntry, identity: _RequestIdentity) -> Authorization:
        if entry.identity != identity:
            raise ConflictError("this idempotency key was already used for a different payment")
        return entry.authorization
