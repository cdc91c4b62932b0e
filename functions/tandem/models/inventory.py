"""Inventory suggestions: a tenant's settings for them, and the night's document the API serves
(tandem.logic.inventory has the formulas)."""

import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tandem.models.records import Sku

# At most a year of history per night: the window is read a day at a time from the lake.
MAX_WINDOW_DAYS = 366
MAX_LEAD_TIME_DAYS = 365
LeadTime = Annotated[int, Field(ge=1, le=MAX_LEAD_TIME_DAYS)]


class InventorySettings(BaseModel):
    """`inventory` in a tenant's lake configuration (`config/{tenant}/lake.json`); every field has a
    default, so a tenant without the block gets suggestions too."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Two days at least: the sample standard deviation needs two observations.
    window_days: int = Field(
        default=28, ge=2, le=MAX_WINDOW_DAYS, description="days of sales the demand is measured on"
    )
    lead_time_days: LeadTime = Field(default=7, description="days from ordering to units on the shelf")
    # Below 0.5 the safety stock would be negative (z < 0); 1.0 would need infinite stock.
    service_level: float = Field(
        default=0.95, ge=0.5, le=0.9999, description="wanted chance of no stock-out during a lead time"
    )
    review_period_days: int = Field(
        default=7, ge=1, le=MAX_LEAD_TIME_DAYS, description="days between two orders of the same SKU"
    )
    lead_times: dict[Sku, LeadTime] = Field(
        default_factory=dict, description="SKU → its own lead time in days (overrides lead_time_days)"
    )

    def lead_time(self, sku: str) -> int:
        return self.lead_times.get(sku, self.lead_time_days)


class InventoryWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime.date = Field(description="first day of the window")
    end: datetime.date = Field(description="last day of the window: the night's date")
    days: int = Field(ge=1)
    days_read: int = Field(ge=0, description="days of the window the lake had order lines for")
    lines_read: int = Field(ge=0, description="order lines read (every kind)")


class SkuSuggestion(BaseModel):
    """One SKU's figures. Units; demand per day. `stock` is None for a SKU the catalogue does not
    know: then nothing is suggested and it is never flagged (its stock is unknown, not zero)."""

    model_config = ConfigDict(extra="forbid")

    sku: str
    units_sold: int = Field(description="units sold in the window")
    units_returned: int = Field(ge=0, description="units returned in the window (netted off)")
    mean_daily_demand: float = Field(description="μ: net units per day, days without sales as 0")
    sd_daily_demand: float = Field(ge=0, description="sd: the sample standard deviation of daily demand")
    lead_time_days: int = Field(ge=1, description="L: this SKU's lead time")
    safety_stock: float = Field(ge=0, description="z·sd·√L")
    reorder_point: float = Field(ge=0, description="μ·L + safety stock")
    order_up_to: float = Field(ge=0, description="μ·(L+R) + safety stock")
    stock: int | None = Field(description="on hand (ProductsTable) when computed; None: not in the catalogue")
    below_reorder_point: bool | None = Field(description="stock < reorder point; None: stock unknown")
    suggested_order: int | None = Field(
        ge=0,
        description="below the reorder point: order-up-to level - stock, rounded up; else 0; "
        "None: stock unknown",
    )


class InventoryCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skus: int = Field(ge=0)
    below_reorder_point: int = Field(ge=0)
    not_in_catalogue: int = Field(ge=0, description="SKUs sold whose stock the catalogue does not know")


class InventorySuggestions(BaseModel):
    """`inventory/{tenant}/{date}.json` (and `latest.json`, the newest date's copy), and what
    GET /inventory/suggestions answers (its items filtered as asked)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str
    date: datetime.date = Field(description="the night the suggestions were computed for (the window's end)")
    computed_at: AwareDatetime = Field(description="when they were computed; stock was read then")
    window: InventoryWindow
    settings: InventorySettings
    z: float = Field(description="the service level's standard normal quantile")
    counts: InventoryCounts
    items: list[SkuSuggestion] = Field(description="by SKU")
