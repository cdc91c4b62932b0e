"""The night over the lake: its plan, each item (the checkout's export, a source's partition), each
tenant's day finished with a rollup computed from the lake, and failures parked with their reason."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tandem.logic.lake.nightly import (
    NightDeps,
    NightFailedError,
    NightStartDeps,
    finish_day,
    night_outcome,
    plan_night,
    run_item,
    start_night,
)
from tandem.logic.rollups import rollup_key
from tandem.logic.sales import summarize_sales
from tandem.models.nightly import NightFailure, NightItem, NightlyRun, OutcomeStep
from tandem.models.records import OrderStatus
from tests.factories import order
from tests.fakes import (
    FakeClock,
    FakeLakeObjects,
    FakeNightRunner,
    FakeOrders,
    FakeParquet,
    FakeQueue,
    FakeRawFiles,
    FakeTenants,
)

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 7, 14)
ERP = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,HEART,6,2026-07-14 08:26:00,2.55,17850.0,United Kingdom\n"
    "536365,71053,LANTERN,2,2026-07-14 08:26:00,3.39,17850.0,United Kingdom\n"
    "C536379,85123A,HEART,-1,2026-07-14 09:41:00,2.55,17850.0,United Kingdom\n"
    "536366,POST,POSTAGE,1,2026-07-14 10:00:00,18.00,,France\n"
)


def _orders() -> FakeOrders:
    return FakeOrders(
        [
            order(datetime(2026, 7, 14, 8, tzinfo=UTC), ("MUG", 2, "6.50"), ("TEA", 1, "3.25")),
            order(datetime(2026, 7, 14, 22, 30, tzinfo=UTC), ("MUG", 1, "6.50")),  # 23:30 London: the 14th
            order(datetime(2026, 7, 14, 23, 30, tzinfo=UTC), ("MUG", 9, "6.50")),  # 15 July in London
            order(datetime(2026, 7, 14, 9, tzinfo=UTC), ("TEA", 5, "3.25"), status=OrderStatus.DECLINED),
            order(datetime(2026, 7, 14, 9, tzinfo=UTC), ("TEA", 4, "3.25"), tenant="bravo"),
        ]
    )


def _deps(objects: FakeLakeObjects, orders: FakeOrders) -> NightDeps:
    """The night over one bucket: the raw files it reads are the objects under raw/ it writes to."""
    return NightDeps(raw=objects, objects=objects, parquet=FakeParquet(), orders=orders, zone=LONDON)


def _start(raw: FakeRawFiles, objects: FakeLakeObjects, runner: FakeNightRunner) -> NightStartDeps:
    return NightStartDeps(
        tenants=FakeTenants(["bravo", "acme"]),
        raw=raw,
        objects=objects,
        runner=runner,
        zone=LONDON,
        clock=FakeClock(datetime(2026, 7, 15, 1, tzinfo=UTC)),
    )


def _item(source: str, tenant: str = "acme") -> NightItem:
    return NightItem(tenant_id=tenant, source=source, day=DAY)


def test_the_plan_has_every_tenants_checkout_and_each_source_with_files() -> None:
    raw, objects = FakeRawFiles(), FakeLakeObjects()
    raw.add("acme", "erp_orders", DAY, "day.csv", ERP.encode())
    raw.add("acme", "ads_spend", date(2026, 7, 13), "ads.csv", b"")  # another day: not planned
    # bravo had CRM leads that day, since removed: planned so their rows leave the lake
    objects.put("manifests/bravo/2026-07-14/crm_leads.json", b"[]", "application/json")
    plan = plan_night(DAY, None, _start(raw, objects, FakeNightRunner()))
    assert plan.tenants == ["acme", "bravo"]
    assert [(i.tenant_id, i.source) for i in plan.items] == [
        ("acme", "checkout"),
        ("acme", "erp_orders"),
        ("bravo", "checkout"),
        ("bravo", "crm_leads"),
    ]
    assert json.loads(plan.model_dump_json(by_alias=True))["items"][0] == {
        "tenant_id": "acme",
        "source": "checkout",
        "date": "2026-07-14",
    }


def test_a_firing_retried_starts_one_run_and_a_rerun_starts_another() -> None:
    runner = FakeNightRunner()
    deps = _start(FakeRawFiles(), FakeLakeObjects(), runner)
    fired = NightlyRun.model_validate({"scheduled_time": "2026-07-15T01:00:00Z"})
    first = start_night(fired, deps)
    again = start_night(fired, deps)
    assert first == again
    assert first[0].day == DAY
    assert list(runner.started) == ["nightly-2026-07-14-20260715T010000Z"]
    start_night(NightlyRun.model_validate({"date": "2026-07-14", "tenants": ["acme"]}), deps)
    assert len(runner.started) == 2
    [rerun] = [plan for name, plan in runner.started.items() if "rerun" in name]
    assert rerun.tenants == ["acme"]  # type: ignore[attr-defined]


def test_the_checkout_export_holds_the_days_confirmed_orders_and_reruns_identically() -> None:
    objects, orders = FakeLakeObjects(), _orders()
    [counts] = run_item(_item("checkout"), _deps(objects, orders))
    # 2 confirmed orders of the 14th in London: 3 lines; the declined and the 15th's are not sales
    assert (counts.file, counts.rows_in, counts.rows_curated) == ("orders.jsonl", 3, 3)
    exported = objects.objects["raw/acme/checkout/2026-07-14/orders.jsonl"].decode().splitlines()
    assert [json.loads(line)["sku"] for line in exported] == ["MUG", "TEA", "MUG"]
    before = dict(objects.objects)
    run_item(_item("checkout"), _deps(objects, orders))
    assert objects.objects == before


def test_a_day_without_orders_leaves_no_checkout_file_or_rows() -> None:
    objects = FakeLakeObjects()
    run_item(_item("checkout"), _deps(objects, _orders()))
    assert objects.keys("curated/order_lines/tenant=acme/")
    run_item(_item("checkout"), _deps(objects, FakeOrders()))
    assert objects.keys("raw/acme/checkout/") == []
    assert objects.keys("curated/") == []


def test_the_rollup_is_computed_from_the_lake_with_every_sources_sales() -> None:
    objects, orders = FakeLakeObjects(), _orders()
    objects.put("raw/acme/erp_orders/2026-07-14/day.csv", ERP.encode(), "text/csv")
    run_item(_item("checkout"), _deps(objects, orders))
    run_item(_item("erp_orders"), _deps(objects, orders))
    manifest, summary = finish_day("acme", DAY, _deps(objects, orders))
    assert manifest.balanced
    assert sorted(manifest.sources) == ["checkout", "erp_orders"]
    # Independently: the checkout's confirmed orders of the day, plus the ERP's one product sale
    # (536365: 6 x 2.55 + 2 x 3.39; the return and the postage line are not product sales)
    checkout = summarize_sales("acme", orders.orders, DAY, DAY, LONDON)
    assert summary.orders == checkout.orders + 1
    assert summary.units == checkout.units + 8
    extra = Decimal("15.30") + Decimal("6.78")
    assert summary.by_currency["GBP"].revenue == checkout.by_currency["GBP"].revenue + extra
    stored = json.loads(objects.objects[rollup_key("acme", DAY)])
    assert stored["orders"] == summary.orders
    before = dict(objects.objects)
    finish_day("acme", DAY, _deps(objects, orders))
    assert objects.objects == before


def test_failures_are_parked_with_their_reason_and_fail_the_run() -> None:
    queue = FakeQueue()
    outcome = OutcomeStep.model_validate(
        {
            "step": "outcome",
            "date": "2026-07-14",
            "item_results": [
                {"item": {"tenant_id": "acme", "source": "checkout", "date": "2026-07-14"}, "files": 1},
                {
                    "failed": True,
                    "item": {"tenant_id": "acme", "source": "erp_orders", "date": "2026-07-14"},
                    "error": {"Error": "Runtime.HandlerError", "Cause": '{"errorMessage": "boom"}'},
                },
            ],
            "finish_results": [{"tenant_id": "acme", "balanced": True}],
        }
    )
    with pytest.raises(NightFailedError, match="acme/erp_orders"):
        night_outcome(outcome, queue)
    [(failure, attributes)] = queue.sent
    assert isinstance(failure, NightFailure)
    assert (failure.source, failure.error, failure.cause) == (
        "erp_orders",
        "Runtime.HandlerError",
        '{"errorMessage": "boom"}',
    )
    assert attributes == {"kind": "nightly_failure"}
    assert night_outcome(outcome.model_copy(update={"item_results": outcome.item_results[:1]}), queue) == 1
