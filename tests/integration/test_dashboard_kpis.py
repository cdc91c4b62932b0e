"""GET /dashboard/kpis under moto: the night (its item steps and its `rollups` and `inventory`
products) writes the rollups and suggestions of three ERP days, and the route answers from them
and from live counters of the day after; the figures are worked out from the ERP lines themselves."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tandem.adapters.rollups_table import RollupsTable
from tandem.handlers import api, nightly_lake
from tandem.handlers.wiring import api as root
from tandem.models.dashboard import HourCounters, LiveCell, LiveSku
from tests.events import http_event
from tests.integration.test_api import assert_matches_openapi
from tests.integration.test_inventory import ERP, _night, lake
from tests.moto_stack import REGION
from tests.template_model import Resolver

__all__ = ["lake"]  # the inventory tests' lake: three ERP days and a catalogue
D = Decimal
NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # the reporting zone (UTC here) is on the 28th
# The 28th is after the last night: a checkout's counters, an hour with one web order from DE.
LIVE = [
    HourCounters(
        tenant_id="acme",
        hour=datetime(2026, 11, 28, 9, tzinfo=UTC),
        orders=1,
        units=2,
        revenue={"GBP": D("13.00")},
        cells=[
            LiveCell(
                channel="web", country="DE", category="mugs", orders=1, units=2, revenue={"GBP": D("13.00")}
            )
        ],
        skus=[
            LiveSku(
                channel="web", country="DE", category="mugs", sku="MUG", units=2, revenue={"GBP": D("13.00")}
            )
        ],
    )
]


class Live:
    def hours(self, tenant_id: str, start: datetime, end: datetime) -> list[HourCounters]:
        return [h for h in LIVE if h.tenant_id == tenant_id and start <= h.hour < end]


@pytest.fixture
def rolled(lake: Resolver, lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> Resolver:
    """The night of each ERP day, its rollups product, then the inventory of the last."""
    _night(lambda_context)
    for day in ERP:
        step = {"step": "product", "product": "rollups", "tenant_id": "acme", "date": day.isoformat()}
        assert nightly_lake.handler(step, lambda_context)["product"] == "rollups"
    monkeypatch.setattr(root, "now", lambda: NOW)
    monkeypatch.setattr(root, "live_counter_reader", Live)  # its adapter comes with issue12-live
    return lake


def _get(
    lambda_context: Any, scopes: str = "reports:read", tenant: str | None = "acme", **query: str
) -> tuple[int, Any]:
    event = http_event("GET", "/dashboard/kpis", scopes=scopes, tenant=tenant)
    event["queryStringParameters"] = query or None
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def _erp_sales() -> dict[date, list[tuple[str, str, int, Decimal, str]]]:
    """(order, sku, quantity, amount, country) of the product sales of each ERP day, from the CSV."""
    sales: dict[date, list[tuple[str, str, int, Decimal, str]]] = {}
    for day, text in ERP.items():
        for line in text.splitlines():
            order, sku, _, quantity, _, price, _, country = line.split(",")
            if sku != "POST" and not order.startswith("C"):
                sales.setdefault(day, []).append(
                    (order, sku, int(quantity), D(price) * int(quantity), country)
                )
    return sales


def test_the_nights_rollups_and_the_live_counters_make_the_kpis(
    rolled: Resolver, lambda_context: Any
) -> None:
    status, body = _get(
        lambda_context, **{"from": "2026-11-26", "compare": "previous_period", "per_currency": "true"}
    )
    assert status == 200, body
    assert_matches_openapi(body, "/dashboard/kpis", "get", 200, lambda_context)
    assert (body["period"], body["comparison"]["from"], body["comparison"]["to"]) == (
        {"from": "2026-11-26", "to": "2026-11-28"},
        "2026-11-23",
        "2026-11-25",
    )
    assert body["as_of"]["rollups"] == "2026-11-27"  # the stamp the night wrote
    sales = _erp_sales()
    now_lines = sales[date(2026, 11, 26)] + sales[date(2026, 11, 27)]
    revenue = sum((amount for *_, amount, _ in now_lines), D(0)) + D("13.00")
    orders = len({order for order, *_ in now_lines}) + 1
    units = sum(quantity for _, _, quantity, _, _ in now_lines) + 2
    previous = sales[date(2026, 11, 25)]
    kpis = body["kpis"]
    assert (kpis["revenue"]["value"], kpis["revenue"]["previous"]) == (
        str(revenue.quantize(D("0.01"))),
        str(sum((a for *_, a, _ in previous), D(0)).quantize(D("0.01"))),
    )
    assert (kpis["orders"]["value"], kpis["units"]["value"], kpis["orders"]["previous"]) == (orders, units, 1)
    # one unit of 85123A came back on the 27th: over the rolled-up days' 13 units sold
    assert kpis["return_rate"]["value"] == str((D(1) / D(units - 2)).quantize(D("0.0001")))
    assert kpis["ad_spend"]["value"] is None  # no ad export
    assert [(p["start"], p["orders"]) for p in body["series"]] == [
        ("2026-11-26", 1),
        ("2026-11-27", 2),
        ("2026-11-28", 1),
    ]
    assert {row["key"]: row["orders"] for row in body["breakdowns"]["country"]} == {
        "United Kingdom": 2,
        "France": 1,
        "DE": 1,
    }
    assert [p["sku"] for p in body["top_products"]] == ["85123A", "MUG", "71053"]
    assert body["top_products_unavailable"] is None
    assert body["revenue_by_currency"] == {"GBP": str(revenue.quantize(D("0.01")))}
    # the inventory product flagged 85123A (3 on hand) the same night
    assert [(a["sku"], a["stock"]) for a in body["stock_alerts"]] == [("85123A", 3)]
    assert body["as_of"]["stock_alerts"] == "2026-11-27"

    # a filter applies to the rollups' cells and the live cells alike
    status, france = _get(lambda_context, **{"from": "2026-11-26", "country": "France"})
    assert (status, france["kpis"]["orders"]["value"], france["kpis"]["revenue"]["value"]) == (200, 1, "3.39")
    assert (france["top_products"], france["top_products_unavailable"] is not None) == ([], True)


def test_the_stamp_follows_the_latest_day_and_every_write(rolled: Resolver) -> None:
    table = RollupsTable(rolled.physical["RollupsTable"], boto3.resource("dynamodb", region_name=REGION))
    stamp = table.stamp("acme")
    assert stamp is not None
    assert stamp.last_day == date(2026, 11, 27)
    [older] = table.days("acme", date(2026, 11, 25), date(2026, 11, 25))
    table.put_day(older)  # a re-run of an older night: a new version, the same last day
    again = table.stamp("acme")
    assert again is not None
    assert (again.last_day, again.version) == (date(2026, 11, 27), stamp.version + 1)
    assert table.stamp("other") is None


def test_401_403_and_422(rolled: Resolver, lambda_context: Any) -> None:
    status, body = _get(lambda_context, tenant=None)
    assert (status, body["error"]) == (401, "unauthorized")
    status, body = _get(lambda_context, scopes="orders:read orders:write")
    assert (status, body["error"]) == (403, "forbidden")
    status, body = _get(lambda_context, granularity="yearly")
    assert (status, body["error"]) == (422, "validation_error")
    assert "yearly" not in json.dumps(body)  # the rejected input is never echoed
    status, body = _get(lambda_context, **{"from": "2026-11-28", "to": "2026-11-01"})
    assert (status, body["error"], body["details"][0]["type"]) == (422, "invalid_request", "invalid_period")
    status, body = _get(lambda_context, **{"from": "2026-11-01", "granularity": "hour"})
    assert (status, body["details"][0]["loc"]) == (422, ["query"])
    status, body = _get(lambda_context, **{"from": "2026-11-27", "to": "2026-11-28", "granularity": "hour"})
    assert status == 200
    assert len(body["series"]) == 48
