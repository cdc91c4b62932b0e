"""ReportRenderer over the documents layer's libraries: XLSX with XlsxWriter, PDF with reportlab.

JSON and CSV are the logic's own (tandem.logic.report_formats). The libraries are imported when a
binary format is first written, not at import: a worker that writes JSON pays nothing for them.
Only the report worker carries the layer (infra/layers/documents); the API never imports this module
(an import contract in pyproject.toml, and tests/template).
"""

from __future__ import annotations

import io
import math
import tempfile
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tandem.logic.ports import RenderedReport
from tandem.logic.report_formats import CONTENT_TYPES, TextRenderer
from tandem.models.records import ReportFilters, ReportFormat
from tandem.models.reports import Cell, ColumnType, ReportChart, ReportColumn, ReportDocument, ReportTable

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

# Excel's limit: 1,048,576 rows a sheet, one of them the header.
XLSX_MAX_ROWS = 1_048_575
# A sheet's name: at most 31 characters, none of these.
_SHEET_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


class LibraryReportRenderer:
    """Every format: the text ones through the logic, XLSX and PDF through their libraries."""

    def __init__(self, tmpdir: str | None = None) -> None:
        # XlsxWriter's constant-memory mode spools each sheet's rows to a temporary file (Lambda: /tmp).
        self._tmpdir = tmpdir or tempfile.gettempdir()

    def render(self, document: ReportDocument, format: ReportFormat) -> RenderedReport:
        if format is ReportFormat.XLSX:
            body = render_xlsx(document, self._tmpdir)
        elif format is ReportFormat.PDF:
            body = render_pdf(document)
        else:
            return TextRenderer().render(document, format)
        return RenderedReport(body, CONTENT_TYPES[format], format.value)


def describe_filters(filters: ReportFilters) -> str:
    chosen = [f"{name} = {value}" for name, value in filters.model_dump().items() if value is not None]
    return ", ".join(chosen) or "none"


def period(document: ReportDocument) -> str:
    return f"{document.date_from.isoformat()} to {document.date_to.isoformat()}"


# ------------------------------------------------------------------------------------------ XLSX

_NUMBER_FORMATS: dict[ColumnType, str] = {
    "integer": "#,##0",
    "decimal": "#,##0.00##",
    "money": "#,##0.00",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
}
_WIDTHS: dict[ColumnType, int] = {"integer": 12, "decimal": 14, "money": 14, "percent": 10, "date": 12}


def render_xlsx(document: ReportDocument, tmpdir: str) -> bytes:
    """A summary sheet (title, period, filters, figures, notes), then one sheet per table: typed
    cells (numbers as numbers with their format, dates as dates), the header row frozen."""
    import xlsxwriter  # the documents layer, loaded by the first binary report

    for table in document.tables:
        if len(table.rows) > XLSX_MAX_ROWS:
            raise ValueError(
                f"table {table.name!r} has {len(table.rows)} rows; a sheet holds {XLSX_MAX_ROWS}"
            )
    out = io.BytesIO()
    # constant_memory: each row goes to disk once the next starts, so 100k rows cost little memory
    # (rows must then be written in order, which they are). Strings are inline, never formulas.
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "tmpdir": tmpdir,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    workbook.set_properties({"title": document.title, "author": "Tandem", "comments": period(document)})
    formats = _Formats(workbook, document.currency)
    used: set[str] = {"Summary"}
    _summary_sheet(workbook.add_worksheet("Summary"), document, formats)
    for table in document.tables:
        _table_sheet(workbook.add_worksheet(_sheet_name(table.title, used)), table, formats)
    workbook.close()
    return out.getvalue()


class _Formats:
    def __init__(self, workbook: Workbook, currency: str | None) -> None:
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.bold = workbook.add_format({"bold": True})
        self.header = workbook.add_format(
            {"bold": True, "bottom": 1, "bg_color": "#E8EEF4", "text_wrap": True}
        )
        self.cells: dict[ColumnType, Format | None] = {
            kind: workbook.add_format({"num_format": number}) for kind, number in _NUMBER_FORMATS.items()
        }
        if currency:
            # The currency in the number format: the cell stays a number a formula can sum.
            self.cells["money"] = workbook.add_format({"num_format": f'#,##0.00 "{currency}"'})
        self.cells["text"] = None


