"""Domain records: what Tandem knows about jobs, orders, tenants and API keys.

Adapters map these to and from storage explicitly; the API maps them to its
response models (models/api.py). Times are timezone-aware UTC, money is Decimal.
"""

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, computed_field

TenantId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

# Identifiers that travel in URL paths (and DynamoDB keys). Each is short printable ASCII:
# no '/', '%', space or control character, nothing a proxy would re-encode, and far under
# DynamoDB's 1,024-byte key limit, so a hostile id is refused with a 422 before any
# read. Plain StringConstraints on purpose: Powertools documents them as the path
# parameter's schema (`sku: Sku` or `Annotated[Sku, Path()]`); a pydantic `Field` in the
# Annotated would make it refuse the route ("Path parameters must be of type Path").
ID_MAX_LENGTH = 64
# A letter or digit, then letters, digits, '.', '_', ':' or '-': every StockCode of the
# retail demo data ("85123A", "POST", "DCGS0004", "gift_0001_40") but "BANK CHARGES",
# which is a fee, not a product; every order id ("inv-C536379", a uuid4 hex).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
# Report jobs are only ever named by the API itself (uuid4().hex), so their ids are exactly that.
JOB_ID_PATTERN = r"^[0-9a-f]{32}$"

Sku = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
OrderId = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
JobId = Annotated[str, StringConstraints(min_length=32, max_length=32, pattern=JOB_ID_PATTERN)]


def decimal_text(pattern: str, example: str) -> Callable[[Any], Any]:
    """A before-validator for money sent as a JSON string: the text `pattern` matches, else ValueError.

    JSON has no decimal type, and a JSON number would reach us as a float (0.1 + 0.2).
    Pair it with `WithJsonSchema({"type": "string", "pattern": pattern})` so the schema
    says exactly what is accepted: numbers are refused, as the schema says.
    """
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise ValueError(f'send a decimal string such as "{example}" (pattern {pattern})')
        return value

    return check


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class ReportKind(StrEnum):
    SALES_SUMMARY = "sales_summary"
    # Every table of the deployment exported to backups/{date}/ (POST /exports; `date_from` is the
    # backup's date, `date_to` the same day). Never a kind POST /reports accepts.
    TABLE_EXPORT = "table_export"
    # Queued by the night for one day (date_from = date_to), never by POST /reports
    # (tandem.logic.morning_report): yesterday against the same weekday a week earlier, e-mailed.
    MORNING_REPORT = "morning_report"
    # Over the lake (the shop's own exports, curated by the night), computed by the report worker:
    # top and bottom SKUs with revenue share and return rate.
    PRODUCT_PERFORMANCE = "product_performance"
    # New vs returning customers, and the repeat rate of each first-order month's cohort.
    CUSTOMER_COHORTS = "customer_cohorts"
    # Ad spend against the revenue attributed to it, by channel and campaign.
    MARKETING_ROAS = "marketing_roas"


# The kinds computed over the lake (every other kind reads the tables of the live system).
LAKE_REPORT_KINDS = frozenset(
    {ReportKind.PRODUCT_PERFORMANCE, ReportKind.CUSTOMER_COHORTS, ReportKind.MARKETING_ROAS}
)


class ReportFormat(StrEnum):
    """How a report's result is written: reports/{tenant}/{job_id}.{format}."""

    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"


class Granularity(StrEnum):
    """The period a report's time series is cut into (ISO weeks start on Monday)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class ReportFilters(Record):
    """What a report is restricted to; None: everything. Matched exactly (a country as ISO alpha-2)."""

    channel: str | None = None
    country: str | None = None
    category: str | None = None


class ReportParams(Record):
    kind: ReportKind = ReportKind.SALES_SUMMARY
    date_from: date
    date_to: date
    # Defaults keep every job stored before these fields existed readable, with its old meaning.
    format: ReportFormat = ReportFormat.JSON
    granularity: Granularity = Granularity.DAY
    filters: ReportFilters = ReportFilters()


class FailureReason(StrEnum):
    """Why a job failed, for a client to act on (its `error` says it in words)."""

    # The work itself cannot succeed: bad input or data (retrying the same job cannot help).
    CANNOT_COMPUTE = "cannot_compute"
    # Every delivery of its message failed (transient errors); a redrive of the DLQ runs it again.
    RETRIES_EXHAUSTED = "retries_exhausted"
    # Queued or running with no change for longer than its message can live (visibility x max
    # receives): the worker was killed (its timeout) or the message was lost. Failed by the sweeper.
    TIMED_OUT = "timed_out"
    # Recorded, but its message could not be queued: POST /reports answered 503.
    ENQUEUE_FAILED = "enqueue_failed"


class Job(Record):
    """One unit of asynchronous work and its life: queued → running → succeeded | failed.

    `version` is bumped by every change; stores save with a condition on it, so two
    deliveries of one message racing each other cannot both move the job.
    """

    tenant_id: TenantId
    job_id: str
    params: ReportParams
    status: JobStatus = JobStatus.QUEUED
    created_at: AwareDatetime
    updated_at: AwareDatetime
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    attempts: int = 0
    error: str | None = None
    result_key: str | None = None
    correlation_id: str | None = None
    version: int = 1
    # How far the worker is (0 when it starts, 100 once it succeeded); each step a versioned save.
    progress: int = Field(default=0, ge=0, le=100)
    failure_reason: FailureReason | None = None
    # Of the last run: the result document's size, and the time from its start to its end.
    result_bytes: int | None = Field(default=None, ge=0)
    duration_seconds: float | None = Field(default=None, ge=0)
    # Once it ended and the tenant was told (tandem.logic.report_notifications): each channel's
    # outcome, e.g. {"webhook": "delivered", "email": "skipped: no report_email"}; None: not yet.
    notified: dict[str, str] | None = None


class OrderStatus(StrEnum):
    """An order's life. The checkout holds stock under a PENDING order, then confirms it
    (CONFIRMED) or gives the stock back (DECLINED: the payment was refused; EXPIRED: the
    checkout never finished and the sweeper released it). Only CONFIRMED orders are sales."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class OrderLine(Record):
    sku: Sku
    quantity: int = Field(ge=1)
    unit_price: Decimal = Field(ge=0, decimal_places=4)
    # The product's category when it was sold (the checkout copies it from the catalogue): the live
    # dashboard's cells. None for lines of orders that came another way or for uncategorised products.
    category: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


