"""What the night derives from a tenant's whole day of every source: `orders`, `returns` (linked to
the sales they undo) and `customers` (merged across the ERP, the checkout and the CRM), and the
day's joins (the catalogue's unknown SKUs, the returns linked, the customers merged) for the
manifest. One part per table per (tenant, date): a re-run rewrites it with the same bytes.

Reads only what a day needs: its own partitions, the latest catalogue on or before it, and, when
the day has returns, the sales of the LOOKBACK_DAYS before it (a return older than that stays
unlinked, and is counted as such).
"""

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tandem.logic.lake.curation import JSON, NIGHT_PART, PARQUET, CurationDeps
from tandem.logic.lake.layout import manifest_key
from tandem.logic.lake.returns import link_returns
from tandem.logic.lake.tables import (
    AD_SPEND,
    AD_SPEND_DAILY,
    CRM_DEALS,
    CRM_LEADS,
    CUSTOMERS,
    ORDER_LINES,
    ORDERS,
    PRODUCTS,
    RETURNS,
    Table,
    Value,
    curated_prefix,
    lake_time,
    night_key,
)
from tandem.models.lake import DayJoins, LineKind, OrderLineRow

LOOKBACK_DAYS = 60
EXAMPLES = 20
Row = dict[str, Any]
_DATE = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")
_FLOAT_ID = re.compile(r"^(\d+)\.0+$")
_SOURCES = CUSTOMERS.column_names.index("sources")


def customer_key(value: object) -> str | None:
    """The key sources are merged on: trimmed, lower case, `17850.0` as `17850`; None: no one."""
    text = str(value or "").strip().lower()
    if whole := _FLOAT_ID.match(text):
        text = whole.group(1)
    return text or None


def day_lines(tenant_id: str, day: date, deps: CurationDeps) -> list[Row]:
    """Every order line of a tenant's day, every source's, each with its `source`."""
    return _rows(deps, ORDER_LINES, tenant_id, day)


def derive_day(tenant_id: str, day: date, deps: CurationDeps, lines: list[Row] | None = None) -> DayJoins:
    """The night's tables of the day; `lines`: the day's order lines when the caller read them."""
    lines = day_lines(tenant_id, day, deps) if lines is None else lines
    catalogue_day, catalogue = _catalogue(deps, tenant_id, day)
    orders, unknown = _orders(lines, catalogue)
    returns, linked = _returns(deps, tenant_id, day, lines)
    customers = _customers(
        lines, _rows(deps, CRM_LEADS, tenant_id, day), _rows(deps, CRM_DEALS, tenant_id, day)
    )
    spend = _ad_spend_daily(_rows(deps, AD_SPEND, tenant_id, day))
    night = ((ORDERS, orders), (RETURNS, returns), (CUSTOMERS, customers), (AD_SPEND_DAILY, spend))
    for table, rows in night:
        _put(deps, table, tenant_id, day, rows)
    joins = DayJoins(
        orders=len(orders),
        catalogue_date=catalogue_day,
        product_lines=sum(1 for line in lines if line["kind"] == LineKind.SALE.value),
        unknown_skus=len(unknown) if catalogue is not None else None,
        unknown_sku_lines=sum(unknown.values()) if catalogue is not None else None,
        unknown_sku_examples=sorted(unknown)[:EXAMPLES] if catalogue is not None else [],
        returns=len(returns),
        returns_linked=linked,
        customers=len(customers),
        customers_merged=sum(1 for row in customers if "," in str(row[_SOURCES])),
        ad_spend_days=len({row[0] for row in spend}),
    )
    deps.objects.put(night_manifest_key(tenant_id, day), joins.model_dump_json(indent=2).encode(), JSON)
    return joins


def night_manifest_key(tenant_id: str, day: date) -> str:
    """The night's part of the day's manifest, beside its sources' parts."""
    return f"{manifest_key(tenant_id, day).removesuffix('.json')}/{NIGHT_PART}.json"


# ---------------------------------------------------------------- reading the lake
def _rows(
    deps: CurationDeps, table: Table, tenant_id: str, day: date, parts: Iterable[str] | None = None
) -> list[Row]:
    """Every row of a table's partition (or of the parts given), with the source each part is of."""
    rows: list[Row] = []
    for key in parts if parts is not None else deps.objects.keys(curated_prefix(table.name, tenant_id, day)):
        body = deps.objects.get(key)
        if body is None:
            continue
        source = key.rsplit("/", 1)[1].split("__", 1)[0]
        for values in deps.parquet.decode(table, body):
            rows.append({**dict(zip(table.column_names, values, strict=True)), "source": source})
    return rows


