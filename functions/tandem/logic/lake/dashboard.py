"""The dashboard's rollups, a product of the night (tandem.logic.lake.products): a tenant's day from
the lake, cut by channel, country and category, with its ad spend and ROAS and its sales per SKU.

- Product sales only: `sale` lines make revenue, orders and units; `return` lines are counted
  apart (returns, returned units and value); postage, fees and stock adjustments are left out.
- Revenue is kept per currency as sold, and in the tenant's currency with the tenant's dated FX
  table (LakeConfig.fx_rates); a missing rate leaves the converted figure None, never a guess.
- A customer is new on a day when none of the tenant's days in the LOOKBACK_DAYS before it has
  an order of theirs (the night's `customers` table); guests are counted as guest orders.
- Ad spend is the spend the ad exports report for the day (any export's partition), by ad
  channel; ROAS is blended (the day's revenue over its spend): orders carry no ad click, so
  there is no per-channel attribution to make.

Stored through the RollupStore port (DynamoDB: one item per tenant and day, see
tandem.adapters.rollups_table for why), replaced whole by a re-run of the date.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tandem.logic.lake.connectors import RowRejected
from tandem.logic.lake.curation import CurationDeps
from tandem.logic.lake.derive import (
    catalogue_categories,
    customer_key,
    day_lines,
    partition_dates,
    table_rows,
)
from tandem.logic.lake.fx import FxTable
from tandem.logic.lake.tables import AD_SPEND_DAILY, CUSTOMERS
from tandem.logic.ports import RollupStore
from tandem.models.dashboard import DayRollup, RollupCell, SkuSales
from tandem.models.lake import LineKind

LOOKBACK_DAYS = 365
UNKNOWN = "unknown"
Row = Mapping[str, Any]


@dataclass(frozen=True)
class DayInputs:
    """What a day's rollup is made of, read from the lake."""

    lines: Sequence[Row]
    categories: Mapping[str, str]  # sku → category (the latest catalogue on or before the day)
    catalogue_date: date | None
    seen_before: set[str]  # customer keys with an order in the lookback before the day
    ad_spend: Mapping[str, Decimal]  # ad channel → the day's spend


def roll_up_day(
    tenant_id: str, day: date, inputs: DayInputs, fx: FxTable, channels: Mapping[str, str]
) -> DayRollup:
    cells: dict[tuple[str, str, str], dict[str, Any]] = {}
    skus: dict[str, dict[str, Any]] = {}
    orders: set[tuple[str, str]] = set()
    day_revenue: Decimal | None = Decimal(0)

    def tenant_amount(amount: Decimal, currency: str) -> Decimal | None:
        try:
            return fx.convert(amount, currency, day)
        except RowRejected:  # no rate for the day: the converted figures say None
            return None

    for line in inputs.lines:
        kind = line["kind"]
        if kind not in (LineKind.SALE.value, LineKind.RETURN.value):
            continue
        sku = str(line["sku"])
        source = str(line["source"])
        where = (
            channels.get(source, source),
            str(line["country"] or UNKNOWN),
            inputs.categories.get(sku, UNKNOWN),
        )
        cell = cells.setdefault(where, _empty_cell())
        per_sku = skus.setdefault(sku, {"units": 0, "orders": set(), "revenue": Decimal(0), "returned": 0})
        amount, currency, quantity = (
            Decimal(str(line["amount"])),
            str(line["currency"]),
            int(line["quantity"]),
        )
        converted = tenant_amount(amount, currency)
        order = (source, str(line["order_id"]))
        if kind == LineKind.RETURN.value:
            cell["returns"] += 1
            cell["returned_units"] -= quantity  # a return's quantity is negative
            cell["returned_value"] = _add(cell["returned_value"], None if converted is None else -converted)
            per_sku["returned"] -= quantity
            continue
        orders.add(order)
        cell["orders"].add(order)
        cell["units"] += quantity
        cell["revenue"][currency] += amount
        cell["revenue_tenant"] = _add(cell["revenue_tenant"], converted)
        day_revenue = _add(day_revenue, converted)
        customer = customer_key(line["customer_id"])
        if customer is None:
            cell["guest_orders"].add(order)
        else:
            cell["customers"].add(customer)
        per_sku["units"] += quantity
        per_sku["orders"].add(order)
        per_sku["revenue"] = _add(per_sku["revenue"], converted)

    spend = sum(inputs.ad_spend.values(), Decimal(0))
    return DayRollup(
        tenant_id=tenant_id,
        day=day,
        currency=fx.tenant_currency,
        orders=len(orders),
        revenue_tenant=day_revenue,
        cells=[_cell(where, totals, inputs.seen_before) for where, totals in sorted(cells.items())],
        ad_spend=dict(sorted(inputs.ad_spend.items())),
        roas=(day_revenue / spend).quantize(Decimal("0.01")) if spend and day_revenue is not None else None,
        skus=[
            SkuSales(
                sku=sku,
                units=totals["units"],
                orders=len(totals["orders"]),
                revenue_tenant=totals["revenue"],
                returned_units=totals["returned"],
            )
            for sku, totals in sorted(skus.items())
        ],
        lookback_days=LOOKBACK_DAYS,
        catalogue_date=inputs.catalogue_date,
    )


