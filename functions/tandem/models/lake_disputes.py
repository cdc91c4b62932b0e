"""The payment provider's disputes (`payment_disputes`): chargebacks and confirmed frauds of orders."""

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

DisputeKind = Literal["chargeback", "fraud", "other"]


class DisputeRow(BaseModel):
    """One dispute of a payment, as the provider's export reports it; `order_id` is the shop's order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dispute_id: str = Field(min_length=1)
    order_id: str = Field(min_length=1)
    kind: DisputeKind = Field(description="chargeback | fraud (confirmed fraud) | other (not a fraud label)")
    amount: Decimal = Field(ge=0, description="the disputed amount, in `currency`")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    opened_at: AwareDatetime = Field(description="UTC")