def _partitions(deps: CurationDeps, table: Table, tenant_id: str) -> dict[date, list[str]]:
    """A table's parts by partition date (all of the tenant's: a listing, nothing read)."""
    prefix = curated_prefix(table.name, tenant_id, date(2000, 1, 1)).split("/date=")[0] + "/"
    found: dict[date, list[str]] = defaultdict(list)
    for key in deps.objects.keys(prefix):
        if match := _DATE.search(key):
            found[date.fromisoformat(match.group(1))].append(key)
    return found


def _catalogue(deps: CurationDeps, tenant_id: str, day: date) -> tuple[date | None, set[str] | None]:
    """The SKUs of the latest catalogue on or before the day; (None, None) when there is none."""
    exports = {d: keys for d, keys in _partitions(deps, PRODUCTS, tenant_id).items() if d <= day}
    if not exports:
        return None, None
    latest = max(exports)
    return latest, {str(row["sku"]) for row in _rows(deps, PRODUCTS, tenant_id, latest, exports[latest])}


# ---------------------------------------------------------------- the night's tables
def _orders(lines: list[Row], catalogue: set[str] | None) -> tuple[list[tuple[Value, ...]], Counter[str]]:
    by_order: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for line in lines:
        if line["kind"] in (LineKind.SALE.value, LineKind.NON_PRODUCT.value):
            by_order[(line["source"], str(line["order_id"]))].append(line)
    unknown: Counter[str] = Counter()
    rows: list[tuple[Value, ...]] = []
    for (source, order_id), order_lines in sorted(by_order.items()):
        products = [line for line in order_lines if line["kind"] == LineKind.SALE.value]
        missing = [line for line in products if catalogue is not None and str(line["sku"]) not in catalogue]
        unknown.update(str(line["sku"]) for line in missing)
        first = min(order_lines, key=lambda line: lake_time(line["ordered_at"]))
        values: dict[str, Value] = {
            "order_id": order_id,
            "source": source,
            "ordered_at": lake_time(first["ordered_at"]),
            "customer_key": customer_key(first["customer_id"]),
            "country": first["country"],
            "currency": first["currency"],
            "lines": len(products),
            "units": sum(int(line["quantity"]) for line in products),
            "revenue": _sum(line["amount"] for line in products),
            "non_product_amount": _sum(line["amount"] for line in order_lines if line not in products),
            "unknown_skus": len(missing),
        }
        rows.append(tuple(values[name] for name in ORDERS.column_names))
    return rows, unknown


def _returns(
    deps: CurationDeps, tenant_id: str, day: date, lines: list[Row]
) -> tuple[list[tuple[Value, ...]], int]:
    returned = [line for line in lines if line["kind"] == LineKind.RETURN.value]
    if not returned:
        return [], 0
    earlier = {
        d: keys
        for d, keys in _partitions(deps, ORDER_LINES, tenant_id).items()
        if day - timedelta(days=LOOKBACK_DAYS) <= d < day
    }
    history = [
        (d, row)
        for d, keys in sorted(earlier.items())
        for row in _rows(deps, ORDER_LINES, tenant_id, d, keys)
    ]
    history += [(day, row) for row in lines]
    sale_day = {
        (row["source"], str(row["order_id"])): d for d, row in history if row["kind"] == LineKind.SALE.value
    }
    rows: list[tuple[Value, ...]] = []
    linked = 0
    for source in sorted({line["source"] for line in returned}):
        candidates = [
            _line(row) for _, row in history if row["source"] == source and row["kind"] == LineKind.SALE.value
        ]
        mine = [_line(row) for row in returned if row["source"] == source]
        for line in link_returns([*candidates, *mine])[0]:
            if line.kind is not LineKind.RETURN:
                continue
            original = line.original_order_id
            linked += original is not None
            values = {
                **line.model_dump(),
                "amount": line.amount,
                "kind": line.kind.value,
                "source": source,
                "original_date": sale_day.get((source, original)) if original else None,
            }
            rows.append(tuple(values[name] for name in RETURNS.column_names))
    return rows, linked


