"""The catalogue: what a tenant sells, at what price, with how much in stock."""

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from tandem.handlers.api.http import caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import catalog
from tandem.models.api import CURSOR_DESCRIPTION, PageCursor
from tandem.models.catalog import Product, ProductPage, ProductUpdate
from tandem.models.records import Sku

router = Router()
TAGS = ["products"]


@router.get(
    "/products",
    summary="List products",
    description="The caller's catalogue, a page at a time, by SKU.",
    tags=TAGS,
    responses=documented(200, ProductPage, 401, 403, 422),
)
def list_products(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[PageCursor | None, Query(description=CURSOR_DESCRIPTION)] = None,
) -> Response[str]:
    principal = caller(router, "orders:read")
    items, next_cursor = catalog.list_products(principal.tenant_id, limit, cursor, root.catalog())
    return json_response(HTTPStatus.OK, ProductPage(items=items, next_cursor=next_cursor))


@router.get(
    "/products/<sku>",
    summary="Get a product",
    description="One product of the caller's catalogue, with its price and stock.",
    tags=TAGS,
    responses=documented(200, Product, 401, 403, 404, 422),
)
def get_product(sku: Sku) -> Response[str]:
    principal = caller(router, "orders:read")
    return json_response(HTTPStatus.OK, catalog.get_product(principal.tenant_id, sku, root.catalog()))


@router.put(
    "/products/<sku>",
    summary="Create or replace a product",
    description="The shop's own tools set a product's name, price, stock, category and whether it sells.",
    tags=TAGS,
    responses=documented(200, Product, 401, 403, 404, 415, 422),
)
def put_product(sku: Sku, update: ProductUpdate) -> Response[str]:
    principal = caller(router, "admin")
    return json_response(HTTPStatus.OK, catalog.set_product(principal.tenant_id, sku, update, root.catalog()))
