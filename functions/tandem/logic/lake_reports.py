"""The report kinds computed over the curated lake (`LAKE_REPORT_KINDS`), each a ReportDocument.

Each kind is SQL over the lake's tables (tandem.logic.lake.tables), run by the LakeQuery port (DuckDB
in the report worker), with every value bound as a parameter: a filter's text never becomes SQL.
A kind reads only the partitions of its period, plus what it truly needs around it:

- the catalogue (`products`): the latest export on or before `date_to` (a SKU's category; a SKU
  it does not know is `unknown`);
- `customer_cohorts`: the night's `customers` of the COHORT_LOOKBACK_DAYS before `date_from` (one
  small part a day), so that a customer who ordered then is *returning*, not new;
- `marketing_roas`: the ad exports (`ad_spend`) dated up to AD_EXPORT_LAG_DAYS after `date_to`, as
  an export reports days before its own date; only the reporting days of the period count, and
  where exports overlap the latest export's figure for an (ad, day) wins (platforms restate).

Sales are product lines (`sale`); returns are `return` lines of the period (a return is counted in
the period it came back in, whatever the sale's). The day of a line is its partition (the shop's
day). A line's channel is the tenant's name for its source (LakeConfig.channels), its category the
catalogue's. Money is in the tenant's currency: a line in another currency is converted with the
tenant's dated FX table (the last rate on or before its day); without a rate its amount is unknown,
the figures it is part of are None and a note says how many lines lacked one. Never a guess.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tandem.logic.errors import PermanentJobError
from tandem.logic.lake.intake import tenant_config
from tandem.logic.lake.tables import AD_SPEND, CUSTOMERS, ORDER_LINES, PRODUCTS
from tandem.logic.ports import LakeObjects, LakeQuery, LakeStatement
from tandem.models.lake_config import LakeConfig
from tandem.models.records import Job, ReportKind, ReportParams
from tandem.models.reports import (
    Cell,
    ColumnType,
    ReportChart,
    ReportColumn,
    ReportDocument,
    ReportFigure,
    ReportTable,
)

# product_performance: the SKUs of the "top" and "bottom" tables (the main table has every SKU).
TOP_N = 10
COHORT_LOOKBACK_DAYS = 365
AD_EXPORT_LAG_DAYS = 31
SHARE = Decimal("0.0001")  # shares and rates: a fraction to 4 places (0.1234 is 12.34 %)
ROAS_PLACES = Decimal("0.01")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class LakeReportDeps:
    """What the lake's report kinds need: the SQL engine over the lake, and the tenant's lake.json."""

    query: LakeQuery
    objects: LakeObjects


# ---------------------------------------------------------------- the SQL, shared by the kinds
_CONTEXT = """
channel_names AS (
    SELECT unnest($channel_sources::VARCHAR[]) AS source, unnest($channel_names::VARCHAR[]) AS channel
),
fx AS (
    SELECT unnest($fx_currencies::VARCHAR[]) AS currency, unnest($fx_days::DATE[]) AS day,
           CAST(unnest($fx_rates::VARCHAR[]) AS DECIMAL(18, 8)) AS rate
),
catalogue AS (
    SELECT sku, coalesce(nullif(min(category), ''), 'unknown') AS category FROM products GROUP BY sku
),
lines AS (
    SELECT l.sku, l.description, l.quantity, l.amount, l.currency, l.kind, l.order_id, l.country,
           l."date" AS day, l.source, l.source || ':' || l.order_id AS order_key,
           nullif(regexp_replace(lower(trim(l.customer_id)), '^(\\d+)\\.0+$', '\\1'), '') AS customer_key,
           coalesce(n.channel, l.source) AS channel, coalesce(k.category, 'unknown') AS category
    FROM (
        SELECT *, regexp_extract(filename, '/([^/]+?)__[^/]*$', 1) AS source FROM order_lines
        WHERE "date" BETWEEN $date_from AND $date_to AND kind IN ('sale', 'return')
    ) AS l
    LEFT JOIN channel_names AS n ON n.source = l.source
    LEFT JOIN catalogue AS k ON k.sku = l.sku
),
filtered AS (
    SELECT * FROM lines
    WHERE ($channel::VARCHAR IS NULL OR channel = $channel)
      AND ($country::VARCHAR IS NULL OR country = $country)
      AND ($category::VARCHAR IS NULL OR category = $category)
),
converted AS (
    SELECT f.*,
           CASE WHEN f.currency = $currency THEN f.amount ELSE round(f.amount * x.rate, 4) END
               AS amount_tenant
    FROM filtered AS f ASOF LEFT JOIN fx AS x ON f.currency = x.currency AND f.day >= x.day
)
"""


def _with(sql: str) -> str:
    return f"WITH {_CONTEXT.strip()},\n{sql.strip()}"


_PERIOD = "greatest(CAST(date_trunc($granularity, {day}) AS DATE), $date_from)"

PRODUCTS_SQL = _with("""
per_sku AS (
    SELECT sku, min(description) AS description, min(category) AS category,
           coalesce(sum(quantity) FILTER (WHERE kind = 'sale'), 0) AS units,
           count(DISTINCT order_key) FILTER (WHERE kind = 'sale') AS orders,
           coalesce(sum(amount_tenant) FILTER (WHERE kind = 'sale'), 0) AS revenue,
           coalesce(-sum(quantity) FILTER (WHERE kind = 'return'), 0) AS returned_units,
           coalesce(-sum(amount_tenant) FILTER (WHERE kind = 'return'), 0) AS returned_value,
           count(*) FILTER (WHERE amount_tenant IS NULL) AS unconverted
    FROM converted GROUP BY sku
)
SELECT sku, description, category, units, orders, revenue, returned_units, returned_value, unconverted
FROM per_sku ORDER BY revenue DESC, units DESC, sku
""")

PRODUCT_TOTALS_SQL = _with("""
totals AS (
    SELECT count(DISTINCT order_key) FILTER (WHERE kind = 'sale') AS orders,
           count(DISTINCT sku) FILTER (WHERE kind = 'sale') AS skus_sold,
           count(*) FILTER (WHERE kind = 'return') AS return_lines
    FROM converted
)
SELECT orders, skus_sold, return_lines FROM totals
""")

COHORT_SERIES_SQL = _with(f"""
first_seen AS (
    SELECT customer_key, min(first_day) AS first_day FROM (
        SELECT customer_key, min("date") AS first_day FROM customers WHERE orders > 0 GROUP BY customer_key
        UNION ALL
        SELECT customer_key, min(day) FROM lines WHERE kind = 'sale' GROUP BY customer_key
    ) GROUP BY customer_key
),
active AS (
    SELECT DISTINCT {_PERIOD.format(day="day")} AS period_start, customer_key, order_key
    FROM filtered WHERE kind = 'sale'
)
SELECT a.period_start,
       count(DISTINCT a.customer_key) AS customers,
       count(DISTINCT a.customer_key) FILTER (WHERE f.first_day >= a.period_start) AS new_customers,
       count(DISTINCT a.customer_key) FILTER (WHERE f.first_day < a.period_start) AS returning_customers,
       count(DISTINCT a.order_key) FILTER (WHERE a.customer_key IS NOT NULL) AS customer_orders,
       count(DISTINCT a.order_key) FILTER (WHERE a.customer_key IS NULL) AS guest_orders