def _sheet_name(title: str, used: set[str]) -> str:
    base = (title.translate(_SHEET_FORBIDDEN).strip("' ") or "Table")[:31]
    name, number = base, 2
    while name.lower() in {u.lower() for u in used}:
        suffix = f" ({number})"
        name, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(name)
    return name


def _write(sheet: Worksheet, row: int, col: int, cell: Cell, kind: ColumnType, formats: _Formats) -> None:
    style = formats.cells[kind]
    if cell is None:
        return  # an empty cell, not a zero
    if isinstance(cell, str):
        sheet.write_string(row, col, cell, style)
    elif isinstance(cell, date):
        sheet.write_datetime(row, col, cell, formats.cells["date"])
    else:  # int or Decimal: Excel holds doubles, exact for money to the cent at shop sizes
        sheet.write_number(row, col, float(cell), style)


def _summary_sheet(sheet: Worksheet, document: ReportDocument, formats: _Formats) -> None:
    sheet.set_column(0, 0, 32)
    sheet.set_column(1, 1, 40)
    sheet.write_string(0, 0, document.title, formats.title)
    lines: list[tuple[str, str]] = [
        ("Period", period(document)),
        ("Filters", describe_filters(document.filters)),
        ("Currency", document.currency or "by column"),
    ]
    row = 2
    for label, text in lines:
        sheet.write_string(row, 0, label, formats.bold)
        sheet.write_string(row, 1, text)
        row += 1
    row += 1
    for figure in document.figures:
        sheet.write_string(row, 0, figure.label, formats.bold)
        _write(sheet, row, 1, figure.value, figure.type, formats)
        row += 1
    if document.notes:
        row += 1
        sheet.write_string(row, 0, "Notes", formats.bold)
        for note in document.notes:
            row += 1
            sheet.write_string(row, 0, note)


def _width(column: ReportColumn, table: ReportTable, index: int) -> int:
    if column.type == "text":
        # From the first rows (enough to see the usual length; a long tail is cut, not the sheet).
        longest = max((len(str(row[index] or "")) for row in table.rows[:200]), default=0)
        return min(max(longest, len(column.label), 8) + 2, 60)
    return max(_WIDTHS[column.type], len(column.label) + 2)


def _table_sheet(sheet: Worksheet, table: ReportTable, formats: _Formats) -> None:
    for col, column in enumerate(table.columns):
        sheet.set_column(col, col, _width(column, table, col))
    sheet.freeze_panes(1, 0)
    for col, column in enumerate(table.columns):
        sheet.write_string(0, col, column.label, formats.header)
    kinds = [column.type for column in table.columns]
    for number, cells in enumerate(table.rows, start=1):
        for col, cell in enumerate(cells):
            _write(sheet, number, col, cell, kinds[col], formats)
    if table.rows:
        sheet.autofilter(0, 0, len(table.rows), len(table.columns) - 1)


# ------------------------------------------------------------------------------------------- PDF

_MARGIN = 42.0  # points: about 15 mm
_ROW = 13.0  # a table row's height


def _latin(text: str) -> str:
    # The PDF's standard fonts (Helvetica) hold Windows-1252's characters: others show as "?".
    return text.encode("cp1252", "replace").decode("cp1252")


