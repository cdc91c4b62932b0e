"""GET /dashboard/kpis: a tenant's KPIs over a period of local days, from the night's rollups and
today's live counters, against a comparison period.

Where each day comes from:
- the days up to and including the last day the night rolled up (RollupStore.stamp) come from the
  rollups (every source of the lake: the ERP's exports, the checkout's orders …);
- later days (today, and yesterday until the night has run) from the live counters: the hours of
  confirmed checkouts (LiveCounterReader), each hour counted on the local day its start falls on
  (tandem.logic.sales.period_bounds: 23- and 25-hour days count whole). In a zone whose offset is
  not whole hours, an hour across midnight counts on the day it starts.

What the figures mean:
- revenue is in the tenant's currency (LakeConfig.currency). Rollups carry it converted; the
  live counters count as sold, converted here with the tenant's dated FX rates (LakeConfig.fx_rates,
  the night's own table). An amount without a rate makes the figure it is part of null (unknown),
  never a guess; `per_currency=true` gives every amount as sold (revenue_by_currency);
- orders: unfiltered, each order once (the rollups' day count, the counters' hour totals). Under a
  filter and in the breakdowns an order counts once per (channel, country, category) cell it has a
  line in: one with lines in two categories counts in each, so those can exceed the total;
- units, AOV = revenue / orders; return_rate = returned units / units sold, and new vs returning
  customers: of the rolled-up days only (the counters know neither returns nor customers' history);
- ad spend and ROAS (revenue / spend): the ad accounts' spend as the rollups hold it (in
  LakeConfig.ads_currency, converted when it is another currency); null without ad data, and under
  a filter (spend is not attributable to a channel, country or category: orders carry no ad click);
- top products: the 10 best by revenue (then units, then SKU). The night's per-SKU sales are not cut
  by cell, so with a filter and rolled-up days in the period the list is empty and the answer says
  why (top_products_unavailable) rather than give a top 10 that ignores the filter; SKU orders are
  the rolled-up days' (the counters count units and revenue per SKU only);
- the series has every bucket of the period (zeros included): a day, an ISO week (named by its
  Monday) or a month (named by its 1st), each counting only the period's days. At hour granularity
  the buckets are the local hours; the rollups have no time of day, so the hours of rolled-up days
  are null and the live days' hours are the counters';
- the comparison: previous_period is as many days just before `from`; previous_year the same dates
  a year earlier (29 February → 28 February).

Speed (bench/dashboard.py): rollup days are immutable until a night rewrites them, so a tenant's
rollups are kept in the warm process (`RollupCache`, LRU, bounded by tenants and by entries) under
the stamp the night bumps (RollupStore.stamp, one read per request), read a month at a time into
compact arrays: per (channel, country, category) cell, per (channel, country) and for the whole shop,
and per SKU, prefix sums over the days, so a period's totals under any filter are two bisections per
series over a few dozen series. What a filter's series and a period's SKU ranking need is built once
per stamp and kept (bounded). The live counters are read on every request, never kept. The tenant's
lake configuration and stock alerts (documents in the data bucket) are kept for CONTEXT_TTL.
"""

import gc
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from tandem.logic.concurrency import in_parallel
from tandem.logic.errors import InvalidRequestError, NotFoundError
from tandem.logic.inventory import InventoryReadDeps, latest_suggestions
from tandem.logic.lake.connectors import RowRejected
from tandem.logic.lake.fx import FxTable
from tandem.logic.lake.intake import tenant_config
from tandem.logic.lake.sources import tenant_fx
from tandem.logic.ports import Clock, LakeObjects, LiveCounterReader, RollupStore
from tandem.logic.sales import period_bounds
from tandem.models.dashboard import (
    AsOf,
    BreakdownRow,
    Breakdowns,
    Comparison,
    CountKpi,
    DayRollup,
    Filters,
    HourCounters,
    KpiAnswer,
    KpiQuery,
    Kpis,
    KpiStockAlert,
    MoneyKpi,
    Period,
    RatioKpi,
    RollupCell,
    RollupStamp,
    SeriesPoint,
    TopProduct,
)
from tandem.models.lake_config import LakeConfig

MAX_DAYS = 1096  # three years
HOUR_MAX_DAYS = 7
DEFAULT_DAYS = 30
TOP = 10
# Money is summed as integers of 1/10,000 of the currency: the rollups' precision (fx.PLACES).
SCALE = 10_000
CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
# The live counters are read together with the stamp (one round trip) for the days a night may not
# have rolled up yet; a night later than that costs a second read.
LIVE_LOOKBACK_DAYS = 3
CONTEXT_TTL = timedelta(minutes=5)
# A tenant's cached rollups grow to cover what was asked (a year, then its previous year …) up to
# this many days; beyond, the index is rebuilt for the request alone.
MAX_SPAN = 2 * MAX_DAYS + 366
# Rollups are read and indexed this many days at a time: only a chunk's parsed models live at once
# (two years of a 1,000-SKU shop parsed whole would be about a GB of pydantic objects).
LOAD_CHUNK_DAYS = 31

Filter = tuple[str | None, str | None, str | None]
Cell = tuple[str, str, str]
NO_FILTER: Filter = (None, None, None)
# A period's series points of its rolled-up days, and their exact sums (revenue, unknown, orders, units).
Rolled = tuple[list[SeriesPoint], dict[date, list[int]]]

