"""GET /dashboard/kpis' logic, checked against a plain loop over the same synthetic rollups and live
hours (`expected` below: no index, no prefix sums, no cache), in Europe/Berlin across both DST
changes, with combined filters, both comparison modes and every granularity."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tandem.logic.dashboard_kpis import DashboardDeps, RollupCache, dashboard_kpis
from tandem.logic.errors import InvalidRequestError
from tandem.logic.lake.intake import config_key
from tandem.models.dashboard import (
    DayRollup,
    HourCounters,
    KpiQuery,
    LiveCell,
    LiveSku,
    RollupCell,
    SkuSales,
)
from tests.fakes import FakeLakeObjects, FakeRollupStore

ZONE = ZoneInfo("Europe/Berlin")
D = Decimal
CHANNELS, COUNTRIES, CATEGORIES = ("web", "store"), ("DE", "FR", "UK"), ("home", "toys")
SKUS = [f"S{n:02d}" for n in range(15)]
USD_RATE = D("0.5")  # exact: a conversion never rounds, so the plain loop may convert sums or parts


@dataclass
class Live:
    """LiveCounterReader in memory (its adapter and shared fake come with issue12-live)."""

    hours_: list[HourCounters] = field(default_factory=list)
    reads: int = 0

    def hours(self, tenant_id: str, start: datetime, end: datetime) -> list[HourCounters]:
        self.reads += 1
        return sorted(
            (h for h in self.hours_ if h.tenant_id == tenant_id and start <= h.hour < end),
            key=lambda h: h.hour,
        )


def _money(rng: random.Random) -> Decimal:
    return D(rng.randint(100, 9_999)) / 100


def make_rollups(first: date, last: date, seed: int = 7, ads_every: int = 3) -> list[DayRollup]:
    rng = random.Random(seed)
    rollups = []
    day = first
    while day <= last:
        cells = []
        for channel in CHANNELS:
            for country in COUNTRIES:
                for category in CATEGORIES:
                    if rng.random() < 0.3:
                        continue
                    eur, usd = _money(rng), _money(rng) if rng.random() < 0.3 else D(0)
                    revenue = {"EUR": eur, **({"USD": usd} if usd else {})}
                    cells.append(
                        RollupCell(
                            channel=channel,
                            country=country,
                            category=category,
                            revenue=revenue,
                            revenue_tenant=eur + usd * USD_RATE,
                            orders=rng.randint(1, 9),
                            units=rng.randint(1, 20),
                            returns=1,
                            returned_units=rng.randint(0, 3),
                            returned_value_tenant=D("1.00"),
                            new_customers=rng.randint(0, 4),
                            returning_customers=rng.randint(0, 4),
                            guest_orders=0,
                        )
                    )
        skus = [
            SkuSales(
                sku=s,
                units=rng.randint(1, 9),
                orders=rng.randint(1, 5),
                revenue_tenant=_money(rng),
                returned_units=0,
            )
            for s in SKUS
            if rng.random() < 0.6
        ]
        spend = {"facebook": _money(rng)} if day.toordinal() % ads_every == 0 else {}
        rollups.append(
            DayRollup(
                tenant_id="acme",
                day=day,
                currency="EUR",
                orders=max(1, sum(c.orders for c in cells) - rng.randint(0, 5)),  # some orders span cells
                revenue_tenant=sum((c.revenue_tenant or D(0) for c in cells), D(0)),
                cells=cells,
                ad_spend=spend,
                roas=None,
                skus=skus,
                lookback_days=365,
                catalogue_date=None,
            )
        )
        day += timedelta(days=1)
    return rollups


def make_hours(
    first: date, last: date, seed: int = 11, currencies: tuple[str, ...] = ("EUR", "USD")
) -> list[HourCounters]:
    """Every UTC hour of the local days first..last, some empty, one without cells (an hour counted
    before the per-cell counters existed)."""
    rng = random.Random(seed)
    start = datetime.combine(first, time.min, tzinfo=ZONE).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=ZONE).astimezone(UTC)
    hours = []
    hour = start
    while hour < end:
        if rng.random() < 0.7:
            cells, skus = [], []
            for _ in range(rng.randint(1, 4)):
                where = (rng.choice(CHANNELS), rng.choice(COUNTRIES), rng.choice(CATEGORIES))
                currency = rng.choice(currencies)
                amount = _money(rng)
                units = rng.randint(1, 5)
                cells.append(
                    LiveCell(
                        channel=where[0],
                        country=where[1],
                        category=where[2],
                        orders=1,
                        units=units,
                        revenue={currency: amount},
                    )
                )
                skus.append(
                    LiveSku(
                        channel=where[0],
                        country=where[1],
                        category=where[2],
                        sku=rng.choice(SKUS),
                        units=units,
                        revenue={currency: amount},
                    )
                )
            cells = _merge_cells(cells)
            total: dict[str, Decimal] = defaultdict(Decimal)
            for cell in cells:
                for currency, amount in cell.revenue.items():
                    total[currency] += amount
            no_cells = len(hours) == 3
            hours.append(
                HourCounters(
                    tenant_id="acme",
                    hour=hour,
                    orders=sum(c.orders for c in cells),
                    units=sum(c.units for c in cells),
                    revenue=dict(total),
                    cells=[] if no_cells else cells,
                    skus=[] if no_cells else skus,
                )
            )
        hour += timedelta(hours=1)
    return hours


def _merge_cells(cells: list[LiveCell]) -> list[LiveCell]:
    merged: dict[tuple[str, str, str], LiveCell] = {}
    for cell in cells:
        key = (cell.channel, cell.country, cell.category)
        if key not in merged:
            merged[key] = cell
            continue
        kept = merged[key]
        revenue = dict(kept.revenue)
        for currency, amount in cell.revenue.items():
            revenue[currency] = revenue.get(currency, D(0)) + amount
        merged[key] = kept.model_copy(
            update={"orders": kept.orders + 1, "units": kept.units + cell.units, "revenue": revenue}
        )
    return list(merged.values())


def lake_config(**more: Any) -> bytes:
    return json.dumps(
        {
            "currency": "EUR",
            "fx_rates": [{"currency": "USD", "day": "2020-01-01", "rate": str(USD_RATE)}],
            **more,
        }
    ).encode()


def deps(
    store: FakeRollupStore,
    live: Live,
    now: datetime,
    config: bytes | None = None,
    cache: RollupCache | None = None,
) -> DashboardDeps:
    objects = FakeLakeObjects()
    objects.put(config_key("acme"), config or lake_config(), "application/json")
    return DashboardDeps(
        rollups=store, live=live, objects=objects, zone=ZONE, clock=lambda: now, cache=cache or RollupCache()
    )


def stored(rollups: list[DayRollup]) -> FakeRollupStore:
    store = FakeRollupStore()
    for rollup in rollups:
        store.put_day(rollup)
    return store


# ---------------------------------------------------------------- the plain loop
def _keeps(filters: tuple[str | None, ...], where: tuple[str, str, str]) -> bool:
    return all(f is None or f == v for f, v in zip(filters, where, strict=True))


def _rate(currency: str) -> Decimal:
    return D(1) if currency == "EUR" else USD_RATE


@dataclass
class Expected:
    """A period's figures, summed a day at a time."""

    filters: tuple[str | None, ...]
    revenue: Decimal = field(default_factory=Decimal)
    orders: int = 0
    units: int = 0
    rolled_units: int = 0
    returned: int = 0
    new: int = 0
    returning: int = 0
    ads: Decimal | None = None
    rolled_days: int = 0
    channel: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(lambda: [D(0), 0, 0]))
    country: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(lambda: [D(0), 0, 0]))
    by_currency: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def breakdown(self, channel: str, country: str, revenue: Decimal, orders: int, units: int) -> None:
        for row in (self.channel[channel], self.country[country]):
            row[0] += revenue
            row[1] += orders
            row[2] += units

    def rolled_day(self, rollup: DayRollup) -> None:
        self.rolled_days += 1
        cells = [c for c in rollup.cells if _keeps(self.filters, (c.channel, c.country, c.category))]
        self.revenue += sum((c.revenue_tenant or D(0) for c in cells), D(0))
        self.orders += rollup.orders if self.filters == (None, None, None) else sum(c.orders for c in cells)
        for c in cells:
            self.units += c.units
            self.rolled_units += c.units
            self.returned += c.returned_units
            self.new += c.new_customers
            self.returning += c.returning_customers
            self.breakdown(c.channel, c.country, c.revenue_tenant or D(0), c.orders, c.units)
            for currency, amount in c.revenue.items():
                self.by_currency[currency] += amount
        if rollup.ad_spend:
            self.ads = (self.ads or D(0)) + sum(rollup.ad_spend.values(), D(0))

    def live_hour(self, hour: HourCounters) -> None:
        unfiltered = self.filters == (None, None, None)
        if unfiltered:
            self.orders += hour.orders
            self.units += hour.units
            for currency, amount in hour.revenue.items():
                self.revenue += amount * _rate(currency)
                self.by_currency[currency] += amount
        for c in hour.cells:
            if not _keeps(self.filters, (c.channel, c.country, c.category)):
                continue
            value = sum((a * _rate(cur) for cur, a in c.revenue.items()), D(0))
            if not unfiltered:
                self.orders += c.orders
                self.units += c.units
                self.revenue += value
                for currency, amount in c.revenue.items():
                    self.by_currency[currency] += amount
            self.breakdown(c.channel, c.country, value, c.orders, c.units)