FROM active AS a LEFT JOIN first_seen AS f ON f.customer_key = a.customer_key
GROUP BY a.period_start ORDER BY a.period_start
""")

COHORTS_SQL = _with("""
first_seen AS (
    SELECT customer_key, min(first_day) AS first_day FROM (
        SELECT customer_key, min("date") AS first_day FROM customers WHERE orders > 0 GROUP BY customer_key
        UNION ALL
        SELECT customer_key, min(day) FROM lines WHERE kind = 'sale' GROUP BY customer_key
    ) GROUP BY customer_key
),
members AS (
    SELECT c.customer_key, f.first_day, count(DISTINCT c.order_key) AS orders
    FROM filtered AS c JOIN first_seen AS f ON f.customer_key = c.customer_key
    WHERE c.kind = 'sale' AND f.first_day BETWEEN $date_from AND $date_to
    GROUP BY c.customer_key, f.first_day
)
SELECT CAST(date_trunc('month', first_day) AS DATE) AS cohort, count(*) AS customers,
       count(*) FILTER (WHERE orders >= 2) AS repeat_customers, sum(orders) AS orders
FROM members GROUP BY cohort ORDER BY cohort
""")

REVENUE_SERIES_SQL = _with(f"""
by_period AS (
    SELECT {_PERIOD.format(day="day")} AS period_start, amount_tenant FROM converted WHERE kind = 'sale'
)
SELECT period_start, coalesce(sum(amount_tenant), 0) AS revenue,
       count(*) FILTER (WHERE amount_tenant IS NULL) AS unconverted
