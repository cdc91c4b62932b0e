"""The catalogue as the shop's own tools manage it."""

from dataclasses import dataclass

from tandem.logic.errors import NotFoundError
from tandem.logic.ports import CatalogStore
from tandem.models.catalog import Product, ProductUpdate


@dataclass(frozen=True)
class CatalogDeps:
    products: CatalogStore


def get_product(tenant_id: str, sku: str, deps: CatalogDeps) -> Product:
    product = deps.products.get(tenant_id, sku)
    if product is None:
        raise NotFoundError(f"no product '{sku}'")
    return product


def list_products(
    tenant_id: str, limit: int, cursor: str | None, deps: CatalogDeps
) -> tuple[list[Product], str | None]:
    return deps.products.page(tenant_id, limit, cursor)


def set_product(tenant_id: str, sku: str, update: ProductUpdate, deps: CatalogDeps) -> Product:
    """Create or replace a product: price, stock level, category, active. The tenant comes from the key."""
    product = update.for_tenant(tenant_id, sku)
    deps.products.put(product)
    return product
