"""The lake's report kinds over the shared data, curated as the night curates it (real Parquet), with
DuckDB: each kind's numbers checked against an independent computation in plain Python over the
curated rows (read back with the Parquet codec, not the report's SQL) and over the raw ad export
(the csv module), filters combined; an empty period; the worker writing the same object twice.

The lake: the shared retail ERP's days from 3 to 23 January 2011 (the report's period is 10 to 23
January; the week before is the cohorts' history), a few checkout orders (another channel), a
catalogue made by the test (a category per SKU by its first digit) and the shared Facebook export
with its August 2023 days moved onto January 2011 (the data sets share no period)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tandem.adapters.duckdb_lake_query import DuckDbLakeQuery
from tandem.adapters.parquet_duckdb import DuckDbParquet
from tandem.logic.lake.intake import config_key
from tandem.logic.lake.nightly import NightDeps, finish_day, run_item
from tandem.logic.lake.tables import ORDER_LINES, curated_prefix
from tandem.logic.lake_reports import TOP_N, LakeReportDeps, compute_lake_report
from tandem.logic.reports import ReportWorkerDeps, report_key, run_report
from tandem.models.messages import ReportRequested
from tandem.models.nightly import NightItem
from tandem.models.records import (
    Granularity,
    Job,
    JobStatus,
    ReportFilters,
    ReportKind,
    ReportParams,
)
from tandem.models.reports import ReportDocument
from tests.factories import order
from tests.fakes import FakeClock, FakeDocuments, FakeJobs, FakeLakeObjects, FakeOrders
from tests.shared_data import SHARED_DATA

RETAIL = SHARED_DATA / "online_retail" / "by-day"
ADS = SHARED_DATA / "ads" / "KAG_conversion_data.csv"
pytestmark = pytest.mark.skipif(not RETAIL.is_dir() or not ADS.is_file(), reason="../shared/data is absent")

LAKE_DAYS = [date(2011, 1, 3) + timedelta(days=n) for n in range(21)]
FROM, TO = date(2011, 1, 10), date(2011, 1, 23)
HISTORY = [d for d in LAKE_DAYS if d < FROM]
PERIOD = [d for d in LAKE_DAYS if d >= FROM]
CATALOGUE_DAY = date(2011, 1, 2)
ADS_EXPORT_DAY = date(2011, 1, 31)  # after the period: an export reports earlier days
CHANNELS = {"erp_orders": "store", "checkout": "web"}
D = Decimal
NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)


def category_of(sku: str) -> str:
    """The test's catalogue: a category per SKU by its first character."""
    return {"2": "kitchen", "8": "home"}.get(sku[:1], "gifts")