FROM by_period GROUP BY period_start ORDER BY period_start
""")

_ADS = """
WITH fx AS (
    SELECT unnest($fx_currencies::VARCHAR[]) AS currency, unnest($fx_days::DATE[]) AS day,
           CAST(unnest($fx_rates::VARCHAR[]) AS DECIMAL(18, 8)) AS rate
),
reported AS (
    SELECT *, $ads_currency::VARCHAR AS currency,
           row_number() OVER (PARTITION BY channel, ad_id, day ORDER BY "date" DESC, filename DESC) AS nth
    FROM ad_spend WHERE day BETWEEN $date_from AND $date_to
),
ads AS (
    SELECT r.*,
           CASE WHEN r.currency = $currency THEN r.spent ELSE round(r.spent * x.rate, 4) END AS spent_tenant
    FROM (SELECT * FROM reported WHERE nth = 1) AS r
    ASOF LEFT JOIN fx AS x ON r.currency = x.currency AND r.day >= x.day
)
"""

CAMPAIGNS_SQL = f"""{_ADS}
SELECT channel, campaign_id, count(DISTINCT ad_id) AS ads, sum(impressions) AS impressions,
       sum(clicks) AS clicks, coalesce(sum(spent_tenant), 0) AS spent,
       count(*) FILTER (WHERE spent_tenant IS NULL) AS unconverted,
       sum(conversions) AS conversions, sum(approved_conversions) AS approved_conversions
FROM ads GROUP BY channel, campaign_id ORDER BY channel, campaign_id
"""

SPEND_SERIES_SQL = f"""{_ADS}
SELECT {_PERIOD.format(day="day")} AS period_start, coalesce(sum(spent_tenant), 0) AS spent,
       count(*) FILTER (WHERE spent_tenant IS NULL) AS unconverted
FROM ads GROUP BY period_start ORDER BY period_start
"""


# ---------------------------------------------------------------- the use case
def compute_lake_report(job: Job, deps: LakeReportDeps | None) -> ReportDocument:
    """The job's lake kind as a document (empty tables, not an error, for a period without data)."""
    if deps is None:
        raise PermanentJobError("this worker is not wired for reports over the lake")
    config = tenant_config(job.tenant_id, deps.objects)
    compute = _KINDS.get(job.params.kind)
    if compute is None:
        raise PermanentJobError(f"'{job.params.kind}' is not a report over the lake")
    return compute(job.tenant_id, job.params, config, deps.query)


def _parameters(params: ReportParams, config: LakeConfig) -> dict[str, object]:
    channels = sorted(config.channels.items())
    rates = sorted(config.fx_rates, key=lambda r: (r.currency, r.day))
    return {
        "date_from": params.date_from,
        "date_to": params.date_to,
        "granularity": params.granularity.value,
        "channel": params.filters.channel,
        "country": params.filters.country,
        "category": params.filters.category,
        "currency": config.currency,
        "channel_sources": [source for source, _ in channels],
        "channel_names": [name for _, name in channels],
        "fx_currencies": [r.currency for r in rates],
        "fx_days": [r.day for r in rates],
        "fx_rates": [str(r.rate) for r in rates],
    }


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _catalogue_read(tenant_id: str, params: ReportParams, query: LakeQuery) -> list[date]:
    exports = [d for d in query.partition_dates(tenant_id, PRODUCTS.name) if d <= params.date_to]
    return [max(exports)] if exports else []


