from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from tandem.logic.sales import period_bounds, summarize_sales
from tandem.models.records import OrderStatus
from tests.factories import order

LONDON = ZoneInfo("Europe/London")


def test_period_bounds_follow_local_days_across_dst() -> None:
    # Given the last Sunday of October, when the UK clocks go back (a 25-hour day)
    start, end = period_bounds(date(2026, 10, 25), date(2026, 10, 25), LONDON)
    # Then the period starts at 23:00 UTC the day before (BST) and lasts 25 hours
    assert start == datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)


def test_summarize_sales_counts_confirmed_orders_by_local_day_and_currency() -> None:
    # Given orders around midnight in London during summer time (UTC+1)
    orders = [
        order(datetime(2026, 7, 1, 22, 30, tzinfo=UTC), ("A", 2, "10.00")),  # 23:30 local, 1 July
        order(datetime(2026, 7, 1, 23, 30, tzinfo=UTC), ("A", 1, "10.00"), ("B", 3, "2.50")),  # 00:30, 2 July
        order(datetime(2026, 7, 2, 10, 0, tzinfo=UTC), ("B", 1, "9.99"), currency="EUR"),
        order(datetime(2026, 7, 2, 11, 0, tzinfo=UTC), ("A", 5, "10.00"), status=OrderStatus.CANCELLED),
        order(datetime(2026, 7, 3, 9, 0, tzinfo=UTC), ("A", 9, "10.00")),  # outside the period
        order(datetime(2026, 7, 2, 9, 0, tzinfo=UTC), ("A", 9, "10.00"), tenant="bravo"),  # another tenant
    ]
    # When July 1 and 2 are summarised
    summary = summarize_sales("acme", orders, date(2026, 7, 1), date(2026, 7, 2), LONDON)
    # Then
    assert summary.orders == 3
    assert summary.units == 2 + 4 + 1
    assert summary.by_currency["GBP"].revenue == Decimal("37.50")
    assert summary.by_currency["GBP"].orders == 2
    assert summary.by_currency["GBP"].average_order_value == Decimal("18.75")
    assert summary.by_currency["EUR"].revenue == Decimal("9.99")
    assert [(d.date, d.orders, d.units) for d in summary.by_day] == [
        (date(2026, 7, 1), 1, 2),
        (date(2026, 7, 2), 2, 5),
    ]
    assert summary.by_day[1].revenue == {"EUR": Decimal("9.99"), "GBP": Decimal("17.50")}
    assert summary.excluded_orders == {OrderStatus.CANCELLED: 1}
    assert [(p.sku, p.units) for p in summary.top_products] == [("B", 4), ("A", 3)]


def test_summarize_sales_lists_every_day_even_without_sales() -> None:
    summary = summarize_sales("acme", [], date(2026, 2, 27), date(2026, 3, 2), ZoneInfo("UTC"))
    assert [d.date.day for d in summary.by_day] == [27, 28, 1, 2]
    assert all(d.orders == 0 and d.revenue == {} for d in summary.by_day)
    assert summary.by_currency == {}


def test_summarize_sales_keeps_money_exact() -> None:
    # 3 x 0.10 is 0.30 exactly, as it would not be in floating point
    orders = [order(datetime(2026, 1, 5, 12, tzinfo=UTC), ("A", 1, "0.10")) for _ in range(3)]
    summary = summarize_sales("acme", orders, date(2026, 1, 5), date(2026, 1, 5), ZoneInfo("UTC"))
    assert summary.by_currency["GBP"].revenue == Decimal("0.30")
    assert summary.by_currency["GBP"].average_order_value == Decimal("0.10")
