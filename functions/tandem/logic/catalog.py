"""The catalogue as the shop's own tools manage it: product details, and stock moved only by
adjustments with a reason, kept as a ledger."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tandem.logic.errors import IdempotencyKeyReusedError, NotFoundError
from tandem.logic.ports import CatalogStore, Clock
from tandem.models.catalog import (
    Product,
    ProductUpdate,
    StockAdjusted,
    StockAdjustment,
    StockAdjustmentRequest,
)

# Fixed forever: adjustment ids derived under it name ledger entries already written.
ADJUSTMENT_NAMESPACE = uuid.UUID("6d1f0c52-3f1e-4a53-9a0e-2b8f4c7d5e11")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CatalogDeps:
    products: CatalogStore
    clock: Clock = field(default=_utc_now)


def adjustment_id(tenant_id: str, sku: str, idempotency_key: str) -> str:
    """The same for every retry of one adjustment, and distinct per tenant and SKU. Neither a
    tenant id nor an SKU can hold a newline, so no two triples give the same text."""
    return uuid.uuid5(ADJUSTMENT_NAMESPACE, f"{tenant_id}\n{sku}\n{idempotency_key}").hex


def get_product(tenant_id: str, sku: str, deps: CatalogDeps) -> Product:
    product = deps.products.get(tenant_id, sku)
    if product is None:
        raise NotFoundError(f"no product '{sku}'")
    return product


def list_products(
    tenant_id: str, limit: int, cursor: str | None, deps: CatalogDeps
) -> tuple[list[Product], str | None]:
    return deps.products.page(tenant_id, limit, cursor)


def set_product(tenant_id: str, sku: str, update: ProductUpdate, deps: CatalogDeps) -> tuple[Product, bool]:
    """Create a product (with stock 0) or change its name, price, currency, category and whether it
    sells; never its stock, which checkouts may be moving at this very moment. The product as
    stored (its stock as it is now) and whether it was created. The tenant comes from the key."""
    return deps.products.save(tenant_id, sku, update)


def adjust_stock(
    tenant_id: str,
    sku: str,
    request: StockAdjustmentRequest,
    idempotency_key: str,
    by: str,
    deps: CatalogDeps,
) -> StockAdjusted:
    """Move the SKU's stock by `request.delta` and record why, in one transaction.

    A retry with the same Idempotency-Key changes nothing and answers the first entry; the same
    key with another delta, reason or note is refused (IdempotencyKeyReusedError). NotFoundError
    for an unknown SKU, OutOfStockError if fewer units are on hand than a negative delta removes.
    """
    wanted = StockAdjustment(
        adjustment_id=adjustment_id(tenant_id, sku, idempotency_key),
        sku=sku,
        delta=request.delta,
        reason=request.reason,
        note=request.note,
        at=deps.clock(),
        by=by,
    )
    recorded = deps.products.adjust_stock(tenant_id, wanted)
    if not recorded.same_request(wanted):
        raise IdempotencyKeyReusedError(
            "this Idempotency-Key was used for another adjustment of this SKU; use a new key for a new change"
        )
    return StockAdjusted(adjustment=recorded, stock=get_product(tenant_id, sku, deps).stock)


def list_stock_adjustments(
    tenant_id: str, sku: str, limit: int, cursor: str | None, deps: CatalogDeps
) -> tuple[list[StockAdjustment], str | None]:
    """The SKU's ledger, newest first. NotFoundError for an SKU that is not in the catalogue."""
    items, next_cursor = deps.products.stock_adjustments(tenant_id, sku, limit, cursor)
    if not items and cursor is None:  # an empty first page: say whether the SKU exists at all
        get_product(tenant_id, sku, deps)
    return items, next_cursor
