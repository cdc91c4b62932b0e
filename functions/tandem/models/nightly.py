"""What starts a nightly run: the schedule's input, or an operator re-running a past day."""

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class NightlyRun(BaseModel):
    """What the schedule sends (template.yaml: Input), or what an operator sends to re-run a day.

    `time` is there too so an EventBridge scheduled event works unchanged.
    """

    model_config = ConfigDict(extra="ignore")

    day: date | None = Field(default=None, alias="date", description="the local day; default: yesterday")
    scheduled_time: AwareDatetime | None = None
    time: AwareDatetime | None = None
    tenants: list[str] | None = Field(default=None, description="only these tenants; default: all")


class NightItem(BaseModel):
    """One (tenant, source, date) of a night: a source's partition to curate, or the checkout's
    orders to export and curate. The state machine's Map runs one per item."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    tenant_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    source: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    day: date = Field(alias="date")


class NightPlan(BaseModel):
    """What a night will do: the state machine's input, from the plan step."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    day: date = Field(alias="date")
    tenants: list[str]
    items: list[NightItem]


class ItemStep(BaseModel):
    """The state machine's call for one item."""

    model_config = ConfigDict(extra="forbid")

    step: Literal["item"]
    item: NightItem


class FinishStep(BaseModel):
    """The state machine's call to finish one tenant's day."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    step: Literal["finish"]
    tenant_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    day: date = Field(alias="date")


class ProductStep(BaseModel):
    """The state machine's call to make one of the night's products for one tenant's finished day
    (tandem.logic.lake.products)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    step: Literal["product"]
    product: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    tenant_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    day: date = Field(alias="date")


class StepFailure(BaseModel):
    """What the state machine's Catch recorded: the error's name and cause."""

    model_config = ConfigDict(extra="ignore")

    Error: str = "unknown"
    Cause: str | None = None


class StepResult(BaseModel):
    """One Map iteration's outcome: a step's answer, or (`failed`) the Catch's record."""

    model_config = ConfigDict(extra="ignore")

    failed: bool = False
    item: NightItem | None = None
    tenant_id: str | None = None
    error: StepFailure | None = None
    # A tenant's products: each one's answer (a ProductOutcome), or the Catch's record (Error, Cause)
    products: dict[str, dict[str, object]] = Field(default_factory=dict)


class OutcomeStep(BaseModel):
    """The state machine's last call: every item's and every tenant's result."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    step: Literal["outcome"]
    day: date = Field(alias="date")
    item_results: list[StepResult] = Field(default_factory=list)
    finish_results: list[StepResult] = Field(default_factory=list)
    # The Backup state's answer ({"tables": {table: items}}), or its Catch's record (Error, Cause);
    # absent from a run made before the night had a backup.
    backup_result: dict[str, object] | None = None


class NightFailure(BaseModel):
    """A failed item or tenant of a night, parked on NightlyFailureQueue with its reason; re-run it
    with `tandem batch run nightly --tenant T --date D`."""

    kind: Literal["nightly_failure"] = "nightly_failure"
    day: date = Field(alias="date")
    tenant_id: str | None
    source: str | None
    error: str
    cause: str | None
    product: str | None = None  # a night's product that failed (the tenant's day itself was made)
    # a deployment-level step of the night that failed (`backup`): no tenant, no source
    step: str | None = None

    # the queue's message says `date`, like every other of the night's documents
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class BackupStep(BaseModel):
    """The state machine's call to back up every table of the deployment (tandem.logic.backups),
    once a night, after the tenants' days."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    step: Literal["backup"]
    day: date = Field(alias="date")
