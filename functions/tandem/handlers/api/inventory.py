"""Inventory suggestions: what the night computed from the lake's sales and the stock on hand."""

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from tandem.handlers.api.http import caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import inventory
from tandem.models.inventory import InventorySuggestions

router = Router()
TAGS = ["inventory"]


@router.get(
    "/inventory/suggestions",
    summary="Get inventory suggestions",
    description=(
        "The latest night's suggestions, per SKU sold in its window: mean and sample standard "
        "deviation of daily demand (returns netted), lead time, safety stock (z·sd·√L), reorder point "
        "(μ·L + safety stock), order-up-to level (μ·(L+R) + safety stock), the stock on hand when "
        "computed and, for a SKU below its reorder point, the units to order. `date` is the night "
        "they were computed for. `below_reorder_point=true` keeps the flagged SKUs, `false` the ones "
        "whose stock is known and not below. 404 until a night has computed them."
    ),
    tags=TAGS,
    responses=documented(200, InventorySuggestions, 401, 403, 404, 422),
)
def get_suggestions(
    below_reorder_point: Annotated[
        bool | None, Query(description="only the SKUs whose flag is this (a SKU of unknown stock has none)")
    ] = None,
) -> Response[str]:
    # reports:read: the suggestions are the night's analysis of the shop's sales, a report like the
    # others; a checkout's key (orders:*) has no need of sales velocity.
    principal = caller(router, "reports:read")
    answer = inventory.latest_suggestions(principal.tenant_id, below_reorder_point, root.inventory())
    return json_response(HTTPStatus.OK, answer)
