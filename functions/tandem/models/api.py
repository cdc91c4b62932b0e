"""Request and response bodies of the HTTP API. They are the OpenAPI document at /openapi.json."""

import re
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tandem.models.records import (
    FailureReason,
    Granularity,
    JobStatus,
    ReportFilters,
    ReportFormat,
    ReportKind,
    ReportParams,
)

MAX_REPORT_DAYS = 366

# Report days lie in the years 2000 to 2100. Static on purpose, so the schema can say it
# (JSON Schema has no date ranges: a pattern on the text is what it can state), and
# generous: no shop's sales are older, and a day past 9999-12-30 would overflow in the worker.
REPORT_DATE_PATTERN = r"^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
_REPORT_DATE = re.compile(REPORT_DATE_PATTERN)

# Page cursors are opaque: base64url text, signed by the API (tandem.adapters.cursors).
CURSOR_MAX_LENGTH = 1024
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
PageCursor = Annotated[
    str, StringConstraints(min_length=1, max_length=CURSOR_MAX_LENGTH, pattern=CURSOR_PATTERN)
]
# What a page answers: the cursor of the next page, or null on the last one.
NextCursor = Annotated[
    PageCursor | None,
    Field(description="opaque: pass it back as `cursor` for the next page; null on the last page"),
]
CURSOR_DESCRIPTION = (
    "opaque: the `next_cursor` of the previous page, passed back unchanged. Cursors are signed and "
    "bound to the caller; any other value is refused with 422"
)


def _report_day(value: Any) -> Any:
    # Only the text the schema describes: no timestamps, no datetimes, no year 9999.
    if not isinstance(value, str) or not _REPORT_DATE.fullmatch(value):
        raise PydanticCustomError(
            "date_pattern_mismatch", "Input should be a valid date as YYYY-MM-DD in the years 2000 to 2100"
        )
    return value


ReportDay = Annotated[
    date,
    BeforeValidator(_report_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": REPORT_DATE_PATTERN}, mode="validation"),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# A filter's value: printable text without control characters, matched exactly.
FILTER_PATTERN = r"^[^\x00-\x1f\x7f]{1,64}$"
FilterText = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=FILTER_PATTERN)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class ReportFilterBody(_Body):
    """What the report is restricted to; a filter left out restricts nothing."""

    channel: FilterText | None = Field(default=None, description="a sales channel, as the dashboard names it")
    country: CountryCode | None = Field(default=None, description="ISO 3166-1 alpha-2, upper case")
    category: FilterText | None = Field(default=None, description="a product category of the catalogue")

    def to_filters(self) -> ReportFilters:
        return ReportFilters(channel=self.channel, country=self.country, category=self.category)


class ReportRequest(_Body):
    """POST /reports: a report for the days from `from` to `to`, both included.

    Days are YYYY-MM-DD in the years 2000 to 2100. `to` must not be before `from`, and a
    report covers at most 366 days: JSON Schema cannot compare two fields, so these two
    rules are stated here and answered with a 422.
    """

    # Table exports are asked for at POST /exports (admin scope), and the morning report is queued
    # by the night (ReportKind.MORNING_REPORT): never kinds of this route.
    kind: Literal["sales_summary", "product_performance", "customer_cohorts", "marketing_roas"] = Field(
        default="sales_summary",
        description=(
            "`sales_summary` (confirmed orders of the live system), or over the lake (the shop's exports, "
            "curated each night): `product_performance`, `customer_cohorts`, `marketing_roas`"
        ),
    )
    date_from: ReportDay = Field(alias="from", description="first day, YYYY-MM-DD (years 2000 to 2100)")
    date_to: ReportDay = Field(
        alias="to",
        description="last day, YYYY-MM-DD, included; not before `from`, at most 365 days after it",
    )
    format: ReportFormat = Field(default=ReportFormat.JSON, description="the result document's format")
    granularity: Granularity = Field(default=Granularity.DAY, description="the time series' period")
    filters: ReportFilterBody = Field(
        default_factory=ReportFilterBody,
        description="the lake's kinds only: a `sales_summary` with a filter is refused (422)",
    )

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.date_to < self.date_from:
            raise ValueError("'to' must not be before 'from'")
        if (self.date_to - self.date_from).days >= MAX_REPORT_DAYS:
            raise ValueError(f"a report covers at most {MAX_REPORT_DAYS} days")
        # Refused rather than ignored: a filter that changes nothing would give a wrong answer quietly.
        if self.kind == "sales_summary" and self.filters.to_filters() != ReportFilters():
            raise ValueError(
                "filters apply to the lake's kinds (product_performance, customer_cohorts, marketing_roas); "
                "sales_summary sums the checkout's confirmed orders, which carry no channel or category"
            )
        return self

    def to_params(self) -> ReportParams:
        return ReportParams(
            kind=ReportKind(self.kind),
            date_from=self.date_from,
            date_to=self.date_to,
            format=self.format,
            granularity=self.granularity,
            filters=self.filters.to_filters(),
        )


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
    progress: int = Field(
        default=0, ge=0, le=100, description="percent done: 0 when started, 100 once succeeded"
    )
    failure_reason: FailureReason | None = Field(
        default=None, description="why it failed, for a program to act on; `error` says it in words"
    )
    result_bytes: int | None = Field(default=None, description="size of the result document, once succeeded")
    duration_seconds: float | None = Field(
        default=None, description="from the last run's start to its end, once finished by the worker"
    )
    notified: dict[str, str] | None = Field(
        default=None,
        description=(
            "once it ended, how the tenant was told, per channel (`webhook`, `email`): `delivered` or "
            "`sent`, `skipped: …` (nothing configured), `failed: …` (after retries; the job keeps its status)"
        ),
    )


class JobPage(_Body):
    """GET /reports: the tenant's report jobs, newest first; `result` links are at GET /reports/{job_id}."""

    items: list[JobView]
    next_cursor: NextCursor


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
