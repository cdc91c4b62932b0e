"""POST /orders: what a buyer sends, and what the shop's checkout gets back."""

from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    StringConstraints,
    field_validator,
    model_validator,
)

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


class ScoreRequest(_Strict):
    """POST /payments/score: a tenant's own checkout asks before charging; each call counts as an attempt."""

    # Not strict, since JSON has no decimal type: the amount comes as a string ("25.00"); floats are refused.
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=4, strict=False)
    currency: CurrencyCode
    email: Email
    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    card: CardDetails | None = None
    payment_token: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    ip: IPvAnyAddress | None = None
    ip_country: CountryCode | None = None
    shipping_country: CountryCode

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):  # 0.1 + 0.2 must never reach a charge
            raise ValueError('send the amount as a string, e.g. "25.50"')
        return value

    @model_validator(mode="after")
    def _one_payment_method(self) -> Self:
        if (self.card is None) == (self.payment_token is None):
            raise ValueError("give either card or payment_token")
        return self


class ScoreAnswer(BaseModel):
    score: float
    decision: Literal["approve", "review", "block"]
    reasons: list[str]
    model_version: str


class BlocklistEntry(_Strict):
    """PUT /fraud/blocklist: a card (by number; only its fingerprint is kept), an e-mail or an IP."""

    kind: Literal["card", "email", "ip"]
    value: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class BlocklistAdded(BaseModel):
    kind: Literal["card", "email", "ip"]
    reason: str
    blocked: bool = True