def expected_period(
    start: date,
    end: date,
    rollups: list[DayRollup],
    hours: list[HourCounters],
    last: date,
    filters: tuple[str | None, ...],
) -> dict[str, Any]:
    """The period's figures, a day at a time: rolled-up days from the rollups, later ones from the hours."""
    by_day = {r.day: r for r in rollups}
    out = Expected(filters)
    day = start
    while day <= end:
        if day <= last and day in by_day:
            out.rolled_day(by_day[day])
        elif day > last:
            for hour in hours:
                if hour.hour.astimezone(ZONE).date() == day:
                    out.live_hour(hour)
        day += timedelta(days=1)
    figures = {name: getattr(out, name) for name in Expected.__dataclass_fields__ if name != "filters"}
    return {
        **figures,
        "channel": dict(out.channel),
        "country": dict(out.country),
        "by_currency": dict(out.by_currency),
    }


def cents(value: Decimal) -> str:
    return str(value.quantize(D("0.01")))


def ratio(a: Decimal | int, b: Decimal | int, places: str = "0.0001") -> str | None:
    return None if not b else str((D(a) / D(b)).quantize(D(places)))


def check_kpis(kpis: dict[str, Any], now: dict[str, Any], before: dict[str, Any], filtered: bool) -> None:
    assert kpis["revenue"]["value"] == cents(now["revenue"])
    assert kpis["revenue"]["previous"] == cents(before["revenue"])
    revenue_now, revenue_before = D(cents(now["revenue"])), D(cents(before["revenue"]))
    assert kpis["revenue"]["change"] == ratio(revenue_now - revenue_before, revenue_before)
    assert (kpis["orders"]["value"], kpis["orders"]["previous"]) == (now["orders"], before["orders"])
    assert kpis["orders"]["change"] == ratio(now["orders"] - before["orders"], before["orders"])
    assert (kpis["units"]["value"], kpis["units"]["previous"]) == (now["units"], before["units"])
    assert kpis["average_order_value"]["value"] == ratio(revenue_now, now["orders"], "0.01")
    assert kpis["return_rate"]["value"] == (
        ratio(now["returned"], now["rolled_units"]) if now["rolled_days"] else None
    )
    assert kpis["new_customers"]["value"] == (now["new"] if now["rolled_days"] else None)
    assert kpis["returning_customers"]["previous"] == (before["returning"] if before["rolled_days"] else None)
    if filtered or now["ads"] is None:
        assert (kpis["ad_spend"]["value"], kpis["roas"]["value"]) == (None, None)
    else:
        assert kpis["ad_spend"]["value"] == cents(now["ads"])
        assert kpis["roas"]["value"] == ratio(revenue_now, D(cents(now["ads"])), "0.01")