def _sales_reads(tenant_id: str, params: ReportParams, query: LakeQuery) -> dict[str, list[date]]:
    return {
        ORDER_LINES.name: _days(params.date_from, params.date_to),
        PRODUCTS.name: _catalogue_read(tenant_id, params, query),
    }


def _only(parameters: Mapping[str, object], sql: str) -> LakeStatement:
    """The statement with the parameters its text names (DuckDB refuses unused ones)."""
    return sql, {name: value for name, value in parameters.items() if f"${name}" in sql}


def _col(name: str, label: str, kind: ColumnType) -> ReportColumn:
    return ReportColumn(name=name, label=label, type=kind)


def _fig(name: str, label: str, kind: ColumnType, value: Cell) -> ReportFigure:
    return ReportFigure(name=name, label=label, type=kind, value=value)


def _share(part: Decimal | int | None, whole: Decimal | int | None) -> Decimal | None:
    if part is None or not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(SHARE)


def _money(value: Any) -> Decimal:
    return Decimal(value).quantize(SHARE)


def _fx_note(lines: int, what: str) -> list[str]:
    if not lines:
        return []
    return [
        f"{lines} {what} had no FX rate to the tenant's currency on or before their day: their "
        "money is unknown, and every money figure that would include it is left empty (no guess)."
    ]


def _document(job_params: ReportParams, kind: ReportKind, tenant_id: str, **fields: Any) -> ReportDocument:
    return ReportDocument(
        kind=kind,
        tenant_id=tenant_id,
        date_from=job_params.date_from,
        date_to=job_params.date_to,
        filters=job_params.filters,
        **fields,
    )


def _catalogue_note(reads: Mapping[str, Sequence[date]]) -> list[str]:
    exports = reads.get(PRODUCTS.name) or []
    if not exports:
        return ["No catalogue export on or before the period's end: every SKU's category is 'unknown'."]
    return [f"Categories from the catalogue exported on {exports[0].isoformat()}."]


# ---------------------------------------------------------------- product_performance
def product_performance(
    tenant_id: str, params: ReportParams, config: LakeConfig, query: LakeQuery
) -> ReportDocument:
    parameters = _parameters(params, config)
    reads = _sales_reads(tenant_id, params, query)
    skus, summed = query.query(
        tenant_id, reads, [_only(parameters, PRODUCTS_SQL), _only(parameters, PRODUCT_TOTALS_SQL)]
    )
    # An aggregate without GROUP BY has one row, even over no lines
    totals = summed[0] if summed else (0, 0, 0)
    unconverted = sum(int(row[8]) for row in skus)
    known = unconverted == 0
    revenue = sum((Decimal(row[5]) for row in skus), Decimal(0)) if known else None
    units = sum(int(row[3]) for row in skus)
    returned = sum(int(row[6]) for row in skus)
    rows: list[list[Cell]] = []
    for rank, (
        sku,
        description,
        category,
        sku_units,
        orders,
        sku_revenue,
        back,
        back_value,
        lacking,
    ) in enumerate(skus, start=1):
        exact = known and not lacking
        rows.append([
            rank, sku, description, category, int(sku_units), int(orders),
            _money(sku_revenue) if exact else None,
            _share(sku_revenue, revenue) if exact else None,
            int(back), _money(back_value) if exact else None,
            _share(int(back), int(sku_units)),
        ])  # fmt: skip
    columns = [
        _col("rank", "Rank", "integer"),
        _col("sku", "SKU", "text"),
        _col("description", "Description", "text"),
        _col("category", "Category", "text"),
        _col("units", "Units sold", "integer"),
        _col("orders", "Orders", "integer"),
        _col("revenue", "Revenue", "money"),
        _col("revenue_share", "Share of revenue", "percent"),
        _col("returned_units", "Units returned", "integer"),
        _col("returned_value", "Value returned", "money"),
        _col("return_rate", "Return rate", "percent"),
    ]
    sold = [row for row, (_, _, _, sku_units, *_) in zip(rows, skus, strict=True) if int(sku_units) > 0]
    bottom = list(reversed(sold[-TOP_N:])) if len(sold) > TOP_N else []
    top = rows[:TOP_N]
    return _document(
        params,
        ReportKind.PRODUCT_PERFORMANCE,
        tenant_id,
        title="Product performance",
        currency=config.currency,
        figures=[
            _fig("revenue", "Revenue", "money", None if revenue is None else _money(revenue)),
            _fig("orders", "Orders", "integer", int(totals[0])),
            _fig("units", "Units sold", "integer", units),
            _fig("skus_sold", "SKUs sold", "integer", int(totals[1])),
            _fig("returned_units", "Units returned", "integer", returned),
            _fig("return_rate", "Return rate", "percent", _share(returned, units)),
        ],
        tables=[
            ReportTable(name="skus", title="Every SKU, by revenue", columns=columns, rows=rows),
            ReportTable(name="top", title=f"Top {TOP_N} SKUs by revenue", columns=columns, rows=top),
            ReportTable(
                name="bottom", title=f"Bottom {TOP_N} SKUs sold, by revenue", columns=columns, rows=bottom
            ),
        ],
        chart=ReportChart(
            title=f"Top {TOP_N} SKUs by revenue",
            kind="bar",
            labels=[str(row[1]) for row in top],
            series={"revenue": [row[6] if isinstance(row[6], Decimal) else None for row in top]},
        ),
        notes=[
            "Revenue is product sales (postage, fees and stock adjustments apart); returns are the "
            "return lines of the period, whenever their sale was. Return rate: units returned over "
            "units sold in the period.",
            f"The main table has every SKU with a sale or a return in the period, by revenue; 'top' "
            f"is its first {TOP_N}, 'bottom' the last {TOP_N} SKUs that sold (lowest revenue first), "
            f"empty when no more than {TOP_N} sold.",
            *_catalogue_note(reads),
            *_fx_note(unconverted, "lines"),
        ],
    )


