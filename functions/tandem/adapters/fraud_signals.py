"""Fraud signals in DynamoDB: velocity counters and order-amount histories, in one table.

Table (template.yaml's `FraudSignalsTable`): partition key `pk` (S), sort key `sk` (S),
TTL attribute `expires_at` (epoch seconds, N). Three kinds of item:

- velocity slice: pk `V#{tenant_id}#{kind}#{digest}`, sk `{window}#{slice_start}`;
  attributes `count` (N), `expires_at` (N).
- customer history: pk `H#{tenant_id}#C#{digest}`, sk `amounts`; attributes `order_count`,
  `amount_sum`, `amount_sum_sq` (N, minor units), `updated_at` (ISO 8601 UTC), `expires_at` (N).
- tenant history: pk `H#{tenant_id}#T`, sk `amounts`; the same attributes.
- blocklist entry: pk `B#{tenant_id}`, sk `{kind}#{digest}`; attributes `reason`, `added_at`.

Key parts:
- `kind` is `card`, `email` or `ip`; `window` is `1h` or `24h`; `slice_start` is the slice's
  start in epoch seconds, zero-padded to 10 digits so that string order is time order.
  Example: pk `V#acme#email#9f86…0f08`, sk `1h#1795856400`.
- `digest` is the SHA-256 (hex) of `"{kind}:{value}"` (of `"customer:{key}"` for a
  history), or its HMAC-SHA256 under a `pepper` when one is given: card fingerprints,
  e-mail addresses, IP addresses and customer keys are never stored as they are.
  A plain hash of an e-mail address can still be confirmed by whoever guesses the
  address; a pepper kept outside the table (e.g. in Secrets Manager) prevents that.
- One customer per partition, so no tenant's history is a hot partition but its own
  aggregate, written once per accepted order.

Sliding windows: each window is cut into 12 fixed slices aligned on the epoch (1 h into
5-minute slices, 24 h into 2-hour ones). An attempt adds one to the current slice
(UpdateItem `ADD count :one`); a window's count is the sum of the current slice and the
12 before it, read in one Query. That span covers the whole window and at most one
slice more, so a count is never lower than the true sliding count and at most one
slice's (1/12 of the window's) worth of older attempts higher: a burst cannot hide by
straddling a bucket boundary, as it can with one bucket per window.

`expires_at` on a slice is the moment no window query reaches it any more; TTL deletion
(lazy, within days) only reclaims space, as every read is bounded by its key range.
Histories expire `history_retention` (2 years) after a customer's last accepted order.

Cost per scored checkout: per kind and window one UpdateItem and one strongly
consistent Query of at most 13 tiny items (1 RCU), i.e. 12 requests for three kinds.
"""

import hashlib
import hmac
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from tandem.adapters import aws
from tandem.models.fraud import AmountHistory, window_seconds

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

WINDOWS = ("1h", "24h")
SLICES_PER_WINDOW = 12
HISTORY_SORT_KEY = "amounts"


class DynamoFraudSignals:
    """Implements `tandem.logic.fraud.FraudSignalStore`."""

    def __init__(
        self,
        table_name: str,
        dynamodb: "DynamoDBServiceResource | None" = None,
        *,
        pepper: bytes = b"",
        windows: Sequence[str] = WINDOWS,
        history_retention: timedelta = timedelta(days=730),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)
        self._pepper = pepper
        self._windows = {window: window_seconds(window) for window in windows}
        self._history_retention = history_retention
        self._clock = clock

    def record_and_count(self, tenant_id: str, keys: Mapping[str, str], now: datetime) -> dict[str, int]:
        """Count this attempt under each kind → value; attempts per "kind:window", this one included."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        moment = int(now.timestamp())
        counts: dict[str, int] = {}
        for kind, value in keys.items():
            pk = f"V#{tenant_id}#{kind}#{self._digest(kind, value)}"
            for window, length in self._windows.items():
                counts[f"{kind}:{window}"] = self._record(pk, window, length, moment)
        return counts

    def history(self, tenant_id: str, customer_key: str) -> AmountHistory:
        return self._read_history(self._customer_pk(tenant_id, customer_key))

    def tenant_history(self, tenant_id: str) -> AmountHistory:
        return self._read_history(_tenant_pk(tenant_id))

    def add_amount(self, tenant_id: str, customer_key: str, amount_minor: int) -> None:
        """Add an accepted order's amount to the customer's and to the tenant's history."""
        if amount_minor < 0:
            raise ValueError("amount_minor must not be negative")
        now = self._clock()
        for pk in (self._customer_pk(tenant_id, customer_key), _tenant_pk(tenant_id)):
            self._table.update_item(
                Key={"pk": pk, "sk": HISTORY_SORT_KEY},
                UpdateExpression=(
                    "ADD order_count :one, amount_sum :amount, amount_sum_sq :square "
                    "SET updated_at = :now, expires_at = :expires"
                ),
                ExpressionAttributeValues={
                    ":one": 1,
                    ":amount": amount_minor,
                    ":square": amount_minor * amount_minor,
                    ":now": now.astimezone(UTC).isoformat(),
                    ":expires": int((now + self._history_retention).timestamp()),
                },
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

    def blocklisted(self, tenant_id: str, keys: Mapping[str, str]) -> str | None:
        """The first kind among `keys` whose value the tenant has blocked, or None."""
        for kind, value in keys.items():
            key = {"pk": _blocklist_pk(tenant_id), "sk": f"{kind}#{self._digest(kind, value)}"}
            if self._table.get_item(Key=key, ProjectionExpression="pk").get("Item"):
                return kind
        return None

    def _record(self, pk: str, window: str, length: int, moment: int) -> int:
        slice_length = length // SLICES_PER_WINDOW
        current = moment - moment % slice_length
        self._table.update_item(
            Key={"pk": pk, "sk": _slice_key(window, current)},
            UpdateExpression="ADD #count :one SET expires_at = :expires",
            ExpressionAttributeNames={"#count": "count"},  # COUNT is a reserved word
            ExpressionAttributeValues={":one": 1, ":expires": current + length + slice_length},
        )
        # At most 13 items of a few bytes each: one page, never paginated.
        page = self._table.query(
            KeyConditionExpression=Key("pk").eq(pk)
            & Key("sk").between(
                _slice_key(window, current - SLICES_PER_WINDOW * slice_length), _slice_key(window, current)
            ),
            ProjectionExpression="#count",
            ExpressionAttributeNames={"#count": "count"},
            ConsistentRead=True,
        )
        return sum(_integer(item["count"]) for item in page.get("Items", []))

    def _read_history(self, pk: str) -> AmountHistory:
        item = self._table.get_item(Key={"pk": pk, "sk": HISTORY_SORT_KEY}).get("Item")
        return _history(item) if item else AmountHistory()

    def _customer_pk(self, tenant_id: str, customer_key: str) -> str:
        return f"H#{tenant_id}#C#{self._digest('customer', customer_key)}"

    def _digest(self, kind: str, value: str) -> str:
        message = f"{kind}:{value}".encode()
        if self._pepper:
            return hmac.new(self._pepper, message, hashlib.sha256).hexdigest()
        return hashlib.sha256(message).hexdigest()


def _blocklist_pk(tenant_id: str) -> str:
    return f"B#{tenant_id}"


def _tenant_pk(tenant_id: str) -> str:
    return f"H#{tenant_id}#T"


def _slice_key(window: str, start: int) -> str:
    return f"{window}#{start:010d}"


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
