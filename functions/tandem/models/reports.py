"""The documents Tandem writes to S3: report results and nightly rollups."""

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tandem.models.records import OrderStatus, ReportFilters, ReportKind


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


# A tabular report, whatever its kind: what every format (json, csv, xlsx, pdf) is written from.
Cell = str | int | Decimal | date | None
ColumnType = Literal["text", "integer", "decimal", "money", "percent", "date"]


class ReportColumn(_Doc):
    name: str  # machine name: the CSV header, the JSON key
    label: str  # what a person reads: the XLSX and PDF header
    type: ColumnType  # money in the report's currency; percent as a fraction (0.25 is 25 %)


class ReportTable(_Doc):
    name: str
    title: str
    columns: list[ReportColumn]
    rows: list[list[Cell]]  # each row has one cell per column, in the columns' order


class ReportFigure(_Doc):
    """A headline figure: the tiles of the PDF's first lines, the XLSX's summary sheet."""

    name: str
    label: str
    type: ColumnType
    value: Cell


class ReportChart(_Doc):
    """One chart of the report: a category per label, one value per label in each series."""

    title: str
    kind: Literal["bar", "line"]
    labels: list[str]
    series: dict[str, list[Decimal | int | None]]


class ReportDocument(_Doc):
    """A report ready to be written in any format. The first table is the main one (the CSV's)."""

    kind: ReportKind
    tenant_id: str
    title: str
    date_from: date
    date_to: date
    filters: ReportFilters
    currency: str | None  # the currency of every money cell; None: the report has no money
    figures: list[ReportFigure]
    tables: list[ReportTable]
    chart: ReportChart | None = None
    notes: list[str] = []  # what a reader must know (a missing FX rate, data not yet curated …)