def check_breakdowns(answer: dict[str, Any], now: dict[str, Any]) -> None:
    for name in ("channel", "country"):
        got = {
            row["key"]: (row["revenue"], row["orders"], row["units"]) for row in answer["breakdowns"][name]
        }
        assert got == {key: (cents(r), o, u) for key, (r, o, u) in now[name].items()}
        revenues = [D(row["revenue"]) for row in answer["breakdowns"][name]]
        assert revenues == sorted(revenues, reverse=True)


# Today is Sunday 25 October 2026 (25 hours in Berlin); the night has rolled up to the 23rd, so
# the 24th and today come from the live counters.
NOW = datetime(2026, 10, 25, 21, 30, tzinfo=UTC)
LAST = date(2026, 10, 23)
ROLLUPS = make_rollups(date(2025, 9, 1), LAST)
HOURS = make_hours(date(2026, 10, 24), date(2026, 10, 25))


def answer_for(
    query: KpiQuery, store: FakeRollupStore | None = None, live: Live | None = None
) -> dict[str, Any]:
    result = dashboard_kpis("acme", query, deps(store or stored(ROLLUPS), live or Live(list(HOURS)), NOW))
    return json.loads(result.model_dump_json())


def test_unfiltered_days_against_the_previous_period_match_a_plain_loop() -> None:
    answer = answer_for(KpiQuery(per_currency=True))
    assert answer["period"] == {"from": "2026-09-26", "to": "2026-10-25"}
    assert answer["comparison"] == {"mode": "previous_period", "from": "2026-08-27", "to": "2026-09-25"}
    assert (answer["currency"], answer["timezone"], answer["as_of"]["rollups"]) == (
        "EUR",
        "Europe/Berlin",
        "2026-10-23",
    )
    now = expected_period(date(2026, 9, 26), date(2026, 10, 25), ROLLUPS, HOURS, LAST, (None, None, None))
    before = expected_period(date(2026, 8, 27), date(2026, 9, 25), ROLLUPS, HOURS, LAST, (None, None, None))
    check_kpis(answer["kpis"], now, before, filtered=False)
    check_breakdowns(answer, now)
    assert answer["revenue_by_currency"] == {c: cents(v) for c, v in sorted(now["by_currency"].items())}
    # every day, zeros included; each day's figures the plain loop's for that day alone
    assert [p["start"] for p in answer["series"]] == [
        (date(2026, 9, 26) + timedelta(days=n)).isoformat() for n in range(30)
    ]
    for point in answer["series"]:
        day = date.fromisoformat(point["start"])
        alone = expected_period(day, day, ROLLUPS, HOURS, LAST, (None, None, None))
        assert (point["revenue"], point["orders"], point["units"]) == (
            cents(alone["revenue"]),
            alone["orders"],
            alone["units"],
        )
    assert sum(p["units"] for p in answer["series"]) == now["units"]