def _catalogue_csv(skus: set[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["product_id", "product_category_name", "product_name_lenght"])
    for sku in sorted(skus):
        writer.writerow([sku, category_of(sku), "10"])
    return out.getvalue().encode()


def _ads_csv() -> bytes:
    """The shared export, its August 2023 days moved onto January 2011 (same day of the month)."""
    return ADS.read_text(encoding="utf-8").replace("-08-2023", "-01-2011").encode()


@dataclass
class Lake:
    objects: FakeLakeObjects
    query: DuckDbLakeQuery

    def deps(self) -> LakeReportDeps:
        return LakeReportDeps(query=self.query, objects=self.objects)

    def config(self, **fields: Any) -> None:
        body = {"channels": CHANNELS, **fields}
        self.objects.put(config_key("acme"), json.dumps(body).encode(), "application/json")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    objects = FakeLakeObjects()
    skus: set[str] = set()
    for day in LAKE_DAYS:
        path = RETAIL / f"{day.isoformat()}.csv"
        if path.is_file():
            objects.put(f"raw/acme/erp_orders/{day.isoformat()}/{path.name}", path.read_bytes(), "text/csv")
            with path.open(newline="", encoding="utf-8") as handle:
                skus |= {row["StockCode"].strip() for row in csv.DictReader(handle)}
    objects.put(f"raw/acme/erp_products/{CATALOGUE_DAY}/catalogue.csv", _catalogue_csv(skus), "text/csv")
    objects.put(f"raw/acme/ads_spend/{ADS_EXPORT_DAY}/kag.csv", _ads_csv(), "text/csv")
    checkout = [
        # a retail customer (seen in the history week) ordering on the web, and two new web customers
        order(datetime(2011, 1, 12, 10, tzinfo=UTC), ("22423", 2, "12.75")).model_copy(
            update={"customer_id": "12413"}
        ),
        order(datetime(2011, 1, 13, 11, tzinfo=UTC), ("85099B", 5, "1.95")).model_copy(
            update={"customer_id": "web-1"}
        ),
        order(datetime(2011, 1, 20, 11, tzinfo=UTC), ("22423", 1, "12.75")).model_copy(
            update={"customer_id": "web-1"}
        ),
        order(datetime(2011, 1, 21, 9, tzinfo=UTC), ("84879", 3, "1.69")),  # a guest
    ]
    lake = Lake(objects, DuckDbLakeQuery(objects, work_dir=str(tmp_path_factory.mktemp("reports"))))
    lake.config()
    night = NightDeps(
        raw=objects,
        objects=objects,
        parquet=DuckDbParquet(work_dir=str(tmp_path_factory.mktemp("parquet"))),
        orders=FakeOrders(checkout),
        zone=ZoneInfo("Europe/London"),
    )
    run_item(NightItem(tenant_id="acme", source="erp_products", date=CATALOGUE_DAY), night)
    run_item(NightItem(tenant_id="acme", source="ads_spend", date=ADS_EXPORT_DAY), night)
    for day in LAKE_DAYS:
        for source in ("erp_orders", "checkout"):
            run_item(NightItem(tenant_id="acme", source=source, date=day), night)
        finish_day("acme", day, night)
    return lake


def _job(kind: ReportKind, **params: Any) -> Job:
    return Job(
        tenant_id=params.pop("tenant_id", "acme"),
        job_id="job-1",
        params=ReportParams(kind=kind, **{"date_from": FROM, "date_to": TO, **params}),
        created_at=NOW,
        updated_at=NOW,
    )


def _table(document: ReportDocument, name: str) -> list[dict[str, Any]]:
    [table] = [t for t in document.tables if t.name == name]
    return [dict(zip([c.name for c in table.columns], row, strict=True)) for row in table.rows]


def _figures(document: ReportDocument) -> dict[str, Any]:
    return {figure.name: figure.value for figure in document.figures}


# ---------------------------------------------------------------- the independent reading
def _lines(lake: Lake, days: list[date]) -> list[dict[str, Any]]:
    """The curated order lines of the days, decoded with the Parquet codec, each with its source,
    channel and category: plain Python from here on."""
    codec = DuckDbParquet()
    rows: list[dict[str, Any]] = []
    for day in days:
        for key in lake.objects.keys(curated_prefix(ORDER_LINES.name, "acme", day)):
            source = Path(key).name.split("__", 1)[0]
            body = lake.objects.get(key)
            assert body is not None
            for values in codec.decode(ORDER_LINES, body):
                row = dict(zip(ORDER_LINES.column_names, values, strict=True))
                row.update(
                    source=source,
                    channel=CHANNELS[source],
                    category=category_of(str(row["sku"])),
                    day=day,
                    customer=(str(row["customer_id"]).strip().lower() or None)
                    if row["customer_id"]
                    else None,
                )
                rows.append(row)
    return rows


def _within(row: dict[str, Any], filters: ReportFilters) -> bool:
    return all(
        wanted is None or row[field] == wanted
        for field, wanted in (
            ("channel", filters.channel),
            ("country", filters.country),
            ("category", filters.category),
        )
    )


def _share(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    return (D(part) / D(whole)).quantize(D("0.0001")) if whole else None


FILTERS = [
    ReportFilters(),
    ReportFilters(channel="store", country="United Kingdom", category="kitchen"),
    ReportFilters(channel="web", category="kitchen"),
    ReportFilters(country="France", category="home"),
]


# ---------------------------------------------------------------- product_performance
@pytest.mark.parametrize("filters", FILTERS, ids=str)
def test_product_performance_equals_a_plain_python_count_of_the_curated_lines(
    lake: Lake, filters: ReportFilters
) -> None:
    document = compute_lake_report(_job(ReportKind.PRODUCT_PERFORMANCE, filters=filters), lake.deps())
    expected: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"units": 0, "orders": set(), "revenue": D(0), "returned_units": 0, "returned_value": D(0)}
    )
    for row in _lines(lake, PERIOD):
        if row["kind"] not in ("sale", "return") or not _within(row, filters):
            continue
        sku = expected[str(row["sku"])]
        if row["kind"] == "sale":
            sku["units"] += row["quantity"]
            sku["orders"].add((row["source"], row["order_id"]))
            sku["revenue"] += row["amount"]
        else:
            sku["returned_units"] -= row["quantity"]
            sku["returned_value"] -= row["amount"]
    total = sum((sku["revenue"] for sku in expected.values()), D(0))
    assert expected, "the filters must leave something to check"

    rows = _table(document, "skus")
    assert {row["sku"] for row in rows} == set(expected)
    for row in rows:
        sku = expected[row["sku"]]
        assert row["category"] == category_of(row["sku"])
        assert (
            row["units"],
            row["orders"],
            row["revenue"],
            row["returned_units"],
            row["returned_value"],
        ) == (
            sku["units"],
            len(sku["orders"]),
            sku["revenue"],
            sku["returned_units"],
            sku["returned_value"],
        ), row["sku"]
        assert row["revenue_share"] == _share(sku["revenue"], total)
        assert row["return_rate"] == _share(sku["returned_units"], sku["units"])
    # ranked by revenue, highest first; top and bottom are its ends
    assert [row["rank"] for row in rows] == list(range(1, len(rows) + 1))
    assert [row["revenue"] for row in rows] == sorted((row["revenue"] for row in rows), reverse=True)
    assert _table(document, "top") == rows[:TOP_N]
    sold = [row for row in rows if row["units"] > 0]
    assert _table(document, "bottom") == (list(reversed(sold[-TOP_N:])) if len(sold) > TOP_N else [])
    figures = _figures(document)
    units = sum(sku["units"] for sku in expected.values())
    returned = sum(sku["returned_units"] for sku in expected.values())
    assert figures["revenue"] == total
    assert figures["units"] == units
    assert figures["orders"] == len(set().union(*(sku["orders"] for sku in expected.values())))
    assert figures["return_rate"] == _share(returned, units)
    assert document.currency == "GBP"
    assert document.chart is not None
    assert document.chart.labels == [row["sku"] for row in rows[:TOP_N]]


