"""The audit trail: every fraud and compliance decision, appended, never edited."""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tandem.models.records import TenantId


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: TenantId
    at: AwareDatetime
    order_id: str
    check: Literal["fraud", "compliance"]
    decision: str  # approve | review | block, or allow | flag | block
    reasons: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    score: str | None = None  # as text: DynamoDB takes no floats
    model_version: str | None = None
