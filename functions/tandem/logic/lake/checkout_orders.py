"""`checkout`: Tandem's own orders, a source of the lake like any export.

Each night the day's confirmed orders (the tenant's local day) are written as a raw file,
`raw/{tenant}/checkout/{date}/orders.jsonl`, one JSON object per order line, and curated by this
connector. The raw file is the record of what was exported; the lake then holds every order,
whatever system took it. Orders in another state (pending, declined, expired) are not sales: they
are not exported, and the export says how many it left out.

Rules: `time_to_utc` (the export writes UTC already: counted only when an offset is turned),
`fx_converted` (an order in another currency than the tenant's, at the dated FX table's rate).
Refused: `missing_order_id`, `missing_sku`, `bad_quantity`, `bad_price`, `negative_price`,
`bad_date`, `bad_currency`, `no_fx_rate`.
"""

import json
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from tandem.logic.lake.connectors import Connector, RowRejected, Rules
from tandem.logic.lake.fx import FxTable
from tandem.logic.lake.values import amount, count_of, order_and_sku, trimmed
from tandem.models.lake import LineKind, OrderLineRow
from tandem.models.records import Order, OrderStatus

FILE_NAME = "orders.jsonl"
FIELDS = ("order_id", "sku", "quantity", "unit_price", "currency", "ordered_at", "customer_id", "country")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def export_lines(orders: Iterable[Order]) -> tuple[bytes, Counter[str]]:
    """The confirmed orders' lines as JSON Lines (sorted: the same orders give the same bytes), and
    how many orders of each other status were left out."""
    left_out: Counter[str] = Counter()
    lines: list[str] = []
    for order in sorted(orders, key=lambda o: o.order_id):
        if order.status is not OrderStatus.CONFIRMED:
            left_out[order.status.value] += 1
            continue
        for line in order.lines:
            record = {
                "order_id": order.order_id,
                "sku": line.sku,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "currency": order.currency,
                "ordered_at": order.created_at.astimezone(UTC).isoformat(),
                # the checkout's customer: its id, else its e-mail (lower case), else a guest
                "customer_id": order.customer_id or (order.customer_email or "").lower() or None,
                "country": order.country,
                "channel": order.channel,
            }
            lines.append(json.dumps(record, sort_keys=True, ensure_ascii=False))
    return "".join(f"{line}\n" for line in lines).encode(), left_out


def connector(fx: FxTable) -> Connector[OrderLineRow]:
    return Connector(
        name="checkout",
        row_model=OrderLineRow,
        default_mapping={name: name for name in FIELDS},
        clean=lambda row, rules: clean(row, rules, fx),
    )


def clean(row: dict[str, str | None], rules: Rules, fx: FxTable) -> OrderLineRow:
    order_id, sku = order_and_sku(row, rules)
    try:
        quantity = count_of("quantity", row.get("quantity"), rules)
    except RowRejected as refused:
        raise RowRejected("bad_quantity", refused.detail) from None
    if quantity == 0:
        raise RowRejected("bad_quantity", "quantity is 0")
    unit_price = amount(row.get("unit_price"), "unit price", bad="bad_price", negative="negative_price")
    currency = (row.get("currency") or "").strip()
    if not _CURRENCY.match(currency):
        raise RowRejected("bad_currency", f"{currency!r} is not an ISO 4217 code")
    ordered_at = _instant(row.get("ordered_at"), rules)
    if currency != fx.tenant_currency:
        unit_price = fx.convert(unit_price, currency, ordered_at.date())
        rules.applied("fx_converted")
    return OrderLineRow(
        order_id=order_id,
        sku=sku,
        description=None,
        quantity=quantity,
        unit_price=unit_price,
        currency=fx.tenant_currency,
        ordered_at=ordered_at,
        customer_id=trimmed(row.get("customer_id"), rules, count=False),
        country=trimmed(row.get("country"), rules, count=False),
        kind=LineKind.SALE,
    )


def _instant(value: str | None, rules: Rules) -> datetime:
    try:
        moment = datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise RowRejected("bad_date", f"{value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise RowRejected("bad_date", f"{value!r} has no offset: the checkout writes UTC")
    if moment.utcoffset():
        rules.applied("time_to_utc")
    return moment.astimezone(UTC)
