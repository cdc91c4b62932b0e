"""The catalogue as the shop's own tools manage it."""

from typing import Protocol

from tandem.logic.errors import NotFoundError
from tandem.models.catalog import Product, ProductUpdate


class CatalogStore(Protocol):
    def get(self, tenant_id: str, sku: str) -> Product | None: ...

    def put(self, product: Product) -> None: ...


def get_product(tenant_id: str, sku: str, products: CatalogStore) -> Product:
    product = products.get(tenant_id, sku)
    if product is None:
        raise NotFoundError(f"no product '{sku}'")
    return product


def set_product(tenant_id: str, sku: str, update: ProductUpdate, products: CatalogStore) -> Product:
    """Create or replace a product: price, stock level, category, active. The tenant comes from the key."""
    product = update.for_tenant(tenant_id, sku)
    products.put(product)
    return product
