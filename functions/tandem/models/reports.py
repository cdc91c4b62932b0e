"""The documents Tandem writes to S3: report results and nightly rollups."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from tandem.models.records import OrderStatus


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CurrencyTotals(_Doc):
    orders: int
    units: int
    revenue: Decimal
    average_order_value: Decimal


class DaySales(_Doc):
    date: date
    orders: int
    units: int
    revenue: dict[str, Decimal]


class ProductSales(_Doc):
    sku: str
    units: int
    revenue: dict[str, Decimal]


class SalesSummary(_Doc):
    """Sales of confirmed orders in a period, days counted in `timezone`.

    Money is grouped by currency: a shop selling in EUR and GBP has two revenues,
    and adding them up would be wrong.
    """

    tenant_id: str
    date_from: date
    date_to: date
    timezone: str
    orders: int
    units: int
    by_currency: dict[str, CurrencyTotals]
    by_day: list[DaySales]
    top_products: list[ProductSales]
    excluded_orders: dict[OrderStatus, int]