def pdf_cell(cell: Cell, kind: ColumnType) -> str:
    """A cell as the PDF shows it: numbers grouped by thousands, percent as percent."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return _latin(cell)
    if isinstance(cell, date):
        return cell.isoformat()
    if kind == "percent":
        return f"{Decimal(cell) * 100:,.1f} %"
    if kind in ("money", "decimal") or isinstance(cell, Decimal):
        return f"{Decimal(cell):,.2f}"
    return f"{cell:,}"


def render_pdf(document: ReportDocument) -> bytes:
    """One A4 page: the title, period and filters, the figures, the chart, then the main table's
    first rows, as many as fit; a line says how many of how many are shown."""
    from reportlab.lib.pagesizes import A4  # the documents layer, loaded on first use
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    # invariant: no creation date or random id in the file, so the same report is the same bytes.
    canvas = Canvas(out, pagesize=A4, invariant=1)
    canvas.setTitle(_latin(document.title))
    canvas.setAuthor("Tandem")
    width, height = A4
    y = height - _MARGIN
    canvas.setFont("Helvetica-Bold", 18)
    canvas.drawString(_MARGIN, y - 14, _latin(document.title))
    y -= 32
    canvas.setFont("Helvetica", 10)
    canvas.drawString(_MARGIN, y, f"Period: {period(document)}")
    y -= 13
    currency = f"   Currency: {document.currency}" if document.currency else ""
    canvas.drawString(_MARGIN, y, _latin(f"Filters: {describe_filters(document.filters)}{currency}"))
    y -= 10
    y = _figures(canvas, document, y, width)
    if document.chart is not None and document.chart.labels:
        y = _chart(canvas, document.chart, y, width)
    for note in document.notes[:2]:
        canvas.setFont("Helvetica-Oblique", 8)
        canvas.drawString(_MARGIN, y - 10, _latin(note)[:150])
        y -= 11
    if document.tables and document.tables[0].columns:
        _table(canvas, document.tables[0], y - 22, width)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _figures(canvas: Canvas, document: ReportDocument, y: float, width: float) -> float:
    """The figures as tiles, four a row; answers the y below them."""
    per_row, gap, tile_height = 4, 8.0, 40.0
    tile = (width - 2 * _MARGIN - gap * (per_row - 1)) / per_row
    for index, figure in enumerate(document.figures[:8]):
        row, col = divmod(index, per_row)
        x = _MARGIN + col * (tile + gap)
        top = y - 8 - row * (tile_height + gap)
        canvas.setFillColorRGB(0.93, 0.95, 0.97)
        canvas.rect(x, top - tile_height, tile, tile_height, stroke=0, fill=1)
        canvas.setFillColorRGB(0.3, 0.3, 0.3)
        canvas.setFont("Helvetica", 7.5)
        canvas.drawString(x + 6, top - 12, _latin(figure.label)[:40])
        canvas.setFillColorRGB(0, 0, 0)
        canvas.setFont("Helvetica-Bold", 13)
        canvas.drawString(x + 6, top - 31, pdf_cell(figure.value, figure.type))
    rows = math.ceil(min(len(document.figures), 8) / per_row)
    return y - 8 - rows * (tile_height + gap)


_SERIES_COLOURS = ((0.16, 0.42, 0.69), (0.91, 0.49, 0.13), (0.2, 0.6, 0.33), (0.6, 0.3, 0.6))


def _chart(canvas: Canvas, chart: ReportChart, y: float, width: float) -> float:
    """The chart (bars, or a line for long series) in a 200-point band; answers the y below it."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.charts.linecharts import HorizontalLineChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    band = 200.0
    drawing = Drawing(width - 2 * _MARGIN, band)
    drawing.add(String(0, band - 12, _latin(chart.title), fontName="Helvetica-Bold", fontSize=11))
    plot: Any = VerticalBarChart() if chart.kind == "bar" else HorizontalLineChart()
    plot.x, plot.y = 50, 30
    plot.width, plot.height = drawing.width - 60, band - 62
    names = list(chart.series)
    # A missing value is drawn as nothing for a line, as a zero-height bar for bars.
    plot.data = [
        [None if v is None and chart.kind == "line" else float(v or 0) for v in chart.series[name]]
        for name in names
    ]
    # At most ~12 category labels fit under the axis: the others are left blank.
    step = max(1, math.ceil(len(chart.labels) / 12))
    plot.categoryAxis.categoryNames = [label if i % step == 0 else "" for i, label in enumerate(chart.labels)]
    if step > 1:
        plot.categoryAxis.visibleTicks = False  # a tick a period would be a solid bar under the axis
    plot.categoryAxis.labels.fontSize = 6.5
    plot.categoryAxis.labels.angle = 30
    plot.categoryAxis.labels.boxAnchor = "ne"
    plot.valueAxis.valueMin = 0
    top = max((float(v) for values in chart.series.values() for v in values if v is not None), default=0.0)
    if top > 0:
        # A round top (99,618 → 100,000) in five steps, so the tallest bar meets a labelled line.
        unit = 10 ** math.floor(math.log10(top))
        rounded = math.ceil(top / unit * 2) / 2 * unit
        plot.valueAxis.valueMax = rounded
        plot.valueAxis.valueStep = rounded / 5
    plot.valueAxis.labels.fontSize = 7
    plot.valueAxis.labelTextFormat = lambda value: f"{value:,.0f}"
    plot.valueAxis.visibleGrid = True
    plot.valueAxis.gridStrokeColor = colors.Color(0.85, 0.85, 0.85)
    for index in range(len(names)):
        colour = colors.Color(*_SERIES_COLOURS[index % len(_SERIES_COLOURS)])
        if chart.kind == "bar":
            plot.bars[index].fillColor = colour
            plot.bars[index].strokeColor = None
        else:
            plot.lines[index].strokeColor = colour
            plot.lines[index].strokeWidth = 1.5
    if chart.kind == "bar":
        plot.groupSpacing = 2
    drawing.add(plot)
    if names:
        legend = Legend()
        legend.x, legend.y = int(drawing.width) - 10, int(band) - 8
        legend.alignment = "right"
        legend.boxAnchor = "ne"
        legend.fontSize = 8
        legend.columnMaximum = 1
        legend.deltax = 60
        legend.colorNamePairs = [
            (colors.Color(*_SERIES_COLOURS[i % len(_SERIES_COLOURS)]), _latin(name))
            for i, name in enumerate(names)
        ]
        drawing.add(legend)
    renderPDF.draw(drawing, canvas, _MARGIN, y - band)
    return y - band - 4