def test_top_products_are_the_rollups_and_live_skus_by_revenue() -> None:
    answer = answer_for(KpiQuery.model_validate({"from": "2026-10-10", "to": "2026-10-25"}))
    figures: dict[str, list[Any]] = defaultdict(lambda: [0, 0, D(0)])
    for rollup in ROLLUPS:
        if date(2026, 10, 10) <= rollup.day:
            for sku in rollup.skus:
                figures[sku.sku][0] += sku.units
                figures[sku.sku][1] += sku.orders
                figures[sku.sku][2] += sku.revenue_tenant
    for hour in HOURS:
        for live in hour.skus:
            figures[live.sku][0] += live.units
            figures[live.sku][2] += sum((a * _rate(c) for c, a in live.revenue.items()), D(0))
    best = sorted(figures.items(), key=lambda item: (-item[1][2], -item[1][0], item[0]))[:10]
    assert answer["top_products"] == [
        {"sku": sku, "units": units, "orders": orders, "revenue": cents(revenue)}
        for sku, (units, orders, revenue) in best
    ]


@pytest.mark.parametrize(
    ("filters", "compare", "granularity"),
    [
        ({"channel": "web", "country": "DE"}, "previous_year", "week"),
        ({"category": "toys"}, "previous_period", "month"),
        ({"channel": "store", "country": "FR", "category": "home"}, "previous_year", "day"),
    ],
)
def test_filters_comparisons_and_buckets_match_a_plain_loop(
    filters: dict[str, str], compare: str, granularity: str
) -> None:
    query = KpiQuery.model_validate(
        {"from": "2026-03-02", "to": "2026-10-25", "compare": compare, "granularity": granularity, **filters}
    )
    answer = answer_for(query)
    key = (filters.get("channel"), filters.get("country"), filters.get("category"))
    start, end = date(2026, 3, 2), date(2026, 10, 25)
    if compare == "previous_year":
        prev = (date(2025, 3, 2), date(2025, 10, 25))
    else:
        prev = (start - timedelta(days=238), start - timedelta(days=1))
    assert (answer["comparison"]["from"], answer["comparison"]["to"]) == (
        prev[0].isoformat(),
        prev[1].isoformat(),
    )
    now = expected_period(start, end, ROLLUPS, HOURS, LAST, key)
    before = expected_period(*prev, ROLLUPS, HOURS, LAST, key)
    check_kpis(answer["kpis"], now, before, filtered=True)
    check_breakdowns(answer, now)
    # rolled-up days' SKU sales cannot be filtered: no list, and the answer says why
    assert answer["top_products"] == []
    assert "not cut by channel, country or category" in answer["top_products_unavailable"]
    assert answer["filters"] == {"channel": key[0], "country": key[1], "category": key[2]}
    # buckets: ISO weeks named by their Monday / months by their 1st, only the period's days in each
    buckets: dict[date, dict[str, Any]] = {}
    day = start
    while day <= end:
        first = (
            day - timedelta(days=day.weekday())
            if granularity == "week"
            else day.replace(day=1)
            if granularity == "month"
            else day
        )
        last_of = min(
            end,
            first + timedelta(days=6)
            if granularity == "week"
            else (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            if granularity == "month"
            else first,
        )
        buckets.setdefault(first, expected_period(max(first, start), last_of, ROLLUPS, HOURS, LAST, key))
        day += timedelta(days=1)
    assert [p["start"] for p in answer["series"]] == [d.isoformat() for d in buckets]
    for point, figures in zip(answer["series"], buckets.values(), strict=True):
        assert (point["revenue"], point["orders"], point["units"]) == (
            cents(figures["revenue"]),
            figures["orders"],
            figures["units"],
        )
    if granularity == "week":
        assert answer["series"][0]["start"] == "2026-03-02"  # a Monday
        assert all(date.fromisoformat(p["start"]).weekday() == 0 for p in answer["series"])


def test_hours_on_dst_days_are_local_hours_and_rolled_up_hours_are_unknown() -> None:
    answer = answer_for(
        KpiQuery.model_validate({"from": "2026-10-23", "to": "2026-10-25", "granularity": "hour"})
    )
    points = answer["series"]
    assert len(points) == 24 + 24 + 25  # 25 October: clocks go back at 03:00
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for point in points:
        by_day[point["start"][:10]].append(point)
    assert [p["start"][11:] for p in by_day["2026-10-25"][2:5]] == [
        "02:00:00+02:00",
        "02:00:00+01:00",
        "03:00:00+01:00",
    ]
    assert all(
        p["revenue"] is None and p["orders"] is None for p in by_day["2026-10-23"]
    )  # rolled up: no hours
    live = {h.hour: h for h in HOURS}
    for point in by_day["2026-10-24"] + by_day["2026-10-25"]:
        hour = live.get(datetime.fromisoformat(point["start"]).astimezone(UTC))
        assert point["orders"] == (hour.orders if hour else 0)
        revenue = sum((a * _rate(c) for c, a in hour.revenue.items()), D(0)) if hour else D(0)
        assert point["revenue"] == cents(revenue)
    # spring forward: 29 March 2026 has 23 hours
    spring = answer_for(
        KpiQuery.model_validate({"from": "2026-03-29", "to": "2026-03-29", "granularity": "hour"}),
        live=Live(make_hours(date(2026, 3, 29), date(2026, 3, 29))),
        store=stored([r for r in ROLLUPS if r.day < date(2026, 3, 29)]),
    )
    assert len(spring["series"]) == 23


def test_a_live_only_period_filters_top_products_by_cell() -> None:
    answer = answer_for(KpiQuery.model_validate({"from": "2026-10-24", "to": "2026-10-25", "channel": "web"}))
    figures: dict[str, list[Any]] = defaultdict(lambda: [0, D(0)])
    for hour in HOURS:
        for sku in hour.skus:
            if sku.channel == "web":
                figures[sku.sku][0] += sku.units
                figures[sku.sku][1] += sum((a * _rate(c) for c, a in sku.revenue.items()), D(0))
    best = sorted(figures.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))[:10]
    assert answer["top_products_unavailable"] is None
    assert [(p["sku"], p["units"], p["revenue"]) for p in answer["top_products"]] == [
        (s, u, cents(r)) for s, (u, r) in best
    ]
    assert answer["kpis"]["return_rate"]["value"] is None  # no rolled-up day: unknown
    assert answer["kpis"]["new_customers"]["value"] is None


