"""The night's dashboard rollups: one tenant's day cut by channel, country and category, with the
day's ad spend and ROAS, and its sales per SKU (tandem.logic.lake.dashboard)."""

from datetime import date, datetime
from decimal import Decimal

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
