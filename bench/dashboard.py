"""GET /dashboard/kpis' computation in one process: warm (rollups cached) and cold (read and parsed).

    .venv/bin/python -m bench.dashboard [--size smoke|full]

The shop (full size): two years of nightly rollups of 1,000 SKUs (about 600 sold a day), 3 channels x
12 countries x 15 categories (about 60 % of the cells sold a day), and two days of live counters after
the last night. The use case (tandem.logic.dashboard_kpis.dashboard_kpis) runs with in-memory ports:
the rollups are kept as RollupsTable stores them (each day's JSON document and its SKUs' JSON chunk)
and parsed as its `days` parses them, so a cold call pays the parse and the index as the API does
(not DynamoDB's round trips: a Query returns at most 1 MB, so 2 years x 1,000 SKUs is about 70 pages
on top of these figures). Periods of 30 days, 1 year and 2 years (ending today), each with four filter
combinations, against the previous period:

- **warm**: the tenant's rollups are cached (the stamp has not changed): repeated calls;
- **new filter**: the first call of a filter on cached rollups (its daily series is built then);
- **cold** (the baseline, what every call would cost without the cache): a new cache, so the call
  reads, parses and indexes the period's rollups (and its comparison's);
- **import**: `import tandem.handlers.api` in a fresh interpreter (the route's share of a cold start).

Each timed call is the use case and the answer's JSON (what the route does past the gate).

Prints a table and writes bench/results/dashboard.json.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from bench.cli import command_line
from tandem.logic.dashboard_kpis import DashboardDeps, RollupCache, dashboard_kpis
from tandem.logic.lake.intake import config_key
from tandem.models.dashboard import (
    DayRollup,
    HourCounters,
    KpiQuery,
    LiveCell,
    LiveSku,
    RollupCell,
    RollupStamp,
    SkuSales,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "dashboard.json"
TARGET_P95_MS = 20.0
SKU_CHUNK = TypeAdapter(list[SkuSales])  # as tandem.adapters.rollups_table parses a chunk
ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
TODAY = date(2026, 12, 3)
LAST_NIGHT = TODAY - timedelta(days=2)  # the night is late: yesterday and today are live

SIZES: dict[str, dict[str, Any]] = {
    "smoke": {
        "days": 60, "skus": 100, "channels": 2, "countries": 3, "categories": 4,
        "periods": {"30 days": 30, "60 days": 60}, "warm_runs": 3, "cold_runs": 1, "imports": 1,
    },
    "full": {
        "days": 730, "skus": 1000, "channels": 3, "countries": 12, "categories": 15,
        "periods": {"30 days": 30, "1 year": 365, "2 years": 730}, "warm_runs": 30, "cold_runs": 3,
        "imports": 5,
    },
}  # fmt: skip


class JsonRollups:
    """RollupStore over the documents RollupsTable keeps, parsed the way its `days` parses them."""

    def __init__(self) -> None:
        self.docs: dict[date, tuple[str, str]] = {}
        self.last: date | None = None
        self.version = 0

    def put_day(self, rollup: DayRollup) -> None:
        document = rollup.model_dump(mode="json", by_alias=True, exclude={"skus"})
        skus = [s.model_dump(mode="json") for s in rollup.skus]
        self.docs[rollup.day] = (json.dumps(document), json.dumps(skus))
        self.last = max(self.last or rollup.day, rollup.day)
        self.version += 1

    def days(self, tenant_id: str, start: date, end: date) -> list[DayRollup]:  # noqa: ARG002 (one tenant)
        rollups = []
        for day in sorted(d for d in self.docs if start <= d <= end):
            document, skus = self.docs[day]
            rollup = DayRollup.model_validate_json(document)
            rollup.skus = SKU_CHUNK.validate_json(skus)
            rollups.append(rollup)
        return rollups

    def stamp(self, tenant_id: str) -> RollupStamp | None:  # noqa: ARG002 (one tenant)
        return None if self.last is None else RollupStamp(last_day=self.last, version=self.version)


class Live:
    def __init__(self, hours: list[HourCounters]) -> None:
        self._hours = hours

    def hours(self, tenant_id: str, start: datetime, end: datetime) -> list[HourCounters]:  # noqa: ARG002
        return [h for h in self._hours if start <= h.hour < end]


class Objects:
    def __init__(self) -> None:
        self.objects = {config_key("bench"): json.dumps({"currency": "EUR"}).encode()}

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def put(self, key: str, body: bytes, content_type: str) -> None:  # noqa: ARG002
        self.objects[key] = body

    def keys(self, prefix: str) -> list[str]:
        return [k for k in self.objects if k.startswith(prefix)]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


def dimensions(size: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    return (
        [f"ch{n}" for n in range(size["channels"])],
        [f"C{n:02d}" for n in range(size["countries"])],
        [f"cat{n:02d}" for n in range(size["categories"])],
    )


def build_shop(size: dict[str, Any], seed: int = 5) -> tuple[JsonRollups, list[HourCounters]]:
    rng = random.Random(seed)
    channels, countries, categories = dimensions(size)
    skus = [f"SKU-{n:04d}" for n in range(size["skus"])]
    store = JsonRollups()
    for offset in range(size["days"]):
        day = LAST_NIGHT - timedelta(days=size["days"] - 1 - offset)
        cells = [
            RollupCell(
                channel=channel,
                country=country,
                category=category,
                revenue={"EUR": Decimal(rng.randint(500, 90_000)) / 100},
                revenue_tenant=Decimal(rng.randint(500, 90_000)) / 100,
                orders=rng.randint(1, 12),
                units=rng.randint(1, 30),
                returns=rng.randint(0, 2),
                returned_units=rng.randint(0, 3),
                returned_value_tenant=Decimal("4.50"),
                new_customers=rng.randint(0, 5),
                returning_customers=rng.randint(0, 5),
                guest_orders=0,
            )
            for channel in channels
            for country in countries
            for category in categories
            if rng.random() < 0.6
        ]
        sold = [
            SkuSales(
                sku=sku,
                units=rng.randint(1, 9),
                orders=rng.randint(1, 5),
                revenue_tenant=Decimal(rng.randint(100, 20_000)) / 100,
                returned_units=0,
            )
            for sku in skus
            if rng.random() < 0.6
        ]
        store.put_day(
            DayRollup(
                tenant_id="bench",
                day=day,
                currency="EUR",
                orders=sum(c.orders for c in cells),
                revenue_tenant=sum((c.revenue_tenant or Decimal(0) for c in cells), Decimal(0)),
                cells=cells,
                ad_spend={"facebook": Decimal("120.00")},
                roas=None,
                skus=sold,
                lookback_days=365,
                catalogue_date=None,
            )
        )
    hours = []
    hour = datetime(LAST_NIGHT.year, LAST_NIGHT.month, LAST_NIGHT.day, tzinfo=UTC) + timedelta(days=1)
    while hour < NOW:
        where = [(rng.choice(channels), rng.choice(countries), rng.choice(categories)) for _ in range(8)]
        live_cells = [
            LiveCell(channel=c, country=k, category=g, orders=1, units=2, revenue={"EUR": Decimal("20.00")})
            for c, k, g in dict.fromkeys(where)
        ]
        live_skus = [
            LiveSku(
                channel=c.channel,
                country=c.country,
                category=c.category,
                sku=rng.choice(skus),
                units=2,
                revenue={"EUR": Decimal("20.00")},
            )
            for c in live_cells
        ]
        hours.append(
            HourCounters(
                tenant_id="bench",
                hour=hour,
                orders=len(live_cells),
                units=2 * len(live_cells),
                revenue={"EUR": Decimal("20.00") * len(live_cells)},
                cells=live_cells,
                skus=live_skus,
            )
        )
        hour += timedelta(hours=1)
    return store, hours


def filters(size: dict[str, Any]) -> dict[str, dict[str, str]]:
    channels, countries, categories = dimensions(size)
    return {
        "none": {},
        "channel": {"channel": channels[0]},
        "country+category": {"country": countries[1], "category": categories[2]},
        "all three": {"channel": channels[-1], "country": countries[0], "category": categories[0]},
    }


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def _figures(times: list[float]) -> dict[str, Any]:
    return {
        "runs": len(times),
        "median_ms": statistics.median(times),
        "p95_ms": _percentile(times, 95),
        "max_ms": max(times),
    }


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def answer(query: KpiQuery, deps: DashboardDeps) -> str:
    """What the route does past its gate: the use case, and its answer serialized."""
    return dashboard_kpis("bench", query, deps).model_dump_json()


def measure_import(runs: int) -> dict[str, Any]:
    code = "import time; t = time.perf_counter(); import tandem.handlers.api; print(time.perf_counter() - t)"
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "functions")}
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True
        )
        times.append(float(out.stdout.strip()) * 1000)
    return _figures(times)


def run(size_name: str) -> dict[str, Any]:
    size = SIZES[size_name]
    started = time.perf_counter()
    store, hours = build_shop(size)
    built_s = time.perf_counter() - started
    live, objects = Live(hours), Objects()

    def deps(cache: RollupCache) -> DashboardDeps:
        return DashboardDeps(
            rollups=store, live=live, objects=objects, zone=ZONE, clock=lambda: NOW, cache=cache
        )

    warm_deps = deps(RollupCache())
    periods: dict[str, Any] = {}
    all_warm: list[float] = []
    for name, days in size["periods"].items():
        start = (TODAY - timedelta(days=days - 1)).isoformat()
        cold = []
        for _ in range(size["cold_runs"]):
            query = KpiQuery.model_validate({"from": start})
            cold.append(_timed(lambda q=query: answer(q, deps(RollupCache()))))
        # the warm cache: read once for the period (not timed: that is what `cold` measures)
        dashboard_kpis("bench", KpiQuery.model_validate({"from": start}), warm_deps)
        new_filter, warm, by_filter = [], [], {}
        for label, chosen in filters(size).items():
            query = KpiQuery.model_validate({"from": start, **chosen})
            new_filter.append(_timed(lambda q=query: answer(q, warm_deps)))
            times = [_timed(lambda q=query: answer(q, warm_deps)) for _ in range(size["warm_runs"])]
            by_filter[label] = _figures(times)
            warm += times
        all_warm += warm
        periods[name] = {
            "days": days,
            "warm": _figures(warm),
            "warm_by_filter": by_filter,
            "new_filter": _figures(new_filter),
            "cold": _figures(cold),
            "ratio_median_cold_over_warm": statistics.median(cold) / statistics.median(warm),
        }
    return {
        "size_name": size_name,
        "size": size,
        "machine": {"python": platform.python_version(), "machine": platform.machine()},
        "shop_built_s": built_s,
        "rollup_days": len(store.docs),
        "periods": periods,
        "warm_all": _figures(all_warm),
        "target_p95_ms": TARGET_P95_MS,
        "import": measure_import(size["imports"]),
    }


def report(results: dict[str, Any]) -> None:
    size = results["size"]
    print(
        f"\nTandem dashboard KPIs benchmark, size {results['size_name']}:"
        f" Python {results['machine']['python']},"
        f" {results['rollup_days']} days of rollups, {size['skus']:,} SKUs,"
        f" {size['channels']}x{size['countries']}x{size['categories']} cells, {size['warm_runs']} warm runs"
        f" per filter (4 filters), {size['cold_runs']} cold runs\n"
    )
    print(
        f"  {'period':<9} {'warm p50':>9} {'warm p95':>9} {'new filter p50':>15} {'cold p50':>10}"
        f" {'cold p95':>10} {'cold/warm':>10}"
    )
    for name, p in results["periods"].items():
        print(
            f"  {name:<9} {p['warm']['median_ms']:>9.2f} {p['warm']['p95_ms']:>9.2f}"
            f" {p['new_filter']['median_ms']:>15.2f} {p['cold']['median_ms']:>10.1f}"
            f" {p['cold']['p95_ms']:>10.1f}"
            f" {p['ratio_median_cold_over_warm']:>10.0f}"
        )
    warm = results["warm_all"]
    verdict = "met" if warm["p95_ms"] < results["target_p95_ms"] else "NOT met"
    print(
        f"\n  all warm calls: p50 {warm['median_ms']:.2f} ms, p95 {warm['p95_ms']:.2f} ms"
        f" (target p95 < {results['target_p95_ms']:.0f} ms: {verdict});"
        f" throughput {1000 / warm['median_ms']:,.0f} answers/s"
    )
    print(f"  import tandem.handlers.api (fresh process): median {results['import']['median_ms']:.0f} ms")
    print("  ms per call; ratio of medians: cold (no cache: read, parse, index) ÷ warm (cached rollups).")


def main(argv: list[str] | None = None) -> None:
    command_line(argv, "dashboard", __doc__ or "", SIZES, run, report, RESULTS)


if __name__ == "__main__":
    main()
