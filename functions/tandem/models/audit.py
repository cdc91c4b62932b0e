"""The audit trail: every fraud and compliance decision, appended, never edited."""

from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tandem.models.fraud import FraudAssessment
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

    @classmethod
    def of_fraud(cls, tenant_id: str, at: datetime, reference: str, assessment: FraudAssessment) -> Self:
        return cls(
            tenant_id=tenant_id,
            at=at,
            order_id=reference,
            check="fraud",
            decision=assessment.decision,
            reasons=tuple(assessment.reasons),
            score=f"{assessment.score:.4f}",
            model_version=assessment.model_version,
        )