def test_the_unfiltered_period_agrees_with_the_raw_export_on_the_top_seller(lake: Lake) -> None:
    """A second, rawer check: the top SKU's units sold in the ERP's CSVs (sales lines, exact
    duplicates once) plus the checkout's, counted with the csv module."""
    document = compute_lake_report(_job(ReportKind.PRODUCT_PERFORMANCE), lake.deps())
    top = _table(document, "skus")[0]
    units = 0
    for day in PERIOD:
        path = RETAIL / f"{day.isoformat()}.csv"
        if not path.is_file():
            continue
        seen: set[tuple[str, ...]] = set()
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                key = tuple(row.values())
                if key in seen:
                    continue
                seen.add(key)
                if row["StockCode"].strip() == top["sku"] and int(row["Quantity"]) > 0:
                    units += int(row["Quantity"])
    web = {"22423": 3, "85099B": 5, "84879": 3}.get(top["sku"], 0)
    assert top["units"] == units + web


# ---------------------------------------------------------------- customer_cohorts
@pytest.mark.parametrize("filters", FILTERS[:3], ids=str)
@pytest.mark.parametrize("granularity", [Granularity.WEEK, Granularity.DAY])
def test_customer_cohorts_equal_a_plain_python_count(
    lake: Lake, filters: ReportFilters, granularity: Granularity
) -> None:
    document = compute_lake_report(
        _job(ReportKind.CUSTOMER_COHORTS, filters=filters, granularity=granularity), lake.deps()
    )
    history = [row for row in _lines(lake, HISTORY) if row["kind"] == "sale"]
    period = [row for row in _lines(lake, PERIOD) if row["kind"] == "sale"]
    first: dict[str, date] = {}
    for row in [*history, *period]:  # the shop's history, whatever the filters
        if row["customer"] is not None:
            first[row["customer"]] = min(first.get(row["customer"], row["day"]), row["day"])

    def start(day: date) -> date:
        if granularity is Granularity.WEEK:
            return max(day - timedelta(days=day.weekday()), FROM)
        return day

    active: dict[date, set[str]] = defaultdict(set)
    orders: dict[date, set[tuple[str, str]]] = defaultdict(set)
    guests: dict[date, set[tuple[str, str]]] = defaultdict(set)
    per_customer: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in period:
        if not _within(row, filters):
            continue
        key = (row["source"], row["order_id"])
        if row["customer"] is None:
            guests[start(row["day"])].add(key)
            continue
        active[start(row["day"])].add(row["customer"])
        orders[start(row["day"])].add(key)
        per_customer[row["customer"]].add(key)
    expected = [
        {
            "period_start": p,
            "customers": len(active[p]),
            "new_customers": sum(first[c] >= p for c in active[p]),
            "returning_customers": sum(first[c] < p for c in active[p]),
            "returning_share": _share(sum(first[c] < p for c in active[p]), len(active[p])),
            "orders": len(orders[p]),
            "guest_orders": len(guests[p]),
        }
        for p in sorted(set(active) | set(guests))
    ]
    assert _table(document, "periods") == expected
    members = [c for c in per_customer if FROM <= first[c] <= TO]
    repeat = [c for c in members if len(per_customer[c]) >= 2]
    cohorts = _table(document, "cohorts")
    assert cohorts == [
        {
            "cohort": date(2011, 1, 1),
            "customers": len(members),
            "repeat_customers": len(repeat),
            "repeat_rate": _share(len(repeat), len(members)),
            "orders": sum(len(per_customer[c]) for c in members),
        }
    ]
    assert _figures(document)["repeat_rate"] == _share(len(repeat), len(members))
    assert any(row["returning_customers"] for row in expected), "the history must make someone returning"


