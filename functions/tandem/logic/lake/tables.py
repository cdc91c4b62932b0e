"""The curated lake's tables: their columns, types and meaning, one definition for every reader.

Each table is Parquet under `curated/{table}/tenant={tenant}/date={date}/`. A source's tables
(`order_lines`, `products`, `crm_leads`, `crm_deals`, `ad_spend`) have one part per raw file
(`{source}__{file}.parquet`), so a re-run of a file replaces exactly its own rows. The night's
tables (`orders`, `returns`, `customers`), derived from a whole day of every source, have one
part per day (`night.parquet`), rewritten by each run of that day. The
partition columns `tenant` and `date` come from the folders (Hive style): they are not stored in
the files. The Glue tables in template.yaml declare the same columns (tests/template checks they
agree), so Athena and DuckDB read the same schema.

Types are given once in SQL (DuckDB's names); `athena_type` turns them into Glue's. Money is
DECIMAL, never a float: sums must be equal on every run. Times are UTC (TIMESTAMP, no zone).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from pydantic import BaseModel

from tandem.logic.lake.layout import FILE_NAME_PATTERN, SOURCE_PATTERN, check_tenant
from tandem.models.lake import OrderLineRow

MONEY = "DECIMAL(18,4)"
Value = str | int | bool | Decimal | date | datetime | None


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # DuckDB's: VARCHAR, INTEGER, BIGINT, BOOLEAN, DATE, TIMESTAMP, DECIMAL(p,s)
    description: str

    @property
    def athena_type(self) -> str:
        """Glue's name for the same type (what the template's Glue tables declare)."""
        return _ATHENA.get(self.sql_type, self.sql_type.lower())


_ATHENA = {"VARCHAR": "string", "INTEGER": "int", "BIGINT": "bigint", "BOOLEAN": "boolean"}


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]

    @cached_property  # read for every row a file splits into: computed once per table
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


def _c(name: str, sql_type: str, description: str) -> Column:
    return Column(name, sql_type, description)


_LINE = (
    _c("order_id", "VARCHAR", "the order (an ERP invoice without a cancellation's 'C')"),
    _c("sku", "VARCHAR", "the product code as the source wrote it (trimmed)"),
    _c("description", "VARCHAR", "the line's text, trimmed; NULL when the source had none"),
    _c("quantity", "INTEGER", "units; negative for returns and stock adjustments, never 0"),
    _c("unit_price", MONEY, "in `currency`, the tenant's (converted with the dated FX table)"),
    _c("amount", MONEY, "quantity times unit_price: negative for returns"),
    _c("currency", "VARCHAR", "ISO 4217, the tenant's"),
    _c("ordered_at", "TIMESTAMP", "UTC"),
    _c("customer_id", "VARCHAR", "normalised (17850.0 → 17850); NULL: a guest"),
    _c("country", "VARCHAR", "as the source wrote it, trimmed"),
)
_FILE = _c("source_file", "VARCHAR", "the raw file the row came from (raw/{tenant}/{source}/{date}/…)")

ORDER_LINES = Table(
    "order_lines",
    "Every order line of every source (the ERP's, the checkout's): product sales (`sale`); "
    "cancellations (`return`, negative); and kept apart, postage, fees and manual lines "
    "(`non_product`) and negative quantities outside a cancellation (`stock_adjustment`).",
    (*_LINE, _c("kind", "VARCHAR", "sale | return | non_product | stock_adjustment"), _FILE),
)
_SOURCE = _c("source", "VARCHAR", "the source the order came from: erp_orders, checkout, …")
RETURNS = Table(
    "returns",
    "The night's: the day's returned product lines, each linked to the sale it undoes where the "
    "data lets us find it (the latest earlier sale of the product to the customer).",
    (
        *_LINE,
        _SOURCE,
        _c("original_order_id", "VARCHAR", "the sale it returns, when it was found; else NULL"),
        _c("original_date", "DATE", "the partition the original sale is in; NULL when unlinked"),
    ),
)
ORDERS = Table(
    "orders",
    "The night's: one row per order of the day (a source's order lines grouped), returns apart.",
    (
        _c("order_id", "VARCHAR", "the order; the same number in two sources is two orders"),
        _SOURCE,
        _c("ordered_at", "TIMESTAMP", "UTC, the order's first line"),
        _c("customer_key", "VARCHAR", "the merged customer (customers.customer_key); NULL: a guest"),
        _c("country", "VARCHAR", ""),
        _c("currency", "VARCHAR", "the tenant's"),
        _c("lines", "INTEGER", "product lines"),
        _c("units", "INTEGER", "units of product lines"),
        _c("revenue", MONEY, "product sales"),
        _c("non_product_amount", MONEY, "postage, fees, manual lines: kept apart from revenue"),
        _c("unknown_skus", "INTEGER", "product lines whose SKU the catalogue does not know"),
    ),
)
CUSTOMERS = Table(
    "customers",
    "The night's: each customer active that day, merged across the ERP, the checkout and the CRM "
    "by a normalised key (trimmed, lower case, a float-written number as its integer).",
    (
        _c("customer_key", "VARCHAR", "the normalised key the sources are merged on"),
        _c("sources", "VARCHAR", "the sources that know the customer, sorted: 'crm_leads,erp_orders'"),
        _c("source_ids", "VARCHAR", "the ids as each source wrote them, sorted and joined"),
        _c("orders", "INTEGER", "orders that day (every source)"),
        _c("revenue", MONEY, "product sales that day"),
        _c("country", "VARCHAR", "the country of the day's latest order"),
        _c("first_order_at", "TIMESTAMP", "UTC; NULL when the customer only appears in the CRM"),
        _c("crm_lead", "BOOLEAN", "a CRM lead (marketing-qualified) of that day"),
        _c("crm_deal", "BOOLEAN", "a deal won that day"),
    ),
)
PRODUCTS = Table(
    "products",
    "The catalogue as the ERP exported it (one row per product per export).",
    (
        _c("sku", "VARCHAR", "the product code"),
        _c("category", "VARCHAR", "in English where the tenant's translation knows it"),
        _c("name_length", "INTEGER", "characters in the listing's name; NULL: unknown"),
        _c("description_length", "INTEGER", "characters in the listing's description; NULL: unknown"),
        _c("photos", "INTEGER", "photos in the listing; NULL: unknown"),
        _c("weight_g", "INTEGER", "NULL: unknown (a 0 g weight is read as unknown)"),
        _c("length_cm", "INTEGER", "NULL: unknown"),
        _c("height_cm", "INTEGER", "NULL: unknown"),
        _c("width_cm", "INTEGER", "NULL: unknown"),
        _FILE,
    ),
)
CRM_LEADS = Table(
    "crm_leads",
    "Marketing-qualified leads from the CRM.",
    (
        _c("mql_id", "VARCHAR", "lower case; what deals join on"),
        _c("first_contact_date", "DATE", "a calendar day (the source gives no time)"),
        _c("landing_page_id", "VARCHAR", "NULL when not given"),
        _c("origin", "VARCHAR", "lower case; 'unknown' when not given"),
        _FILE,
    ),
)
CRM_DEALS = Table(
    "crm_deals",
    "Deals closed with leads (the CRM's won opportunities).",
    (
        _c("mql_id", "VARCHAR", "the lead the deal closed"),
        _c("seller_id", "VARCHAR", "the new seller"),
        _c("sdr_id", "VARCHAR", "sales development representative"),
        _c("sr_id", "VARCHAR", "sales representative"),
        _c("won_date", "TIMESTAMP", "UTC"),
        _c("business_segment", "VARCHAR", ""),
        _c("lead_type", "VARCHAR", ""),
        _c("lead_behaviour_profile", "VARCHAR", "as given, e.g. 'cat, wolf'"),
        _c("has_company", "BOOLEAN", "NULL: not declared"),
        _c("has_gtin", "BOOLEAN", "NULL: not declared"),
        _c("average_stock", "VARCHAR", "a declared range, e.g. '5-20'"),
        _c("business_type", "VARCHAR", ""),
        _c("declared_product_catalog_size", "INTEGER", "NULL: not declared"),
        _c("declared_monthly_revenue", MONEY, "NULL: not declared"),
        _FILE,
    ),
)
AD_SPEND = Table(
    "ad_spend",
    "Ad delivery, spend and conversions per ad and reporting day.",
    (
        _c("ad_id", "VARCHAR", ""),
        _c("campaign_id", "VARCHAR", "the advertiser's campaign"),
        _c("ad_set_id", "VARCHAR", "the platform's campaign id (an ad set)"),
        _c("day", "DATE", "the reporting day"),
        _c("channel", "VARCHAR", "the ad platform: facebook, …"),
        _c("impressions", "BIGINT", ""),
        _c("clicks", "BIGINT", ""),
        _c("spent", MONEY, "in the ad account's currency"),
        _c("conversions", "INTEGER", ""),
        _c("approved_conversions", "INTEGER", ""),
        _c("age_band", "VARCHAR", "30-34, 65+, …"),
        _c("gender", "VARCHAR", "M | F | NULL"),
        _c("interest", "VARCHAR", "the platform's interest code"),
        _FILE,
    ),
)
AD_SPEND_DAILY = Table(
    "ad_spend_daily",
    "The night's: the ad spend of the day's exports aligned on (reporting day, channel), the grain "
    "revenue is joined on for ROAS (orders' revenue by day; by channel where orders carry one).",
    (
        _c("day", "DATE", "the reporting day"),
        _c("channel", "VARCHAR", "the ad platform"),
        _c("ads", "INTEGER", "ads that delivered that day"),
        _c("impressions", "BIGINT", ""),
        _c("clicks", "BIGINT", ""),
        _c("spent", MONEY, "in the ad account's currency"),
        _c("conversions", "INTEGER", ""),
        _c("approved_conversions", "INTEGER", ""),
    ),
)
PAYMENT_DISPUTES = Table(
    "payment_disputes",
    "The payment provider's disputes: chargebacks and confirmed frauds (the fraud model's labels), "
    "and other disputes.",
    (
        _c("dispute_id", "VARCHAR", "the provider's id"),
        _c("order_id", "VARCHAR", "the disputed order"),
        _c("kind", "VARCHAR", "chargeback | fraud | other"),
        _c("amount", MONEY, "disputed, in `currency`"),
        _c("currency", "VARCHAR", "ISO 4217, the dispute's"),
        _c("opened_at", "TIMESTAMP", "UTC"),
        _FILE,
    ),
)
TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        ORDER_LINES,
        PRODUCTS,
        CRM_LEADS,
        CRM_DEALS,
        AD_SPEND,
        ORDERS,
        RETURNS,
        CUSTOMERS,
        AD_SPEND_DAILY,
        PAYMENT_DISPUTES,
    )
}
# Derived by the night from a whole day of every source: one part per (tenant, date).
NIGHT_TABLES: tuple[str, ...] = (ORDERS.name, RETURNS.name, CUSTOMERS.name, AD_SPEND_DAILY.name)
NIGHT_PART = "night.parquet"


def lake_time(value: object) -> datetime:
    """A time read back from the lake (UTC, stored without a zone) as an aware datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def curated_prefix(table: str, tenant_id: str, day: date) -> str:
    check_tenant(tenant_id)
    if table not in TABLES:
        raise ValueError(f"not a lake table: {table!r}")
    return f"curated/{table}/tenant={tenant_id}/date={day.isoformat()}/"


