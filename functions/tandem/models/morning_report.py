"""The morning report: a tenant's day against the same weekday a week earlier, its top products,
returns and stock alerts (tandem.logic.morning_report). Stored as a report job's result
(`reports/{tenant}/{job_id}.json`) and announced by e-mail."""

import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DayFigures(_Doc):
    date: datetime.date
    has_data: bool = Field(description="False: the night left no rollup for the day (figures are 0)")
    revenue: Decimal | None = Field(description="in the tenant's currency; None when a rate was missing")
    orders: int


class Change(_Doc):
    """The day against the earlier one, in %; None: no figure to compare (no data, or 0 before)."""

    revenue_pct: Decimal | None
    orders_pct: Decimal | None


class TopProduct(_Doc):
    sku: str
    units: int
    orders: int
    revenue: Decimal | None


class ReturnsFigures(_Doc):
    lines: int
    units: int
    value: Decimal | None = Field(description="positive, in the tenant's currency; None: a rate was missing")


class StockAlert(_Doc):
    sku: str
    stock: int
    reorder_point: float
    suggested_order: int | None


class EmailOutcome(_Doc):
    to: str | None = Field(description="the tenant's report_email when the report was made; None: none set")
    sent: bool
    message_id: str | None = None
    note: str | None = None


class MorningReport(_Doc):
    tenant_id: str
    tenant_name: str
    currency: str
    day: DayFigures
    week_before: DayFigures = Field(description="the same weekday seven days earlier")
    change: Change
    top_products: list[TopProduct] = Field(description="at most 5, by revenue (then units, then SKU)")
    returns: ReturnsFigures
    stock_alerts: list[StockAlert] = Field(description="SKUs below their reorder point, by SKU")
    stock_alerts_date: datetime.date | None = Field(
        description="the night of the inventory suggestions read; None: none for the day"
    )
    email: EmailOutcome | None = None
