"""GET /dashboard/kpis's use case over the shared data: the lake of the lake reports' tests (the shared
retail ERP's days from 3 to 23 January 2011 curated into real Parquet, a few checkout orders on the
web, a catalogue giving each SKU a category), the night's `rollups` product run for each of its days,
then the KPIs of 17 to 23 January against the week before, under combined filters. Every figure is
checked against plain Python over the curated order lines (read back with the Parquet codec, not
through the rollups or the KPI code), by the rules tandem.logic.lake.dashboard documents: sale lines
make revenue, orders and units; returns are counted apart; revenue in the tenant's currency (GBP, the
ERP's and the checkout's own); under a filter and in the breakdowns an order counts once per
(channel, country, category) cell it has a line in."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tandem.adapters.parquet_duckdb import DuckDbParquet
from tandem.logic.dashboard_kpis import DashboardDeps, RollupCache, dashboard_kpis
from tandem.logic.lake.dashboard import make_rollups
from tandem.logic.lake.intake import curation_deps, tenant_config
from tandem.logic.lake.nightly import NightDeps, intake_deps
from tandem.logic.lake.sources import tenant_fx
from tandem.models.dashboard import BreakdownRow, HourCounters, KpiAnswer, KpiQuery, SeriesPoint
from tandem.models.records import ReportFilters
from tests.fakes import FakeOrders, FakeRollupStore
from tests.integration.test_lake_reports import (
    CATALOGUE_DAY,
    CHANNELS,
    LAKE_DAYS,
    Lake,
    _lines,
    lake,
    pytestmark,
)

__all__ = ["lake", "pytestmark"]  # the lake reports' lake (21 ERP days, checkout orders, a catalogue)
ZONE = ZoneInfo("Europe/London")
START, END = date(2011, 1, 17), date(2011, 1, 23)
PREV_START, PREV_END = date(2011, 1, 10), date(2011, 1, 16)
CLOCK = datetime(2011, 1, 24, 10, tzinfo=UTC)  # the morning after the last night
CENT, RATIO = Decimal("0.01"), Decimal("0.0001")
FILTERS = [
    ReportFilters(),
    ReportFilters(channel="store"),
    ReportFilters(channel="store", country="United Kingdom"),
    ReportFilters(channel="store", country="United Kingdom", category="kitchen"),
]


class NoLive:
    """Live counters with no hour: every day of the periods is rolled up."""

    def hours(self, tenant_id: str, start: datetime, end: datetime) -> list[HourCounters]:  # noqa: ARG002
        return []


@dataclass
class Rolled:
    lake: Lake
    store: FakeRollupStore
    lines: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def rolled(lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> Rolled:
    """The night's `rollups` product for every lake day, into an in-memory store; and the curated
    lines, read independently, each with the category the catalogue gives (unknown if it has none)."""
    night = NightDeps(
        raw=lake.objects,
        objects=lake.objects,
        parquet=DuckDbParquet(work_dir=str(tmp_path_factory.mktemp("rollups"))),
        orders=FakeOrders([]),
        zone=ZONE,
    )
    curation = curation_deps("acme", intake_deps(night))
    fx = tenant_fx(tenant_config("acme", lake.objects))
    store = FakeRollupStore()
    for day in LAKE_DAYS:
        make_rollups("acme", day, curation, store, fx, CHANNELS)
    catalogue = lake.objects.get(f"raw/acme/erp_products/{CATALOGUE_DAY}/catalogue.csv")
    assert catalogue is not None
    categories = {
        row["product_id"]: row["product_category_name"]
        for row in csv.DictReader(io.StringIO(catalogue.decode()))
    }
    lines = _lines(lake, [d for d in LAKE_DAYS if PREV_START <= d <= END])
    for line in lines:
        line["category"] = categories.get(str(line["sku"]), "unknown")
        line["country"] = str(line["country"] or "unknown")
    return Rolled(lake, store, lines)


def _ask(rolled: Rolled, filters: ReportFilters) -> KpiAnswer:
    deps = DashboardDeps(
        rollups=rolled.store,
        live=NoLive(),
        objects=rolled.lake.objects,
        zone=ZONE,
        clock=lambda: CLOCK,
        cache=RollupCache(),
    )
    query = KpiQuery.model_validate(
        {"from": START, "to": END, "compare": "previous_period", **filters.model_dump(exclude_none=True)}
    )
    return dashboard_kpis("acme", query, deps)


# ---------------------------------------------------------------- the independent reading
@dataclass
class Figures:
    revenue: Decimal = Decimal(0)
    orders: set[tuple[str, ...]] = field(default_factory=set)  # whole orders (unfiltered)
    cell_orders: set[tuple[str, ...]] = field(default_factory=set)  # (order, cell): filtered
    units: int = 0
    returned_units: int = 0

    def order_count(self, filtered: bool) -> int:
        return len(self.cell_orders) if filtered else len(self.orders)


def _kept(line: dict[str, Any], filters: ReportFilters) -> bool:
    return all(
        wanted is None or line[name] == wanted
        for name, wanted in (
            ("channel", filters.channel),
            ("country", filters.country),
            ("category", filters.category),
        )
    )


def _figures(lines: list[dict[str, Any]], days: set[date], key: str | None = None) -> dict[Any, Figures]:
    """Figures per `key` (a line's field; None: one group) of the lines of the days."""
    groups: dict[Any, Figures] = defaultdict(Figures)
    for line in lines:
        if line["day"] not in days or line["kind"] not in ("sale", "return"):
            continue
        group = groups[None if key is None else line[key]]
        if line["kind"] == "return":
            group.returned_units -= int(line["quantity"])
            continue
        assert line["currency"] == "GBP"  # the tenant's currency: no conversion to check
        order = (str(line["source"]), str(line["order_id"]))
        group.revenue += Decimal(str(line["amount"]))
        group.units += int(line["quantity"])
        group.orders.add(order)
        group.cell_orders.add((*order, line["channel"], line["country"], line["category"]))
    return groups


def _days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _ratio(part: Decimal | int, whole: Decimal | int, places: Decimal = RATIO) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(places, rounding=ROUND_HALF_EVEN) if whole else None


def _change(value: Decimal | int, previous: Decimal | int) -> Decimal | None:
    return _ratio(Decimal(value) - Decimal(previous), previous) if previous else None


# ---------------------------------------------------------------- the checks
@pytest.mark.parametrize(
    "filters", FILTERS, ids=lambda f: "+".join(f.model_dump(exclude_none=True)) or "none"
)
def test_kpis_match_the_curated_lines(rolled: Rolled, filters: ReportFilters) -> None:
    filtered = filters != ReportFilters()
    lines = [line for line in rolled.lines if _kept(line, filters)]
    now = _figures(lines, _days(START, END)).get(None, Figures())
    before = _figures(lines, _days(PREV_START, PREV_END)).get(None, Figures())
    assert now.units
    assert before.units
    assert filtered or (now.returned_units and before.returned_units)  # returns to count

    answer = _ask(rolled, filters)

    assert answer.as_of.rollups == LAKE_DAYS[-1]
    assert (answer.comparison.date_from, answer.comparison.date_to) == (PREV_START, PREV_END)
    kpis = answer.kpis
    revenue, previous_revenue = _cents(now.revenue), _cents(before.revenue)
    orders, previous_orders = now.order_count(filtered), before.order_count(filtered)
    assert (kpis.revenue.value, kpis.revenue.previous) == (revenue, previous_revenue)
    assert kpis.revenue.change == _change(revenue, previous_revenue)
    assert (kpis.orders.value, kpis.orders.previous) == (orders, previous_orders)
    assert kpis.orders.change == _change(orders, previous_orders)
    assert (kpis.units.value, kpis.units.previous) == (now.units, before.units)
    assert kpis.units.change == _change(now.units, before.units)
    assert kpis.average_order_value.value == _ratio(revenue, orders, CENT)
    assert kpis.average_order_value.previous == _ratio(previous_revenue, previous_orders, CENT)
    assert kpis.return_rate.value == _ratio(now.returned_units, now.units)
    assert kpis.return_rate.previous == _ratio(before.returned_units, before.units)
    if filtered:  # spend is not attributable to a channel, country or category
        assert kpis.ad_spend.value is None
        assert kpis.roas.value is None

    by_day = _figures(lines, _days(START, END), "day")
    assert answer.series == [
        SeriesPoint(
            start=day.isoformat(),
            revenue=_cents(by_day[day].revenue),
            orders=by_day[day].order_count(filtered),
            units=by_day[day].units,
        )
        for day in sorted(_days(START, END))
    ]

    for name in ("channel", "country"):
        groups = _figures(lines, _days(START, END), name)
        expected = [
            BreakdownRow(key=key, revenue=_cents(g.revenue), orders=len(g.cell_orders), units=g.units)
            for key, g in sorted(groups.items(), key=lambda kv: (-kv[1].revenue, -kv[1].units, kv[0]))
            if g.units
        ]
        assert getattr(answer.breakdowns, name) == expected


def test_the_filters_narrow_and_an_order_in_two_categories_counts_in_each(rolled: Rolled) -> None:
    """The filters of the test are not vacuous on this data, and the shared data has orders with
    lines in several categories: the filtered order counts are per cell, not per order."""
    answers = [_ask(rolled, filters) for filters in FILTERS]
    revenues = [a.kpis.revenue.value for a in answers]
    assert all(r is not None for r in revenues)
    assert revenues == sorted(revenues, reverse=True)
    assert len(set(revenues)) == len(FILTERS)
    store = answers[1].kpis.orders.value
    store_lines = [line for line in rolled.lines if line["channel"] == "store"]
    per_order = _figures(store_lines, _days(START, END)).get(None, Figures())
    assert store == len(per_order.cell_orders) > len(per_order.orders)


def test_the_breakdowns_name_only_what_the_period_has(rolled: Rolled) -> None:
    # The cached index spans the comparison period too: Cyprus and Israel sold only on 10 and 12
    # January, and must not be rows of zeros in 17-23 January's breakdown.
    answer = _ask(rolled, ReportFilters())
    in_period = [line for line in rolled.lines if START <= line["day"] <= END]
    for name in ("channel", "country"):
        assert {row.key for row in getattr(answer.breakdowns, name)} <= {line[name] for line in in_period}