def night_key(table: str, tenant_id: str, day: date) -> str:
    """The one part of a night's table for a (tenant, date)."""
    if table not in NIGHT_TABLES:
        raise ValueError(f"not a table the night derives: {table!r}")
    return f"{curated_prefix(table, tenant_id, day)}{NIGHT_PART}"


def part_key(table: str, tenant_id: str, day: date, source: str, file: str) -> str:
    """The Parquet part holding one raw file's rows of one table."""
    if not SOURCE_PATTERN.match(source) or not FILE_NAME_PATTERN.match(file) or ".." in file:
        raise ValueError(f"not a source and file the lake keeps: {source!r} {file!r}")
    return f"{curated_prefix(table, tenant_id, day)}{source}__{file}.parquet"


# ---------------------------------------------------------------- rows → table rows
def _fields(row: BaseModel, table: Table, extra: dict[str, Value]) -> tuple[Value, ...]:
    return tuple(extra[name] if name in extra else getattr(row, name) for name in table.column_names)


def _order_line(row: OrderLineRow, file: str) -> tuple[str, tuple[Value, ...]]:
    extra: dict[str, Value] = {"amount": row.amount, "kind": row.kind.value, "source_file": file}
    return ORDER_LINES.name, _fields(row, ORDER_LINES, extra)


