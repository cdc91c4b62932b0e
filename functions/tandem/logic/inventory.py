"""Inventory suggestions: per SKU, how much to keep and when to order, from the lake's sales.

The night (`make_suggestions`, the night product `inventory`) reads the tenant's curated order
lines of a window (`window_days`, default 28, ending at the night's date) and, per SKU:

- daily demand d_1 … d_n: units sold minus units returned that day (the lines of kind `sale` and
  `return`; `non_product` lines and `stock_adjustment`s are no demand). A day without a line of
  the SKU is a 0: the window's every day counts, so a slow seller has a low mean, not the mean of
  its few selling days. A return is netted on the day it came back (the lake's day of the line):
  a day can be negative;
- μ, the mean of the n days, and sd, their **sample** standard deviation (n - 1): the window is a
  sample of the SKU's demand, not all of it, and the sample SD is the usual estimate of the
  process's spread (the population SD, dividing by n, underestimates it, the more so the shorter
  the window; with 28 days the two differ by 1.8 %, and the larger one errs towards stock);
- L, the lead time in days (the tenant's `lead_time_days`, or the SKU's own in `lead_times`),
  R, the review period (`review_period_days`), z = Φ⁻¹(service level) (the standard normal's
  quantile: 0.95 → 1.645);
- safety stock SS = z·sd·√L (demand's spread over the lead time, independent days);
  reorder point ROP = μ·L + SS; order-up-to level S = μ·(L + R) + SS. A window where more came
  back than went out is no demand, not negative demand: μ below 0 counts as 0 in these;
- flagged (`below_reorder_point`) when the stock on hand (ProductsTable, read when computed) is
  below the ROP, and then the suggested order is S - stock, rounded up to a whole unit; a SKU at
  or above its ROP needs no order yet (0). This is the (s, S) policy: order when stock falls
  below s = ROP, enough to cover the lead time and the R days until the next order with the same
  safety stock; ordering whenever stock is below S would hold more stock for no more service;
- a SKU sold in the window that the catalogue does not know (no product in ProductsTable) has no
  known stock: its demand figures are given, its stock, flag and order are None, and it is
  counted apart (`not_in_catalogue`). Products of the catalogue that sold nothing in the window
  are not listed: their ROP is 0, so no stock is below it.

Figures are rounded to 3 decimals, and the flag and the order computed from the rounded figures,
so the document never contradicts itself.

The document goes to `inventory/{tenant}/{date}.json` (a re-run of the date replaces it) and,
unless a later date's is there, to `inventory/{tenant}/latest.json`, which the API serves
(`latest_suggestions`): one GET, no listing, no engine.
"""

import json
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tandem.logic.errors import NotFoundError
from tandem.logic.lake.intake import tenant_config
from tandem.logic.lake.layout import check_tenant
from tandem.logic.lake.tables import ORDER_LINES, curated_prefix
from tandem.logic.ports import Clock, LakeObjects, ParquetCodec, StockCatalog
from tandem.models.inventory import (
    InventoryCounts,
    InventorySettings,
    InventorySuggestions,
    InventoryWindow,
    SkuSuggestion,
)
from tandem.models.lake import LineKind
from tandem.models.records import ID_PATTERN

JSON = "application/json"
DIGITS = 3
_DEMAND = frozenset({LineKind.SALE.value, LineKind.RETURN.value})
_SKU, _QUANTITY, _KIND = (ORDER_LINES.column_names.index(name) for name in ("sku", "quantity", "kind"))
# Only such SKUs can be in the catalogue (models.records.Sku): others are not looked up.
_CATALOGUE_SKU = re.compile(ID_PATTERN)


# ---------------------------------------------------------------- the maths (pure)
def z_for(service_level: float) -> float:
    """The standard normal quantile of the service level: P(Z ≤ z) = service_level."""
    return statistics.NormalDist().inv_cdf(service_level)


def demand_statistics(daily: Sequence[int]) -> tuple[float, float]:
    """(μ, sd) of the daily demands: the mean and the sample standard deviation (n - 1)."""
    return statistics.fmean(daily), statistics.stdev(daily)


@dataclass
class Demand:
    """A SKU's sales over the window: units per day (net of returns), and the window's totals."""

    daily: list[int]
    sold: int = 0
    returned: int = 0


def suggest(
    sku: str,
    demand: Demand,
    *,
    lead_time_days: int,
    review_period_days: int,
    z: float,
    stock: int | None,
) -> SkuSuggestion:
    """One SKU's figures from its daily net demand over the window (every day, 0 when none)."""
    mean, sd = demand_statistics(demand.daily)
    rate = max(mean, 0.0)
    safety = round(z * sd * math.sqrt(lead_time_days), DIGITS)
    reorder_point = round(rate * lead_time_days + safety, DIGITS)
    order_up_to = round(rate * (lead_time_days + review_period_days) + safety, DIGITS)
    below = None if stock is None else stock < reorder_point
    order: int | None = None
    if stock is not None:
        order = math.ceil(round(order_up_to - stock, DIGITS)) if below else 0
    return SkuSuggestion(
        sku=sku,
        units_sold=demand.sold,
        units_returned=demand.returned,
        mean_daily_demand=round(mean, DIGITS),
        sd_daily_demand=round(sd, DIGITS),
        lead_time_days=lead_time_days,
        safety_stock=safety,
        reorder_point=reorder_point,
        order_up_to=order_up_to,
        stock=stock,
        below_reorder_point=below,
        suggested_order=order,
    )


