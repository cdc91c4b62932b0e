"""A tenant's catalogue: what it sells, at what price, with how much in stock, and why the stock moved."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict, JsonValue
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

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

STOCK_ADJUSTMENTS_PATH = "/products/{sku}/stock-adjustments"


class Product(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: TenantId
    sku: Sku
    name: str = Field(min_length=1, max_length=200)
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=4)
    currency: CurrencyCode
    stock: int = Field(ge=0, description="units on hand, not held by any order")
    category: Category | None = None
    active: bool = True


class ProductUpdate(BaseModel):
    """PUT /products/{sku}: the product's details as the shop's tools set them (prices never come
    from a buyer). Never its stock: a new product starts with none, and stock only moves by
    adjustments (POST /products/{sku}/stock-adjustments), each with a reason, kept as a ledger."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=200)
    price: PriceText = Field(
        ge=0,
        max_digits=12,
        decimal_places=4,
        description='a decimal string, e.g. "6.50"; never a JSON number',
    )
    currency: CurrencyCode
    category: Category | None = None
    active: bool = True
    # Not part of the document (no property "stock": additionalProperties is false). Declared only
    # so that a tool still sending it is told where stock changes go, rather than "extra field".
    stock: SkipJsonSchema[Any] = Field(default=None, exclude=True)

    @field_validator("stock", mode="before")
    @classmethod
    def _stock_is_not_edited(cls, _: Any) -> Any:
        raise PydanticCustomError(
            "stock_not_settable",
            "stock is never set by a product edit: POST /products/{sku}/stock-adjustments "
            "with a delta and a reason (a new product starts with 0)",
        )

    def details(self) -> dict[str, Any]:
        """What a product edit writes: everything but the stock."""
        return self.model_dump(exclude={"stock"})


# ---------------------------------------------------------------- stock adjustments
MAX_STOCK_DELTA = 1_000_000
NOTE_MAX_LENGTH = 500


class StockReason(StrEnum):
    """Why stock moved. restock and returned add units, damaged and sold remove them; count_correction
    (a stock take) and other go either way, and other needs a note saying what happened."""

    RESTOCK = "restock"
    COUNT_CORRECTION = "count_correction"
    DAMAGED = "damaged"
    RETURNED = "returned"
    OTHER = "other"
    # Units that left with an order. The checkout's own orders are recorded by the warehouse pick
    # (tandem.logic.follow_ups), without moving stock again: their hold already took the units.
    SOLD = "sold"


ADDING_REASONS = frozenset({StockReason.RESTOCK, StockReason.RETURNED})
REMOVING_REASONS = frozenset({StockReason.DAMAGED, StockReason.SOLD})


def _whole_number(value: object) -> object:
    # JSON Schema's "integer" includes 2.0; the strict model would refuse it. 2.5 stays refused.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _not_zero(value: int) -> int:
    if value == 0:
        raise PydanticCustomError(
            "delta_zero", "a delta of 0 changes nothing: send a positive or negative count"
        )
    return value


StockDelta = Annotated[
    int,
    BeforeValidator(_whole_number),
    Field(ge=-MAX_STOCK_DELTA, le=MAX_STOCK_DELTA),
    AfterValidator(_not_zero),
    WithJsonSchema(
        {
            "type": "integer",
            "minimum": -MAX_STOCK_DELTA,
            "maximum": MAX_STOCK_DELTA,
            "not": {"const": 0},
            "description": "units added (positive) or removed (negative); never 0",
            "examples": [12, -2],
        },
        mode="validation",
    ),
]
Note = Annotated[str, StringConstraints(min_length=1, max_length=NOTE_MAX_LENGTH)]


def _when_reason(reasons: frozenset[StockReason], then: JsonDict) -> JsonValue:
    names: list[JsonValue] = [reason.value for reason in sorted(reasons)]
    condition: JsonDict = {"properties": {"reason": {"enum": names}}, "required": ["reason"]}
    return {"if": condition, "then": then}


# The rules across fields, stated in the schema too (JSON Schema's if/then), as _reason_fits enforces them.
_REASON_RULES: list[JsonValue] = [
    _when_reason(ADDING_REASONS, {"properties": {"delta": {"minimum": 1}}}),
    _when_reason(REMOVING_REASONS, {"properties": {"delta": {"maximum": -1}}}),
    _when_reason(
        frozenset({StockReason.OTHER}), {"required": ["note"], "properties": {"note": {"type": "string"}}}
    ),
]


class StockAdjustmentRequest(BaseModel):
    """POST /products/{sku}/stock-adjustments. restock and returned need a positive delta,
    damaged a negative one, and other a note; a 422 at ["body"] otherwise."""

    model_config = ConfigDict(
        extra="forbid", strict=True, hide_input_in_errors=True, json_schema_extra={"allOf": _REASON_RULES}
    )

    delta: StockDelta
    reason: StockReason = Field(strict=False)  # the enum's text, as JSON carries it
    note: Note | None = Field(default=None, description="what happened, for whoever reads the ledger")

    @model_validator(mode="after")
    def _reason_fits(self) -> Self:
        if self.reason in ADDING_REASONS and self.delta < 0:
            raise PydanticCustomError("delta_sign", f"'{self.reason}' adds stock: send a positive delta")
        if self.reason in REMOVING_REASONS and self.delta > 0:
            raise PydanticCustomError("delta_sign", f"'{self.reason}' removes stock: send a negative delta")
        if self.reason is StockReason.OTHER and self.note is None:
            raise PydanticCustomError("note_required", "reason 'other' needs a note saying what happened")
        return self


class StockAdjustment(BaseModel):
    """One entry of a product's stock ledger, as recorded (append only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    adjustment_id: str = Field(description="derived from the Idempotency-Key: a replay names the same entry")
    sku: Sku
    delta: int
    reason: StockReason
    note: str | None = None
    at: AwareDatetime
    by: str = Field(description="the id of the API key that made the adjustment")

    def same_request(self, other: "StockAdjustment") -> bool:
        """Whether `other` asks for the same change (a replay), whenever and by whichever key it came."""
        mine, theirs = (
            (self.sku, self.delta, self.reason, self.note),
            (other.sku, other.delta, other.reason, other.note),
        )
        return mine == theirs


class StockAdjusted(BaseModel):
    """What POST /products/{sku}/stock-adjustments answers, and answers again to a replay."""

    adjustment: StockAdjustment
    stock: int = Field(
        ge=0, description="the product's stock on hand when answered (checkouts may move it at any time)"
    )


class StockAdjustmentPage(BaseModel):
    items: list[StockAdjustment] = Field(description="newest first")
    next_cursor: NextCursor = None


class ProductPage(BaseModel):
    items: list[Product]
    next_cursor: NextCursor = None
