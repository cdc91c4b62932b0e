"""How long and how much memory each report format takes to write, for a report of many lines.

    .venv/bin/python -m bench.report_formats [--size smoke|full]

The report is a ReportDocument (tandem.models.reports) whose main table has N lines (a day, a SKU,
orders, units, revenue, a share), with figures and a year-long line chart: what a large
product_performance-like report hands the renderers. Each format is written by the worker's adapter
(tandem.adapters.report_renderers.LibraryReportRenderer) in this one process: no AWS, no S3 put.
JSON is the baseline of the ratios. Prints a table and writes bench/results/report_formats.json.
"""

from __future__ import annotations

import gc
import platform
import random
import statistics
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.cli import command_line
from tandem.adapters.report_renderers import LibraryReportRenderer
from tandem.models.records import ReportFormat
from tandem.models.reports import (
    ReportChart,
    ReportColumn,
    ReportDocument,
    ReportFigure,
    ReportTable,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "report_formats.json"
SIZES: dict[str, dict[str, int]] = {
    "smoke": {"lines": 5_000, "runs": 3},
    "full": {"lines": 100_000, "runs": 5},
}
BASELINE = ReportFormat.JSON


def build_document(lines: int, seed: int = 11) -> ReportDocument:
    """A year of (day, SKU) lines, deterministic for a seed."""
    rng = random.Random(seed)
    start = date(2026, 1, 1)
    skus = [f"{rng.randrange(10_000, 99_999)}{rng.choice('ABCDEFGH ')}".strip() for _ in range(4_000)]
    rows: list[list[Any]] = []
    daily: dict[date, Decimal] = {}
    for index in range(lines):
        day = start + timedelta(days=index * 365 // lines)
        units = rng.randint(1, 144)
        revenue = (Decimal(rng.randint(29, 1_695)) / 100 * units).quantize(Decimal("0.01"))
        rows.append([day, skus[index % len(skus)], rng.randint(1, 12), units, revenue, Decimal("0")])
        daily[day] = daily.get(day, Decimal("0")) + revenue
    total = sum(daily.values(), Decimal("0"))
    for row in rows:
        row[5] = (row[4] / total).quantize(Decimal("0.000001"))
    columns = [
        ReportColumn(name="day", label="Day", type="date"),
        ReportColumn(name="sku", label="SKU", type="text"),
        ReportColumn(name="orders", label="Orders", type="integer"),
        ReportColumn(name="units", label="Units", type="integer"),
        ReportColumn(name="revenue", label="Revenue", type="money"),
        ReportColumn(name="share", label="Revenue share", type="percent"),
    ]
    days = sorted(daily)
    return ReportDocument(
        kind="product_performance",
        tenant_id="bench",
        title="Product performance",
        date_from=days[0],
        date_to=days[-1],
        filters={"channel": "web"},
        currency="GBP",
        figures=[
            ReportFigure(name="lines", label="Lines", type="integer", value=lines),
            ReportFigure(name="revenue", label="Revenue", type="money", value=total),
        ],
        tables=[ReportTable(name="lines", title="Lines", columns=columns, rows=rows)],
        chart=ReportChart(
            title="Revenue by day",
            kind="line",
            labels=[d.isoformat() for d in days],
            series={"GBP": [daily[d] for d in days]},
        ),
    )


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def measure(
    document: ReportDocument, format: ReportFormat, runs: int, renderer: LibraryReportRenderer
) -> dict[str, Any]:
    """Median and p95 of `runs` timed renders (after one warm-up, which loads the library), then
    one render under tracemalloc for the peak of Python allocations."""
    body = renderer.render(document, format).body  # warm-up: imports, font metrics, caches
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        rendered = renderer.render(document, format)
        times.append((time.perf_counter() - started) * 1000)
        assert rendered.body == body or format is ReportFormat.XLSX  # XLSX holds its own timestamps
    gc.collect()
    tracemalloc.start()
    renderer.render(document, format)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "runs": runs,
        "median_ms": statistics.median(times),
        "p95_ms": _percentile(times, 95),
        "min_ms": min(times),
        "peak_mib": peak / 2**20,
        "bytes": len(body),
    }


def run(size_name: str) -> dict[str, Any]:
    size = SIZES[size_name]
    started = time.perf_counter()
    document = build_document(size["lines"])
    built_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmpdir:
        renderer = LibraryReportRenderer(tmpdir)
        formats = {f.value: measure(document, f, size["runs"], renderer) for f in ReportFormat}
    base = formats[BASELINE.value]
    for figures in formats.values():
        figures["ratio_median_over_json"] = figures["median_ms"] / base["median_ms"]
        figures["ratio_peak_over_json"] = figures["peak_mib"] / base["peak_mib"]
    return {
        "size_name": size_name,
        "size": size,
        "machine": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "system": platform.system(),
        },
        "document_built_s": built_s,
        "formats": formats,
    }


def report(results: dict[str, Any]) -> None:
    m, size = results["machine"], results["size"]
    print(
        f"\nTandem report formats benchmark, size {results['size_name']}:"
        f" Python {m['python']}, {m['machine']},"
        f" a report of {size['lines']:,} lines, {size['runs']} timed runs a format\n"
    )
    print(
        f"  {'format':<6} {'median ms':>10} {'p95 ms':>10} {'peak MiB':>9} {'size KiB':>10}"
        f" {'x json (time)':>14} {'x json (memory)':>16}"
    )
    for name, f in results["formats"].items():
        print(
            f"  {name:<6} {f['median_ms']:>10,.1f} {f['p95_ms']:>10,.1f} {f['peak_mib']:>9,.1f}"
            f" {f['bytes'] / 1024:>10,.0f}"
            f" {f['ratio_median_over_json']:>14,.1f} {f['ratio_peak_over_json']:>16,.1f}"
        )
    print("\n  ratio of medians and of peaks: each format ÷ json (the document's own JSON dump).")
    print(
        "  peak: Python allocations while rendering (tracemalloc);"
        " XLSX's rows spooled to /tmp are not memory."
    )


def main(argv: list[str] | None = None) -> None:
    command_line(argv, "report_formats", __doc__ or "", SIZES, run, report, RESULTS)


if __name__ == "__main__":
    main()
