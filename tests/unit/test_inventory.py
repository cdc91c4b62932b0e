"""Inventory suggestions: the formulas on a case worked out by hand, the night product end to end
over a fake lake (counts, document, re-runs), the shared retail data through the curated lake, and
the API's read of the latest document."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tandem.logic.errors import NotFoundError
from tandem.logic.inventory import (
    InventoryDeps,
    InventoryReadDeps,
    latest_key,
    latest_suggestions,
    make_suggestions,
    suggestions_key,
    z_for,
)
from tandem.logic.lake.curation import CurationDeps, curate_partition
from tandem.logic.lake.intake import config_key
from tandem.logic.lake.sources import sources
from tandem.logic.lake.tables import ORDER_LINES, part_key
from tandem.models.catalog import Product
from tandem.models.inventory import InventorySettings, InventorySuggestions
from tandem.models.lake_config import LakeConfig
from tests.events import http_event
from tests.fakes import FakeCatalog, FakeClock, FakeLakeObjects, FakeParquet
from tests.shared_data import SHARED_DATA

DAY = date(2026, 7, 14)  # the night: the window's last day
START = DAY - timedelta(days=6)  # a 7-day window
# Φ⁻¹(0.95), from a printed table of the standard normal distribution
Z95 = 1.6448536


def _line(sku: str, quantity: int, kind: str, day: date, n: int = 0) -> tuple[object, ...]:
    values: dict[str, object] = {
        "order_id": f"{day:%m%d}{n}",
        "sku": sku,
        "description": sku,
        "quantity": quantity,
        "unit_price": "2.00",
        "amount": str(Decimal(2) * quantity),
        "currency": "GBP",
        "ordered_at": f"{day.isoformat()} 10:00:00",
        "customer_id": None,
        "country": "United Kingdom",
        "kind": kind,
        "source_file": "raw/acme/erp_orders/x/day.csv",
    }
    return tuple(values[name] for name in ORDER_LINES.column_names)


def _put_day(
    objects: FakeLakeObjects, day: date, *lines: tuple[object, ...], source: str = "erp_orders"
) -> None:
    key = part_key(ORDER_LINES.name, "acme", day, source, "day.csv")
    objects.put(key, FakeParquet().encode(ORDER_LINES, list(lines)), "application/vnd.apache.parquet")


SETTINGS = {
    "window_days": 7,
    "lead_time_days": 4,
    "review_period_days": 3,
    "service_level": 0.95,
    "lead_times": {"TEA": 10},
}


def _lake() -> FakeLakeObjects:
    """A week of MUG, TEA, BACK and GHOST, and lines outside the window and of other kinds."""
    objects = FakeLakeObjects()
    objects.put(config_key("acme"), json.dumps({"inventory": SETTINGS}).encode(), "application/json")
    d = [START + timedelta(days=i) for i in range(7)]
    _put_day(objects, START - timedelta(days=1), _line("MUG", 100, "sale", START - timedelta(days=1)))
    _put_day(
        objects,
        d[0],
        _line("MUG", 3, "sale", d[0]),
        _line("MUG", -1, "return", d[0], 1),
        _line("POST", 1, "non_product", d[0], 2),
        _line("TEA", 1, "sale", d[0], 3),
    )
    _put_day(objects, d[1], _line("TEA", 1, "sale", d[1]))
    _put_day(objects, d[2], _line("MUG", 4, "sale", d[2]), _line("TEA", 1, "sale", d[2], 1))
    # the checkout is a source like any other: its lines count too
    _put_day(
        objects, d[3], _line("TEA", 1, "sale", d[3]), _line("GHOST", 5, "sale", d[3], 1), source="checkout"
    )
    _put_day(objects, d[3], _line("BACK", -2, "return", d[3]))
    _put_day(
        objects,
        d[4],
        _line("MUG", 6, "sale", d[4]),
        _line("MUG", -5, "stock_adjustment", d[4], 1),  # damages: not demand
        _line("TEA", 1, "sale", d[4], 2),
    )
    _put_day(objects, d[5], _line("TEA", 1, "sale", d[5]))
    _put_day(objects, d[6], _line("MUG", 2, "sale", d[6]), _line("TEA", 1, "sale", d[6], 1))
    _put_day(objects, DAY + timedelta(days=1), _line("MUG", 50, "sale", DAY + timedelta(days=1)))
    return objects


def _product(sku: str, stock: int) -> Product:
    return Product(tenant_id="acme", sku=sku, name=sku, price=Decimal("2.00"), currency="GBP", stock=stock)


def _deps(objects: FakeLakeObjects, catalog: FakeCatalog | None = None) -> InventoryDeps:
    catalog = catalog or FakeCatalog(_product("MUG", 10), _product("TEA", 4), _product("BACK", 3))
    return InventoryDeps(
        objects=objects,
        parquet=FakeParquet(),
        stock=catalog,
        clock=FakeClock(datetime(2026, 7, 15, 2, tzinfo=UTC)),
    )


def _items(objects: FakeLakeObjects, key: str) -> dict[str, dict[str, Any]]:
    return {item["sku"]: item for item in json.loads(objects.objects[key])["items"]}


# ---------------------------------------------------------------- the maths, by hand


def test_z_is_the_standard_normal_quantile_of_the_service_level() -> None:
    assert z_for(0.95) == pytest.approx(Z95, abs=1e-6)
    assert z_for(0.5) == pytest.approx(0.0, abs=1e-12)
    assert z_for(0.99) == pytest.approx(2.3263479, abs=1e-6)  # the table again


def test_the_figures_of_a_week_worked_out_by_hand() -> None:
    objects = _lake()
    counts = make_suggestions("acme", DAY, _deps(objects))
    items = _items(objects, suggestions_key("acme", DAY))

    # MUG, day by day: 3 sold - 1 returned, 0, 4, 0, 6 (the write-off of 5 is no demand), 0, 2;
    # the 100 the day before the window and the 50 after it are outside.
    # μ = 14 / 7 = 2; deviations 0, -2, 2, -2, 4, -2, 0 → Σ² = 32; sample sd = √(32 / 6).
    sigma = math.sqrt(32 / 6)
    safety = Z95 * sigma * math.sqrt(4)  # L = 4: ≈ 7.597
    mug = items["MUG"]
    assert (mug["units_sold"], mug["units_returned"], mug["lead_time_days"]) == (15, 1, 4)
    assert mug["mean_daily_demand"] == pytest.approx(2.0)
    assert mug["sd_daily_demand"] == pytest.approx(sigma, abs=1e-3)
    assert mug["safety_stock"] == pytest.approx(safety, abs=1e-3)
    assert mug["reorder_point"] == pytest.approx(2 * 4 + safety, abs=1e-3)  # ≈ 15.597
    assert mug["order_up_to"] == pytest.approx(2 * (4 + 3) + safety, abs=1e-3)  # ≈ 21.597
    # 10 on hand < 15.597: flagged; order up to 21.597 → 11.597 → 12 units
    assert (mug["stock"], mug["below_reorder_point"], mug["suggested_order"]) == (10, True, 12)

    # TEA: 1 a day, no spread: no safety stock. Its own lead time (10 days) overrides the tenant's 4:
    # ROP = 1 x 10 = 10 > 4 on hand; order up to 1 x (10 + 3) = 13 → 9 units.
    tea = items["TEA"]
    assert (tea["mean_daily_demand"], tea["sd_daily_demand"], tea["safety_stock"]) == (1.0, 0.0, 0.0)
    assert (tea["lead_time_days"], tea["reorder_point"], tea["order_up_to"]) == (10, 10.0, 13.0)
    assert (tea["below_reorder_point"], tea["suggested_order"]) == (True, 9)

    # BACK: only a return of 2 (day 4): μ = -2/7, counted as no demand; sd of 0,0,0,-2,0,0,0:
    # mean -2/7, Σ² = 6·(2/7)² + (12/7)² = 24/7 → sd = √(24/7 / 6) = √(4/7).
    back = items["BACK"]
    assert back["mean_daily_demand"] == pytest.approx(-2 / 7, abs=1e-3)
    assert back["sd_daily_demand"] == pytest.approx(math.sqrt(4 / 7), abs=1e-3)
    assert back["reorder_point"] == pytest.approx(Z95 * math.sqrt(4 / 7) * 2, abs=1e-3)  # ≈ 2.487
    assert (back["stock"], back["below_reorder_point"], back["suggested_order"]) == (3, False, 0)

    # GHOST: sold through the checkout, unknown to the catalogue: figures, but no stock, flag or order.
    ghost = items["GHOST"]
    assert ghost["mean_daily_demand"] == pytest.approx(5 / 7, abs=1e-3)
    assert (ghost["stock"], ghost["below_reorder_point"], ghost["suggested_order"]) == (None, None, None)

    assert "POST" not in items  # a non-product line
    # 7 days with lines (the 4th has two sources' parts); lines read: every kind, in the window only
    assert counts == {
        "skus": 4,
        "below_reorder_point": 2,
        "not_in_catalogue": 1,
        "days_read": 7,
        "lines_read": 4 + 1 + 2 + 2 + 1 + 3 + 1 + 2,
    }


def test_a_sku_at_its_reorder_point_is_not_flagged_and_one_just_below_is() -> None:
    objects = _lake()
    make_suggestions("acme", DAY, _deps(objects, FakeCatalog(_product("TEA", 10))))
    assert _items(objects, suggestions_key("acme", DAY))["TEA"]["below_reorder_point"] is False  # 10 = ROP
    make_suggestions("acme", DAY, _deps(objects, FakeCatalog(_product("TEA", 9))))
    tea = _items(objects, suggestions_key("acme", DAY))["TEA"]
    assert (tea["below_reorder_point"], tea["suggested_order"]) == (True, 13 - 9)


def test_without_a_configuration_the_defaults_apply() -> None:
    objects = _lake()
    objects.delete(config_key("acme"))
    make_suggestions("acme", DAY, _deps(objects))
    document = json.loads(objects.objects[suggestions_key("acme", DAY)])
    assert document["settings"] == InventorySettings().model_dump()
    assert (document["window"]["start"], document["window"]["days"]) == (
        (DAY - timedelta(days=27)).isoformat(),
        28,
    )
    mug = {item["sku"]: item for item in document["items"]}["MUG"]
    # 28 days: the same 14 units (the 100 of the day before the week is in this window too)
    assert mug["mean_daily_demand"] == pytest.approx(114 / 28, abs=1e-3)
    assert mug["lead_time_days"] == 7


def test_the_settings_are_checked_where_they_are_configured() -> None:
    with pytest.raises(ValueError, match="service_level"):
        LakeConfig.model_validate({"inventory": {"service_level": 1.0}})
    with pytest.raises(ValueError, match="window_days"):
        LakeConfig.model_validate({"inventory": {"window_days": 1}})
    with pytest.raises(ValueError, match="lead_times"):
        LakeConfig.model_validate({"inventory": {"lead_times": {"MUG": 0}}})


# ---------------------------------------------------------------- the product: document, re-runs


def test_the_document_and_latest_are_written_and_a_rerun_replaces_that_dates() -> None:
    objects = _lake()
    make_suggestions("acme", DAY, _deps(objects))
    first = objects.objects[suggestions_key("acme", DAY)]
    assert objects.objects[latest_key("acme")] == first
    document = InventorySuggestions.model_validate_json(first)
    assert (document.date, document.window.start, document.window.end, document.z) == (
        DAY,
        START,
        DAY,
        1.644854,
    )
    assert document.computed_at == datetime(2026, 7, 15, 2, tzinfo=UTC)

    # Stock came in since: the re-run replaces the date's document (and latest), nothing else is added.
    keys = sorted(objects.objects)
    make_suggestions("acme", DAY, _deps(objects, FakeCatalog(_product("MUG", 40), _product("TEA", 40))))
    assert sorted(objects.objects) == keys
    assert _items(objects, suggestions_key("acme", DAY))["MUG"]["below_reorder_point"] is False
    assert objects.objects[latest_key("acme")] == objects.objects[suggestions_key("acme", DAY)]

    # An older night re-run gets its own document; latest stays the newer night's.
    latest = objects.objects[latest_key("acme")]
    make_suggestions("acme", DAY - timedelta(days=1), _deps(objects))
    assert suggestions_key("acme", DAY - timedelta(days=1)) in objects.objects
    assert objects.objects[latest_key("acme")] == latest


# ---------------------------------------------------------------- the API's read


def test_the_api_reads_the_latest_night_and_filters_on_the_flag() -> None:
    objects = _lake()
    with pytest.raises(NotFoundError):
        latest_suggestions("acme", None, InventoryReadDeps(objects))
    make_suggestions("acme", DAY, _deps(objects))
    read = InventoryReadDeps(objects)
    everything = latest_suggestions("acme", None, read)
    assert (everything.date, [i.sku for i in everything.items]) == (DAY, ["BACK", "GHOST", "MUG", "TEA"])
    assert [i.sku for i in latest_suggestions("acme", True, read).items] == ["MUG", "TEA"]
    # False: stock known and not below; GHOST (stock unknown) is in neither
    assert [i.sku for i in latest_suggestions("acme", False, read).items] == ["BACK"]
    assert latest_suggestions("acme", True, read).counts == everything.counts
    with pytest.raises(NotFoundError):
        latest_suggestions("bravo", None, read)  # another tenant's night is not this one's


# ---------------------------------------------------------------- the shared retail data

RETAIL = SHARED_DATA / "online_retail" / "by-day"
FEBRUARY = [date(2011, 2, 1) + timedelta(days=i) for i in range(28)]
needs_data = pytest.mark.skipif(not RETAIL.is_dir(), reason="../shared/data is absent")


def _net_units_by_csv() -> tuple[dict[str, int], dict[str, set[date]]]:
    """Independently, with the csv module: February's net units per stock code (sales and
    cancellations; exact duplicate rows once; write-offs, which are negative without a 'C', not),
    and the days each code sold on."""
    net: dict[str, int] = defaultdict(int)
    days: dict[str, set[date]] = defaultdict(set)
    for day in FEBRUARY:
        path = RETAIL / f"{day.isoformat()}.csv"
        if not path.is_file():
            continue  # no trade that day (Saturdays)
        seen: set[tuple[str, ...]] = set()
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                key = tuple(row.values())
                if key in seen:
                    continue
                seen.add(key)
                quantity = int(row["Quantity"])
                if quantity > 0 or row["InvoiceNo"].startswith("C"):
                    net[row["StockCode"].strip()] += quantity
                    if quantity > 0:
                        days[row["StockCode"].strip()].add(day)
    return net, days


@needs_data
def test_on_the_shared_retail_data_a_top_seller_gets_a_higher_reorder_point_than_a_slow_one() -> None:
    net, days = _net_units_by_csv()
    top = max((code for code in net if code[:5].isdigit()), key=lambda code: net[code])
    slow = min(
        (code for code in net if code[:5].isdigit() and len(days[code]) == 1 and net[code] > 0),
        key=lambda code: (net[code], code),
    )
    # February 2011 through the curated lake, as the night reads it
    objects = FakeLakeObjects()
    raw = FakeLakeObjects()
    for day in FEBRUARY:
        path = RETAIL / f"{day.isoformat()}.csv"
        if path.is_file():
            raw.put(f"raw/acme/erp_orders/{day.isoformat()}/{path.name}", path.read_bytes(), "text/csv")
    curation = CurationDeps(
        raw=raw, objects=objects, parquet=FakeParquet(), sources=sources(LakeConfig(), "Europe/London")
    )
    for day in FEBRUARY:
        curate_partition("acme", "erp_orders", day, curation)
    catalog = FakeCatalog(_product(top, 0), _product(slow, 0))
    counts = make_suggestions("acme", FEBRUARY[-1], _deps(objects, catalog))
    items = _items(objects, suggestions_key("acme", FEBRUARY[-1]))

    assert counts["days_read"] == sum(1 for day in FEBRUARY if (RETAIL / f"{day.isoformat()}.csv").is_file())
    assert items[top]["mean_daily_demand"] == pytest.approx(net[top] / 28, abs=1e-3)
    assert items[slow]["mean_daily_demand"] == pytest.approx(net[slow] / 28, abs=1e-3)
    assert items[top]["reorder_point"] > items[slow]["reorder_point"] > 0
    assert items[top]["suggested_order"] > items[slow]["suggested_order"] > 0
    assert counts["not_in_catalogue"] == counts["skus"] - 2


# ---------------------------------------------------------------- the route, over the fakes


def _route(monkeypatch: pytest.MonkeyPatch, objects: FakeLakeObjects, lambda_context: Any, query: str) -> Any:
    from tandem.handlers import api
    from tandem.handlers.wiring import api as root

    monkeypatch.setattr(root, "inventory", lambda: InventoryReadDeps(objects))
    event = http_event("GET", "/inventory/suggestions", scopes="reports:read")
    event["rawQueryString"] = query
    event["queryStringParameters"] = dict(part.split("=") for part in query.split("&")) if query else None
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def test_the_route_answers_the_latest_night_filtered_404_before_and_422_on_a_bad_flag(
    monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    objects = _lake()
    status, body = _route(monkeypatch, objects, lambda_context, "")
    assert (status, body["error"]) == (404, "not_found")
    make_suggestions("acme", DAY, _deps(objects))
    status, body = _route(monkeypatch, objects, lambda_context, "below_reorder_point=true")
    assert (status, body["date"], [i["sku"] for i in body["items"]]) == (200, "2026-07-14", ["MUG", "TEA"])
    status, body = _route(monkeypatch, objects, lambda_context, "")
    assert (status, len(body["items"]), body["counts"]["below_reorder_point"]) == (200, 4, 2)
    status, body = _route(monkeypatch, objects, lambda_context, "below_reorder_point=often")
    assert (status, body["error"]) == (422, "validation_error")