def _table(canvas: Canvas, table: ReportTable, y: float, width: float) -> None:
    """The table's first rows that fit above the bottom margin, and how many of how many they are."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(_MARGIN, y, _latin(table.title))
    y -= 6
    fits = max(0, int((y - _MARGIN - 14) // _ROW) - 1)  # the header row, and the "shown" line
    shown = table.rows[:fits]
    available = width - 2 * _MARGIN
    weights = [2.0 if column.type == "text" else 1.0 for column in table.columns]
    widths = [available * w / sum(weights) for w in weights]

    def fit(text: str, font: str, size: float, room: float) -> str:
        while text and stringWidth(text, font, size) > room:
            text = text[:-2] + "…" if len(text) > 2 else ""
        return text

    def draw_row(cells: list[str], top: float, font: str, right: list[bool]) -> None:
        canvas.setFont(font, 8)
        x = _MARGIN
        for text, room, align_right in zip(cells, widths, right, strict=True):
            text = fit(text, font, 8, room - 6)
            if align_right:
                canvas.drawRightString(x + room - 3, top - 9.5, text)
            else:
                canvas.drawString(x + 3, top - 9.5, text)
            x += room

    numeric = [column.type not in ("text", "date") for column in table.columns]
    canvas.setFillColorRGB(0.91, 0.93, 0.96)
    canvas.rect(_MARGIN, y - _ROW, available, _ROW, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    draw_row([_latin(column.label) for column in table.columns], y, "Helvetica-Bold", numeric)
    y -= _ROW
    for index, row in enumerate(shown):
        if index % 2:
            canvas.setFillColorRGB(0.97, 0.97, 0.97)
            canvas.rect(_MARGIN, y - _ROW, available, _ROW, stroke=0, fill=1)
            canvas.setFillColorRGB(0, 0, 0)
        cells = [pdf_cell(cell, column.type) for cell, column in zip(row, table.columns, strict=True)]
        draw_row(cells, y, "Helvetica", numeric)
        y -= _ROW
    canvas.setFont("Helvetica-Oblique", 8)
    rest = "" if len(shown) == len(table.rows) else "; every row is in the CSV and XLSX formats"
    canvas.drawString(_MARGIN, y - 11, f"{len(shown):,} of {len(table.rows):,} rows shown{rest}.")