# Measures of a cell, in this order (its revenue by currency as sold is kept beside them).
REV, REV_UNKNOWN, ORDERS, UNITS, RET_UNITS, NEW, RETURNING = range(7)
CELL_MEASURES = 7
SKU_UNITS, SKU_ORDERS, SKU_REV, SKU_REV_UNKNOWN = range(4)


# ---------------------------------------------------------------- the period
@dataclass(frozen=True)
class Periods:
    start: date
    end: date
    prev_start: date
    prev_end: date
    today: date

    @property
    def first(self) -> date:
        return min(self.start, self.prev_start)

    @property
    def last(self) -> date:
        return max(self.end, self.prev_end)

    def days(self) -> int:
        return (self.end - self.start).days + 1

    def wants(self, day: date) -> bool:
        return self.start <= day <= self.end or self.prev_start <= day <= self.prev_end


def _refuse(message: str) -> InvalidRequestError:
    # A rule across parameters: no schema states it, so the detail names the query.
    return InvalidRequestError(message, [{"loc": ["query"], "msg": message, "type": "invalid_period"}])


def year_before(day: date) -> date:
    return (
        day.replace(year=day.year - 1, day=28)
        if (day.month, day.day) == (2, 29)
        else day.replace(year=day.year - 1)
    )


def resolve_periods(query: KpiQuery, today: date, zone: ZoneInfo) -> Periods:
    """The period and its comparison, defaults applied; InvalidRequestError (422) for the rules the
    query's schema cannot state."""
    try:
        end = query.date_to or today
        start = query.date_from or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise _refuse("'from' must not be after 'to'")
        days = (end - start).days + 1
        if days > MAX_DAYS:
            raise _refuse(f"the period is at most {MAX_DAYS} days")
        if query.granularity == "hour" and days > HOUR_MAX_DAYS:
            raise _refuse(f"granularity=hour is for periods of at most {HOUR_MAX_DAYS} days")
        if query.compare == "previous_period":
            prev_end = start - timedelta(days=1)
            prev_start = prev_end - timedelta(days=days - 1)
        else:
            prev_start, prev_end = year_before(start), year_before(end)
        periods = Periods(start, end, prev_start, prev_end, today)
        period_bounds(periods.first, periods.last, zone)  # representable in UTC
        return periods
    except (OverflowError, ValueError):
        raise _refuse("the period lies outside the dates this API can count") from None


# ---------------------------------------------------------------- the rollups, indexed
class _Series:
    """One cell's (or SKU's) measures on the days it has any, as prefix sums appended a day at a
    time: a range's totals are two bisections and one subtraction per measure. Compact arrays, so
    two years of a 1,000-SKU shop stay in tens of MB."""

    __slots__ = ("by_currency", "days", "prefix")

    def __init__(self, measures: int) -> None:
        self.days = array("i")
        self.prefix = [array("q", [0]) for _ in range(measures)]
        self.by_currency: dict[str, array[int]] = {}  # revenue as sold, prefix sums too

    def append(self, day: int, row: Sequence[int], revenue: dict[str, int] | None = None) -> None:
        before = len(self.days)
        self.days.append(day)
        for prefix, value in zip(self.prefix, row, strict=True):
            prefix.append(prefix[-1] + value)
        if revenue is not None:
            by_currency = self.by_currency
            for currency in revenue:
                if currency not in by_currency:
                    by_currency[currency] = array("q", [0] * (before + 1))
            for currency, prefix in by_currency.items():
                prefix.append(prefix[-1] + revenue.get(currency, 0))

    def span(self, a: int, b: int) -> tuple[int, int]:
        return bisect_left(self.days, a), bisect_right(self.days, b)

    def total(self, a: int, b: int) -> list[int]:
        i, j = self.span(a, b)
        return [p[j] - p[i] for p in self.prefix]

    def currency_total(self, a: int, b: int) -> dict[str, int]:
        i, j = self.span(a, b)
        return {currency: p[j] - p[i] for currency, p in self.by_currency.items() if p[j] != p[i]}

    def entries(self) -> int:
        return len(self.days)


def _scaled(amount: Decimal) -> int:
    return int((amount * SCALE).to_integral_value(ROUND_HALF_EVEN))


@dataclass
class _Daily:
    """A filter's per-day flow over the index's days (dense): what the series reads."""

    revenue: list[int]
    unknown: list[int]
    orders: list[int]
    units: list[int]