def _empty_cell() -> dict[str, Any]:
    return {
        "revenue": defaultdict(Decimal),
        "revenue_tenant": Decimal(0),
        "orders": set(),
        "units": 0,
        "returns": 0,
        "returned_units": 0,
        "returned_value": Decimal(0),
        "customers": set(),
        "guest_orders": set(),
    }


def _cell(where: tuple[str, str, str], totals: Mapping[str, Any], seen_before: set[str]) -> RollupCell:
    channel, country, category = where
    customers: set[str] = totals["customers"]
    return RollupCell(
        channel=channel,
        country=country,
        category=category,
        revenue=dict(sorted(totals["revenue"].items())),
        revenue_tenant=totals["revenue_tenant"],
        orders=len(totals["orders"]),
        units=totals["units"],
        returns=totals["returns"],
        returned_units=totals["returned_units"],
        returned_value_tenant=totals["returned_value"],
        new_customers=len(customers - seen_before),
        returning_customers=len(customers & seen_before),
        guest_orders=len(totals["guest_orders"]),
    )


def _add(total: Decimal | None, amount: Decimal | None) -> Decimal | None:
    return None if total is None or amount is None else total + amount


# ---------------------------------------------------------------- the night's product
def read_day(tenant_id: str, day: date, deps: CurationDeps) -> DayInputs:
    catalogue_date, categories = catalogue_categories(deps, tenant_id, day)
    earlier = [
        d for d in partition_dates(deps, CUSTOMERS, tenant_id) if day - timedelta(LOOKBACK_DAYS) <= d < day
    ]
    seen = {
        str(row["customer_key"])
        for d in earlier
        for row in table_rows(deps, CUSTOMERS, tenant_id, d)
        if int(row["orders"] or 0) > 0
    }
    return DayInputs(
        lines=day_lines(tenant_id, day, deps),
        categories=categories,
        catalogue_date=catalogue_date,
        seen_before=seen,
        ad_spend=_spend_of(
            day,
            [
                table_rows(deps, AD_SPEND_DAILY, tenant_id, d)
                for d in partition_dates(deps, AD_SPEND_DAILY, tenant_id)
            ],
        ),
    )


def _spend_of(day: date, exports: Iterable[Iterable[Row]]) -> dict[str, Decimal]:
    """The spend the ad exports (oldest first) report for the day, by channel. Exports may overlap:
    the latest export's figure for a (day, channel) wins, as ad platforms restate recent days."""
    spend: dict[str, Decimal] = {}
    for rows in exports:
        for row in rows:
            reported = row["day"] if isinstance(row["day"], date) else date.fromisoformat(str(row["day"]))
            if reported == day:
                spend[str(row["channel"])] = Decimal(str(row["spent"]))
    return spend


def make_rollups(
    tenant_id: str,
    day: date,
    deps: CurationDeps,
    store: RollupStore,
    fx: FxTable,
    channels: Mapping[str, str],
) -> dict[str, int | str | None]:
    """The product: the day rolled up and stored (replacing the date's). Answers its counts."""
    inputs = read_day(tenant_id, day, deps)
    rollup = roll_up_day(tenant_id, day, inputs, fx, channels)
    store.put_day(rollup)
    return {
        "lines_read": len(inputs.lines),
        "cells": len(rollup.cells),
        "skus": len(rollup.skus),
        "orders": rollup.orders,
        "revenue": None if rollup.revenue_tenant is None else str(rollup.revenue_tenant),
        "ad_channels": len(rollup.ad_spend),
        "customers_known_before": len(inputs.seen_before),
    }
