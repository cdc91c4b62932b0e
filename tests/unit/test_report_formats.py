"""The text formats (JSON, CSV), the download names, the sales summary as a ReportDocument, and the
worker storing each format: checked against the shared Online Retail data and read back with the csv
module and pydantic, never with the code that wrote them."""

import csv
import io
import json
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tandem.logic import reports
from tandem.logic.errors import PermanentJobError
from tandem.logic.report_formats import (
    CONTENT_TYPES,
    TextRenderer,
    csv_cell,
    download_name,
    period_start,
    render_csv,
    render_json,
    sales_document,
)
from tandem.logic.sales import summarize_sales
from tandem.models.messages import ReportRequested
from tandem.models.records import FailureReason, Granularity, Job, JobStatus, ReportFormat, ReportParams
from tandem.models.reports import ReportColumn, ReportDocument, ReportTable, SalesSummary
from tests.factories import order
from tests.fakes import FakeClock, FakeDocuments, FakeJobs, FakeOrders, FakeQueue, FakeRenderer
from tests.shared_data import SHARED_DATA, read_rows, retail_orders

UTC_ZONE = ZoneInfo("UTC")
# Two months of the shared data: December 2010 and the first days of January 2011.
DAYS = (
    sorted(p.stem for p in (SHARED_DATA / "online_retail" / "by-day").glob("2010-12-*.csv"))[:12]
    + sorted(p.stem for p in (SHARED_DATA / "online_retail" / "by-day").glob("2011-01-*.csv"))[:4]
)


@pytest.fixture(scope="module")
def summary() -> SalesSummary:
    return summarize_sales(
        "acme", retail_orders(DAYS), date.fromisoformat(DAYS[0]), date.fromisoformat(DAYS[-1]), UTC_ZONE
    )


def _independent_revenue_by_month() -> dict[str, Decimal]:
    """Straight from the CSV files: goods sold on invoices that are not cancellations, by month."""
    months: dict[str, Decimal] = defaultdict(Decimal)
    for day in DAYS:
        for row in read_rows(SHARED_DATA / "online_retail" / "by-day" / f"{day}.csv"):
            quantity, price = int(row["Quantity"]), Decimal(row["UnitPrice"])
            if row["InvoiceNo"].startswith("C") or quantity <= 0 or price <= 0 or " " in row["StockCode"]:
                continue
            months[day[:7]] += quantity * price
    return dict(months)


def test_the_sales_document_by_month_has_the_months_revenue_of_the_data(summary: SalesSummary) -> None:
    document = sales_document(summary, Granularity.MONTH)
    series = document.tables[0]
    assert [c.name for c in series.columns] == ["month", "orders", "units", "revenue_gbp"]
    expected = _independent_revenue_by_month()
    assert {row[0].isoformat()[:7]: row[3] for row in series.rows} == expected  # type: ignore[union-attr]
    assert [row[0] for row in series.rows] == [date(2010, 12, 1), date(2011, 1, 1)]
    # The chart is the same series, one bar a month, in the report's one currency.
    assert document.currency == "GBP"
    assert document.chart is not None
    assert document.chart.kind == "bar"
    assert document.chart.labels == ["2010-12-01", "2011-01-01"]
    assert document.chart.series == {"GBP": [expected["2010-12"], expected["2011-01"]]}
    # The figures are the summary's: orders, units, revenue, AOV.
    figures = {f.name: f.value for f in document.figures}
    assert figures["revenue_gbp"] == sum(expected.values())
    assert figures["orders"] == summary.orders == sum(row[1] for row in series.rows)  # type: ignore[misc]
    assert figures["average_order_value_gbp"] == summary.by_currency["GBP"].average_order_value
    assert any("cancelled" in note for note in document.notes)


