"""The demo loader copes with the real, dirty UCI Online Retail files as published."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from tandem.models.records import OrderStatus
from tandem_local import demo

pytestmark = pytest.mark.skipif(
    not demo.RETAIL_DAYS.is_dir(), reason="../shared/data is not beside this clone"
)

LONDON = ZoneInfo("Europe/London")


def test_retail_orders_keep_products_only_and_count_what_they_leave_out() -> None:
    report = demo.SeedReport()
    orders, products = demo._retail_orders(demo.RETAIL_DAYS, date(2026, 11, 28), report)
    # 4,894 invoices in the slice; some hold nothing but postage, fees or zero-priced lines.
    assert 4_300 < len(orders) < 4_894
    assert report.skipped["duplicate row"] == 975  # as the data's README counts them
    assert report.skipped["not a product (postage, fee, discount…)"] > 500
    assert all(demo._PRODUCT_CODE.match(line.sku) for o in orders for line in o.lines)
    assert all(line.quantity > 0 and line.unit_price > 0 for o in orders for line in o.lines)
    cancelled = [o for o in orders if o.status is OrderStatus.CANCELLED]
    assert cancelled
    assert all(o.order_id.startswith("inv-C") for o in cancelled)
    assert len(products) > 2_500


def test_retail_orders_move_by_whole_weeks_to_end_this_week() -> None:
    report = demo.SeedReport()
    today = date(2026, 11, 28)  # a Saturday
    orders, _ = demo._retail_orders(demo.RETAIL_DAYS, today, report)
    days = sorted({o.created_at.astimezone(LONDON).date() for o in orders})
    assert 0 <= (today - days[-1]).days < 7
    shift = days[-1] - date(2011, 2, 28)
    assert shift.days % 7 == 0
    # The first trading day, 1 December 2010, was a Wednesday: it still is.
    assert days[0] == date(2010, 12, 1) + shift
    assert days[0].weekday() == date(2010, 12, 1).weekday()
    # Local shop hours survive the move (the files hold UK local times, 07:00 to 20:00).
    assert all(7 <= o.created_at.astimezone(LONDON).hour <= 20 for o in orders)


def test_each_demo_day_is_the_erps_or_the_checkouts_never_both() -> None:
    today = date(2026, 11, 28)
    orders, _ = demo._retail_orders(demo.RETAIL_DAYS, today, demo.SeedReport())
    order_days = {o.created_at.astimezone(LONDON).date() for o in orders}
    cutover = demo.cutover(max(order_days))
    assert (max(order_days) - cutover).days == 7 * demo.CHECKOUT_WEEKS - 1
    drops = demo.lake_drops(today, cutover)
    erp_days = {day for source, day, _ in drops if source == "erp_orders"}
    checkout_days = {day for day in order_days if day >= cutover}
    assert erp_days
    assert checkout_days
    assert not erp_days & checkout_days
    assert erp_days | checkout_days == order_days
    # the catalogue, the CRM and the ads are filed under the ERP's first day, every later night joins them
    others = {(source, day) for source, day, _ in drops if source != "erp_orders"}
    assert others == {
        (source, min(erp_days)) for source in ("erp_products", "crm_leads", "crm_deals", "ads_spend")
    }
