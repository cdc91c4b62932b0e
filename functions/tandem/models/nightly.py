"""What starts a nightly run: the schedule's input, or an operator re-running a past day."""

from datetime import date

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