# ---------------------------------------------------------------- customer_cohorts
def customer_cohorts(
    tenant_id: str, params: ReportParams, config: LakeConfig, query: LakeQuery
) -> ReportDocument:
    parameters = _parameters(params, config)
    reads = {
        **_sales_reads(tenant_id, params, query),
        CUSTOMERS.name: _days(params.date_from - timedelta(days=COHORT_LOOKBACK_DAYS), params.date_to),
    }
    series, cohorts = query.query(
        tenant_id, reads, [_only(parameters, COHORT_SERIES_SQL), _only(parameters, COHORTS_SQL)]
    )
    period_rows: list[list[Cell]] = [
        [
            start,
            int(customers),
            int(new),
            int(back),
            _share(int(back), int(customers)),
            int(orders),
            int(guests),
        ]
        for start, customers, new, back, orders, guests in series
    ]
    cohort_rows: list[list[Cell]] = [
        [month, int(customers), int(repeat), _share(int(repeat), int(customers)), int(orders)]
        for month, customers, repeat, orders in cohorts
    ]
    repeat_total = sum(int(row[2]) for row in cohorts)
    members = sum(int(row[1]) for row in cohorts)
    return _document(
        params,
        ReportKind.CUSTOMER_COHORTS,
        tenant_id,
        title="Customer cohorts",
        currency=None,
        figures=[
            _fig("new_customers", "New customers", "integer", members),
            _fig("repeat_customers", "New customers who ordered again", "integer", repeat_total),
            _fig("repeat_rate", "Repeat rate of new customers", "percent", _share(repeat_total, members)),
            _fig("guest_orders", "Guest orders", "integer", sum(int(row[5]) for row in series)),
        ],
        tables=[
            ReportTable(
                name="periods",
                title=f"New and returning customers by {params.granularity.value}",
                columns=[
                    _col("period_start", "Period from", "date"),
                    _col("customers", "Customers", "integer"),
                    _col("new_customers", "New", "integer"),
                    _col("returning_customers", "Returning", "integer"),
                    _col("returning_share", "Returning share", "percent"),
                    _col("orders", "Customers' orders", "integer"),
                    _col("guest_orders", "Guest orders", "integer"),
                ],
                rows=period_rows,
            ),
            ReportTable(
                name="cohorts",
                title="Repeat rate by first-order month",
                columns=[
                    _col("cohort", "First-order month", "date"),
                    _col("customers", "Customers", "integer"),
                    _col("repeat_customers", "Ordered again", "integer"),
                    _col("repeat_rate", "Repeat rate", "percent"),
                    _col("orders", "Orders", "integer"),
                ],
                rows=cohort_rows,
            ),
        ],
        chart=ReportChart(
            title=f"New and returning customers by {params.granularity.value}",
            kind="bar",
            labels=[str(row[0]) for row in period_rows],
            series={
                "new": [int(row[2]) for row in series],
                "returning": [int(row[3]) for row in series],
            },
        ),
        notes=[
            f"A customer is new in a period when their first order (any channel, any country, looking "
            f"back {COHORT_LOOKBACK_DAYS} days before the report's start in the night's customers) "
            "falls in it; otherwise returning. Filters choose which orders count, not the history.",
            "A cohort is the customers whose first order fell in that month of the report's period; "
            "they ordered again when they placed at least two orders (within the filters) by its end.",
            "Periods start on the report's first day, then on each calendar "
            f"{params.granularity.value}'s start (ISO weeks start on Monday). Guests are not customers.",
            *_catalogue_note(reads),
        ],
    )


