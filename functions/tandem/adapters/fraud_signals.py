"""Fraud signals in DynamoDB: velocity counters, order-amount histories and the blocklist, in one table.

Table (template.yaml's `FraudSignalsTable`): partition key `pk` (S), sort key `sk` (S),
TTL attribute `expires_at` (epoch seconds, N). Four kinds of item:

- velocity item, one per (tenant, kind, value, 2-hour slice of the 24 h window):
  pk `V#{tenant_id}#{kind}#{digest}`, sk `24h#{slice_start}`; one attribute per 5-minute
  sub-slice (the 1 h window's slices) that saw an attempt, named `1h#{sub_slice_start}`,
  holding a string set (SS) of attempt digests; and `expires_at` (N).
  Example: pk `V#acme#card#9f86…0f08`, sk `24h#1795852800`,
  `1h#1795856400` = {"3f0c9a1b7d2e4c58", "a91e…"}, `1h#1795856700` = {"…"}.
- customer history: pk `H#{tenant_id}#C#{digest}`, sk `amounts`; attributes `order_count`,
  `amount_sum`, `amount_sum_sq` (N, minor units), `updated_at` (ISO 8601 UTC), `expires_at` (N).
- tenant history: pk `H#{tenant_id}#T`, sk `amounts`; the same attributes.
- blocklist entry: pk `B#{tenant_id}`, sk `{kind}#{digest}`; attributes `reason`, `added_at`.

Key parts:
- `kind` is `card`, `email` or `ip`; `slice_start`, `sub_slice_start` are the slice's start in
  epoch seconds, zero-padded to 10 digits so that string order is time order.
- `digest` is the SHA-256 (hex) of `"{kind}:{value}"` (of `"customer:{key}"` for a
  history), or its HMAC-SHA256 under a `pepper` when one is given: card fingerprints,
  e-mail addresses, IP addresses and customer keys are never stored as they are.
  A plain hash of an e-mail address can still be confirmed by whoever guesses the
  address; a pepper kept outside the table (e.g. in Secrets Manager) prevents that.
- An attempt digest is the first 16 hex digits (64 bits) of the SHA-256 of the attempt id
  (the checkout's order id, the same for every retry of one purchase; POST /payments/score's
  reference): a fixed size whatever the id, and collisions among the few hundred ids of a
  window are out of reach (about 1 in 10^14).
- One customer per partition, so no tenant's history is a hot partition but its own
  aggregate, written once per accepted order.

Sliding windows: each window is cut into 12 fixed slices aligned on the epoch (1 h into
5-minute slices, 24 h into 2-hour ones); a window's count is the number of distinct attempts
in its current slice and the 12 before it. That span covers the whole window and at most one
slice more, so a count is never lower than the true sliding count and at most one slice's
(1/12 of the window's) worth of older attempts higher: a burst cannot hide by straddling a
bucket boundary, as it can with one bucket per window. The 1 h window's slices are the
sub-slices of the 24 h window's: 1 h = the ids in the current sub-slice and the 12 before it
(in the current item, and in the previous one for the first hour of an item); 24 h = every id
in the current item and the 12 before it. Counting distinct ids makes a retry of one attempt
count once, even when it comes in a later sub-slice.

Counting an attempt is one UpdateItem per kind, for both windows: `ADD 1h#{sub_slice} :digest`
with `ReturnValues=ALL_NEW`. DynamoDB applies updates of one item one at a time, so of k
concurrent attempts the k-th to be applied sees all k: 50 concurrent attempts with one card
see 1, 2, …, 50, and at most 5 of them see a count within a limit of 5.

A sub-slice set holds at most `max_ids_per_slice` (500) digests: the update is conditional on
`size(1h#…) < :cap`, and when that refuses (ConditionalCheckFailed, with the item as it was:
`ReturnValuesOnConditionCheckFailure=ALL_OLD`) the count is taken from the full set, far above
any velocity limit. So an item stays below about 24 x 500 x 16 bytes ≈ 200 KB (DynamoDB's limit is
400 KB) however hard one card is tried.

`expires_at` on a velocity item is the moment no window's read reaches it any more
(slice_start + 24 h + 2 h); TTL deletion (lazy, within days) only reclaims space, as every
read is bounded by its keys. Histories expire `history_retention` (2 years) after a customer's
last accepted order.

Cost of one `observe` (a scored checkout with card, e-mail and IP), all requests at once, so one
round trip deep: 3 UpdateItem (one per kind; 1 write unit each while the item is under 1 KB, i.e.
below ~50 attempts in its two hours) and 1 BatchGetItem, strongly consistent, of 41 keys: per
kind the 12 earlier velocity items, the customer's and the tenant's history, the 3 blocklist
keys. Every key costs at least 1 read unit, present or not (an item's size is rounded up to
4 KB): about 41 read units, where a strongly consistent Query of one kind's 12 earlier items
would cost 1. That is the price of 4 requests instead of 7 (three Queries beside a smaller
BatchGetItem would be as deep, one round trip): about $5 per million checkouts on demand.
Only keys DynamoDB leaves unprocessed (throttling) are asked again, after a short back-off.

The windows are generic only as far as is cheap: every window's length must be 12 of its
slices, the shortest window's slice (an item's attribute) must divide every window's slice, and
every window's slice must divide the longest window's slice (an item). "1h" and "24h" (5 minutes,
2 hours) do; the constructor refuses windows that do not.
"""