class RollupIndex:
    """A tenant's rollups of the days lo..hi, indexed for any filter (see the module's docstring).
    Fed in chunks of days (`add`, oldest first), so only a chunk's parsed rollups live at a time."""

    def __init__(self, lo: date, hi: date, stamp: RollupStamp | None) -> None:
        self.lo, self.hi, self.stamp = lo, hi, stamp
        self.n = (hi - lo).days + 1
        self._cells: dict[Cell, _Series] = {}
        self.skus: dict[str, _Series] = {}
        self.day_orders = [0] * self.n
        self.day_ads: list[int | None] = [None] * self.n
        self.rolled_days = array("i")  # the offsets of the days with a rollup
        self.entries = 0
        self.keys: list[Cell] = []
        self.cells: list[_Series] = []
        # The cells summed per (channel, country) and in all: a filter without a category, and the
        # breakdowns, read a few dozen of these rather than every cell.
        self._pairs: dict[tuple[str, str], _Series] = {}
        self.whole = _Series(CELL_MEASURES)
        self._matching: dict[Filter, list[tuple[str, str, _Series]]] = {}
        self._ranked: OrderedDict[tuple[int, int], list[tuple[str, list[int]]]] = OrderedDict()
        self._buckets: OrderedDict[tuple[Filter, str, int, int], dict[date, tuple[int, ...]]] = OrderedDict()
        self._ads: tuple[array[int], array[int]] | None = None
        self._points: OrderedDict[tuple[object, ...], Rolled] = OrderedDict()
        self._daily: OrderedDict[Filter, _Daily] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, rollups: Iterable[DayRollup]) -> None:
        for rollup in sorted((r for r in rollups if self.lo <= r.day <= self.hi), key=lambda r: r.day):
            d = (rollup.day - self.lo).days
            if self.rolled_days and d <= self.rolled_days[-1]:
                raise ValueError("rollups must be added oldest first, each day once")
            self.rolled_days.append(d)
            self.day_orders[d] = rollup.orders
            if rollup.ad_spend:
                self.day_ads[d] = sum(_scaled(v) for v in rollup.ad_spend.values())
            self._add_cells(d, rollup.cells)
            for sku in rollup.skus:
                sold = sku.revenue_tenant
                series = self.skus.get(sku.sku) or self.skus.setdefault(sku.sku, _Series(4))
                series.append(
                    d, (sku.units, sku.orders, 0 if sold is None else _scaled(sold), int(sold is None))
                )
                self.entries += 1
            self.entries += len(rollup.cells)
        self.keys = sorted(self._cells)
        self.cells = [self._cells[key] for key in self.keys]
        self._matching.clear()
        self._daily.clear()
        self._ranked.clear()
        self._buckets.clear()
        self._points.clear()
        self._ads = None

    def _add_cells(self, d: int, cells: Sequence[RollupCell]) -> None:
        """A day's cells, each to its series, and summed into the (channel, country) and whole sums."""
        pairs: dict[tuple[str, str], list[tuple[list[int], dict[str, int]]]] = {}
        for cell in cells:
            revenue_tenant = cell.revenue_tenant
            row = [
                0 if revenue_tenant is None else _scaled(revenue_tenant),
                int(revenue_tenant is None),
                cell.orders,
                cell.units,
                cell.returned_units,
                cell.new_customers,
                cell.returning_customers,
            ]
            revenue = {c: _scaled(v) for c, v in cell.revenue.items()}
            key = (cell.channel, cell.country, cell.category)
            series = self._cells.get(key) or self._cells.setdefault(key, _Series(CELL_MEASURES))
            series.append(d, row, revenue)
            pairs.setdefault((cell.channel, cell.country), []).append((row, revenue))
        every: list[tuple[list[int], dict[str, int]]] = []
        for pair, parts in pairs.items():
            summed = _summed(parts)
            series = self._pairs.get(pair) or self._pairs.setdefault(pair, _Series(CELL_MEASURES))
            series.append(d, *summed)
            every.append(summed)
        if every:
            self.whole.append(d, *_summed(every))

    def covers(self, start: date, end: date) -> bool:
        return self.lo <= start and end <= self.hi

    def offset(self, day: date) -> int:
        return (day - self.lo).days

    def matching(self, filters: Filter) -> list[tuple[str, str, _Series]]:
        """What the filter keeps, as (channel, country, series): the (channel, country) sums when the
        filter names no category, else the category's cells."""
        if filters not in self._matching:
            if filters[2] is None:
                kept = [(c, k, s) for (c, k), s in self._pairs.items() if _keeps(filters, (c, k, ""))]
            else:
                kept = [
                    (c, k, s)
                    for (c, k, g), s in zip(self.keys, self.cells, strict=True)
                    if _keeps(filters, (c, k, g))
                ]
            self._matching[filters] = kept
        return self._matching[filters]

    def buckets(self, filters: Filter, granularity: str, a: int, b: int) -> dict[date, tuple[int, ...]]:
        """The filter's (revenue, unknown, orders, units) per bucket of the days a..b; kept (LRU)."""
        key = (filters, granularity, a, b)
        with self._lock:
            if key in self._buckets:
                self._buckets.move_to_end(key)
                return self._buckets[key]
        daily = self.daily(filters)
        sums: dict[date, list[int]] = {}
        for d in range(a, b + 1):
            bucket = sums.setdefault(_bucket_start(self.lo + timedelta(days=d), granularity), [0, 0, 0, 0])
            bucket[0] += daily.revenue[d]
            bucket[1] += daily.unknown[d]
            bucket[2] += daily.orders[d]
            bucket[3] += daily.units[d]
        kept = {start: tuple(values) for start, values in sums.items()}
        with self._lock:
            self._buckets[key] = kept
            while len(self._buckets) > 64:
                self._buckets.popitem(last=False)
        return kept

    def ranked_skus(self, a: int, b: int) -> list[tuple[str, list[int]]]:
        """Every SKU sold in the days a..b with its (units, orders, revenue, unknown), best first (by
        revenue, units, SKU); kept per range (a bounded LRU)."""
        with self._lock:
            if (a, b) in self._ranked:
                self._ranked.move_to_end((a, b))
                return self._ranked[(a, b)]
        figures = [(sku, series.total(a, b)) for sku, series in self.skus.items()]
        ranked = sorted(
            ((sku, v) for sku, v in figures if v[SKU_UNITS] or v[SKU_REV] or v[SKU_REV_UNKNOWN]),
            key=lambda item: (-item[1][SKU_REV], -item[1][SKU_UNITS], item[0]),
        )
        with self._lock:
            self._ranked[(a, b)] = ranked
            while len(self._ranked) > 16:
                self._ranked.popitem(last=False)
        return ranked

    def points(self, key: tuple[object, ...]) -> "Rolled | None":
        with self._lock:
            if key in self._points:
                self._points.move_to_end(key)
                return self._points[key]
        return None

    def keep_points(
        self, key: tuple[object, ...], points: tuple[list[SeriesPoint], dict[date, list[int]]]
    ) -> None:
        with self._lock:
            self._points[key] = points
            while len(self._points) > 64:
                self._points.popitem(last=False)

    def ads_total(self, a: int, b: int) -> tuple[int, int]:
        """(the spend of the days a..b, how many of them have ad data), from prefix sums."""
        with self._lock:
            if self._ads is None:
                spend, days = array("q", [0]), array("i", [0])
                for amount in self.day_ads:
                    spend.append(spend[-1] + (amount or 0))
                    days.append(days[-1] + (amount is not None))
                self._ads = (spend, days)
        spend, days = self._ads
        return spend[b + 1] - spend[a], days[b + 1] - days[a]

    def has_rollup(self, a: int, b: int) -> bool:
        return bisect_right(self.rolled_days, b) > bisect_left(self.rolled_days, a)

    def daily(self, filters: Filter) -> _Daily:
        """The filter's flow per day, built once per index (a bounded LRU of filters)."""
        with self._lock:
            if filters in self._daily:
                self._daily.move_to_end(filters)
                return self._daily[filters]
        flow = _Daily([0] * self.n, [0] * self.n, [0] * self.n, [0] * self.n)
        chosen = [self.whole] if filters == NO_FILTER else [s for _, _, s in self.matching(filters)]
        for series in chosen:
            for target, measure in (
                (flow.revenue, REV),
                (flow.unknown, REV_UNKNOWN),
                (flow.orders, ORDERS),
                (flow.units, UNITS),
            ):
                prefix = series.prefix[measure]
                for i, d in enumerate(series.days):
                    target[d] += prefix[i + 1] - prefix[i]
        if filters == NO_FILTER:
            flow.orders = self.day_orders  # each order once
        with self._lock:
            self._daily[filters] = flow
            while len(self._daily) > 64:
                self._daily.popitem(last=False)
        return flow