def test_live_revenue_without_a_rate_is_unknown_and_kept_per_currency() -> None:
    hours = make_hours(date(2026, 10, 24), date(2026, 10, 25), currencies=("EUR", "CHF"))
    answer = answer_for(
        KpiQuery.model_validate({"from": "2026-10-24", "to": "2026-10-25", "per_currency": "true"}),
        live=Live(hours),
    )
    assert answer["kpis"]["revenue"]["value"] is None
    assert answer["kpis"]["average_order_value"]["value"] is None
    chf = sum((h.revenue.get("CHF", D(0)) for h in hours), D(0))
    assert answer["revenue_by_currency"]["CHF"] == cents(chf)
    assert answer["kpis"]["orders"]["value"] == sum(h.orders for h in hours)


def test_the_cache_spares_reading_rollups_until_the_night_writes_and_never_keeps_live_counters() -> None:
    store, live, cache = stored(ROLLUPS), Live(list(HOURS)), RollupCache()
    dependencies = deps(store, live, NOW, cache=cache)
    query = KpiQuery.model_validate({"from": "2026-10-01", "to": "2026-10-25"})
    first = dashboard_kpis("acme", query, dependencies)
    reads = store.reads  # the period and its comparison, a month at a time
    assert (reads, cache.misses, cache.hits) == (2, 1, 0)
    # a narrower period, another filter: the same index answers
    dashboard_kpis(
        "acme",
        KpiQuery.model_validate({"from": "2026-10-10", "to": "2026-10-20", "country": "UK"}),
        dependencies,
    )
    assert (store.reads, cache.hits) == (reads, 1)
    # an order confirmed a second ago is in the next answer (the counters are read every time)
    live.hours_.append(
        HourCounters(
            tenant_id="acme",
            hour=datetime(2026, 10, 25, 21, tzinfo=UTC),
            orders=1,
            units=2,
            revenue={"EUR": D("5.00")},
        )
    )
    again = dashboard_kpis("acme", query, dependencies)
    assert again.kpis.orders.value == (first.kpis.orders.value or 0) + 1
    assert store.reads == reads
    # the night writes the 24th: a new stamp, read again; the 24th now comes from its rollup
    store.put_day(make_rollups(date(2026, 10, 24), date(2026, 10, 24), seed=3)[0])
    after = dashboard_kpis("acme", query, dependencies)
    assert store.reads > reads
    assert after.as_of.rollups == date(2026, 10, 24)
    rolled = expected_period(
        date(2026, 10, 1),
        date(2026, 10, 25),
        [*ROLLUPS, *store.days("acme", date(2026, 10, 24), date(2026, 10, 24))],
        live.hours_,
        date(2026, 10, 24),
        (None, None, None),
    )
    assert after.kpis.units.value == rolled["units"]