def _customers(lines: list[Row], leads: list[Row], deals: list[Row]) -> list[tuple[Value, ...]]:
    seen: dict[str, dict[str, Any]] = {}

    def known(key: str | None, source: str, source_id: object) -> dict[str, Any] | None:
        if key is None:
            return None
        entry = seen.setdefault(
            key,
            {"sources": set(), "ids": set(), "orders": set(), "revenue": Decimal(0), "first": None,
             "country": None, "lead": False, "deal": False},
        )  # fmt: skip
        entry["sources"].add(source)
        entry["ids"].add(f"{source}:{source_id}")
        return entry

    for line in sorted(lines, key=lambda row: lake_time(row["ordered_at"])):
        if line["kind"] != LineKind.SALE.value:
            continue
        entry = known(customer_key(line["customer_id"]), line["source"], line["customer_id"])
        if entry is None:
            continue  # a guest: no one to merge
        at = lake_time(line["ordered_at"])
        entry["orders"].add((line["source"], str(line["order_id"])))
        entry["revenue"] += Decimal(str(line["amount"]))
        entry["first"] = entry["first"] or at
        entry["country"] = line["country"] or entry["country"]
    for lead in leads:
        if entry := known(customer_key(lead["mql_id"]), "crm_leads", lead["mql_id"]):
            entry["lead"] = True
    for deal in deals:
        if entry := known(customer_key(deal["mql_id"]), "crm_deals", deal["mql_id"]):
            entry["deal"] = True
    return [
        (
            key,
            ",".join(sorted(entry["sources"])),
            ", ".join(sorted(entry["ids"])),
            len(entry["orders"]),
            entry["revenue"],
            entry["country"],
            entry["first"],
            entry["lead"],
            entry["deal"],
        )
        for key, entry in sorted(seen.items())
    ]


def _ad_spend_daily(ads: list[Row]) -> list[tuple[Value, ...]]:
    """The day's ad rows summed per (reporting day, channel): the grain ROAS joins revenue on."""
    totals: dict[tuple[date, str], dict[str, Any]] = {}
    for ad in ads:
        day = ad["day"] if isinstance(ad["day"], date) else date.fromisoformat(str(ad["day"]))
        entry = totals.setdefault(
            (day, str(ad["channel"])),
            {"ads": set(), "impressions": 0, "clicks": 0, "spent": Decimal(0), "conversions": 0,
             "approved_conversions": 0},
        )  # fmt: skip
        entry["ads"].add(ad["ad_id"])
        for count in ("impressions", "clicks", "conversions", "approved_conversions"):
            entry[count] += int(str(ad[count]))
        entry["spent"] += Decimal(str(ad["spent"]))
    return [
        (day, channel, len(t["ads"]), t["impressions"], t["clicks"], t["spent"], t["conversions"],
         t["approved_conversions"])
        for (day, channel), t in sorted(totals.items())
    ]  # fmt: skip


def _put(deps: CurationDeps, table: Table, tenant_id: str, day: date, rows: list[tuple[Value, ...]]) -> None:
    key = night_key(table.name, tenant_id, day)
    if rows:
        deps.objects.put(key, deps.parquet.encode(table, rows), PARQUET)
    elif deps.objects.get(key) is not None:
        deps.objects.delete(key)


def _line(row: Mapping[str, Any]) -> OrderLineRow:
    fields = {name: row[name] for name in OrderLineRow.model_fields if name in row}
    return OrderLineRow.model_validate({**fields, "ordered_at": lake_time(row["ordered_at"])})


def _sum(amounts: Iterable[object]) -> Decimal:
    return sum((Decimal(str(amount)) for amount in amounts), Decimal(0))


# ---------------------------------------------------------------- for the night's products
def table_rows(deps: CurationDeps, table: Table, tenant_id: str, day: date) -> list[Row]:
    """Every row of a table's (tenant, date) partition, each with its `source`."""
    return _rows(deps, table, tenant_id, day)


def partition_dates(deps: CurationDeps, table: Table, tenant_id: str) -> list[date]:
    """The dates a table has parts for (a listing, nothing read)."""
    return sorted(_partitions(deps, table, tenant_id))


def catalogue_categories(deps: CurationDeps, tenant_id: str, day: date) -> tuple[date | None, dict[str, str]]:
    """SKU → category of the latest catalogue on or before the day (its date; None: no catalogue)."""
    exports = {d: keys for d, keys in _partitions(deps, PRODUCTS, tenant_id).items() if d <= day}
    if not exports:
        return None, {}
    latest = max(exports)
    rows = _rows(deps, PRODUCTS, tenant_id, latest, exports[latest])
    return latest, {str(row["sku"]): str(row["category"] or "unknown") for row in rows}