def _summed(parts: Sequence[tuple[list[int], dict[str, int]]]) -> tuple[list[int], dict[str, int]]:
    """Rows and revenues by currency added up (the measures summed in C, column by column)."""
    if len(parts) == 1:
        return parts[0]
    revenue: dict[str, int] = {}
    for _, amounts in parts:
        for currency, amount in amounts.items():
            revenue[currency] = revenue.get(currency, 0) + amount
    return [sum(column) for column in zip(*(row for row, _ in parts), strict=True)], revenue


def _keeps(filters: Filter, cell: Cell) -> bool:
    return all(wanted is None or wanted == value for wanted, value in zip(filters, cell, strict=True))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while an index is read: it makes hundreds of thousands of
    objects with no cycles, and the collector's passes over them cost a fifth of a cold read
    (bench/dashboard.py). Reference counting still frees everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class RollupCache:
    """Tenants' rollup indexes in the warm process, under the stamp they were read with (LRU,
    bounded by tenants and by indexed entries); and their configuration and stock alerts for
    CONTEXT_TTL. A stamp that changed (a night wrote) makes the next request read again."""

    def __init__(self, max_tenants: int = 16, max_entries: int = 2_000_000) -> None:
        # An entry (a cell's or a SKU's day) takes 40 to 100 bytes: 2 million, about 150 MB at most of
        # ApiFunction's 512; two years of a 1,000-SKU shop are about 800,000.
        self.max_tenants, self.max_entries = max_tenants, max_entries
        self._indexes: OrderedDict[str, RollupIndex] = OrderedDict()
        self._context: dict[str, tuple[datetime, TenantContext]] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def index(
        self,
        tenant_id: str,
        stamp: RollupStamp | None,
        start: date,
        end: date,
        load: Callable[[date, date], list[DayRollup]],
    ) -> RollupIndex:
        with self._lock:
            cached = self._indexes.get(tenant_id)
            if stamp is not None and cached is not None and cached.stamp == stamp:
                if cached.covers(start, end):
                    self._indexes.move_to_end(tenant_id)
                    self.hits += 1
                    return cached
                lo, hi = min(cached.lo, start), max(cached.hi, end)
                if (hi - lo).days + 1 <= MAX_SPAN:
                    start, end = lo, hi
            self.misses += 1
        index = RollupIndex(start, end, stamp)
        chunk = start
        with _collector_paused():
            while chunk <= end:
                last = min(end, chunk + timedelta(days=LOAD_CHUNK_DAYS - 1))
                index.add(load(chunk, last))
                chunk = last + timedelta(days=1)
        if stamp is None:
            return index  # nothing says when it changes: not kept
        with self._lock:
            self._indexes[tenant_id] = index
            self._indexes.move_to_end(tenant_id)
            while len(self._indexes) > 1 and (
                len(self._indexes) > self.max_tenants
                or sum(i.entries for i in self._indexes.values()) > self.max_entries
            ):
                self._indexes.popitem(last=False)
        return index

    def kept(self, tenant_id: str, now: datetime) -> "TenantContext | None":
        """The tenant's configuration and stock alerts if read less than CONTEXT_TTL ago."""
        with self._lock:
            kept = self._context.get(tenant_id)
        return kept[1] if kept is not None and now - kept[0] < CONTEXT_TTL else None

    def keep(self, tenant_id: str, now: datetime, context: "TenantContext") -> "TenantContext":
        with self._lock:
            self._context[tenant_id] = (now, context)
        return context


