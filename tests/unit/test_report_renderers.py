"""The binary formats, each opened with its reading library: XLSX with openpyxl, PDF with poppler
(pdfinfo, pdftotext, and pdftoppm to render the page and look at it)."""

import io
import re
import shutil
import subprocess
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from PIL import Image

from tandem.adapters import report_renderers
from tandem.adapters.report_renderers import LibraryReportRenderer
from tandem.logic.report_formats import CONTENT_TYPES, render_csv, sales_document
from tandem.logic.sales import summarize_sales
from tandem.models.records import ReportFormat
from tandem.models.reports import ReportColumn, ReportDocument, ReportTable
from tests.shared_data import SHARED_DATA, retail_orders

DAYS = sorted(p.stem for p in (SHARED_DATA / "online_retail" / "by-day").glob("2010-12-*.csv"))[:20]
# The PDF chart's first series colour (report_renderers._SERIES_COLOURS[0]) as 8-bit RGB.
BAR_BLUE = (41, 107, 176)


@pytest.fixture(scope="module")
def document() -> ReportDocument:
    summary = summarize_sales(
        "acme",
        retail_orders(DAYS),
        date.fromisoformat(DAYS[0]),
        date.fromisoformat(DAYS[-1]),
        ZoneInfo("UTC"),
    )
    return sales_document(summary)


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> LibraryReportRenderer:
    return LibraryReportRenderer(str(tmp_path_factory.mktemp("xlsx")))


def test_xlsx_loads_with_openpyxl_with_typed_cells(
    document: ReportDocument, renderer: LibraryReportRenderer
) -> None:
    rendered = renderer.render(document, ReportFormat.XLSX)
    assert (rendered.content_type, rendered.extension) == (CONTENT_TYPES[ReportFormat.XLSX], "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(rendered.body))
    assert book.sheetnames == ["Summary", "Sales by day", "Top products"]

    summary = book["Summary"]
    assert summary["A1"].value == "Sales summary"
    labels = {row[0].value: row[1] for row in summary.iter_rows(min_row=2) if row[0].value}
    assert labels["Period"].value == f"{DAYS[0]} to {DAYS[-1]}"
    assert labels["Filters"].value == "none"
    figures = {f.label: f.value for f in document.figures}
    assert labels["Orders"].value == figures["Orders"]
    assert labels["Revenue (GBP)"].value == pytest.approx(float(figures["Revenue (GBP)"]))  # type: ignore[arg-type]
    assert labels["Revenue (GBP)"].number_format == '#,##0.00 "GBP"'

    days = book["Sales by day"]
    assert days.freeze_panes == "A2"
    assert [c.value for c in days[1]] == ["Day", "Orders", "Units", "Revenue (GBP)"]
    table = document.tables[0]
    assert days.max_row == 1 + len(table.rows)
    for sheet_row, cells in zip(days.iter_rows(min_row=2), table.rows, strict=True):
        day, orders, units, revenue = sheet_row
        assert isinstance(day.value, datetime)  # a date cell, not text
        assert day.value.date() == cells[0]
        assert day.number_format == "yyyy-mm-dd"
        assert (orders.value, units.value) == (cells[1], cells[2])
        assert isinstance(orders.value, int)
        assert revenue.value == pytest.approx(float(cells[3]))  # type: ignore[arg-type]
        assert revenue.data_type == "n"
    assert days.column_dimensions["A"].width >= 12

    products = book["Top products"]
    assert [c.value for c in products["A"][1:]] == [row[0] for row in document.tables[1].rows]
    assert all(c.data_type == "s" for c in products["A"][1:])


def _texts() -> ReportDocument:
    columns = [
        ReportColumn(name="sku", label="SKU", type="text"),
        ReportColumn(name="n", label="N", type="percent"),
    ]
    rows: list[list[object]] = [["=1+2", Decimal("0.25")], ["Tasse à café ☕", None]]
    table = ReportTable(name="t", title="Products: [top]/all?", columns=columns, rows=rows)  # type: ignore[arg-type]
    return ReportDocument(
        kind="product_performance",
        tenant_id="acme",
        title="Products",
        date_from=date(2026, 1, 1),
        date_to=date(2026, 1, 31),
        filters={"channel": "web"},
        currency=None,
        figures=[],
        tables=[table, table],
    )


def test_xlsx_text_is_never_a_formula_and_sheet_names_are_made_valid(renderer: LibraryReportRenderer) -> None:
    book = openpyxl.load_workbook(io.BytesIO(renderer.render(_texts(), ReportFormat.XLSX).body))
    assert book.sheetnames == ["Summary", "Products   top  all", "Products   top  all (2)"]
    sheet = book.worksheets[1]
    assert sheet["A2"].value == "=1+2"
    assert sheet["A2"].data_type == "s"  # a string cell: no spreadsheet evaluates it
    assert sheet["A3"].value == "Tasse à café ☕"
    assert sheet["B2"].value == 0.25
    assert sheet["B2"].number_format == "0.0%"
    assert sheet["B3"].value is None
    assert book["Summary"]["B4"].value == "channel = web"


def test_xlsx_refuses_a_table_over_a_sheets_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_renderers, "XLSX_MAX_ROWS", 1)
    with pytest.raises(ValueError, match="a sheet holds 1"):
        LibraryReportRenderer().render(_texts(), ReportFormat.XLSX)


