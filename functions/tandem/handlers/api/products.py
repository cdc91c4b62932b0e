"""The catalogue: what a tenant sells, at what price, with how much in stock, and why stock moved."""

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from tandem.handlers.api.http import caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import catalog
from tandem.models.api import CURSOR_DESCRIPTION, PageCursor
from tandem.models.catalog import (
    Product,
    ProductPage,
    ProductUpdate,
    StockAdjusted,
    StockAdjustmentPage,
    StockAdjustmentRequest,
)
from tandem.models.checkout import IDEMPOTENCY_KEY_PATTERN
from tandem.models.records import Sku

router = Router()
TAGS = ["products"]


def _also(responses: dict[int, Any], status: int, model: type[Product]) -> dict[int, Any]:
    """`responses` with a second success status answering the same model."""
    return {status: documented(status, model)[status], **responses}


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
    summary="Create or edit a product",
    description=(
        "The shop's own tools set a product's name, price, currency, category and whether it sells. "
        "A new product is created with stock 0 (201); an existing one keeps its stock exactly (200), "
        "even while checkouts are taking units. Stock is never set here (a `stock` field is refused "
        "with 422): it moves by POST /products/{sku}/stock-adjustments."
    ),
    tags=TAGS,
    responses=_also(documented(200, Product, 401, 403, 404, 415, 422), 201, Product),
)
def put_product(sku: Sku, update: ProductUpdate) -> Response[str]:
    principal = caller(router, "admin")
    product, created = catalog.set_product(principal.tenant_id, sku, update, root.catalog())
    return json_response(HTTPStatus.CREATED if created else HTTPStatus.OK, product)


@router.post(
    "/products/<sku>/stock-adjustments",
    summary="Adjust a product's stock",
    description=(
        "Adds `delta` units to the stock (or removes them, if negative) and records the change in the "
        "product's stock ledger with its reason, in one transaction. Stock never goes below 0: removing "
        "more than is on hand is a 409 saying what is there, and changes nothing. Send an "
        "`Idempotency-Key`: a retry with the same key and body changes nothing and gets the first "
        "answer; the same key with another body is a 422."
    ),
    tags=TAGS,
    responses=documented(201, StockAdjusted, 401, 403, 404, 409, 415, 422, 503),
)
def adjust_stock(
    sku: Sku,
    request: StockAdjustmentRequest,
    idempotency_key: Annotated[
        str,
        Header(
            alias="idempotency-key",
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="the client's key for this change (printable ASCII, no spaces, up to 255): "
            "a retry with the same key adjusts once",
        ),
    ],
) -> Response[str]:
    principal = caller(router, "admin")
    answer = catalog.adjust_stock(
        principal.tenant_id, sku, request, idempotency_key, principal.key_id, root.catalog()
    )
    return json_response(HTTPStatus.CREATED, answer)


@router.get(
    "/products/<sku>/stock-adjustments",
    summary="List a product's stock adjustments",
    description="The product's stock ledger, newest first, a page at a time.",
    tags=TAGS,
    responses=documented(200, StockAdjustmentPage, 401, 403, 404, 422),
)
def list_stock_adjustments(
    sku: Sku,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[PageCursor | None, Query(description=CURSOR_DESCRIPTION)] = None,
) -> Response[str]:
    principal = caller(router, "admin")
    items, next_cursor = catalog.list_stock_adjustments(
        principal.tenant_id, sku, limit, cursor, root.catalog()
    )
    return json_response(HTTPStatus.OK, StockAdjustmentPage(items=items, next_cursor=next_cursor))