def test_the_sales_document_by_week_starts_weeks_on_monday(summary: SalesSummary) -> None:
    series = sales_document(summary, Granularity.WEEK).tables[0]
    starts = [row[0] for row in series.rows]
    assert all(start.weekday() == 0 for start in starts)  # type: ignore[union-attr]
    # 2010-12-01 is a Wednesday: its week started on Monday 2010-11-29.
    assert starts[0] == date(2010, 11, 29)
    assert sum(row[3] for row in series.rows) == summary.by_currency["GBP"].revenue  # type: ignore[misc]
    assert period_start(date(2011, 1, 2), Granularity.WEEK) == date(2010, 12, 27)
    assert period_start(date(2011, 1, 2), Granularity.MONTH) == date(2011, 1, 1)


def test_by_day_over_31_days_is_a_line_and_every_day_is_a_row() -> None:
    orders = [order(datetime(2026, 1, d, 12, tzinfo=UTC), ("A", 1, "2.50")) for d in range(1, 32)]
    summary = summarize_sales("acme", orders, date(2026, 1, 1), date(2026, 2, 28), UTC_ZONE)
    document = sales_document(summary)
    assert len(document.tables[0].rows) == 59
    assert document.chart is not None
    assert document.chart.kind == "line"


def test_several_currencies_get_a_column_each_and_no_document_currency() -> None:
    orders = [
        order(datetime(2026, 1, 1, 12, tzinfo=UTC), ("A", 1, "2.50"), currency="EUR"),
        order(datetime(2026, 1, 2, 12, tzinfo=UTC), ("A", 2, "3.00"), currency="GBP"),
    ]
    document = sales_document(summarize_sales("acme", orders, date(2026, 1, 1), date(2026, 1, 2), UTC_ZONE))
    assert document.currency is None
    assert [(c.name, c.type) for c in document.tables[0].columns[3:]] == [
        ("revenue_eur", "decimal"),
        ("revenue_gbp", "decimal"),
    ]
    assert document.tables[0].rows == [
        [date(2026, 1, 1), 1, 1, Decimal("2.50"), Decimal("0.00")],
        [date(2026, 1, 2), 1, 2, Decimal("0.00"), Decimal("6.00")],
    ]
    assert document.tables[1].rows == [["A", 3, Decimal("2.50"), Decimal("6.00")]]
    assert document.chart is not None
    assert set(document.chart.series) == {"EUR", "GBP"}


def test_no_sales_is_a_document_without_money_or_chart() -> None:
    document = sales_document(summarize_sales("acme", [], date(2026, 1, 1), date(2026, 1, 3), UTC_ZONE))
    assert document.currency is None
    assert document.chart is None
    assert [row[1:] for row in document.tables[0].rows] == [[0, 0]] * 3
    # and still every text format writes it
    assert render_csv(document).count(b"\r\n") == 4


def _tricky_document() -> ReportDocument:
    columns = [
        ReportColumn(name="sku", label="SKU", type="text"),
        ReportColumn(name="day", label="Day", type="date"),
        ReportColumn(name="units", label="Units", type="integer"),
        ReportColumn(name="revenue", label="Revenue", type="money"),
        ReportColumn(name="share", label="Share", type="percent"),
    ]
    rows = [
        ['=HYPERLINK("http://evil.example")', date(2026, 1, 1), 3, Decimal("-5.00"), Decimal("0.25")],
        ["+cmd|' /C calc'!A0", date(2026, 1, 2), 0, Decimal("1E+3"), None],
        ["-2+3", None, -1, Decimal("0.10"), Decimal("1")],
        ["@SUM(A1)", date(2026, 1, 3), 10, Decimal("12345678.90"), Decimal("0")],
        ['Café, "mugs"\nlarge', date(2026, 1, 4), 1, Decimal("2"), Decimal("0.5")],
        ["\tTAB", date(2026, 1, 5), 1, Decimal("2"), Decimal("0.5")],
    ]
    return ReportDocument(
        kind="product_performance",
        tenant_id="acme",
        title="Products",
        date_from=date(2026, 1, 1),
        date_to=date(2026, 1, 31),
        filters={"country": "GB"},
        currency="EUR",
        figures=[],
        tables=[ReportTable(name="main", title="Main", columns=columns, rows=rows)],
    )