def test_text_formats_are_the_logics(document: ReportDocument, renderer: LibraryReportRenderer) -> None:
    assert renderer.render(document, ReportFormat.CSV).body == render_csv(document)


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"SKIPPED LOUDLY: {tool} (poppler-utils) is not installed: the PDF was not opened")
    return path


def _pages(pdf: Path) -> int:
    info = subprocess.run([_poppler("pdfinfo"), pdf], capture_output=True, text=True, check=True).stdout
    found = re.search(r"^Pages:\s+(\d+)$", info, re.MULTILINE)
    assert found, info
    return int(found.group(1))


def test_pdf_is_one_page_with_the_figures_the_chart_and_the_first_rows(
    document: ReportDocument, renderer: LibraryReportRenderer, tmp_path: Path
) -> None:
    rendered = renderer.render(document, ReportFormat.PDF)
    assert (rendered.content_type, rendered.extension) == ("application/pdf", "pdf")
    assert rendered.body.startswith(b"%PDF-")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(rendered.body)

    assert _pages(pdf) == 1
    text = subprocess.run(
        [_poppler("pdftotext"), "-layout", pdf, "-"], capture_output=True, text=True, check=True
    )
    assert "\f" not in text.stdout.rstrip("\f")  # one page: no page break inside
    for expected in ("Sales summary", f"Period: {DAYS[0]} to {DAYS[-1]}", "Revenue by day", "Sales by day"):
        assert expected in text.stdout
    orders = next(f.value for f in document.figures if f.name == "orders")
    assert f"{orders:,}" in text.stdout
    rows = len(document.tables[0].rows)
    assert f"{rows} of {rows} rows shown" in text.stdout

    # Rendered as the issue asks (pdftoppm -png -r 60), and looked at: one page, not blank, with bars.
    subprocess.run([_poppler("pdftoppm"), "-png", "-r", "60", pdf, tmp_path / "page"], check=True)
    [png] = sorted(tmp_path.glob("page*.png"))
    image = Image.open(png).convert("RGB")
    width, height = image.size  # A4 at 60 dpi: 496 x 702 (poppler rounds the width either way)
    assert abs(width - 496) <= 1
    assert height == 702
    data = image.tobytes()
    pixels = [tuple(data[i : i + 3]) for i in range(0, len(data), 3)]
    ink = sum(1 for p in pixels if p != (255, 255, 255))
    assert ink > len(pixels) * 0.03, "the page is (almost) blank"
    bars = sum(1 for p in pixels if all(abs(a - b) <= 12 for a, b in zip(p, BAR_BLUE, strict=True)))
    assert bars > 1500, f"the chart's bars are missing ({bars} bar-coloured pixels)"


def test_pdf_of_a_long_table_shows_what_fits_on_its_one_page(tmp_path: Path) -> None:
    columns = [
        ReportColumn(name="sku", label="SKU", type="text"),
        ReportColumn(name="n", label="N", type="integer"),
    ]
    table = ReportTable(name="t", title="All", columns=columns, rows=[[f"SKU-{i}", i] for i in range(500)])
    document = ReportDocument(
        kind="product_performance",
        tenant_id="acme",
        title="Products",
        date_from=date(2026, 1, 1),
        date_to=date(2026, 1, 31),
        filters={},
        currency=None,
        figures=[],
        tables=[table],
    )
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(LibraryReportRenderer().render(document, ReportFormat.PDF).body)
    text = subprocess.run(
        [_poppler("pdftotext"), pdf, "-"], capture_output=True, text=True, check=True
    ).stdout
    assert _pages(pdf) == 1
    assert "SKU-0" in text
    assert "SKU-499" not in text
    assert "of 500 rows shown; every row is in the CSV and XLSX formats" in text


def test_the_same_report_is_the_same_pdf(document: ReportDocument, renderer: LibraryReportRenderer) -> None:
    # A rerun of the job rewrites the same bytes (no timestamp or random id in the file).
    assert (
        renderer.render(document, ReportFormat.PDF).body == renderer.render(document, ReportFormat.PDF).body
    )
