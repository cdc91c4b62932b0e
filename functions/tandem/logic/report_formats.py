"""Report formats: what each is called and served as, the text formats (JSON, CSV), and the sales
summary as a ReportDocument (the tabular report every format is written from).

The binary formats (XLSX, PDF) need outside libraries: they are written by the ReportRenderer port's
adapter (tandem.adapters.report_renderers), which the report worker alone carries.
"""

import csv
import io
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from tandem.logic.errors import PermanentJobError
from tandem.logic.ports import RenderedReport
from tandem.models.records import Granularity, Job, ReportFilters, ReportFormat, ReportKind, ReportParams
from tandem.models.reports import (
    Cell,
    ColumnType,
    ReportChart,
    ReportColumn,
    ReportDocument,
    ReportFigure,
    ReportTable,
    SalesSummary,
)

CONTENT_TYPES: dict[ReportFormat, str] = {
    ReportFormat.JSON: "application/json",
    # RFC 4180's media type; the charset says how its bytes are to be read.
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.PDF: "application/pdf",
}


def download_name(params: ReportParams, extension: str) -> str:
    """The file name a download is saved as: <kind>-<from>-<to>.<ext> (ASCII, nothing to quote)."""
    return f"{params.kind.value}-{params.date_from.isoformat()}-{params.date_to.isoformat()}.{extension}"


def result_download_name(job: Job) -> str | None:
    """The download name of the job's stored result, its extension the stored object's."""
    if job.result_key is None:
        return None
    _, dot, extension = job.result_key.rpartition("/")[2].rpartition(".")
    return download_name(job.params, extension if dot else job.params.format.value)


# ------------------------------------------------------------------------------ text formats

# A cell starting with one of these is a formula to a spreadsheet opening the CSV (OWASP's "CSV
# injection": =HYPERLINK(…), +cmd|…, -2+3, @SUM(…); tab and carriage return too, which some
# spreadsheets strip before looking). Such a text cell is written with a leading apostrophe,
# which spreadsheets read as "this is text". Numbers are never text cells, so -5.00 stays a number.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(cell: Cell) -> str:
    """A cell as CSV text: decimals as plain decimal text (never an exponent), dates in ISO 8601."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell
    if isinstance(cell, Decimal):
        return format(cell, "f")
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def render_csv(document: ReportDocument) -> bytes:
    """The main table (tables[0]) as RFC 4180 CSV in UTF-8: a header of the column names, CRLF lines."""
    if not document.tables:
        raise ValueError("the report has no table to write as CSV")
    table = document.tables[0]
    out = io.StringIO(newline="")
    # The csv module's default dialect is RFC 4180's: comma, double quotes doubled, CRLF.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.name for column in table.columns])
    writer.writerows([csv_cell(cell) for cell in row] for row in table.rows)
    return out.getvalue().encode()


def render_json(document: ReportDocument) -> bytes:
    # Compact: rows are lists, and an indented 100k-row table would be mostly whitespace.
    return document.model_dump_json().encode()


class TextRenderer:
    """A ReportRenderer of the text formats alone (no outside library): a worker built without the
    documents layer's adapter writes JSON and CSV, and fails an XLSX or PDF job with a reason."""

    def render(self, document: ReportDocument, format: ReportFormat) -> RenderedReport:
        if format is ReportFormat.JSON:
            return RenderedReport(render_json(document), CONTENT_TYPES[format], format.value)
        if format is ReportFormat.CSV:
            return RenderedReport(render_csv(document), CONTENT_TYPES[format], format.value)
        raise PermanentJobError(
            f"this worker cannot write {format.value} reports (built without its renderer)"
        )


# ------------------------------------------------------------------- the sales summary's document


def period_start(day: date, granularity: Granularity) -> date:
    """The first day of the period `day` falls in (ISO weeks start on Monday)."""
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


# The x-axis of a chart with more periods than this is a line: bars would be slivers.
MAX_BARS = 31


