"""POST /orders: what a buyer sends, and what the shop's checkout gets back."""

import ipaddress
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from tandem.models.api import NextCursor
from tandem.models.payments import CardDetails, CardNumberText
from tandem.models.records import CurrencyCode, Order, OrderStatus, ReviewDecision, Sku, decimal_text

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
# `\s` means two things: Python's adds \x1c-\x1f and \x85, JSON Schema's (ECMA-262) adds \ufeff.
# Naming them all makes the schema and the validator refuse exactly the same addresses.
_NOT_IN_EMAIL = r"[^@\s\x1c-\x1f\x85\ufeff]"
EMAIL_PATTERN = rf"^{_NOT_IN_EMAIL}+@{_NOT_IN_EMAIL}+\.{_NOT_IN_EMAIL}+$"
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=320)]


def _ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("an IPv4 or IPv6 address, e.g. 203.0.113.7 or 2001:db8::1") from None


# An IP address as text, documented with the formats JSON Schema knows (pydantic's own
# IPvAnyAddress says "ipvanyaddress", which no client or fuzzer understands).
IpAddress = Annotated[
    str,
    StringConstraints(max_length=45),
    AfterValidator(_ip_address),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]},
        mode="validation",
    ),
]

# An amount to pay, as text: more than 0, at most 10 integer digits and 4 decimals, no leading zeros.
AMOUNT_PATTERN = (
    r"^(?:[1-9][0-9]{0,9}(?:\.[0-9]{1,4})?|0\.(?:[1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$"
)
AmountText = Annotated[
    Decimal,
    BeforeValidator(decimal_text(AMOUNT_PATTERN, "25.50")),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["25.50"]}, mode="validation"),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, hide_input_in_errors=True)


def _whole_number(value: object) -> object:
    # JSON Schema's "integer" includes 2.0; the strict model would refuse it. 2.5 stays refused.
    return int(value) if isinstance(value, float) and value.is_integer() else value


class CheckoutItem(_Strict):
    sku: Sku
    quantity: Annotated[int, BeforeValidator(_whole_number)] = Field(ge=1, le=10_000)


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


# Printable ASCII without spaces: a key travels in a header and names a DynamoDB item.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


class CheckoutRequest(_Strict):
    """Prices are not part of it: they come from the tenant's catalogue."""

    # 96: one DynamoDB transaction (100 items at most) holds every line, the order and two audit entries.
    items: list[CheckoutItem] = Field(min_length=1, max_length=96)
    customer: Customer
    shipping_address: Address
    payment: CardDetails | TokenPayment
    currency: CurrencyCode
    channel: Literal["web", "mobile", "pos", "marketplace"] = "web"

    @field_validator("items")
    @classmethod
    def _one_line_per_sku(cls, items: list[CheckoutItem]) -> list[CheckoutItem]:
        # A cart may list one SKU twice; JSON Schema cannot forbid it ("unique by sku"), so the
        # checkout accepts it and adds the quantities up, keeping the order of first appearance.
        quantities: dict[str, int] = {}
        for item in items:
            quantities[item.sku] = quantities.get(item.sku, 0) + item.quantity
        if len(quantities) == len(items):
            return items
        return [
            CheckoutItem.model_construct(sku=sku, quantity=quantity) for sku, quantity in quantities.items()
        ]


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
    next_cursor: NextCursor = None


class ScoreRequest(_Strict):
    """POST /payments/score: a tenant's own checkout asks before charging; each call counts as an attempt."""

    # JSON has no decimal type: the amount comes as a string ("25.00"); JSON numbers are refused.
    amount: AmountText = Field(
        gt=0, max_digits=14, decimal_places=4, strict=False, description='a decimal string, e.g. "25.50"'
    )
    currency: CurrencyCode
    email: Email
    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    card: CardDetails | None = None
    payment_token: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    ip: IpAddress | None = None
    ip_country: CountryCode | None = None
    shipping_country: CountryCode

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


BlockReason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CardBlock(_Strict):
    """A card by its number as typed; only its keyed fingerprint is kept.

    "4242 4242 4242 4242" blocks the card the checkout sees as 4242424242424242.
    """

    kind: Literal["card"]
    value: CardNumberText = Field(
        repr=False, description="12 to 19 digits; one space or dash may separate two digits"
    )
    reason: BlockReason


class EmailBlock(_Strict):
    """An e-mail address; its variants (case, +tags, Gmail dots) are blocked with it."""

    kind: Literal["email"]
    value: Email
    reason: BlockReason


class IpBlock(_Strict):
    kind: Literal["ip"]
    value: IpAddress
    reason: BlockReason


class BlocklistEntry(RootModel[Annotated[CardBlock | EmailBlock | IpBlock, Discriminator("kind")]]):
    """PUT /fraud/blocklist: a card (by number; only its fingerprint is kept), an e-mail or an IP.

    One schema per `kind` (a discriminated union), so the document states each value's form.
    """

    @property
    def kind(self) -> Literal["card", "email", "ip"]:
        return self.root.kind

    @property
    def value(self) -> str:
        return self.root.value

    @property
    def reason(self) -> str:
        return self.root.reason


class BlocklistAdded(BaseModel):
    kind: Literal["card", "email", "ip"]
    reason: str
    blocked: bool = True


class ReviewRequest(_Strict):
    """POST /orders/{id}/review: the shop's verdict on an order, after looking at it (or a chargeback)."""

    decision: ReviewDecision = Field(description="fraud or legit")
    note: str | None = Field(default=None, min_length=1, max_length=500)


class ReviewAnswer(BaseModel):
    order_id: str
    decision: ReviewDecision
    note: str | None = None
    reviewed_at: AwareDatetime
    # How many times the verdict has changed, the first decision included; the same decision again adds none.
    decisions: int