@dataclass(frozen=True)
class TenantContext:
    """What the night documents say of the tenant: its lake configuration, its stock alerts."""

    config: LakeConfig
    alerts: list[KpiStockAlert]
    alerts_day: date | None


# ---------------------------------------------------------------- the live counters, by local day
@dataclass
class _Flow:
    revenue: dict[str, Decimal] = field(default_factory=dict)
    orders: int = 0
    units: int = 0

    def add(self, revenue: dict[str, Decimal], orders: int, units: int) -> None:
        for currency, amount in revenue.items():
            self.revenue[currency] = self.revenue.get(currency, Decimal(0)) + amount
        self.orders += orders
        self.units += units


@dataclass
class _LiveDay:
    total: _Flow = field(default_factory=_Flow)
    hours: dict[datetime, _Flow] = field(default_factory=dict)
    channel: dict[str, _Flow] = field(default_factory=dict)
    country: dict[str, _Flow] = field(default_factory=dict)
    skus: dict[str, _Flow] = field(default_factory=dict)


def live_days(
    hours: Iterable[HourCounters], zone: ZoneInfo, filters: Filter, periods: Periods
) -> dict[date, _LiveDay]:
    """The counters' hours of the wanted local days, filtered: unfiltered an hour counts by its
    totals (each order once); under a filter by its matching cells (an hour counted before cells
    existed has none, so it counts for nothing there)."""
    days: dict[date, _LiveDay] = {}
    for hour in hours:
        day = hour.hour.astimezone(zone).date()
        if not periods.wants(day):
            continue
        live = days.setdefault(day, _LiveDay())
        flow = live.hours.setdefault(hour.hour, _Flow())
        if filters == NO_FILTER:
            live.total.add(hour.revenue, hour.orders, hour.units)
            flow.add(hour.revenue, hour.orders, hour.units)
        for cell in hour.cells:
            if filters != NO_FILTER and not _keeps(filters, (cell.channel, cell.country, cell.category)):
                continue
            if filters != NO_FILTER:
                live.total.add(cell.revenue, cell.orders, cell.units)
                flow.add(cell.revenue, cell.orders, cell.units)
            live.channel.setdefault(cell.channel, _Flow()).add(cell.revenue, cell.orders, cell.units)
            live.country.setdefault(cell.country, _Flow()).add(cell.revenue, cell.orders, cell.units)
        for sku in hour.skus:
            if filters == NO_FILTER or _keeps(filters, (sku.channel, sku.country, sku.category)):
                live.skus.setdefault(sku.sku, _Flow()).add(sku.revenue, 0, sku.units)
    return days


def _convert(revenue: dict[str, Decimal], day: date, fx: FxTable) -> tuple[int, int]:
    """(revenue in the tenant's currency times SCALE, how many amounts had no rate)."""
    total = unknown = 0
    for currency, amount in revenue.items():
        try:
            total += _scaled(fx.convert(amount, currency, day))
        except RowRejected:
            unknown += 1
    return total, unknown


# ---------------------------------------------------------------- a period's totals
@dataclass
class _Money:
    value: int = 0
    unknown: int = 0

    def add(self, value: int, unknown: int) -> None:
        self.value += value
        self.unknown += unknown

    def decimal(self) -> Decimal | None:
        return None if self.unknown else _money(self.value)


@dataclass
class _Row:
    revenue: _Money = field(default_factory=_Money)
    orders: int = 0
    units: int = 0


@dataclass
class Totals:
    revenue: _Money = field(default_factory=_Money)
    orders: int = 0
    units: int = 0
    rolled_days: int = 0  # days of the period with a rollup: returns and customers are theirs
    rolled_units: int = 0
    returned_units: int = 0
    new: int = 0
    returning: int = 0
    ad_spend: _Money | None = None  # None: no ad data (or a filter)
    by_currency: dict[str, int] = field(default_factory=dict)
    channel: dict[str, _Row] = field(default_factory=dict)
    country: dict[str, _Row] = field(default_factory=dict)


@dataclass(frozen=True)
class _Sources:
    """Where the request's days come from."""

    index: RollupIndex | None
    last_rolled: date | None
    live: dict[date, _LiveDay]
    fx: FxTable
    ads_currency: str
    filters: Filter

    def rolled_range(self, start: date, end: date) -> tuple[int, int] | None:
        """The index offsets of the period's rolled-up days, if any."""
        if self.index is None or self.last_rolled is None:
            return None
        a, b = max(start, self.index.lo), min(end, self.last_rolled, self.index.hi)
        return (self.index.offset(a), self.index.offset(b)) if a <= b else None


def period_totals(start: date, end: date, src: _Sources) -> Totals:
    totals = Totals()
    rolled = src.rolled_range(start, end)
    if rolled is not None and src.index is not None:
        _add_rolled(totals, src.index, *rolled, src)
    for day, live in sorted(src.live.items()):
        if start <= day <= end and (src.last_rolled is None or day > src.last_rolled):
            _add_live(totals, day, live, src.fx)
    return totals