def test_a_web_order_of_a_store_customer_is_returning_not_new(lake: Lake) -> None:
    # 12413 bought at the store in the week before the period; their web order on the 12th is theirs
    document = compute_lake_report(
        _job(ReportKind.CUSTOMER_COHORTS, filters=ReportFilters(channel="web"), granularity=Granularity.WEEK),
        lake.deps(),
    )
    [week_one, week_two] = _table(document, "periods")
    assert (week_one["customers"], week_one["new_customers"], week_one["returning_customers"]) == (2, 1, 1)
    # web-1 ordered again in the second week (returning), and a guest ordered
    assert (week_two["returning_customers"], week_two["guest_orders"]) == (1, 1)
    assert _table(document, "cohorts")[0]["repeat_customers"] == 1


# ---------------------------------------------------------------- marketing_roas
def _ads_by_csv() -> dict[tuple[str, str], dict[str, Any]]:
    """Spend (each row rounded half-up to cents, as the export's connector reads it) and conversions
    per campaign, for the period's days, with the csv module."""
    campaigns: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"spend": D(0), "conversions": 0, "approved": 0, "ads": set(), "clicks": 0}
    )
    with ADS.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            day = date(2011, 1, int(row["Date"][:2]))  # DD-08-2023 moved onto January 2011
            if not FROM <= day <= TO:
                continue
            campaign = campaigns[("facebook", row["xyz_campaign_id"])]
            campaign["spend"] += D(row["Spent"]).quantize(D("0.01"), ROUND_HALF_UP)
            campaign["conversions"] += int(row["Total_Conversion"])
            campaign["approved"] += int(row["Approved_Conversion"])
            campaign["clicks"] += int(row["Clicks"])
            campaign["ads"].add(row["ad_id"])
    return campaigns


@pytest.mark.parametrize("filters", FILTERS[:2], ids=str)
def test_marketing_roas_equals_the_export_and_the_curated_revenue(lake: Lake, filters: ReportFilters) -> None:
    document = compute_lake_report(_job(ReportKind.MARKETING_ROAS, filters=filters), lake.deps())
    campaigns = _ads_by_csv()
    revenue = sum(
        (row["amount"] for row in _lines(lake, PERIOD) if row["kind"] == "sale" and _within(row, filters)),
        D(0),
    )
    spend = sum((c["spend"] for c in campaigns.values()), D(0))
    conversions = sum(c["conversions"] for c in campaigns.values())
    assert len(campaigns) == 3
    assert spend > 0

    figures = _figures(document)
    assert (figures["ad_spend"], figures["revenue"]) == (spend, revenue)
    assert figures["blended_roas"] == (revenue / spend).quantize(D("0.01"))
    rows = _table(document, "campaigns")
    assert [(row["channel"], row["campaign"]) for row in rows] == sorted(campaigns)
    for row in rows:
        campaign = campaigns[(row["channel"], row["campaign"])]
        attributed = (revenue * campaign["conversions"] / conversions).quantize(D("0.0001"))
        assert (row["spend"], row["conversions"], row["approved_conversions"], row["clicks"], row["ads"]) == (
            campaign["spend"],
            campaign["conversions"],
            campaign["approved"],
            campaign["clicks"],
            len(campaign["ads"]),
        )
        assert row["attributed_revenue"] == attributed
        assert row["roas"] == (attributed / campaign["spend"]).quantize(D("0.01"))
    [channel] = _table(document, "channels")
    assert (channel["channel"], channel["spend"], channel["attributed_revenue"]) == (
        "facebook",
        spend,
        revenue,
    )
    periods = _table(document, "periods")
    assert sum(row["spend"] for row in periods) == spend
    assert sum(row["revenue"] for row in periods) == revenue
    assert any("no ad click" in note for note in document.notes)