def suggestions(
    demands: dict[str, Demand], stock: dict[str, int], settings: InventorySettings
) -> list[SkuSuggestion]:
    """Every SKU's figures, by SKU; `stock`: on hand per SKU the catalogue knows."""
    z = z_for(settings.service_level)
    return [
        suggest(
            sku,
            demands[sku],
            lead_time_days=settings.lead_time(sku),
            review_period_days=settings.review_period_days,
            z=z,
            stock=stock.get(sku),
        )
        for sku in sorted(demands)
    ]


# ---------------------------------------------------------------- the night's product
@dataclass(frozen=True)
class InventoryDeps:
    objects: LakeObjects  # the lake's order lines and the tenant's configuration in; the document out
    parquet: ParquetCodec
    stock: StockCatalog  # ProductsTable: the stock on hand
    clock: Clock


def suggestions_key(tenant_id: str, day: date) -> str:
    check_tenant(tenant_id)
    return f"inventory/{tenant_id}/{day.isoformat()}.json"


def latest_key(tenant_id: str) -> str:
    check_tenant(tenant_id)
    return f"inventory/{tenant_id}/latest.json"


def window_demand(
    tenant_id: str, start: date, days: int, deps: InventoryDeps
) -> tuple[dict[str, Demand], int, int]:
    """Each SKU's demand over the `days` from `start`, read from the lake's order lines a day at a
    time (every source's part), and (days with order lines, lines read)."""
    demands: dict[str, Demand] = {}
    days_read = lines_read = 0
    for offset in range(days):
        keys = deps.objects.keys(curated_prefix(ORDER_LINES.name, tenant_id, start + timedelta(days=offset)))
        days_read += bool(keys)
        for key in keys:
            body = deps.objects.get(key)
            if body is None:  # removed since the listing (a file re-curated): its rows are gone
                continue
            for values in deps.parquet.decode(ORDER_LINES, body):
                lines_read += 1
                if values[_KIND] not in _DEMAND:
                    continue
                quantity = int(str(values[_QUANTITY]))
                demand = demands.setdefault(str(values[_SKU]), Demand(daily=[0] * days))
                demand.daily[offset] += quantity
                if quantity > 0:
                    demand.sold += quantity
                else:
                    demand.returned -= quantity
    return demands, days_read, lines_read


def make_suggestions(tenant_id: str, day: date, deps: InventoryDeps) -> dict[str, int]:
    """The night product `inventory`: the document for (tenant, day) written, and its counts."""
    settings = tenant_config(tenant_id, deps.objects).inventory
    start = day - timedelta(days=settings.window_days - 1)
    demands, days_read, lines_read = window_demand(tenant_id, start, settings.window_days, deps)
    known = [sku for sku in sorted(demands) if _CATALOGUE_SKU.match(sku)]
    stock = {sku: product.stock for sku, product in deps.stock.get_many(tenant_id, known).items()}
    items = suggestions(demands, stock, settings)
    counts = InventoryCounts(
        skus=len(items),
        below_reorder_point=sum(1 for item in items if item.below_reorder_point),
        not_in_catalogue=sum(1 for item in items if item.stock is None),
    )
    document = InventorySuggestions(
        tenant_id=tenant_id,
        date=day,
        computed_at=deps.clock(),
        window=InventoryWindow(
            start=start, end=day, days=settings.window_days, days_read=days_read, lines_read=lines_read
        ),
        settings=settings,
        z=round(z_for(settings.service_level), 6),
        counts=counts,
        items=items,
    )
    body = document.model_dump_json().encode()
    deps.objects.put(suggestions_key(tenant_id, day), body, JSON)
    if _latest_date(deps.objects.get(latest_key(tenant_id))) <= day:
        # A re-run of an older night leaves the newer one the API serves.
        deps.objects.put(latest_key(tenant_id), body, JSON)
    return {**counts.model_dump(), "days_read": days_read, "lines_read": lines_read}


def _latest_date(body: bytes | None) -> date:
    """The date of the document `latest.json` holds; date.min when there is none (or it is unreadable)."""
    try:
        return date.fromisoformat(json.loads(body or b"{}")["date"])
    except (ValueError, KeyError, TypeError):
        return date.min


# ---------------------------------------------------------------- the API's read
@dataclass(frozen=True)
class InventoryReadDeps:
    objects: LakeObjects  # only `get` is used: the API reads the night's document


def latest_suggestions(
    tenant_id: str, below_reorder_point: bool | None, deps: InventoryReadDeps
) -> InventorySuggestions:
    """The newest night's suggestions; `below_reorder_point` keeps only the SKUs whose flag is
    that (True: flagged; False: stock known and not below). Counts stay the whole night's."""
    body = deps.objects.get(latest_key(tenant_id))
    if body is None:
        raise NotFoundError(
            "no inventory suggestions yet: the night computes them from the lake's sales (see the README)"
        )
    document = InventorySuggestions.model_validate_json(body)
    if below_reorder_point is None:
        return document
    items = [item for item in document.items if item.below_reorder_point is below_reorder_point]
    return document.model_copy(update={"items": items})
