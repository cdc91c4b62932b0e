"""The catalogue: the shop's own tools set prices and stock over the API; stock is reserved atomically."""

import json
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.handlers import api
from tandem.logic.errors import OutOfStockError
from tandem.models.catalog import Product
from tests.events import http_event
from tests.moto_stack import REGION
from tests.template_model import Resolver

ADMIN = "admin orders:read"


def call(event: dict[str, Any], lambda_context: Any) -> tuple[int, Any]:
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def put(
    sku: str, body: dict[str, Any], lambda_context: Any, scopes: str = ADMIN, tenant: str = "acme"
) -> Any:
    event = http_event(
        "PUT", f"/products/{sku}", route="/products/{sku}", body=body, scopes=scopes, tenant=tenant,
        path_parameters={"sku": sku},
    )  # fmt: skip
    return call(event, lambda_context)


MUG = {"name": "Enamel mug", "price": "6.50", "currency": "GBP", "stock": 40, "category": "kitchen"}


@pytest.mark.usefixtures("stack")
def test_an_admin_key_sets_a_product_and_any_reader_sees_it(lambda_context: Any) -> None:
    status, product = put("MUG-1", MUG, lambda_context)
    assert (status, product["price"], product["stock"], product["tenant_id"]) == (200, "6.50", 40, "acme")
    event = http_event(
        "GET",
        "/products/MUG-1",
        route="/products/{sku}",
        scopes="orders:read",
        path_parameters={"sku": "MUG-1"},
    )
    assert call(event, lambda_context) == (200, product)


@pytest.mark.usefixtures("stack")
def test_without_the_admin_scope_a_key_cannot_set_prices(lambda_context: Any) -> None:
    status, body = put("MUG-1", MUG, lambda_context, scopes="orders:read orders:write")
    assert (status, body["error"]) == (403, "forbidden")


@pytest.mark.usefixtures("stack")
def test_products_are_tenant_scoped_and_unknown_ones_404(lambda_context: Any) -> None:
    put("MUG-1", MUG, lambda_context, tenant="bravo")
    event = http_event(
        "GET",
        "/products/MUG-1",
        route="/products/{sku}",
        scopes="orders:read",
        path_parameters={"sku": "MUG-1"},
    )
    status, body = call(event, lambda_context)
    assert (status, body["error"]) == (404, "not_found")


@pytest.mark.usefixtures("stack")
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "-1"}, "price"),
        ({"stock": -3}, "stock"),
        ({"currency": "pounds"}, "currency"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_products_are_refused_field_by_field(
    change: dict[str, Any], field: str, lambda_context: Any
) -> None:
    status, body = put("MUG-1", {**MUG, **change}, lambda_context)
    assert status == 422
    assert body["details"][0]["loc"] == ["body", field]


@pytest.mark.usefixtures("stack")
def test_the_catalogue_pages_with_an_opaque_cursor(lambda_context: Any) -> None:
    for n in range(5):
        put(f"SKU-{n}", MUG, lambda_context)
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        event = http_event("GET", "/products", scopes="orders:read")
        event["queryStringParameters"] = query
        status, page = call(event, lambda_context)
        assert status == 200
        seen += [p["sku"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"SKU-{n}" for n in range(5)]
    event = http_event("GET", "/products", scopes="orders:read")
    event["queryStringParameters"] = {"cursor": "not-a-cursor"}
    assert call(event, lambda_context)[0] == 422


def _catalog(stack: Resolver) -> CatalogTable:
    table = CatalogTable(stack.physical["ProductsTable"], boto3.resource("dynamodb", region_name=REGION))
    for sku, stock in (("A", 5), ("B", 1)):
        table.put(
            Product(tenant_id="acme", sku=sku, name=sku, price=Decimal("1.00"), currency="GBP", stock=stock)
        )
    return table


def test_stock_is_reserved_for_all_lines_or_none(stack: Resolver) -> None:
    catalog = _catalog(stack)
    catalog.reserve("acme", {"A": 2, "B": 1})
    with pytest.raises(OutOfStockError) as shortage:
        catalog.reserve("acme", {"A": 2, "B": 1})  # B is gone: A must stay untouched
    assert [d["ctx"] for d in shortage.value.details] == [{"sku": "B", "requested": 1, "available": 0}]
    assert (catalog.get("acme", "A").stock, catalog.get("acme", "B").stock) == (3, 0)
    catalog.release("acme", {"A": 2, "B": 1})
    assert (catalog.get("acme", "A").stock, catalog.get("acme", "B").stock) == (5, 1)


def test_an_inactive_or_unknown_product_cannot_be_reserved(stack: Resolver) -> None:
    catalog = _catalog(stack)
    catalog.put(catalog.get("acme", "A").model_copy(update={"active": False}))
    with pytest.raises(OutOfStockError) as shortage:
        catalog.reserve("acme", {"A": 1, "NOPE": 1})
    assert {d["ctx"]["sku"]: d["ctx"]["available"] for d in shortage.value.details} == {"A": 0, "NOPE": 0}