# ---------------------------------------------------------------- marketing_roas
def marketing_roas(
    tenant_id: str, params: ReportParams, config: LakeConfig, query: LakeQuery
) -> ReportDocument:
    parameters = {**_parameters(params, config), "ads_currency": config.ads_currency or config.currency}
    exports = [
        d
        for d in query.partition_dates(tenant_id, AD_SPEND.name)
        if params.date_from <= d <= params.date_to + timedelta(days=AD_EXPORT_LAG_DAYS)
    ]
    reads = {**_sales_reads(tenant_id, params, query), AD_SPEND.name: exports}
    campaigns, spend_series, revenue_series = query.query(
        tenant_id,
        reads,
        [
            _only(parameters, CAMPAIGNS_SQL),
            _only(parameters, SPEND_SERIES_SQL),
            _only(parameters, REVENUE_SERIES_SQL),
        ],
    )
    unconverted_sales = sum(int(row[2]) for row in revenue_series)
    unconverted_ads = sum(int(row[6]) for row in campaigns)
    revenue = sum((Decimal(row[1]) for row in revenue_series), Decimal(0)) if not unconverted_sales else None
    spend = sum((Decimal(row[5]) for row in campaigns), Decimal(0)) if not unconverted_ads else None
    conversions = sum(int(row[7]) for row in campaigns)

    def attributed(row_conversions: int) -> Decimal | None:
        return None if revenue is None or not conversions else _money(revenue * row_conversions / conversions)

    def roas(value: Decimal | None, spent: Decimal | None) -> Decimal | None:
        return None if value is None or not spent else (value / spent).quantize(ROAS_PLACES)

    campaign_rows: list[list[Cell]] = []
    by_channel: dict[str, list[Any]] = {}
    for channel, campaign, ads, impressions, clicks, spent, lacking, converted, approved in campaigns:
        money = None if lacking else _money(spent)
        share = attributed(int(converted))
        campaign_rows.append([
            channel, campaign, int(ads), int(impressions), int(clicks), money, int(converted), int(approved),
            _share(money, spend) if spend is not None else None, share, roas(share, money),
        ])  # fmt: skip
        totals = by_channel.setdefault(channel, [0, 0, 0, Decimal(0), 0, 0])
        totals[0] += int(ads)
        totals[1] += int(impressions)
        totals[2] += int(clicks)
        totals[3] = None if money is None or totals[3] is None else totals[3] + money
        totals[4] += int(converted)
        totals[5] += int(approved)
    channel_rows: list[list[Cell]] = []
    for channel, (ads, impressions, clicks, money, converted, approved) in sorted(by_channel.items()):
        share = attributed(converted)
        channel_rows.append([
            channel, ads, impressions, clicks, money, converted, approved,
            _share(money, spend) if spend is not None else None, share, roas(share, money),
        ])  # fmt: skip
    periods: dict[date, list[Any]] = {}
    for start, spent, lacking in spend_series:
        periods.setdefault(start, [Decimal(0), Decimal(0)])[0] = None if lacking else _money(spent)
    for start, sold, lacking in revenue_series:
        periods.setdefault(start, [Decimal(0), Decimal(0)])[1] = None if lacking else _money(sold)
    period_rows: list[list[Cell]] = [
        [start, spent, sold, roas(sold, spent)] for start, (spent, sold) in sorted(periods.items())
    ]
    spend_columns = [
        _col("ads", "Ads", "integer"),
        _col("impressions", "Impressions", "integer"),
        _col("clicks", "Clicks", "integer"),
        _col("spend", "Spend", "money"),
        _col("conversions", "Conversions (platform)", "integer"),
        _col("approved_conversions", "Approved conversions (platform)", "integer"),
        _col("spend_share", "Share of spend", "percent"),
        _col("attributed_revenue", "Attributed revenue (by conversion share)", "money"),
        _col("roas", "ROAS (attributed)", "decimal"),
    ]
    ads_currency = config.ads_currency or config.currency
    return _document(
        params,
        ReportKind.MARKETING_ROAS,
        tenant_id,
        title="Marketing ROAS",
        currency=config.currency,
        figures=[
            _fig("ad_spend", "Ad spend", "money", None if spend is None else _money(spend)),
            _fig("revenue", "Revenue", "money", None if revenue is None else _money(revenue)),
            _fig("blended_roas", "Blended ROAS", "decimal", roas(revenue, spend)),
            _fig("conversions", "Conversions (platform)", "integer", conversions),
        ],
        tables=[
            ReportTable(
                name="campaigns",
                title="Ad spend and attributed revenue by channel and campaign",
                columns=[
                    _col("channel", "Ad channel", "text"),
                    _col("campaign", "Campaign", "text"),
                    *spend_columns,
                ],
                rows=campaign_rows,
            ),
            ReportTable(
                name="channels",
                title="By ad channel",
                columns=[_col("channel", "Ad channel", "text"), *spend_columns],
                rows=channel_rows,
            ),
            ReportTable(
                name="periods",
                title=f"Spend and revenue by {params.granularity.value} (blended)",
                columns=[
                    _col("period_start", "Period from", "date"),
                    _col("spend", "Ad spend", "money"),
                    _col("revenue", "Revenue", "money"),
                    _col("roas", "Blended ROAS", "decimal"),
                ],
                rows=period_rows,
            ),
        ],
        chart=ReportChart(
            title=f"Ad spend and revenue by {params.granularity.value}",
            kind="bar",
            labels=[str(row[0]) for row in period_rows],
            series={
                "spend": [row[1] if isinstance(row[1], Decimal) else None for row in period_rows],
                "revenue": [row[2] if isinstance(row[2], Decimal) else None for row in period_rows],
            },
        ),
        notes=[
            "Attribution: orders carry no ad click, so no order can be traced to an ad. The blended "
            "ROAS (the period's revenue over all its ad spend) is the only measured figure. "
            "'Attributed revenue' splits the period's revenue across campaigns by their share of the "
            "conversions the ad platform reports (its own counting, view-throughs included): an "
            "allocation for comparing campaigns, not a measurement of what each one sold.",
            "Revenue follows the filters (channel: the shop's sales channel; country; category); ad "
            "spend carries none of them, so it is the tenant's whole spend of the period's days.",
            f"Ad spend read as {ads_currency}"
            + (" (lake.json sets no ads_currency: the tenant's own)" if config.ads_currency is None else "")
            + f"; from the ad exports dated up to {AD_EXPORT_LAG_DAYS} days after the period, the "
            "latest export's figure for each ad and day.",
            *_catalogue_note(reads),
            *_fx_note(unconverted_sales, "sales lines"),
            *_fx_note(unconverted_ads, "ad rows"),
        ],
    )


_KINDS = {
    ReportKind.PRODUCT_PERFORMANCE: product_performance,
    ReportKind.CUSTOMER_COHORTS: customer_cohorts,
    ReportKind.MARKETING_ROAS: marketing_roas,
}