import hashlib
import hmac
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from tandem.adapters import aws
from tandem.logic.concurrency import all_in_parallel, in_parallel
from tandem.logic.errors import RetryLaterError
from tandem.models.fraud import AmountHistory, SignalSnapshot, window_seconds

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

WINDOWS = ("1h", "24h")
SLICES_PER_WINDOW = 12
MAX_IDS_PER_SLICE = 500
HISTORY_SORT_KEY = "amounts"
HISTORY_RETENTION = timedelta(days=730)
# BatchGetItem takes at most 100 keys; unprocessed keys are asked again this often at most.
_BATCH_KEYS = 100
_BATCH_ROUNDS = 5
_BATCH_BACKOFF_SECONDS = 0.02

_Key = tuple[str, str]  # (pk, sk)
_Item = dict[str, Any]


@dataclass(frozen=True)
class _Layout:
    """Where the attempts of a moment go and which of them each window counts."""

    slices: Mapping[str, int]  # window → its slice length in seconds
    item_window: str  # the longest window: one item per slice of it
    sub_window: str  # the shortest window: one item attribute per slice of it

    @classmethod
    def of(cls, windows: Sequence[str]) -> "_Layout":
        if not windows:
            raise ValueError("at least one velocity window is needed")
        slices: dict[str, int] = {}
        for window in windows:
            length = window_seconds(window)
            if length % SLICES_PER_WINDOW:
                raise ValueError(f"window {window} is not {SLICES_PER_WINDOW} whole-second slices")
            slices[window] = length // SLICES_PER_WINDOW
        item_window = max(slices, key=slices.__getitem__)
        sub_window = min(slices, key=slices.__getitem__)
        for window, length in slices.items():
            if length % slices[sub_window] or slices[item_window] % length:
                raise ValueError(
                    f"window {window}'s slice must be a multiple of {sub_window}'s and divide {item_window}'s"
                )
        return cls(slices, item_window, sub_window)

    @property
    def item_slice(self) -> int:
        return self.slices[self.item_window]

    @property
    def sub_slice(self) -> int:
        return self.slices[self.sub_window]

    def window_start(self, window: str, moment: int) -> int:
        """The start of the window's current slice and the 12 before it."""
        length = self.slices[window]
        return moment - moment % length - SLICES_PER_WINDOW * length

    def item_starts(self, moment: int) -> list[int]:
        """The slices of the longest window a count reads, oldest first; the last is the current one."""
        current = moment - moment % self.item_slice
        return [current - back * self.item_slice for back in range(SLICES_PER_WINDOW, -1, -1)]

    def item_key(self, start: int) -> str:
        return f"{self.item_window}#{start:010d}"

    def attribute(self, start: int) -> str:
        return f"{self.sub_window}#{start:010d}"

    def sub_slice_start(self, name: str) -> int | None:
        prefix, _, start = name.partition("#")
        return int(start) if prefix == self.sub_window and start.isdigit() else None