class OrderPayment(Record):
    """All an order keeps of the card: never its number or CVC."""

    brand: str
    last4: str = Field(pattern=r"^\d{4}$")
    authorization_id: str


class OrderRisk(Record):
    fraud_score: Decimal = Field(ge=0, le=1, decimal_places=4)
    fraud_decision: Literal["approve", "review", "block"]
    compliance_flags: tuple[str, ...] = ()
    # The scorer's feature strengths (0..1) as it saw the checkout: the nightly retraining's inputs
    # (logic/fraud_training.py). Decimals, as DynamoDB keeps numbers.
    fraud_features: dict[str, Decimal] = Field(default_factory=dict)


ReviewDecision = Literal["fraud", "legit"]


class OrderReview(Record):
    """The shop's verdict on an order (POST /orders/{id}/review): a label for the nightly retraining."""

    decision: ReviewDecision
    note: str | None = None
    reviewed_at: AwareDatetime
    reviewed_by: str  # the API key's id


class ShippingAddress(Record):
    """Where a checkout's order goes (the checkout's Address, as the order keeps it)."""

    line1: str
    line2: str | None = None
    city: str
    postal_code: str
    country: str


class Order(Record):
    tenant_id: TenantId
    order_id: OrderId
    created_at: AwareDatetime
    status: OrderStatus
    currency: CurrencyCode
    lines: tuple[OrderLine, ...] = Field(min_length=1)
    country: str | None = None
    channel: str | None = None
    customer_id: str | None = None
    # Where the confirmation e-mail goes; with customer_id, whose histories the order joins.
    customer_email: str | None = None
    payment: OrderPayment | None = None
    risk: OrderRisk | None = None
    # Every review decision that changed the verdict, oldest first; the last one holds.
    reviews: tuple[OrderReview, ...] = ()
    # Set by the checkout; None for orders that came another way (imports, the demo seed).
    shipping_address: ShippingAddress | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)


class CheckoutRecord(Record):
    """An order as the checkout stores it, with what only the checkout and its sweeper need.

    `order_id` is derived from (tenant, Idempotency-Key), so the record is also the key's
    idempotency record: `request_fingerprint` tells a replay from a reuse of the key for
    another purchase, `failure` is the answer a declined checkout gives again.
    """

    order: Order
    request_fingerprint: str
    # The payment provider's idempotency key: the same for every retry of this checkout.
    provider_key: str
    # While PENDING: when the hold on the stock ends and the sweeper may release it.
    hold_until: AwareDatetime | None = None
    # Set by the sweeper's release: the authorization (if any) still has to be voided.
    void_pending: bool = False
    failure: dict[str, Any] | None = None


# An e-mail address as SES takes it: ASCII, one '@', a dotted domain (no display name).
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
EmailAddress = Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)]


class TenantWebhook(Record):
    """Where the tenant's courier notifications go (PUT /settings/webhooks), signed with `secret`
    (tandem.logic.webhooks). The secret is kept because it signs; it is shown once, when set."""

    url: str
    secret: str = Field(repr=False)
    set_at: AwareDatetime


class Tenant(Record):
    tenant_id: TenantId
    name: str
    # Where the morning report is announced (tandem.logic.morning_report); None: no e-mail,
    # the report is still made.
    report_email: EmailAddress | None = None
    # Where a buyer's answer to an order confirmation goes (tandem.logic.follow_ups); None: the
    # sender's own address.
    reply_to: EmailAddress | None = None
    # The courier notification's endpoint (tandem.logic.follow_ups); None: none configured.
    webhook: TenantWebhook | None = None


# `ingest:write` sends raw export files into the lake (POST /ingest/{source}): a key for a shop's
# export job, which needs no other right.
Scope = Literal["reports:read", "reports:write", "orders:read", "orders:write", "ingest:write", "admin"]
ALL_SCOPES: frozenset[Scope] = frozenset(
    ("reports:read", "reports:write", "orders:read", "orders:write", "ingest:write", "admin")
)


class ApiKey(Record):
    """A stored API key: only the SHA-256 of the secret is ever kept."""

    key_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    key_id: str
    tenant_id: TenantId
    scopes: frozenset[Scope]
    active: bool = True
    created_at: AwareDatetime
    # Set on the old key when it is rotated (tandem.logic.api_keys.rotate_key): it keeps
    # working until then, so the shop can roll the new key out without an outage.
    expires_at: AwareDatetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.active and (self.expires_at is None or now < self.expires_at)


ApiKeyStatus = Literal["active", "expiring", "expired", "revoked"]


class ApiKeySummary(Record):
    """What `tandem keys list` shows of a key: never its secret, never its hash."""

    key_id: str
    tenant_id: TenantId
    scopes: frozenset[Scope]
    created_at: AwareDatetime
    status: ApiKeyStatus
    expires_at: AwareDatetime | None = None


class Principal(Record):
    """Who calls: set by the authorizer, read by the API. Never taken from a request body."""

    tenant_id: TenantId
    key_id: str
    scopes: frozenset[Scope]
