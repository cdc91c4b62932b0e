"""`payment_disputes`: the payment provider's disputes export, the fraud model's outside labels.

A chargeback or a confirmed fraud names the order it disputes; the nightly retraining
(logic/fraud_training.py, the `fraud_model` product) counts such an order as a fraud. `other`
disputes (goods not received, a duplicate charge) are kept in the lake but are no fraud label.

Columns (a tenant's own names are a mapping): `dispute_id`, `order_id`, `kind`, `amount`,
`currency`, `opened_at`. `opened_at` is ISO 8601; with an offset it is that instant, without one
it is read in the tenant's zone.

Rules: `trimmed_text`, `kind_normalised` (case, and the providers' synonyms: `fraudulent` → fraud,
`dispute` → chargeback, `inquiry`/`retrieval` → other), `time_to_utc` (an offset or a local time
turned into UTC). Refused: `missing_dispute_id`, `missing_order_id`, `bad_kind`, `bad_amount`,
`negative_amount`, `bad_currency`, `bad_date`.
"""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tandem.logic.lake.connectors import Connector, RowRejected, Rules
from tandem.logic.lake.values import amount, local_and_utc, trimmed
from tandem.models.lake_disputes import DisputeKind, DisputeRow

FIELDS = ("dispute_id", "order_id", "kind", "amount", "currency", "opened_at")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_KINDS: dict[str, DisputeKind] = {
    "chargeback": "chargeback",
    "dispute": "chargeback",
    "fraud": "fraud",
    "fraudulent": "fraud",
    "other": "other",
    "inquiry": "other",
    "retrieval": "other",
}
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def connector(zone: str) -> Connector[DisputeRow]:
    tz = ZoneInfo(zone)
    return Connector(
        name="payment_disputes",
        row_model=DisputeRow,
        default_mapping={name: name for name in FIELDS},
        clean=lambda row, rules: clean(row, rules, tz),
    )


def clean(row: dict[str, str | None], rules: Rules, zone: ZoneInfo) -> DisputeRow:
    dispute_id = trimmed(row.get("dispute_id"), rules)
    if not dispute_id:
        raise RowRejected("missing_dispute_id", "the dispute has no id")
    order_id = trimmed(row.get("order_id"), rules)
    if not order_id:
        raise RowRejected("missing_order_id", "the dispute names no order")
    currency = (row.get("currency") or "").strip().upper()
    if not _CURRENCY.match(currency):
        raise RowRejected("bad_currency", f"{row.get('currency')!r} is not an ISO 4217 code")
    return DisputeRow(
        dispute_id=dispute_id,
        order_id=order_id,
        kind=_kind(row.get("kind"), rules),
        amount=amount(row.get("amount"), "amount", bad="bad_amount", negative="negative_amount"),
        currency=currency,
        opened_at=_opened_at(row.get("opened_at"), rules, zone),
    )


def _kind(value: str | None, rules: Rules) -> DisputeKind:
    text = (value or "").strip().lower()
    kind = _KINDS.get(text)
    if kind is None:
        raise RowRejected("bad_kind", f"{value!r} is not chargeback, fraud or other")
    if kind != value:
        rules.applied("kind_normalised")
    return kind


def _opened_at(value: str | None, rules: Rules, zone: ZoneInfo) -> datetime:
    text = (value or "").strip()
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        instant = None
    if instant is not None and instant.tzinfo is not None:
        if instant.utcoffset():
            rules.applied("time_to_utc")
        return instant.astimezone(UTC)
    utc = local_and_utc(text, _LOCAL_FORMATS, zone)[1]
    rules.applied("time_to_utc")
    return utc