class DynamoFraudSignals:
    """Implements `tandem.logic.ports.FraudSignalStore` and `Blocklist`."""

    def __init__(
        self,
        table_name: str,
        dynamodb: "DynamoDBServiceResource | None" = None,
        *,
        pepper: bytes = b"",
        windows: Sequence[str] = WINDOWS,
        max_ids_per_slice: int = MAX_IDS_PER_SLICE,
        history_retention: timedelta = HISTORY_RETENTION,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if max_ids_per_slice < 1:
            raise ValueError("max_ids_per_slice must be at least 1")
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)
        # Clients are thread-safe (resources are not), and a resource's client takes and gives
        # python values; its stubs know only the wire format, hence Any.
        self._client: Any = self._table.meta.client
        self._table_name = table_name
        self._pepper = pepper
        self._layout = _Layout.of(windows)
        self._cap = max_ids_per_slice
        self._history_retention = history_retention
        self._clock = clock

    def observe(
        self, tenant_id: str, keys: Mapping[str, str], attempt_id: str, customer_key: str, now: datetime
    ) -> SignalSnapshot:
        """Count the attempt under each kind and read everything else, concurrently (see the module)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        layout, moment = self._layout, int(now.timestamp())
        velocity_pks = {
            kind: _velocity_pk(tenant_id, kind, self._digest(kind, value)) for kind, value in keys.items()
        }
        *earlier, current = layout.item_starts(moment)
        customer = (_customer_pk(tenant_id, self._digest("customer", customer_key)), HISTORY_SORT_KEY)
        tenant = (_tenant_pk(tenant_id), HISTORY_SORT_KEY)
        blocklist = {
            kind: (_blocklist_pk(tenant_id), f"{kind}#{self._digest(kind, value)}")
            for kind, value in keys.items()
        }
        reads = [*((pk, layout.item_key(start)) for pk in velocity_pks.values() for start in earlier)]
        reads += [customer, tenant, *blocklist.values()]
        attempt = _attempt_digest(attempt_id)
        counted, found = in_parallel(
            lambda: all_in_parallel(
                [partial(self._count, pk, current, moment, attempt) for pk in velocity_pks.values()]
            ),
            lambda: self._get(reads),
        )
        velocity: dict[str, int] = {}
        for (kind, pk), current_item in zip(velocity_pks.items(), counted, strict=True):
            items = [found.get((pk, layout.item_key(start)), {}) for start in earlier] + [current_item]
            for window in layout.slices:
                velocity[f"{kind}:{window}"] = self._distinct(items, window, moment, attempt)
        return SignalSnapshot(
            velocity=velocity,
            customer=_history(found[customer]) if customer in found else AmountHistory(),
            tenant=_history(found[tenant]) if tenant in found else AmountHistory(),
            blocklist_match=next((kind for kind, key in blocklist.items() if key in found), None),
        )

    def add_amount(self, tenant_id: str, customer_key: str, amount_minor: int) -> None:
        """Add an accepted order's amount to the customer's and to the tenant's history (one transaction)."""
        self._client.transact_write_items(
            TransactItems=history_updates(
                self._table_name,
                self._pepper,
                tenant_id,
                customer_key,
                amount_minor,
                self._clock(),
                retention=self._history_retention,
            )
        )

    def block(self, tenant_id: str, kind: str, value: str, reason: str) -> None:
        """Put a card fingerprint, e-mail or IP key (as `velocity_keys` makes them) on the blocklist."""
        self._table.put_item(
            Item={
                "pk": _blocklist_pk(tenant_id),
                "sk": f"{kind}#{self._digest(kind, value)}",
                "reason": reason,
                "added_at": self._clock().astimezone(UTC).isoformat(),
            }
        )

    def _count(self, pk: str, item_start: int, moment: int, attempt: str) -> _Item:
        """Add the attempt to its sub-slice; the velocity item as it is afterwards (or full, as it was)."""
        layout = self._layout
        try:
            answer = self._client.update_item(
                TableName=self._table_name,
                Key={"pk": pk, "sk": layout.item_key(item_start)},
                UpdateExpression="ADD #slice :attempt SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(#slice) OR size(#slice) < :cap",
                ExpressionAttributeNames={"#slice": layout.attribute(moment - moment % layout.sub_slice)},
                ExpressionAttributeValues={
                    ":attempt": {attempt},
                    ":cap": self._cap,
                    ":expires": item_start + SLICES_PER_WINDOW * layout.item_slice + layout.item_slice,
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            # The sub-slice is full: counted as it is, the limit is exceeded anyway. The error's
            # item comes in the wire format (the resource layer only converts answers).
            wire: Mapping[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            return {name: _DESERIALIZER.deserialize(value) for name, value in wire.items()}
        attributes: _Item = answer.get("Attributes", {})
        return attributes

    def _distinct(self, items: Sequence[Mapping[str, Any]], window: str, moment: int, attempt: str) -> int:
        """Distinct attempts in the window's slices up to the current one, this attempt included."""
        layout = self._layout
        start, current = layout.window_start(window, moment), moment - moment % layout.sub_slice
        seen: set[str] = {attempt}
        for item in items:
            for name, digests in item.items():
                sub_slice = layout.sub_slice_start(name)
                if sub_slice is not None and start <= sub_slice <= current:
                    seen.update(digests)
        return len(seen)

    def _get(self, keys: Sequence[_Key]) -> dict[_Key, _Item]:
        """The items of `keys` that exist, read strongly consistently; a few BatchGetItem at once."""
        batches = [keys[at : at + _BATCH_KEYS] for at in range(0, len(keys), _BATCH_KEYS)]
        found: dict[_Key, _Item] = {}
        for part in all_in_parallel([partial(self._get_batch, batch) for batch in batches]):
            found.update(part)
        return found

    def _get_batch(self, keys: Sequence[_Key]) -> dict[_Key, _Item]:
        found: dict[_Key, _Item] = {}
        request: dict[str, Any] = {
            self._table_name: {"Keys": [{"pk": pk, "sk": sk} for pk, sk in keys], "ConsistentRead": True}
        }
        for round_ in range(_BATCH_ROUNDS):
            if round_:
                time.sleep(_BATCH_BACKOFF_SECONDS * 2 ** (round_ - 1))
            answer = self._client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(self._table_name, []):
                found[(item["pk"], item["sk"])] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request.get(self._table_name, {}).get("Keys"):
                return found
        raise RetryLaterError("fraud signals are unavailable (throttled); nothing was charged, retry shortly")

    def _digest(self, kind: str, value: str) -> str:
        return _digest(self._pepper, kind, value)


def history_updates(
    table_name: str,
    pepper: bytes,
    tenant_id: str,
    customer_key: str,
    amount_minor: int,
    now: datetime,
    *,
    retention: timedelta = HISTORY_RETENTION,
) -> list[dict[str, Any]]:
    """TransactWriteItems entries adding an accepted order's amount to the customer's and the
    tenant's history (two `Update`s), for a transaction of the caller's own.

    Values are python values (str, int, not `{"N": "1"}`): give them to a DynamoDB resource's
    client, `boto3.resource("dynamodb").meta.client.transact_write_items(TransactItems=...)`,
    which serializes them. `pepper` must be the one the checkout's `DynamoFraudSignals` uses,
    `customer_key` what `tandem.logic.risk.buyer_key` makes. Each entry adds once: the caller
    makes the transaction happen once per order (e.g. with a condition on the order).
    """
    if amount_minor < 0:
        raise ValueError("amount_minor must not be negative")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    values = {
        ":one": 1,
        ":amount": amount_minor,
        ":square": amount_minor * amount_minor,
        ":now": now.astimezone(UTC).isoformat(),
        ":expires": int((now + retention).timestamp()),
    }
    return [
        {
            "Update": {
                "TableName": table_name,
                "Key": {"pk": pk, "sk": HISTORY_SORT_KEY},
                "UpdateExpression": (
                    "ADD order_count :one, amount_sum :amount, amount_sum_sq :square "
                    "SET updated_at = :now, expires_at = :expires"
                ),
                "ExpressionAttributeValues": dict(values),
            }
        }
        for pk in (_customer_pk(tenant_id, _digest(pepper, "customer", customer_key)), _tenant_pk(tenant_id))
    ]


_DESERIALIZER = TypeDeserializer()


def _digest(pepper: bytes, kind: str, value: str) -> str:
    message = f"{kind}:{value}".encode()
    if pepper:
        return hmac.new(pepper, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def _attempt_digest(attempt_id: str) -> str:
    return hashlib.sha256(attempt_id.encode()).hexdigest()[:16]


def _velocity_pk(tenant_id: str, kind: str, digest: str) -> str:
    return f"V#{tenant_id}#{kind}#{digest}"


def _customer_pk(tenant_id: str, digest: str) -> str:
    return f"H#{tenant_id}#C#{digest}"


def _blocklist_pk(tenant_id: str) -> str:
    return f"B#{tenant_id}"


def _tenant_pk(tenant_id: str) -> str:
    return f"H#{tenant_id}#T"


def _history(item: Mapping[str, Any]) -> AmountHistory:
    """Mean and sample standard deviation from the running count, sum and sum of squares.

    The variance is taken from exact integers (n * sum of squares - sum * sum), not floats, so it does not
    cancel to nonsense when the amounts are large and close together.
    """
    count, total = _integer(item["order_count"]), _integer(item["amount_sum"])
    squares = _integer(item["amount_sum_sq"])
    if count == 0:
        return AmountHistory()
    spread = count * squares - total * total
    std = math.sqrt(spread / (count * (count - 1))) if count > 1 and spread > 0 else 0.0
    return AmountHistory(order_count=count, mean_minor=total / count, std_minor=std)


def _integer(value: object) -> int:
    # boto3's resource layer reads every DynamoDB number as a Decimal.
    if isinstance(value, int | Decimal):
        return int(value)
    raise TypeError(f"expected a DynamoDB number, got {type(value).__name__}")