def _add_rolled(totals: Totals, index: RollupIndex, a: int, b: int, src: _Sources) -> None:
    totals.rolled_days = bisect_right(index.rolled_days, b) - bisect_left(index.rolled_days, a)
    for channel, country, series in index.matching(src.filters):
        v = series.total(a, b)
        totals.revenue.add(v[REV], v[REV_UNKNOWN])
        totals.orders += v[ORDERS]
        totals.units += v[UNITS]
        totals.returned_units += v[RET_UNITS]
        totals.new += v[NEW]
        totals.returning += v[RETURNING]
        for currency, amount in series.currency_total(a, b).items():
            totals.by_currency[currency] = totals.by_currency.get(currency, 0) + amount
        for breakdown, key in ((totals.channel, channel), (totals.country, country)):
            row = breakdown.setdefault(key, _Row())
            row.revenue.add(v[REV], v[REV_UNKNOWN])
            row.orders += v[ORDERS]
            row.units += v[UNITS]
    totals.rolled_units = totals.units
    if src.filters == NO_FILTER:
        totals.orders = sum(index.day_orders[a : b + 1])  # each order once
        totals.ad_spend = _ad_spend(index, a, b, src)


def _add_live(totals: Totals, day: date, live: _LiveDay, fx: FxTable) -> None:
    totals.revenue.add(*_convert(live.total.revenue, day, fx))
    totals.orders += live.total.orders
    totals.units += live.total.units
    for currency, amount in live.total.revenue.items():
        totals.by_currency[currency] = totals.by_currency.get(currency, 0) + _scaled(amount)
    for breakdown, flows in ((totals.channel, live.channel), (totals.country, live.country)):
        for key, flow in flows.items():
            row = breakdown.setdefault(key, _Row())
            row.revenue.add(*_convert(flow.revenue, day, fx))
            row.orders += flow.orders
            row.units += flow.units


def _ad_spend(index: RollupIndex, a: int, b: int, src: _Sources) -> _Money | None:
    if src.ads_currency == src.fx.tenant_currency:
        total, days = index.ads_total(a, b)
        return _Money(total) if days else None
    spend: _Money | None = None
    for d in range(a, b + 1):
        amount = index.day_ads[d]
        if amount is None:
            continue
        spend = spend or _Money()
        if src.ads_currency == src.fx.tenant_currency:
            spend.add(amount, 0)
        else:
            spend.add(
                *_convert({src.ads_currency: Decimal(amount) / SCALE}, index.lo + timedelta(days=d), src.fx)
            )
    return spend


# ---------------------------------------------------------------- the answer's parts
def _money(scaled: int) -> Decimal:
    return (Decimal(scaled) / SCALE).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _ratio(
    numerator: Decimal | int | None, denominator: Decimal | int | None, places: Decimal = RATIO
) -> Decimal | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(places, rounding=ROUND_HALF_EVEN)


def _change(value: Decimal | int | None, previous: Decimal | int | None) -> Decimal | None:
    if value is None or previous is None or previous == 0:
        return None
    return _ratio(Decimal(value) - Decimal(previous), previous)


def _kpis(now: Totals, before: Totals, filtered: bool) -> Kpis:
    def money(get: Callable[[Totals], Decimal | None]) -> MoneyKpi:
        value, previous = get(now), get(before)
        return MoneyKpi(value=value, previous=previous, change=_change(value, previous))

    def count(get: Callable[[Totals], int | None]) -> CountKpi:
        value, previous = get(now), get(before)
        return CountKpi(value=value, previous=previous, change=_change(value, previous))

    def ratio(get: Callable[[Totals], Decimal | None]) -> RatioKpi:
        value, previous = get(now), get(before)
        return RatioKpi(value=value, previous=previous, change=_change(value, previous))

    def rolled(get: Callable[[Totals], int]) -> Callable[[Totals], int | None]:
        return lambda t: get(t) if t.rolled_days else None

    def ads(t: Totals) -> Decimal | None:
        return None if filtered or t.ad_spend is None else t.ad_spend.decimal()

    def roas(t: Totals) -> Decimal | None:
        return _ratio(t.revenue.decimal(), ads(t), CENT)

    return Kpis(
        revenue=money(lambda t: t.revenue.decimal()),
        orders=count(lambda t: t.orders),
        units=count(lambda t: t.units),
        average_order_value=money(lambda t: _ratio(t.revenue.decimal(), t.orders, CENT)),
        return_rate=ratio(lambda t: _ratio(t.returned_units, t.rolled_units) if t.rolled_days else None),
        new_customers=count(rolled(lambda t: t.new)),
        returning_customers=count(rolled(lambda t: t.returning)),
        ad_spend=money(ads),
        roas=ratio(roas),
    )


def _bucket_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def series(periods: Periods, granularity: str, src: _Sources, zone: ZoneInfo) -> list[SeriesPoint]:
    """Every bucket of the period: the rolled-up days' buckets made once per index (cached), then
    the few buckets with live days made again with them."""
    if granularity == "hour":
        return _hour_series(periods, src, zone)
    points, sums = _rolled_points(periods, granularity, src)
    live: dict[date, list[int]] = {}
    for day, counted in src.live.items():
        if periods.start <= day <= periods.end and (src.last_rolled is None or day > src.last_rolled):
            added = live.setdefault(_bucket_start(day, granularity), [0, 0, 0, 0])
            revenue, unknown = _convert(counted.total.revenue, day, src.fx)
            for m, value in enumerate((revenue, unknown, counted.total.orders, counted.total.units)):
                added[m] += value
    if not live:
        return points
    points = list(points)
    position = {start: n for n, start in enumerate(sums)}
    for start, added in live.items():
        points[position[start]] = _point(start, [x + y for x, y in zip(sums[start], added, strict=True)])
    return points


