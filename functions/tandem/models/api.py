"""Request and response bodies of the HTTP API. They are the OpenAPI document at /openapi.json."""

from datetime import date
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tandem.models.records import JobStatus, ReportKind, ReportParams

MAX_REPORT_DAYS = 366


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ReportRequest(_Body):
    """POST /reports: a sales summary for the days from `from` to `to`, both included."""

    kind: ReportKind = ReportKind.SALES_SUMMARY
    date_from: date = Field(alias="from", description="first day, YYYY-MM-DD")
    date_to: date = Field(alias="to", description="last day, YYYY-MM-DD, included")

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.date_to < self.date_from:
            raise ValueError("'to' must not be before 'from'")
        if (self.date_to - self.date_from).days >= MAX_REPORT_DAYS:
            raise ValueError(f"a report covers at most {MAX_REPORT_DAYS} days")
        return self

    def to_params(self) -> ReportParams:
        return ReportParams(kind=self.kind, date_from=self.date_from, date_to=self.date_to)


class JobAccepted(_Body):
    job_id: str
    status: JobStatus
    status_url: str


class JobResult(_Body):
    url: str = Field(description="presigned S3 URL of the result document")
    expires_at: AwareDatetime


class JobView(_Body):
    job_id: str
    kind: ReportKind
    params: dict[str, Any]
    status: JobStatus
    created_at: AwareDatetime
    updated_at: AwareDatetime
    started_at: AwareDatetime | None
    finished_at: AwareDatetime | None
    attempts: int
    error: str | None
    result: JobResult | None = None


class Health(_Body):
    status: str
    service: str


class ErrorDetail(_Body):
    loc: list[str | int] = Field(description="where: e.g. ['body', 'from']")
    msg: str
    type: str
    ctx: dict[str, Any] | None = Field(default=None, description="facts about this error, e.g. stock left")


class ErrorBody(_Body):
    """Every error the API answers has this shape, whatever the status."""

    error: str = Field(description="machine-readable code, e.g. validation_error, not_found")
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)
