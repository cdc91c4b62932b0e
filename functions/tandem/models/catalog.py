"""A tenant's catalogue: what it sells, at what price, with how much in stock."""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from tandem.models.api import NextCursor
from tandem.models.records import CurrencyCode, Sku, TenantId, decimal_text

Category = Annotated[str, StringConstraints(min_length=1, max_length=64)]

# What a price may be, as text: 0 to 99999999.9999, no sign, no leading zeros, at most 4 decimals.
PRICE_PATTERN = r"^(?:0|[1-9][0-9]{0,7})(?:\.[0-9]{1,4})?$"
PriceText = Annotated[
    Decimal,
    BeforeValidator(decimal_text(PRICE_PATTERN, "6.50")),
    WithJsonSchema({"type": "string", "pattern": PRICE_PATTERN, "examples": ["6.50"]}, mode="validation"),
]


class Product(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: TenantId
    sku: Sku
    name: str = Field(min_length=1, max_length=200)
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=4)
    currency: CurrencyCode
    stock: int = Field(ge=0)
    category: Category | None = None
    active: bool = True


class ProductUpdate(BaseModel):
    """PUT /products/{sku}: the whole product as the shop's tools set it (prices never come from a buyer)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    price: PriceText = Field(
        ge=0,
        max_digits=12,
        decimal_places=4,
        description='a decimal string, e.g. "6.50"; never a JSON number',
    )
    currency: CurrencyCode
    stock: int = Field(ge=0, le=10_000_000)
    category: Category | None = None
    active: bool = True

    def for_tenant(self, tenant_id: str, sku: str) -> Product:
        return Product(tenant_id=tenant_id, sku=sku, **self.model_dump())


class ProductPage(BaseModel):
    items: list[Product]
    next_cursor: NextCursor = None