def test_csv_parses_back_to_the_same_cells_with_formulas_defused() -> None:
    document = _tricky_document()
    body = render_csv(document)
    text = body.decode("utf-8")  # UTF-8, no byte-order mark
    assert not text.startswith("\ufeff")
    # RFC 4180: every record ends with CRLF (the newline inside the quoted cell stays as it was).
    assert text.endswith("\r\n")
    assert text.count("\r\n") == 1 + len(document.tables[0].rows)
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert header == ["sku", "day", "units", "revenue", "share"]
    # Text starting with = + - @ or a tab is prefixed with ' (a spreadsheet reads it as text).
    assert [row[0] for row in rows] == [
        '\'=HYPERLINK("http://evil.example")',
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "'@SUM(A1)",
        'Café, "mugs"\nlarge',
        "'\tTAB",
    ]
    # Numbers are never prefixed (-5.00 is a number) and decimals are plain text, never 1E+3.
    assert [row[3] for row in rows] == ["-5.00", "1000", "0.10", "12345678.90", "2", "2"]
    assert [row[2] for row in rows] == ["3", "0", "-1", "10", "1", "1"]
    assert [row[1] for row in rows][:3] == ["2026-01-01", "2026-01-02", ""]
    assert rows[1][4] == ""  # None is an empty cell
    for row, cells in zip(rows, document.tables[0].rows, strict=True):
        assert Decimal(row[3]) == cells[3]
        assert row[4] == ("" if cells[4] is None else str(cells[4]))


def test_csv_cells() -> None:
    assert csv_cell(Decimal("1.5E-7")) == "0.00000015"
    assert csv_cell(None) == ""
    assert csv_cell("a=b") == "a=b"  # only a leading trigger is a formula


def test_json_is_the_document_itself() -> None:
    document = _tricky_document()
    loaded = json.loads(render_json(document))
    assert loaded["kind"] == "product_performance"
    assert loaded["filters"] == {"channel": None, "country": "GB", "category": None}
    assert [c["name"] for c in loaded["tables"][0]["columns"]] == ["sku", "day", "units", "revenue", "share"]
    # Cells as JSON has them: text untouched (no spreadsheet reads JSON), money as exact decimal
    # strings, dates in ISO 8601.
    assert loaded["tables"][0]["rows"][0] == [
        '=HYPERLINK("http://evil.example")',
        "2026-01-01",
        3,
        "-5.00",
        "0.25",
    ]


def test_the_text_renderer_refuses_binary_formats_for_good() -> None:
    with pytest.raises(PermanentJobError, match="xlsx"):
        TextRenderer().render(_tricky_document(), ReportFormat.XLSX)
    rendered = TextRenderer().render(_tricky_document(), ReportFormat.CSV)
    assert (rendered.content_type, rendered.extension) == ("text/csv; charset=utf-8", "csv")


def test_download_names() -> None:
    params = ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30), format=ReportFormat.XLSX)
    assert download_name(params, "xlsx") == "sales_summary-2026-11-01-2026-11-30.xlsx"


# ------------------------------------------------------------------------------ through the worker


def _world(renderer: FakeRenderer | None) -> dict:
    return {
        "jobs": FakeJobs(),
        "queue": FakeQueue(),
        "orders": FakeOrders(
            [
                order(datetime(2026, 11, 2, 12, tzinfo=UTC), ("A", 2, "5.00")),
                order(datetime(2026, 11, 3, 12, tzinfo=UTC), ("B", 1, "7.50")),
            ]
        ),
        "documents": FakeDocuments(),
        "clock": FakeClock(),
        "renderer": renderer,
    }


