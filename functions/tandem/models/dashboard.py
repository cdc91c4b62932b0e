"""The night's dashboard rollups: one tenant's day cut by channel, country and category, with the
day's ad spend and ROAS, and its sales per SKU (tandem.logic.lake.dashboard)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RollupCell(BaseModel):
    """One (channel, country, category) of a day: product sales (returns apart)."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(
        description="the tenant's name for the source (LakeConfig.channels), else the source"
    )
    country: str = Field(description="as the order gave it; 'unknown' when it gave none")
    category: str = Field(description="the latest catalogue's on or before the day; 'unknown' for other SKUs")
    revenue: dict[str, Decimal] = Field(description="product sales by currency, as sold")
    revenue_tenant: Decimal | None = Field(
        description="product sales in the tenant's currency; None when a rate is missing for the day"
    )
    orders: int = Field(description="orders with a product line in the cell (one order may be in two cells)")
    units: int
    returns: int = Field(description="returned product lines")
    returned_units: int
    returned_value_tenant: Decimal | None = Field(description="positive; in the tenant's currency")
    new_customers: int = Field(description="customers with no order in the lookback before the day")
    returning_customers: int
    guest_orders: int


class SkuSales(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str
    units: int = Field(description="units sold (returns apart)")
    orders: int
    revenue_tenant: Decimal | None
    returned_units: int


class DayRollup(BaseModel):
    """A tenant's day for the dashboard; a re-run for the date replaces it whole."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    tenant_id: str
    day: date = Field(alias="date")
    currency: str = Field(description="the tenant's")
    orders: int = Field(description="the day's orders with a product line (each counted once)")
    revenue_tenant: Decimal | None
    cells: list[RollupCell]
    ad_spend: dict[str, Decimal] = Field(description="by ad channel, as the ad accounts report it")
    roas: Decimal | None = Field(
        description="blended: the day's revenue in the tenant's currency over its total ad spend; "
        "None without spend (the orders carry no ad click, so no per-channel attribution)"
    )
    skus: list[SkuSales] = Field(default_factory=list)
    lookback_days: int = Field(description="how far back a customer's earlier order makes them returning")
    catalogue_date: date | None


class LiveCell(BaseModel):
    """One (channel, country, category) of an hour's live counters: what checkout confirmed in it."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(description="the order's channel; 'unknown' when it gave none")
    country: str = Field(description="the order's country; 'unknown' when it gave none")
    category: str = Field(description="the line's product category when sold; 'unknown' without one")
    orders: int = Field(description="orders with a line in the cell (one order may be in two cells)")
    units: int
    revenue: dict[str, Decimal] = Field(description="line amounts by currency, as sold")


class LiveSku(BaseModel):
    """One SKU's sales within one cell of an hour."""

    model_config = ConfigDict(extra="forbid")

    channel: str
    country: str
    category: str
    sku: str
    units: int
    revenue: dict[str, Decimal] = Field(description="line amounts by currency, as sold")


class HourCounters(BaseModel):
    """A tenant's live counters of one UTC hour (LiveCountersTable), as the dashboard reads them.

    Totals come from the counters every confirmed order has bumped since they exist; `cells` and
    `skus` from the per-cell and per-SKU counters: an hour counted before those existed has totals
    and no cells."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str
    hour: datetime = Field(description="the start of the UTC hour")
    orders: int
    units: int
    revenue: dict[str, Decimal] = Field(description="order totals by currency, as sold")
    cells: list[LiveCell] = Field(default_factory=list)
    skus: list[LiveSku] = Field(default_factory=list)
    orders_without_cells: int = Field(
        default=0,
        description="orders in the totals but not in `cells` or `skus`: the hour's item was full "
        "(DynamoDB's 400 KB); non-zero, the hour's filtered numbers are short by them",
    )


class RollupStamp(BaseModel):
    """What changes whenever the night writes a rollup (RollupsTable's `meta#stamp` item): the API
    keeps parsed rollups in its warm process under this stamp, and a new one makes it read again."""

    model_config = ConfigDict(extra="forbid")

    last_day: date = Field(description="the latest day ever rolled up for the tenant")
    version: int = Field(ge=0, description="bumped by every rollup written (a re-run of an old day too)")


# ---------------------------------------------------------------- GET /dashboard/kpis
Granularity = Literal["hour", "day", "week", "month"]
CompareMode = Literal["previous_period", "previous_year"]


class KpiQuery(BaseModel):
    """The query of GET /dashboard/kpis. Rules across fields (from before to, at most 1,096 days,
    `hour` for at most 7 days) are checked by tandem.logic.dashboard_kpis.resolve_periods."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    date_from: date | None = Field(
        default=None,
        alias="from",
        description="first local day (in the answer's `timezone`); default: `to` - 29 days",
    )
    date_to: date | None = Field(default=None, alias="to", description="last local day; default: today")
    channel: str | None = Field(
        default=None, min_length=1, max_length=128, description="only this channel, as the rollups spell it"
    )
    country: str | None = Field(
        default=None, min_length=1, max_length=128, description="only this country, as the rollups spell it"
    )
    category: str | None = Field(
        default=None, min_length=1, max_length=128, description="only this category, as the rollups spell it"
    )
    granularity: Granularity = Field(
        default="day", description="the series' buckets; hour: ranges of ≤ 7 days"
    )
    compare: CompareMode = Field(
        default="previous_period",
        description="previous_period: as many days just before `from`; "
        "previous_year: the same dates a year earlier",
    )
    per_currency: bool = Field(default=False, description="add revenue_by_currency (as sold)")


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")


class Comparison(Period):
    mode: CompareMode


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str | None
    country: str | None
    category: str | None


class MoneyKpi(BaseModel):
    """Money in the tenant's currency; `change` = (value - previous) / previous, null if either is
    unknown or previous is 0."""

    value: Decimal | None
    previous: Decimal | None
    change: Decimal | None


class CountKpi(BaseModel):
    value: int | None
    previous: int | None
    change: Decimal | None


class RatioKpi(BaseModel):
    value: Decimal | None
    previous: Decimal | None
    change: Decimal | None


class Kpis(BaseModel):
    revenue: MoneyKpi
    orders: CountKpi
    units: CountKpi
    average_order_value: MoneyKpi
    return_rate: RatioKpi = Field(description="returned units / units sold, of the rolled-up days")
    new_customers: CountKpi = Field(description="of the rolled-up days (live counters cannot tell)")
    returning_customers: CountKpi
    ad_spend: MoneyKpi = Field(description="null without ad data, and under any filter (not attributable)")
    roas: RatioKpi = Field(description="revenue / ad spend; null where ad_spend is")


class SeriesPoint(BaseModel):
    start: str = Field(description="the bucket's first day (YYYY-MM-DD), or local hour (ISO datetime)")
    revenue: Decimal | None
    orders: int | None
    units: int | None


class TopProduct(BaseModel):
    sku: str
    units: int
    orders: int = Field(description="orders of the rolled-up days (live counters count no orders per SKU)")
    revenue: Decimal | None


class BreakdownRow(BaseModel):
    key: str
    revenue: Decimal | None
    orders: int
    units: int


class Breakdowns(BaseModel):
    channel: list[BreakdownRow]
    country: list[BreakdownRow]


class KpiStockAlert(BaseModel):
    sku: str
    stock: int
    reorder_point: Decimal
    order_quantity: int


class AsOf(BaseModel):
    rollups: date | None = Field(description="the last day the night rolled up")
    live: datetime = Field(description="when the live counters were read")
    stock_alerts: date | None = Field(description="the night the suggestions were computed for")


class KpiAnswer(BaseModel):
    tenant_id: str
    currency: str
    timezone: str
    period: Period
    comparison: Comparison
    filters: Filters
    granularity: Granularity
    kpis: Kpis
    series: list[SeriesPoint]
    top_products: list[TopProduct] = Field(
        description="top 10 by revenue; empty, and `top_products_unavailable` says why, when a filter is "
        "set and the period has rolled-up days (the night's per-SKU sales are not cut by cell)"
    )
    top_products_unavailable: str | None = Field(
        default=None, description="why top_products is empty though products sold; null when it is the top 10"
    )
    breakdowns: Breakdowns
    stock_alerts: list[KpiStockAlert]
    revenue_by_currency: dict[str, Decimal] | None = Field(
        default=None, description="with per_currency=true: revenue as sold, by currency"
    )
    as_of: AsOf