def _one_table(table: Table) -> Callable[[Any, str], tuple[str, tuple[Value, ...]]]:
    return lambda row, file: (table.name, _fields(row, table, {"source_file": file}))


# source → how one of its curated rows becomes a row of a lake table
_SPLIT: dict[str, Callable[[Any, str], tuple[str, tuple[Value, ...]]]] = {
    "checkout": _order_line,
    "erp_orders": _order_line,
    "erp_products": _one_table(PRODUCTS),
    "crm_leads": _one_table(CRM_LEADS),
    "crm_deals": _one_table(CRM_DEALS),
    "ads_spend": _one_table(AD_SPEND),
    "payment_disputes": _one_table(PAYMENT_DISPUTES),
}


# source → the lake tables its files feed
SOURCE_TABLES: dict[str, tuple[str, ...]] = {
    "checkout": (ORDER_LINES.name,),
    "erp_orders": (ORDER_LINES.name,),
    "erp_products": (PRODUCTS.name,),
    "crm_leads": (CRM_LEADS.name,),
    "crm_deals": (CRM_DEALS.name,),
    "ads_spend": (AD_SPEND.name,),
    "payment_disputes": (PAYMENT_DISPUTES.name,),
}


def split(source: str, file: str, rows: Sequence[BaseModel]) -> dict[str, list[tuple[Value, ...]]]:
    """One file's curated rows as rows of the lake tables its source feeds (every table present)."""
    into = _SPLIT[source]
    tables: dict[str, list[tuple[Value, ...]]] = {name: [] for name in SOURCE_TABLES[source]}
    for row in rows:
        name, values = into(row, file)
        tables[name].append(values)
    return tables
