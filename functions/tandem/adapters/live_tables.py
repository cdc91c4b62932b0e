"""Live counters per tenant and hour, and the append-only audit trail, in DynamoDB."""

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from tandem.adapters import aws
from tandem.models.audit import AuditEntry
from tandem.models.dashboard import HourCounters, LiveCell, LiveSku
from tandem.models.records import Order

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

COUNTER_RETENTION = timedelta(days=400)  # a year of hours, and a month to compare with


class LiveCountersTable:
    """One item per (tenant, hour): what the hour's confirmed orders sold, in total and per cell and SKU.

    Key: tenant_id (partition), bucket "hour#YYYY-MM-DDTHH" in UTC (sort). Each order is one
    update of ADDs, which DynamoDB applies atomically: concurrent writers never lose a count.
    A confirmed order is counted by the orders stream's consumer (adapters/order_effects.py), in
    the transaction that marks its effects applied: `add_update` and `payment_update` build
    those transaction entries; `add` and `record_payment` make the same updates on their own.

    Attributes: `orders`, `units`, `revenue#{currency}`, `channel#{channel}` and
    `country#{country}` (orders), as ever; and for the dashboard's filters (`hours` reads them):

    - `c|{channel}|{country}|{category}`: orders with a line in the cell (once per cell);
    - `u|{channel}|{country}|{category}|{sku}`: units of the SKU in the cell;
    - `r|{currency}|{channel}|{country}|{category}|{sku}`: the SKU's line amounts in the cell.

    A cell's units and revenue are the sums of its SKUs' (every line is in exactly one (cell, SKU)):
    not stored twice, which keeps the item and the update expression smaller.

    Size (names count as much as values): a (cell, SKU) pair is two attributes, ~90 bytes with
    usual names — "u|web|DE|Kitchen and Dining|SKU-000123" is 38 bytes and its number 2-3, the
    revenue's name 4 bytes more and its number ~5 — and a cell ~30 more. Measured with
    `bench/live_counters.py` (orders of 1.7 lines over 4 channels, 10 countries, 30 categories of
    ~25 characters, nearly every pair new: the worst case), an hour of 500 orders is 104 KB, of
    1,000 orders 194 KB (1,658 pairs, ~120 B each with its share of cells), of 2,000 360 KB: the
    item is full past ~2,200 such orders in one hour (a shop whose orders repeat bestsellers gets
    further). The longest names (a 64-character category of 4-byte characters, a 64-character SKU)
    make a pair ~720 B. The bucket is an hour so that an item never grows further; an hour that
    fills up counts its later orders in the totals only, and in `orders_without_cells` (HourCounters
    says so), rather than failing their effects' transaction (adapters/order_effects.py).
    An update is billed by the item's size (1 WCU per KB, twice in a transaction): late in a
    1,000-order hour an order costs ~390 WCU, an average of ~200 over the hour.
    """

    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)
        self._name = table_name

    def add(self, order: Order) -> None:
        self._table.update_item(**_without_table(self.add_update(order)))

    def add_update(self, order: Order, *, cells: bool = True) -> dict[str, Any]:
        """`add` as a TransactWriteItems entry ({"Update": …}, Python values for the resource's client).

        DynamoDB takes at most 4 KB of update expression: placeholders are short ("#a1z :a1z, ", 11
        characters) and every cell's 1 is one value (":one"), so the largest checkout (96 lines, each
        its own cell: 96 + 2 x 96 clauses) stays near 3.3 KB.

        `cells=False`: the totals only, and the order counted in `orders_without_cells` — for an hour
        whose item would pass 400 KB with the order's new cells (adapters/order_effects.py)."""
        names = {"#orders": "orders", "#units": "units", "#exp": "expires_at"}
        values: dict[str, Any] = {
            ":one": 1,
            ":units": order.units,
            ":exp": int((order.created_at + COUNTER_RETENTION).timestamp()),
        }
        adds = ["#orders :one", "#units :units"]
        for key, attribute, amount in (
            ("rev", f"revenue#{order.currency}", order.total),
            ("chan", f"channel#{order.channel or 'unknown'}", 1),
            ("ctry", f"country#{order.country or 'unknown'}", 1),
        ):
            names[f"#{key}"] = attribute
            values[f":{key}"] = amount
            adds.append(f"#{key} :{key}")
        if not cells:
            names["#nocells"] = ORDERS_WITHOUT_CELLS
            adds.append("#nocells :one")
        for attribute, amount in (_cell_counts(order) if cells else {}).items():
            token = f"a{_base36(len(adds))}"
            names[f"#{token}"] = attribute
            if amount == 1 and attribute.startswith(CELL_PREFIX):
                adds.append(f"#{token} :one")
            else:
                values[f":{token}"] = amount
                adds.append(f"#{token} :{token}")
        return {
            "Update": {
                "TableName": self._name,
                "Key": {"tenant_id": order.tenant_id, "bucket": _bucket(order.created_at)},
                "UpdateExpression": "ADD " + ", ".join(adds) + " SET #exp = :exp",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def hours(self, tenant_id: str, start: datetime, end: datetime) -> list[HourCounters]:
        """The tenant's hours starting in [start, end), oldest first (`LiveCounterReader`).

        One strongly consistent Query of the tenant's partition (paginated); the customers' payment
        windows live under other partition keys, so they are never read here."""
        first, stop = _hour_ceiling(start), _hour_ceiling(end)
        if first >= stop:
            return []
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("tenant_id").eq(tenant_id)
            & Key("bucket").between(_bucket(first), _bucket(stop - timedelta(hours=1))),
            "ConsistentRead": True,
        }
        hours: list[HourCounters] = []
        while True:
            page = self._table.query(**query)
            hours.extend(hour_from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return hours
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def record_payment(self, tenant_id: str, customer_key: str, amount_minor: int, at: datetime) -> None:
        """A customer's accepted payment, summed per hour (for structuring checks); the key is hashed."""
        self._table.update_item(
            **_without_table(self.payment_update(tenant_id, customer_key, amount_minor, at))
        )

    def payment_update(
        self, tenant_id: str, customer_key: str, amount_minor: int, at: datetime
    ) -> dict[str, Any]:
        """`record_payment` as a TransactWriteItems entry ({"Update": …})."""
        return {
            "Update": {
                "TableName": self._name,
                "Key": {"tenant_id": _customer_partition(tenant_id, customer_key), "bucket": _bucket(at)},
                "UpdateExpression": "ADD amount_minor :amount, payments :one SET expires_at = :exp",
                "ExpressionAttributeValues": {
                    ":amount": amount_minor,
                    ":one": 1,
                    ":exp": int((at + timedelta(days=2)).timestamp()),
                },
            }
        }

    def recent_payments(self, tenant_id: str, customer_key: str, now: datetime) -> tuple[int, int]:
        """(total minor units, count) of the customer's payments in the hourly buckets of the last 24 h."""
        start = (now - timedelta(hours=24)).astimezone(UTC)
        answer = self._table.query(
            KeyConditionExpression=Key("tenant_id").eq(_customer_partition(tenant_id, customer_key))
            & Key("bucket").gte(f"hour#{start:%Y-%m-%dT%H}"),
            ConsistentRead=True,
        )
        items = answer.get("Items", [])
        total = sum(_number(item.get("amount_minor")) for item in items)
        return total, sum(_number(item.get("payments")) for item in items)


# The dashboard's attributes. Their fields are values anyone may choose (a category "Tea | Coffee",
# "100% cotton"), so each field is percent-encoded — only '%', the separator '|' and control
# characters, so that a name stays short and readable (unicode as it is) — and a name splits on '|'
# into exactly its fields. No older attribute starts with these prefixes ("channel#…" is not "c|…").
CELL_PREFIX, UNITS_PREFIX, REVENUE_PREFIX = "c|", "u|", "r|"
ORDERS_WITHOUT_CELLS = "orders_without_cells"
UNKNOWN = "unknown"
_ESCAPED = re.compile(r"[%|\x00-\x1f\x7f]")
_ESCAPE = re.compile(r"%([0-9A-F]{2})")


def encode_field(value: str) -> str:
    return _ESCAPED.sub(lambda match: f"%{ord(match.group()):02X}", value)


def decode_field(text: str) -> str:
    # Every '%' of an encoded field starts an escape made above (a '%' of the value is "%25").
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)


def cell_attribute(channel: str, country: str, category: str) -> str:
    return CELL_PREFIX + "|".join(encode_field(f) for f in (channel, country, category))


def units_attribute(channel: str, country: str, category: str, sku: str) -> str:
    return UNITS_PREFIX + "|".join(encode_field(f) for f in (channel, country, category, sku))


def revenue_attribute(currency: str, channel: str, country: str, category: str, sku: str) -> str:
    return REVENUE_PREFIX + "|".join(encode_field(f) for f in (currency, channel, country, category, sku))


def _cell_counts(order: Order) -> dict[str, int | Decimal]:
    """The order's per-cell and per-SKU ADDs: a cell once, a SKU's units and amounts summed."""
    channel, country = order.channel or UNKNOWN, order.country or UNKNOWN
    counts: dict[str, int | Decimal] = {}
    for line in order.lines:
        category = line.category or UNKNOWN
        counts[cell_attribute(channel, country, category)] = 1
        units = units_attribute(channel, country, category, line.sku)
        counts[units] = counts.get(units, 0) + line.quantity
        revenue = revenue_attribute(order.currency, channel, country, category, line.sku)
        counts[revenue] = counts.get(revenue, Decimal(0)) + line.amount
    return counts


def hour_from_item(item: Mapping[str, Any]) -> HourCounters:
    """An hour's item as `HourCounters`; an hour counted before the cells existed has none."""
    cells: dict[tuple[str, str, str], int] = {}
    units: dict[tuple[str, str, str, str], int] = {}
    revenue: dict[tuple[str, str, str, str], dict[str, Decimal]] = {}
    totals: dict[str, Decimal] = {}
    for name, value in item.items():
        if name.startswith("revenue#"):
            totals[name.removeprefix("revenue#")] = Decimal(value)
        elif name.startswith(CELL_PREFIX):
            channel, country, category = _fields(name, CELL_PREFIX, 3)
            cells[(channel, country, category)] = _number(value)
        elif name.startswith(UNITS_PREFIX):
            channel, country, category, sku = _fields(name, UNITS_PREFIX, 4)
            units[(channel, country, category, sku)] = _number(value)
        elif name.startswith(REVENUE_PREFIX):
            currency, channel, country, category, sku = _fields(name, REVENUE_PREFIX, 5)
            revenue.setdefault((channel, country, category, sku), {})[currency] = Decimal(value)
    skus = [
        LiveSku(
            channel=key[0],
            country=key[1],
            category=key[2],
            sku=key[3],
            units=units.get(key, 0),
            revenue=revenue.get(key, {}),
        )
        for key in sorted(units.keys() | revenue.keys())
    ]
    live_cells = []
    for key in sorted(cells.keys() | {(s.channel, s.country, s.category) for s in skus}):
        in_cell = [s for s in skus if (s.channel, s.country, s.category) == key]
        cell_revenue: dict[str, Decimal] = {}
        for sold in in_cell:
            for currency, amount in sold.revenue.items():
                cell_revenue[currency] = cell_revenue.get(currency, Decimal(0)) + amount
        live_cells.append(
            LiveCell(
                channel=key[0],
                country=key[1],
                category=key[2],
                orders=cells.get(key, 0),
                units=sum(s.units for s in in_cell),
                revenue=cell_revenue,
            )
        )
    return HourCounters(
        tenant_id=str(item["tenant_id"]),
        hour=datetime.strptime(str(item["bucket"]), "hour#%Y-%m-%dT%H").replace(tzinfo=UTC),
        orders=_number(item.get("orders")),
        units=_number(item.get("units")),
        revenue=totals,
        cells=live_cells,
        skus=skus,
        orders_without_cells=_number(item.get(ORDERS_WITHOUT_CELLS)),
    )


def _fields(name: str, prefix: str, count: int) -> list[str]:
    fields = name.removeprefix(prefix).split("|")
    if len(fields) != count:  # pragma: no cover - only this module writes these names
        raise ValueError(f"a live counter attribute with {len(fields)} fields, not {count}: {name!r}")
    return [decode_field(field) for field in fields]


def _bucket(at: datetime) -> str:
    return f"hour#{at.astimezone(UTC):%Y-%m-%dT%H}"


def _hour_ceiling(at: datetime) -> datetime:
    """The first hour start at or after `at` (UTC), so that [start, end) holds whole hours."""
    floor = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(hours=1)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = digits[digit] + text
        if number == 0:
            return text


def _without_table(entry: dict[str, Any]) -> Any:
    """A transaction's {"Update": …} entry as the arguments of the table's own update_item."""
    return {key: value for key, value in entry["Update"].items() if key != "TableName"}


def _number(value: object) -> int:
    return int(value) if isinstance(value, Decimal | int) else 0


def _customer_partition(tenant_id: str, customer_key: str) -> str:
    return f"{tenant_id}#customer#{hashlib.sha256(customer_key.encode()).hexdigest()}"


class AuditTable:
    """Key: tenant_id, entry "<time>#<order>#<check>". Written once (conditional put); the API's role
    may put items and nothing else (template.yaml), so nothing through the API edits the trail."""

    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

    def append(self, entry: AuditEntry) -> None:
        self._table.put_item(Item=audit_item(entry), ConditionExpression="attribute_not_exists(entry)")


def audit_item(entry: AuditEntry) -> dict[str, Any]:
    """An entry's item; its sort key "<time>#<order>#<check>" keeps a tenant's trail in time order."""
    item = entry.model_dump(mode="json", exclude_none=True)
    item["entry"] = f"{entry.at.astimezone(UTC).isoformat()}#{entry.order_id}#{entry.check}"
    return item