def test_ad_spend_in_another_currency_is_converted_and_a_missing_rate_is_noted_never_guessed(
    lake: Lake,
) -> None:
    campaigns = _ads_by_csv()
    try:
        lake.config(ads_currency="USD", fx_rates=[{"currency": "USD", "day": "2011-01-01", "rate": "0.64"}])
        document = compute_lake_report(_job(ReportKind.MARKETING_ROAS), lake.deps())
        rows = _table(document, "campaigns")
        # each ad row converted at 0.64, to 4 places, then summed
        for row in rows:
            assert row["spend"] == pytest.approx(
                campaigns[("facebook", row["campaign"])]["spend"] * D("0.64")
            )
        # a rate only from the 15th: the days before have none, so spend is unknown, not guessed
        lake.config(ads_currency="USD", fx_rates=[{"currency": "USD", "day": "2011-01-15", "rate": "0.64"}])
        document = compute_lake_report(_job(ReportKind.MARKETING_ROAS), lake.deps())
        assert _figures(document)["ad_spend"] is None
        assert _figures(document)["blended_roas"] is None
        assert any("no FX rate" in note for note in document.notes)
        periods = {row["period_start"]: row for row in _table(document, "periods")}
        assert periods[date(2011, 1, 14)]["spend"] is None
        assert periods[date(2011, 1, 15)]["spend"] is not None
    finally:
        lake.config()


# ---------------------------------------------------------------- empty, and the worker
@pytest.mark.parametrize(
    "kind", [ReportKind.PRODUCT_PERFORMANCE, ReportKind.CUSTOMER_COHORTS, ReportKind.MARKETING_ROAS]
)
@pytest.mark.parametrize("tenant", ["acme", "bravo"])
def test_a_period_without_data_is_an_empty_but_valid_document(
    lake: Lake, kind: ReportKind, tenant: str
) -> None:
    job = _job(kind, tenant_id=tenant, date_from=date(2012, 3, 1), date_to=date(2012, 3, 31))
    document = compute_lake_report(job, lake.deps())
    assert document.kind is kind
    assert document.tenant_id == tenant
    assert document.tables
    assert all(table.rows == [] for table in document.tables)
    assert all(figure.value in (0, None) for figure in document.figures)
    assert json.loads(document.model_dump_json())["kind"] == kind.value


@pytest.mark.parametrize(
    "kind", [ReportKind.PRODUCT_PERFORMANCE, ReportKind.CUSTOMER_COHORTS, ReportKind.MARKETING_ROAS]
)
def test_the_worker_stores_the_document_and_a_second_run_writes_the_same_bytes(
    lake: Lake, kind: ReportKind
) -> None:
    jobs, documents = FakeJobs(), FakeDocuments()
    job = _job(kind, filters=ReportFilters(country="United Kingdom"))
    jobs.create(job)
    deps = ReportWorkerDeps(
        jobs=jobs,
        orders=FakeOrders(),
        documents=documents,
        max_attempts=3,
        zone=ZoneInfo("Europe/London"),
        clock=FakeClock(NOW),
        lake_reports=lake.deps(),
    )
    message = ReportRequested(tenant_id="acme", job_id=job.job_id, params=job.params)
    done = run_report(message, 1, deps)
    key = report_key("acme", job.job_id)
    assert (done.status, done.result_key, done.progress) == (JobStatus.SUCCEEDED, key, 100)
    first = documents.objects[key]
    assert done.result_bytes == len(first)
    assert ReportDocument.model_validate_json(first).kind is kind
    # run again (a redriven job): the same object, byte for byte
    jobs.save(done.model_copy(update={"status": JobStatus.QUEUED, "version": done.version + 1}), done.version)
    again = run_report(message, 2, deps)
    assert again.status is JobStatus.SUCCEEDED
    assert documents.objects[key] == first