def sales_document(summary: SalesSummary, granularity: Granularity = Granularity.DAY) -> ReportDocument:
    """The sales summary as a tabular report: its figures, its series cut by `granularity`, its top
    products, and revenue by period as the chart.

    Money stays by currency (adding EUR to GBP would be wrong): one revenue column per currency.
    With a single currency the document is in it (money cells); with several, the columns say their
    currency in their label and hold plain decimals.
    """
    currencies = sorted(summary.by_currency)
    single = currencies[0] if len(currencies) == 1 else None
    money: ColumnType = "money" if single else "decimal"

    def revenue_columns() -> list[ReportColumn]:
        return [
            ReportColumn(name=f"revenue_{cur.lower()}", label=f"Revenue ({cur})", type=money)
            for cur in currencies
        ]

    figures = [
        ReportFigure(name="orders", label="Orders", type="integer", value=summary.orders),
        ReportFigure(name="units", label="Units", type="integer", value=summary.units),
    ]
    for cur in currencies:
        totals = summary.by_currency[cur]
        figures += [
            ReportFigure(
                name=f"revenue_{cur.lower()}", label=f"Revenue ({cur})", type=money, value=totals.revenue
            ),
            ReportFigure(
                name=f"average_order_value_{cur.lower()}",
                label=f"Average order value ({cur})",
                type=money,
                value=totals.average_order_value,
            ),
        ]

    # The series, days summed into their period (every day is in by_day, so every period is too).
    orders: dict[date, int] = defaultdict(int)
    units: dict[date, int] = defaultdict(int)
    revenue: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for day in summary.by_day:
        start = period_start(day.date, granularity)
        orders[start] += day.orders
        units[start] += day.units
        for cur, amount in day.revenue.items():
            revenue[start][cur] += amount
    periods = sorted(orders)
    series_rows: list[list[Cell]] = [
        [
            start,
            orders[start],
            units[start],
            *(revenue[start].get(cur, Decimal("0.00")) for cur in currencies),
        ]
        for start in periods
    ]
    period_label = {
        Granularity.DAY: "Day",
        Granularity.WEEK: "Week (from Monday)",
        Granularity.MONTH: "Month",
    }
    series = ReportTable(
        name=f"by_{granularity.value}",
        title=f"Sales by {granularity.value}",
        columns=[
            ReportColumn(name=granularity.value, label=period_label[granularity], type="date"),
            ReportColumn(name="orders", label="Orders", type="integer"),
            ReportColumn(name="units", label="Units", type="integer"),
            *revenue_columns(),
        ],
        rows=series_rows,
    )
    products = ReportTable(
        name="top_products",
        title="Top products",
        columns=[
            ReportColumn(name="sku", label="SKU", type="text"),
            ReportColumn(name="units", label="Units", type="integer"),
            *revenue_columns(),
        ],
        rows=[
            [p.sku, p.units, *(p.revenue.get(cur, Decimal("0.00")) for cur in currencies)]
            for p in summary.top_products
        ],
    )
    chart = ReportChart(
        title=f"Revenue by {granularity.value}",
        kind="bar" if len(periods) <= MAX_BARS else "line",
        labels=[start.isoformat() for start in periods],
        series={cur: [revenue[start].get(cur, Decimal("0.00")) for start in periods] for cur in currencies},
    )
    notes = [f"Days are counted in {summary.timezone}; only confirmed orders are counted."]
    if summary.excluded_orders:
        left_out = ", ".join(f"{count} {status.value}" for status, count in summary.excluded_orders.items())
        notes.append(f"Orders left out: {left_out}.")
    return ReportDocument(
        kind=ReportKind.SALES_SUMMARY,
        tenant_id=summary.tenant_id,
        title="Sales summary",
        date_from=summary.date_from,
        date_to=summary.date_to,
        filters=ReportFilters(),
        currency=single,
        figures=figures,
        tables=[series, products],
        chart=chart if currencies else None,
        notes=notes,
    )