def _rolled_points(periods: Periods, granularity: str, src: _Sources) -> Rolled:
    """The period's buckets with the rolled-up days alone: the points and their exact sums."""
    rolled = src.rolled_range(periods.start, periods.end)
    key = (src.filters, granularity, periods.start, periods.end, rolled)
    cached = src.index.points(key) if src.index is not None else None
    if cached is not None:
        return cached
    sums: dict[date, list[int]] = {}  # revenue, unknown, orders, units
    for n in range(periods.days()):
        sums.setdefault(_bucket_start(periods.start + timedelta(days=n), granularity), [0, 0, 0, 0])
    if rolled is not None and src.index is not None:
        for start, values in src.index.buckets(src.filters, granularity, *rolled).items():
            sums[start] = [x + y for x, y in zip(sums[start], values, strict=True)]
    made = ([_point(start, values) for start, values in sums.items()], sums)
    if src.index is not None:
        src.index.keep_points(key, made)
    return made


def _point(start: date, values: Sequence[int]) -> SeriesPoint:
    revenue, unknown, orders, units = values
    return SeriesPoint(
        start=start.isoformat(), revenue=None if unknown else _money(revenue), orders=orders, units=units
    )


def _hour_series(periods: Periods, src: _Sources, zone: ZoneInfo) -> list[SeriesPoint]:
    start, end = period_bounds(periods.start, periods.end, zone)
    points = []
    hour = start
    while hour < end:
        local = hour.astimezone(zone)
        day = local.date()
        if src.last_rolled is not None and day <= src.last_rolled:
            points.append(SeriesPoint(start=local.isoformat(), revenue=None, orders=None, units=None))
        else:
            live = src.live.get(day)
            flow = live.hours.get(hour) if live is not None else None
            flow = flow or _Flow()
            revenue, unknown = _convert(flow.revenue, day, src.fx)
            points.append(
                SeriesPoint(
                    start=local.isoformat(),
                    revenue=None if unknown else _money(revenue),
                    orders=flow.orders,
                    units=flow.units,
                )
            )
        hour += timedelta(hours=1)
    return points


# Said in the answer (top_products_unavailable) rather than a top 10 that would ignore the filter.
UNFILTERABLE_TOP = (
    "the night's per-SKU sales are not cut by channel, country or category: no top 10 under a filter "
    "for a period with rolled-up days"
)


def top_products(periods: Periods, src: _Sources) -> list[TopProduct] | None:
    rolled = src.rolled_range(periods.start, periods.end)
    if (
        src.filters != NO_FILTER
        and rolled is not None
        and src.index is not None
        and src.index.has_rollup(*rolled)
    ):
        return None  # the rollups' SKU sales are not cut by cell: unknown, not wrong
    live: dict[str, list[int]] = {}  # units, orders, revenue, unknown
    for day, counted in src.live.items():
        if not periods.start <= day <= periods.end or (
            src.last_rolled is not None and day <= src.last_rolled
        ):
            continue
        for sku, flow in counted.skus.items():
            revenue, unknown = _convert(flow.revenue, day, src.fx)
            row = live.setdefault(sku, [0, 0, 0, 0])
            row[SKU_UNITS] += flow.units
            row[SKU_REV] += revenue
            row[SKU_REV_UNKNOWN] += unknown
    # The rolled-up ranking's first TOP + len(live) hold every SKU that can make the top without
    # live sales; the live ones are added to their rolled-up figures.
    figures: dict[str, list[int]] = {}
    if rolled is not None and src.index is not None:
        ranked = src.index.ranked_skus(*rolled)
        figures = {sku: list(v) for sku, v in ranked[: TOP + len(live)]}
        for sku in live.keys() - figures.keys():
            sales = src.index.skus.get(sku)
            if sales is not None:
                figures[sku] = sales.total(*rolled)
    for sku, row in live.items():
        total = figures.setdefault(sku, [0, 0, 0, 0])
        for m in (SKU_UNITS, SKU_REV, SKU_REV_UNKNOWN):
            total[m] += row[m]
    best = sorted(figures.items(), key=lambda item: (-item[1][SKU_REV], -item[1][SKU_UNITS], item[0]))[:TOP]
    return [
        TopProduct(
            sku=sku,
            units=row[SKU_UNITS],
            orders=row[SKU_ORDERS],
            revenue=None if row[SKU_REV_UNKNOWN] else _money(row[SKU_REV]),
        )
        for sku, row in best
    ]


def _breakdown(rows: dict[str, _Row]) -> list[BreakdownRow]:
    # The index behind `rows` spans whatever range the cache holds (the comparison period, earlier
    # requests' ranges): a key with nothing sold in this period is not part of its breakdown.
    sold = {key: row for key, row in rows.items() if row.orders or row.units}
    ordered = sorted(sold.items(), key=lambda item: (-item[1].revenue.value, -item[1].units, item[0]))
    return [
        BreakdownRow(key=key, revenue=row.revenue.decimal(), orders=row.orders, units=row.units)
        for key, row in ordered
    ]


