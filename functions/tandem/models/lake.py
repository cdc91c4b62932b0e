"""The lake's rows: what a connector makes of a source file, what it refuses, and what it counts.

A curated row is typed and clean; a rejected one keeps its original content and a reason code
(quarantine); the manifest of a file counts both, so that for every file
rows_in = rows_curated + rows_quarantined + duplicates_removed.
"""

from collections import Counter
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class LineKind(StrEnum):
    """What an ERP order line is. Only `sale` and `return` lines are product sales."""

    SALE = "sale"
    RETURN = "return"  # a cancellation ("C" invoice): the quantity is negative
    NON_PRODUCT = "non_product"  # postage, fees, discounts, manual adjustments, bank charges, vouchers
    STOCK_ADJUSTMENT = "stock_adjustment"  # a negative quantity outside a cancellation: damages, write-offs


class OrderLineRow(BaseModel):
    """One line of an ERP order, curated (the canonical row of the `erp_orders` connector)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: str = Field(min_length=1, description="the invoice, without a cancellation's 'C'")
    sku: str = Field(min_length=1)
    description: str | None
    quantity: int = Field(description="negative for returns and stock adjustments; never 0")
    unit_price: Decimal = Field(ge=0, description="in `currency`, the tenant's")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    ordered_at: AwareDatetime = Field(description="UTC")
    customer_id: str | None = Field(description="None: a guest")
    country: str | None
    kind: LineKind
    # A return's original sale (tandem.logic.lake.returns.link_returns): None when not found.
    original_order_id: str | None = None

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


class DayJoins(BaseModel):
    """What the night's joins found in a tenant's day (tandem.logic.lake.derive), for its manifest:
    nothing that does not join is dropped, it is counted here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    orders: int = Field(ge=0)
    product_lines: int = Field(ge=0)
    catalogue_date: date | None = Field(description="the catalogue export the lines were joined to")
    unknown_skus: int | None = Field(
        ge=0, description="distinct SKUs the catalogue lacks; None: no catalogue"
    )
    unknown_sku_lines: int | None = Field(ge=0)
    unknown_sku_examples: list[str] = Field(description="the first of them, sorted")
    returns: int = Field(ge=0)
    returns_linked: int = Field(ge=0, description="returns whose original sale was found")
    customers: int = Field(ge=0)
    customers_merged: int = Field(ge=0, description="customers that more than one source knows")
    ad_spend_days: int = Field(ge=0, description="reporting days the day's ad exports cover")


class ProductOutcome(BaseModel):
    """What one of the night's products made of a tenant's day (tandem.logic.lake.products):
    its counts (what it read and wrote) and how long it took."""

    model_config = ConfigDict(extra="forbid")

    product: str
    counts: dict[str, int | float | str | bool | None] = Field(default_factory=dict)
    seconds: float = Field(ge=0, description="wall time of the product's run")


class Reject(BaseModel):
    """A source row that cannot be used, as it was, with why (quarantine/…/rejects.jsonl)."""

    model_config = ConfigDict(frozen=True)

    line: int = Field(description="the row's line in its file, the header being line 1")
    reason: str
    detail: str
    row: dict[str, str | None]


class FileManifest(BaseModel):
    """What one file gave: the identity rows_in = curated + quarantined + duplicates always holds."""

    file: str
    # The text encoding the file was read in (tandem.logic.lake.reading), or why it could not be read.
    encoding: str | None = None
    error: str | None = None
    rows_in: int = 0
    rows_curated: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = Field(default_factory=dict)
    duplicates_removed: int = 0
    # How often each named cleaning rule changed a row (a row may meet several).
    rules_applied: dict[str, int] = Field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_curated + self.rows_quarantined + self.duplicates_removed

    def count(self, rules: Counter[str], rejects: Counter[str]) -> "FileManifest":
        return self.model_copy(
            update={
                "rules_applied": dict(sorted(rules.items())),
                "quarantined_by_reason": dict(sorted(rejects.items())),
            }
        )
