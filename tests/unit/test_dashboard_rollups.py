"""The dashboard's rollups: a day cut by channel, country and category, checked against figures
worked out by hand; and the night's product over a lake of two days (new vs returning customers,
ad spend from an export, a re-run replacing the day)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from tandem.logic.lake.dashboard import DayInputs, make_rollups, roll_up_day
from tandem.logic.lake.fx import FxTable
from tandem.logic.lake.intake import curation_deps
from tandem.logic.lake.nightly import NightDeps, finish_day, intake_deps, run_item
from tandem.models.nightly import NightItem
from tests.fakes import FakeLakeObjects, FakeOrders, FakeParquet, FakeRollupStore

DAY = date(2026, 7, 14)
D = Decimal


def line(source: str, order: str, sku: str, qty: int, amount: str, **more: object) -> dict[str, object]:
    return {
        "source": source,
        "order_id": order,
        "sku": sku,
        "quantity": qty,
        "amount": D(amount),
        "currency": more.get("currency", "GBP"),
        "kind": more.get("kind", "sale"),
        "country": more.get("country", "UK"),
        "customer_id": more.get("customer"),
    }


LINES = [
    line("erp_orders", "A", "S1", 2, "10.00", customer="1.0"),
    line("erp_orders", "A", "POST", 1, "5.00", customer="1.0", kind="non_product"),
    line("erp_orders", "B", "S2", 1, "3.50", country="France"),
    line("checkout", "C", "S1", 1, "6.00", currency="EUR", customer="2"),
    line("erp_orders", "A", "S1", -1, "-5.00", customer="1.0", kind="return"),
    line("erp_orders", "X", "S2", -3, "0.00", kind="stock_adjustment"),
]
INPUTS = DayInputs(
    lines=LINES,
    categories={"S1": "home"},
    catalogue_date=DAY,
    seen_before={"1"},
    ad_spend={"facebook": D("20.00")},
)
FX = FxTable("GBP", [("EUR", date(2026, 7, 1), D("0.85"))])


def test_a_day_by_hand() -> None:
    rollup = roll_up_day("acme", DAY, INPUTS, FX, {"erp_orders": "store"})
    cells = {(c.channel, c.country, c.category): c for c in rollup.cells}
    assert list(cells) == [
        ("checkout", "UK", "home"),
        ("store", "France", "unknown"),
        ("store", "UK", "home"),
    ]
    web, france, uk = cells.values()
    # 6.00 EUR at 0.85 = 5.10 GBP; customer 2 never seen before: new
    assert (web.revenue, web.revenue_tenant, web.orders, web.units) == ({"EUR": D("6.00")}, D("5.1000"), 1, 1)
    assert (web.new_customers, web.returning_customers, web.guest_orders) == (1, 0, 0)
    # a guest's order; S2 is not in the catalogue
    assert (france.revenue_tenant, france.guest_orders, france.new_customers) == (D("3.50"), 1, 0)
    # 2 x S1 sold (postage apart), one returned for 5.00; customer 1.0 is "1", seen before
    assert (uk.revenue, uk.units, uk.returns, uk.returned_units) == ({"GBP": D("10.00")}, 2, 1, 1)
    assert (uk.returned_value_tenant, uk.returning_customers, uk.new_customers) == (D("5.00"), 1, 0)
    # the day: orders A, B, C; 10.00 + 3.50 + 5.10 = 18.60 over 20.00 of ads
    assert (rollup.orders, rollup.revenue_tenant, rollup.roas) == (3, D("18.6000"), D("0.93"))
    skus = {s.sku: s for s in rollup.skus}
    assert sorted(skus) == ["S1", "S2"]  # postage and the stock adjustment are not sales
    assert (skus["S1"].units, skus["S1"].orders, skus["S1"].revenue_tenant, skus["S1"].returned_units) == (
        3,
        2,
        D("15.1000"),
        1,
    )


def test_without_a_rate_the_converted_figures_are_unknown_not_guessed() -> None:
    rollup = roll_up_day("acme", DAY, INPUTS, FxTable("GBP"), {})
    web = next(c for c in rollup.cells if c.channel == "checkout")
    assert web.revenue == {"EUR": D("6.00")}
    assert web.revenue_tenant is None
    assert rollup.revenue_tenant is None
    assert rollup.roas is None


ERP = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ADS = (
    "Date,ad_id,xyz_campaign_id,fb_campaign_id,age,gender,interest,Impressions,Clicks,Spent,"
    "Total_Conversion,Approved_Conversion\n"
    "14-07-2026,1,916,103916,30-34,M,15,7350,1,1.43,2,1\n"
    "14-07-2026,2,916,103917,30-34,M,16,17861,2,1.82,2,0\n"
    "13-07-2026,3,916,103920,30-34,M,20,693,1,0.50,1,0\n"
)


def test_the_nights_product_over_two_days_of_lake() -> None:
    objects = FakeLakeObjects()
    night = NightDeps(
        raw=objects,
        objects=objects,
        parquet=FakeParquet(),
        orders=FakeOrders(),
        zone=ZoneInfo("Europe/London"),
    )
    first, second = date(2026, 7, 13), DAY
    objects.put(
        f"raw/acme/erp_orders/{first}/a.csv",
        (ERP + "1,22086,CHAIN,2,2026-07-13 10:00:00,2.95,17850.0,United Kingdom\n").encode(),
        "text/csv",
    )
    objects.put(
        f"raw/acme/erp_orders/{second}/b.csv",
        (
            ERP
            + "2,22086,CHAIN,1,2026-07-14 10:00:00,2.95,17850.0,United Kingdom\n"
            + "3,71053,LANTERN,4,2026-07-14 11:00:00,3.39,12583.0,France\n"
        ).encode(),
        "text/csv",
    )
    objects.put(f"raw/acme/ads_spend/{second}/ads.csv", ADS.encode(), "text/csv")
    for day, sources in ((first, ["erp_orders"]), (second, ["erp_orders", "ads_spend"])):
        for source in sources:
            run_item(NightItem(tenant_id="acme", source=source, day=day), night)
        finish_day("acme", day, night)
    store = FakeRollupStore()
    curation = curation_deps("acme", intake_deps(night))
    counts = make_rollups("acme", second, curation, store, FxTable("GBP"), {})
    [rollup] = store.days("acme", second, second)
    assert counts["orders"] == rollup.orders == 2
    # 17850 ordered the day before: returning; 12583 is new
    by_country = {c.country: c for c in rollup.cells}
    assert (by_country["United Kingdom"].returning_customers, by_country["United Kingdom"].new_customers) == (
        1,
        0,
    )
    assert (by_country["France"].returning_customers, by_country["France"].new_customers) == (0, 1)
    # the 14th's spend only (1.43 + 1.82), not the 13th's row of the same export
    assert rollup.ad_spend == {"facebook": D("3.25")}
    assert rollup.revenue_tenant == D("2.95") + 4 * D("3.39")
    assert rollup.roas == ((D("2.95") + 4 * D("3.39")) / D("3.25")).quantize(D("0.01"))
    # a re-run replaces the day: the same document
    make_rollups("acme", second, curation, store, FxTable("GBP"), {})
    assert store.days("acme", second, second) == [rollup]
