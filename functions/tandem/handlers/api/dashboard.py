"""The dashboard's numbers: the night's rollups and today's live counters, filtered and compared."""

from datetime import date
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from tandem.handlers.api.http import caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import dashboard_kpis
from tandem.models.dashboard import CompareMode, Granularity, KpiAnswer, KpiQuery

router = Router()
TAGS = ["dashboard"]
FIELDS = {name: str(info.description) for name, info in KpiQuery.model_fields.items()}


@router.get(
    "/dashboard/kpis",
    summary="Get the dashboard's KPIs",
    description=(
        "KPIs of the local days `from`..`to` (the deployment's reporting time zone; default the last 30 "
        "days to today) against a comparison period, with a series, the top 10 products, breakdowns by "
        "channel and country, stock alerts and how fresh each part is (`as_of`). Days up to the last one "
        "the night rolled up come from its rollups (every source of the lake); later days from the live "
        "counters of confirmed checkouts. Revenue is in the tenant's currency: live amounts in another "
        "currency are converted with the tenant's FX rates, and a figure with an amount that has no rate "
        "is null (`per_currency=true` gives every amount as sold). Unfiltered, an order counts once; "
        "under a filter and in the breakdowns once per (channel, country, category) cell it has a line "
        "in. Return rate and new/returning customers are of the rolled-up days only; ad spend and ROAS "
        "are null without ad data and under any filter (spend is not attributable to a cell). "
        "`top_products` is empty, and `top_products_unavailable` says why, when a filter is set and the "
        "period has rolled-up days: the night's per-SKU sales are not cut by channel, country or "
        "category, so a filtered top 10 cannot be told; "
        "a product's `orders` are the rolled-up days'. Weeks are ISO weeks named by their Monday, months "
        "by their 1st, each counting only the period's days; at `hour` granularity (periods of at most "
        "7 days) the hours of rolled-up days are null (rollups have no time of day). 422 when `from` is "
        "after `to` or the period exceeds 1,096 days."
    ),
    tags=TAGS,
    responses=documented(200, KpiAnswer, 401, 403, 422),
)
def get_kpis(
    date_from: Annotated[date | None, Query(alias="from", description=FIELDS["date_from"])] = None,
    date_to: Annotated[date | None, Query(alias="to", description=FIELDS["date_to"])] = None,
    channel: Annotated[str | None, Query(min_length=1, max_length=128, description=FIELDS["channel"])] = None,
    country: Annotated[str | None, Query(min_length=1, max_length=128, description=FIELDS["country"])] = None,
    category: Annotated[
        str | None, Query(min_length=1, max_length=128, description=FIELDS["category"])
    ] = None,
    granularity: Annotated[Granularity, Query(description=FIELDS["granularity"])] = "day",
    compare: Annotated[CompareMode, Query(description=FIELDS["compare"])] = "previous_period",
    per_currency: Annotated[bool, Query(description=FIELDS["per_currency"])] = False,
) -> Response[str]:
    # reports:read: the shop's sales figures, like every report.
    principal = caller(router, "reports:read")
    # One parameter each (not the model as a whole) so that /openapi.json states every constraint.
    query = KpiQuery(
        date_from=date_from,
        date_to=date_to,
        channel=channel,
        country=country,
        category=category,
        granularity=granularity,
        compare=compare,
        per_currency=per_currency,
    )
    answer = dashboard_kpis.dashboard_kpis(principal.tenant_id, query, root.dashboard())
    return json_response(HTTPStatus.OK, answer)