def stock_alerts(tenant_id: str, objects: LakeObjects) -> tuple[list[KpiStockAlert], date | None]:
    """The latest night's SKUs below their reorder point; ([], None) before the first night."""
    try:
        document = latest_suggestions(tenant_id, True, InventoryReadDeps(objects=objects))
    except NotFoundError:
        return [], None
    alerts = [
        KpiStockAlert(
            sku=item.sku,
            stock=item.stock,
            reorder_point=Decimal(str(item.reorder_point)),
            order_quantity=item.suggested_order or 0,
        )
        for item in document.items
        if item.stock is not None
    ]
    return alerts, document.date


# ---------------------------------------------------------------- the use case
@dataclass(frozen=True)
class DashboardDeps:
    rollups: RollupStore
    live: LiveCounterReader
    objects: LakeObjects  # the tenant's lake.json (currency, FX) and the night's inventory document
    zone: ZoneInfo  # the deployment's reporting zone: the night's days are cut in it
    clock: Clock
    cache: RollupCache


def dashboard_kpis(tenant_id: str, query: KpiQuery, deps: DashboardDeps) -> KpiAnswer:
    """The KPIs of the query's period (see the module's docstring). Round trips: one wave (the
    rollups' stamp, the live counters of the last LIVE_LOOKBACK_DAYS, and the tenant's configuration
    and stock alerts unless kept); then the rollups only when the cache misses, and a second live read
    only when the night is late by more than LIVE_LOOKBACK_DAYS."""
    now = deps.clock()
    zone = deps.zone
    periods = resolve_periods(query, now.astimezone(zone).date(), zone)
    filters: Filter = (query.channel, query.country, query.category)
    guess_from = max(periods.first, periods.today - timedelta(days=LIVE_LOOKBACK_DAYS))

    def live_between(first: date, last: date) -> Callable[[], list[HourCounters]]:
        def read() -> list[HourCounters]:
            if first > last:
                return []
            start, end = period_bounds(first, last, zone)
            return deps.live.hours(tenant_id, start, end)

        return read

    live_last = min(periods.last, periods.today)

    def read_context() -> TenantContext:
        alerts, alerts_day = stock_alerts(tenant_id, deps.objects)
        return deps.cache.keep(
            tenant_id, now, TenantContext(tenant_config(tenant_id, deps.objects), alerts, alerts_day)
        )

    kept = deps.cache.kept(tenant_id, now)
    if kept is None:  # every CONTEXT_TTL: two S3 reads in the same wave
        stamp, hours, context = in_parallel(
            lambda: deps.rollups.stamp(tenant_id), live_between(guess_from, live_last), read_context
        )
    else:
        context = kept
        stamp, hours = in_parallel(lambda: deps.rollups.stamp(tenant_id), live_between(guess_from, live_last))
    index: RollupIndex | None = None
    last_rolled = stamp.last_day if stamp is not None else None
    if stamp is None or periods.first <= stamp.last_day:
        end = min(periods.last, stamp.last_day) if stamp is not None else min(periods.last, periods.today)
        index = deps.cache.index(
            tenant_id, stamp, periods.first, end, lambda a, b: deps.rollups.days(tenant_id, a, b)
        )
        if stamp is None:  # rollups written before stamps existed: the latest one read says
            last_rolled = index.lo + timedelta(days=index.rolled_days[-1]) if len(index.rolled_days) else None
    live_from = max(periods.first, last_rolled + timedelta(days=1)) if last_rolled else periods.first
    if live_from < guess_from:  # the night is late: the days before the first read
        hours = live_between(live_from, min(guess_from - timedelta(days=1), live_last))() + hours
    return _answer(
        tenant_id,
        query,
        periods,
        context,
        now,
        hours,
        filters,
        index,
        last_rolled,
        zone,
    )


def _answer(
    tenant_id: str,
    query: KpiQuery,
    periods: Periods,
    context: TenantContext,
    now: datetime,
    hours: Sequence[HourCounters],
    filters: Filter,
    index: RollupIndex | None,
    last_rolled: date | None,
    zone: ZoneInfo,
) -> KpiAnswer:
    config = context.config
    src = _Sources(
        index=index,
        last_rolled=last_rolled,
        live=live_days(hours, zone, filters, periods),
        fx=tenant_fx(config),
        ads_currency=config.ads_currency or config.currency,
        filters=filters,
    )
    current = period_totals(periods.start, periods.end, src)
    previous = period_totals(periods.prev_start, periods.prev_end, src)
    top = top_products(periods, src)
    return KpiAnswer(
        tenant_id=tenant_id,
        currency=config.currency,
        timezone=zone.key,
        period=Period(date_from=periods.start, date_to=periods.end),
        comparison=Comparison(mode=query.compare, date_from=periods.prev_start, date_to=periods.prev_end),
        filters=Filters(channel=query.channel, country=query.country, category=query.category),
        granularity=query.granularity,
        kpis=_kpis(current, previous, filters != NO_FILTER),
        series=series(periods, query.granularity, src, zone),
        top_products=top or [],
        top_products_unavailable=UNFILTERABLE_TOP if top is None else None,
        breakdowns=Breakdowns(channel=_breakdown(current.channel), country=_breakdown(current.country)),
        stock_alerts=context.alerts,
        revenue_by_currency=(
            {c: _money(v) for c, v in sorted(current.by_currency.items())} if query.per_currency else None
        ),
        as_of=AsOf(rollups=last_rolled, live=now.astimezone(UTC), stock_alerts=context.alerts_day),
    )