def test_rollups_written_before_stamps_are_read_uncached_and_date_themselves() -> None:
    store = stored(ROLLUPS)
    store.stamps.clear()
    cache = RollupCache()
    dependencies = deps(store, Live(list(HOURS)), NOW, cache=cache)
    query = KpiQuery.model_validate({"from": "2026-10-20", "to": "2026-10-25"})
    answer = dashboard_kpis("acme", query, dependencies)
    dashboard_kpis("acme", query, dependencies)
    assert (answer.as_of.rollups, store.reads, cache.hits) == (LAST, 2, 0)  # a read each: 6 days
    now = expected_period(date(2026, 10, 20), date(2026, 10, 25), ROLLUPS, HOURS, LAST, (None, None, None))
    assert answer.kpis.units.value == now["units"]


def test_ad_spend_in_another_currency_is_converted() -> None:
    config = lake_config(ads_currency="USD")
    result = dashboard_kpis(
        "acme",
        KpiQuery.model_validate({"from": "2026-10-01", "to": "2026-10-23"}),
        deps(stored(ROLLUPS), Live(), NOW, config=config),
    )
    spend = sum((sum(r.ad_spend.values(), D(0)) for r in ROLLUPS if date(2026, 10, 1) <= r.day), D(0))
    assert result.kpis.ad_spend.value == (spend * USD_RATE).quantize(D("0.01"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-10-25", "to": "2026-10-24"}, "'from' must not be after 'to'"),
        ({"from": "2023-10-24", "to": "2026-10-25"}, "the period is at most 1096 days"),
        (
            {"from": "2026-10-10", "to": "2026-10-25", "granularity": "hour"},
            "granularity=hour is for periods of at most 7 days",
        ),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "the period lies outside the dates this API can count"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "the period lies outside the dates this API can count"),
        ({"to": "0001-01-05"}, "the period lies outside the dates this API can count"),
    ],
)
def test_rules_across_parameters_are_422_naming_the_query(query: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        answer_for(KpiQuery.model_validate(query))
    assert refused.value.message == message
    assert refused.value.details == [{"loc": ["query"], "msg": message, "type": "invalid_period"}]


def test_the_longest_period_is_allowed() -> None:
    answer = answer_for(
        KpiQuery.model_validate({"from": "2023-10-26", "to": "2026-10-25", "granularity": "month"})
    )
    assert answer["period"] == {"from": "2023-10-26", "to": "2026-10-25"}
    assert len(answer["series"]) == 37


def test_the_cache_is_bounded_by_tenants_and_by_entries() -> None:
    rollups = make_rollups(date(2026, 10, 1), LAST)
    store = stored(rollups)
    for rollup in rollups:
        store.put_day(rollup.model_copy(update={"tenant_id": "beta"}))
    cache = RollupCache(max_tenants=1)
    stamp_a, stamp_b = store.stamp("acme"), store.stamp("beta")
    first = cache.index("acme", stamp_a, date(2026, 10, 1), LAST, lambda a, b: store.days("acme", a, b))
    assert cache.index("acme", stamp_a, date(2026, 10, 5), LAST, lambda _a, _b: []) is first  # a hit
    cache.index("beta", stamp_b, date(2026, 10, 1), LAST, lambda a, b: store.days("beta", a, b))
    assert cache.index("acme", stamp_a, date(2026, 10, 1), LAST, lambda _a, _b: []) is not first  # evicted
    # by entries: an index larger than the budget is kept alone (the request's own), never two
    small = RollupCache(max_entries=first.entries)
    small.index("acme", stamp_a, date(2026, 10, 1), LAST, lambda a, b: store.days("acme", a, b))
    small.index("beta", stamp_b, date(2026, 10, 1), LAST, lambda a, b: store.days("beta", a, b))
    assert (small.misses, small.hits) == (2, 0)
    small.index("beta", stamp_b, date(2026, 10, 1), LAST, lambda _a, _b: [])
    small.index("acme", stamp_a, date(2026, 10, 1), LAST, lambda a, b: store.days("acme", a, b))
    assert (small.misses, small.hits) == (3, 1)