def _run(world: dict, format: ReportFormat) -> tuple[ReportRequested, Job]:
    params = ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 3), format=format)
    api = reports.ReportDeps(
        jobs=world["jobs"],
        queue=world["queue"],
        documents=world["documents"],
        link_ttl_seconds=900,
        clock=world["clock"],
        new_id=lambda: "job-1",
    )
    job = reports.request_report("acme", params, api, correlation_id=None)
    message = ReportRequested(tenant_id="acme", job_id=job.job_id, params=params)
    extra = {"renderer": world["renderer"]} if world["renderer"] else {}
    deps = reports.ReportWorkerDeps(
        jobs=world["jobs"],
        orders=world["orders"],
        documents=world["documents"],
        max_attempts=3,
        zone=UTC_ZONE,
        clock=world["clock"],
        **extra,
    )
    return message, reports.run_report(message, 1, deps)


def test_a_csv_job_is_stored_as_csv_with_its_type_and_name() -> None:
    world = _world(None)  # the default renderer writes the text formats
    _, job = _run(world, ReportFormat.CSV)
    assert job.status is JobStatus.SUCCEEDED
    assert job.result_key == "reports/acme/job-1.csv"
    documents = world["documents"]
    assert documents.content_types[job.result_key] == "text/csv; charset=utf-8"
    assert documents.filenames[job.result_key] == "sales_summary-2026-11-01-2026-11-03.csv"
    assert job.result_bytes == len(documents.objects[job.result_key])
    rows = list(csv.reader(io.StringIO(documents.objects[job.result_key].decode(), newline="")))
    assert rows == [
        ["day", "orders", "units", "revenue_gbp"],
        ["2026-11-01", "0", "0", "0.00"],
        ["2026-11-02", "1", "2", "10.00"],
        ["2026-11-03", "1", "1", "7.50"],
    ]


def test_a_json_sales_summary_stays_the_summary_document() -> None:
    world = _world(FakeRenderer())
    _, job = _run(world, ReportFormat.JSON)
    assert job.result_key == "reports/acme/job-1.json"
    stored = json.loads(world["documents"].objects[job.result_key])
    assert SalesSummary.model_validate(stored).orders == 2
    assert world["renderer"].rendered == []  # the summary, not a rendered document
    assert world["documents"].content_types[job.result_key] == CONTENT_TYPES[ReportFormat.JSON]


def test_an_xlsx_job_renders_the_sales_document_through_the_port() -> None:
    world = _world(FakeRenderer())
    _, job = _run(world, ReportFormat.XLSX)
    assert job.result_key == "reports/acme/job-1.xlsx"
    [(document, format)] = world["renderer"].rendered
    assert format is ReportFormat.XLSX
    assert document.kind == "sales_summary"
    assert [f.value for f in document.figures][:2] == [2, 3]
    assert world["documents"].objects[job.result_key] == b"xlsx:sales_summary:3 rows"
    assert world["documents"].content_types[job.result_key] == CONTENT_TYPES[ReportFormat.XLSX]
    # GET /reports/{id}: the link saves it under its name.
    _, link = reports.report_status(
        "acme",
        "job-1",
        reports.ReportDeps(
            jobs=world["jobs"],
            queue=world["queue"],
            documents=world["documents"],
            link_ttl_seconds=900,
            clock=world["clock"],
            new_id=lambda: "unused",
        ),
    )
    assert link is not None
    assert link[0].endswith("job-1.xlsx?ttl=900&filename=sales_summary-2026-11-01-2026-11-03.xlsx")


def test_a_binary_format_without_its_renderer_fails_the_job_at_once() -> None:
    world = _world(None)
    _, job = _run(world, ReportFormat.PDF)
    assert job.status is JobStatus.FAILED
    assert job.failure_reason is FailureReason.CANNOT_COMPUTE
    assert "pdf" in (job.error or "")
    assert world["documents"].objects == {}


def test_store_report_writes_a_report_document_as_is() -> None:
    documents, renderer = FakeDocuments(), FakeRenderer()
    document = _tricky_document()
    world = _world(renderer)
    _, job = _run(world, ReportFormat.CSV)
    key = reports.store_report(document, job, documents, renderer)
    assert key == "reports/acme/job-1.csv"
    assert renderer.rendered[-1] == (document, ReportFormat.CSV)
    assert documents.objects[key] == render_csv(document)
