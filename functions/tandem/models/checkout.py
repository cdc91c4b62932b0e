"""POST /orders: what a buyer sends, and what the shop's checkout gets back."""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tandem.models.payments import CardDetails
from tandem.models.records import CurrencyCode, Order, OrderStatus, Sku

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, hide_input_in_errors=True)


class CheckoutItem(_Strict):
    sku: Sku
    quantity: int = Field(ge=1, le=10_000)


class Customer(_Strict):
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    email: Email
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    country: CountryCode


class Address(_Strict):
    line1: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    line2: Annotated[str, StringConstraints(max_length=200)] | None = None
    city: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    country: CountryCode


class TokenPayment(_Strict):
    token: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class CheckoutRequest(_Strict):
    """Prices are not part of it: they come from the tenant's catalogue."""

    items: list[CheckoutItem] = Field(min_length=1, max_length=100)
    customer: Customer
    shipping_address: Address
    payment: CardDetails | TokenPayment
    currency: CurrencyCode
    channel: Literal["web", "mobile", "pos", "marketplace"] = "web"

    @field_validator("items")
    @classmethod
    def _one_line_per_sku(cls, items: list[CheckoutItem]) -> list[CheckoutItem]:
        skus = [item.sku for item in items]
        if len(set(skus)) != len(skus):
            raise ValueError("each SKU may appear once; add up the quantities")
        return items


class FraudView(BaseModel):
    score: float
    decision: Literal["approve", "review", "block"]


class OrderConfirmation(BaseModel):
    order_id: str
    status: OrderStatus
    total: Decimal
    currency: CurrencyCode
    created_at: AwareDatetime
    fraud: FraudView
    payment: dict[str, str] = Field(description="brand and last four digits only")


class OrderPage(BaseModel):
    items: list[Order]
    next_cursor: str | None = None
