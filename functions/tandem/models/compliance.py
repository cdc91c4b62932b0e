"""Compliance records: the sanctions file's entries, the policy's thresholds and what a check decided."""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from tandem.models.records import CurrencyCode


class SanctionsEntry(BaseModel):
    """One listed person or organisation, as the sanctions file has it (tandem.adapters.sanctions_list)."""

    # The file's keys are "id" and "list"; other fields a list carries (dates of birth…) are ignored.
    model_config = ConfigDict(frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True)

    entry_id: str = Field(validation_alias="id", min_length=1)
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    source_list: str = Field(validation_alias="list", min_length=1, description="UN, EU, OFAC…")


class SanctionsMatch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    source_list: str
    listed_name: str
    rule: Literal["exact", "subset"]


class ComplianceOutcome(StrEnum):
    ALLOW = "allow"
    FLAG = "flag"
    BLOCK = "block"


class ReasonCode(StrEnum):
    AML_THRESHOLD = "aml_threshold"
    STRUCTURING = "structuring"
    SANCTIONS_MATCH = "sanctions_match"


def _default_aml_limits() -> dict[str, int]:
    return {"EUR": 1_000_000, "GBP": 1_000_000, "USD": 1_000_000, "CHF": 1_000_000}


class CompliancePolicy(BaseModel):
    """The thresholds, per deployment.

    `aml_limit_minor` gives the limit per currency in minor units (1_000_000 = 10,000.00);
    any other currency falls back to `default_aml_limit_minor`. The fallback of
    1,000,000 minor units errs on the side of flagging: it is 1,000,000 JPY or KRW,
    1,000.000 BHD or KWD, all worth less than 10,000 EUR. Set explicit limits for
    the currencies a deployment takes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    aml_limit_minor: dict[CurrencyCode, PositiveInt] = Field(default_factory=_default_aml_limits)
    default_aml_limit_minor: PositiveInt = 1_000_000
    # The caller sums the customer's earlier payments over this window (see window_start).
    structuring_window: timedelta = timedelta(hours=24)
    # Counting this payment: 2 means "this one and at least one before it".
    structuring_min_payments: int = Field(default=2, ge=2)

    def aml_limit_for(self, currency: str) -> int:
        return self.aml_limit_minor.get(currency, self.default_aml_limit_minor)

    def window_start(self, now: datetime) -> datetime:
        """Payments made at or after this moment count towards structuring."""
        return now - self.structuring_window


class ComplianceDecision(BaseModel):
    """What `check` decided and why. Flagged and blocked decisions are to be recorded by the caller.

    `reasons` are for people (no internals); the sanctions fields name the list
    entry for the compliance record and must not be shown to the customer.
    The customer's name is left out on purpose: `customer_key` identifies them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: ComplianceOutcome
    reason_codes: tuple[ReasonCode, ...] = ()
    reasons: tuple[str, ...] = ()
    customer_key: str
    amount_minor: int
    currency: CurrencyCode
    sanctions_entry_id: str | None = None
    sanctions_list: str | None = None

    @property
    def blocked(self) -> bool:
        return self.outcome is ComplianceOutcome.BLOCK

    @property
    def flags(self) -> tuple[str, ...]:
        """Every rule that fired, as plain codes (a block's included): what an order and the audit keep."""
        return tuple(code.value for code in self.reason_codes)

    @property
    def must_record(self) -> bool:
        return self.outcome is not ComplianceOutcome.ALLOW
