"""Sales arithmetic shared by on-demand reports and nightly rollups."""

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from tandem.models.records import Order, OrderStatus
from tandem.models.reports import CurrencyTotals, DaySales, ProductSales, SalesSummary

CENT = Decimal("0.01")
TOP_PRODUCTS = 10


def period_bounds(date_from: date, date_to: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local days date_from..date_to (DST-safe: 23- and 25-hour days count)."""
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _days(date_from: date, date_to: date) -> list[date]:
    return [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]


def summarize_sales(
    tenant_id: str, orders: Iterable[Order], date_from: date, date_to: date, zone: ZoneInfo
) -> SalesSummary:
    """Totals of the confirmed orders placed on the local days date_from..date_to.

    Orders outside the period or of another tenant are ignored: a caller may pass a
    superset, and one tenant's numbers can never include another's.
    Every day of the period appears in `by_day`, with zeros when nothing sold.
    """
    counted: dict[str, list[Order]] = defaultdict(list)
    day_orders: Counter[date] = Counter()
    day_units: Counter[date] = Counter()
    day_revenue: dict[date, defaultdict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    sku_units: Counter[str] = Counter()
    sku_revenue: dict[str, defaultdict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    excluded: Counter[OrderStatus] = Counter()

    for order in orders:
        day = order.created_at.astimezone(zone).date()
        if order.tenant_id != tenant_id or not date_from <= day <= date_to:
            continue
        if order.status is not OrderStatus.CONFIRMED:
            excluded[order.status] += 1
            continue
        counted[order.currency].append(order)
        day_orders[day] += 1
        day_units[day] += order.units
        day_revenue[day][order.currency] += order.total
        for line in order.lines:
            sku_units[line.sku] += line.quantity
            sku_revenue[line.sku][order.currency] += line.amount

    by_currency = {
        currency: _currency_totals(currency_orders) for currency, currency_orders in sorted(counted.items())
    }
    top = sorted(sku_units.items(), key=lambda item: (-item[1], item[0]))[:TOP_PRODUCTS]
    return SalesSummary(
        tenant_id=tenant_id,
        date_from=date_from,
        date_to=date_to,
        timezone=zone.key,
        orders=sum(day_orders.values()),
        units=sum(day_units.values()),
        by_currency=by_currency,
        by_day=[
            DaySales(
                date=day,
                orders=day_orders[day],
                units=day_units[day],
                revenue={cur: _money(v) for cur, v in sorted(day_revenue[day].items())},
            )
            for day in _days(date_from, date_to)
        ],
        top_products=[
            ProductSales(
                sku=sku, units=units, revenue={cur: _money(v) for cur, v in sorted(sku_revenue[sku].items())}
            )
            for sku, units in top
        ],
        excluded_orders=dict(sorted(excluded.items())),
    )


def _currency_totals(orders: list[Order]) -> CurrencyTotals:
    revenue = sum((order.total for order in orders), Decimal(0))
    return CurrencyTotals(
        orders=len(orders),
        units=sum(order.units for order in orders),
        revenue=_money(revenue),
        average_order_value=_money(revenue / len(orders)),
    )
