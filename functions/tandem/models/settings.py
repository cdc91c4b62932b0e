"""Typed settings, one model per function, read from the environment template.yaml sets.

Each handler reads its settings once per warm process (functools.cache), never at
import time, so a test can set the environment before the first call.
"""

from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The stage whose deploys may use the sandbox gateway and the published development pepper.
DEV_STAGE = "dev"


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    # template.yaml's Stage parameter (Globals): what may run where depends on it.
    stage: str = DEV_STAGE

    @property
    def is_dev(self) -> bool:
        return self.stage == DEV_STAGE


class _ZonedSettings(_Settings):
    # The same template parameter sets the nightly schedule's time zone, so a
    # "day" means the same thing to the schedule and to the code.
    reporting_timezone: str = "UTC"

    @field_validator("reporting_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone: fail at the first call, not mid-batch
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.reporting_timezone)


class AuthorizerSettings(_Settings):
    api_keys_table_name: str


class ApiSettings(_ZonedSettings):
    # Zoned: a raw file sent without a date (POST /ingest/{source}) is today's in the reporting zone.
    jobs_table_name: str
    report_queue_url: str
    reports_bucket_name: str
    products_table_name: str
    orders_table_name: str
    live_counters_table_name: str
    audit_table_name: str
    fraud_signals_table_name: str
    # Fraud model and sanctions list live here (models/fraud/current.json, compliance/sanctions.json).
    data_bucket_name: str
    # Keys card fingerprints (HMAC) and signs page cursors: a Secrets Manager secret, read at run time.
    card_pepper_secret_arn: str = Field(min_length=1)
    # Which PaymentGateway adapter authorizes payments; the sandbox is refused outside the dev stage.
    payment_gateway: Literal["sandbox", "stripe", "adyen"] = "sandbox"
    # A presigned URL outlives neither this nor the credentials that signed it.
    result_url_ttl_seconds: int = Field(default=900, ge=60, le=43_200)
    # Where the sandbox gateway keeps its authorizations (so the sweeper can void them); empty
    # when the gateway is not the sandbox, or in one process (tests): kept in memory then.
    sandbox_payments_table_name: str = ""
    # How long the sandbox's timeout card (4000 0000 0000 3220) waits before its answer is lost:
    # 0 answers the 503 at once; longer than the function's timeout, the process is killed mid-payment.
    sandbox_timeout_seconds: float = Field(default=0, ge=0, le=60)
    # How long a checkout holds stock before the sweeper may release it: longer than the
    # function's timeout and a client's retries.
    checkout_hold_seconds: int = Field(default=120, ge=15, le=3600)
    # PUT /settings/webhooks writes the tenant's endpoint on its record.
    tenants_table_name: str
    # POST /reports answers inline when the period holds at most this many orders (scaled to the
    # client's `Prefer: wait=N`): what is read and summed within the budget below (README, measured).
    report_inline_max_rows: int = Field(default=5000, ge=0)
    report_inline_budget_seconds: float = Field(default=0.5, gt=0, le=5)
    # The longest `Prefer: wait` honoured: under ApiFunction's timeout (10 s), leaving time to
    # queue the job when the inline run gives way (the HTTP API's own limit is 30 s).
    report_max_wait_seconds: int = Field(default=8, ge=0, le=25)
    # POST /exports waits for the export's job to end (and answers 200) when the tables hold at most
    # this many items (DynamoDB's ItemCount of EXPORT_TABLES, `LogicalName=physical-name,…`), scaled
    # to `Prefer: wait=N`: the worker's queueing, start and export of them within the budget.
    export_tables: str = ""
    export_inline_max_items: int = Field(default=2000, ge=0)
    export_inline_budget_seconds: float = Field(default=2.0, gt=0, le=8)
    # (issue12-live builds these; keep theirs on merge) GET /dashboard/kpis reads the night's rollups.
    rollups_table_name: str = ""


class ReportWorkerSettings(_ZonedSettings):
    jobs_table_name: str
    orders_table_name: str
    reports_bucket_name: str
    # Equals the queue's maxReceiveCount: on the last delivery a failing job is
    # marked failed before its message moves to the DLQ.
    report_max_receive_count: int = Field(default=5, ge=1)
    # Table exports (POST /exports) run as report jobs: the bucket they go to, the tables they export
    # (`LogicalName=physical-name,…`, as NightlyLakeFunction's nightly backup).
    data_bucket_name: str
    backup_tables: str
    # The morning report (tandem.logic.morning_report): the day's rollups, the night's inventory
    # suggestions (data bucket), the tenant's report_email, and the verified SES sender.
    rollups_table_name: str
    tenants_table_name: str
    report_sender_email: str = Field(min_length=3)
    # Where a message that can never be parsed is parked at once (handlers/batch.py).
    report_dead_letter_queue_url: str
    # The download link in a report's notification (webhook, e-mail): read later than an API answer.
    report_notify_link_ttl_seconds: int = Field(default=3600, ge=60, le=43_200)


class NightlySettings(_ZonedSettings):
    """NightlyFunction: the 02:00 schedule → the night planned and its state machine started."""

    tenants_table_name: str
    data_bucket_name: str
    nightly_state_machine_arn: str


class NightlyLakeSettings(_ZonedSettings):
    """NightlyLakeFunction: the state machine's steps (an item, a tenant's day, the outcome)."""

    orders_table_name: str
    data_bucket_name: str
    nightly_failure_queue_url: str
    rollups_table_name: str
    products_table_name: str  # the inventory product reads the stock on hand
    # The tables a backup exports: `LogicalName=physical-name,…` (template.yaml, BACKUP_TABLES).
    backup_tables: str
    # The morning report product records its job and queues it for the report worker; it reads
    # the tenant's record to say in its counts whether an e-mail will go out.
    jobs_table_name: str
    report_queue_url: str
    tenants_table_name: str


class OrderEventsSettings(_Settings):
    """OrderEventsFunction: the orders table's stream → follow-ups, live counters, risk histories."""

    orders_table_name: str
    live_counters_table_name: str
    fraud_signals_table_name: str
    follow_up_queue_url: str
    # Records that failed every in-process retry are parked here (tenant, order, error) for a redrive.
    order_events_dead_letter_queue_url: str
    # The histories' customer keys are keyed (HMAC) with the API's card pepper: the same secret.
    card_pepper_secret_arn: str = Field(min_length=1)


class SweeperSettings(_Settings):
    """SweeperFunction: releases the stock of expired checkouts and voids their authorizations."""

    orders_table_name: str
    products_table_name: str
    # The sandbox's authorizations (template.yaml's SandboxPaymentsTable); empty for a real provider.
    sandbox_payments_table_name: str = ""
    # How long the sandbox's timeout card (4000 0000 0000 3220) waits before its answer is lost:
    # 0 answers the 503 at once; longer than the function's timeout, the process is killed mid-payment.
    sandbox_timeout_seconds: float = Field(default=0, ge=0, le=60)
    payment_gateway: Literal["sandbox", "stripe", "adyen"] = "sandbox"
    # The sandbox gateway's key of card fingerprints: the API's card pepper.
    card_pepper_secret_arn: str = Field(min_length=1)


class IngestSettings(_ZonedSettings):
    """IngestWorkerFunction: raw files that landed in the data bucket → the curated lake."""

    data_bucket_name: str
    # Where a message that can never be parsed is parked at once (handlers/batch.py).
    ingest_dead_letter_queue_url: str


class JobSweeperSettings(_Settings):
    """SweeperFunction's second duty: report jobs stuck queued or running are failed (timed_out).

    Apart from SweeperSettings, so a mistake in one duty's settings never stops the other.
    """

    jobs_table_name: str
    # ReportQueue's own settings (the same template parameters): no default, so a sweeper deployed
    # without them refuses to run rather than guess how long a message lives.
    report_queue_visibility_timeout: int = Field(ge=1)
    report_max_receive_count: int = Field(ge=1)
    # A job failed here is announced as the worker's are: the tenant's webhook and report_email.
    # Empty (an older deployment's environment): nobody is told.
    tenants_table_name: str = ""
    report_sender_email: str = ""
    reports_bucket_name: str = ""


class FollowUpWorkerSettings(_ZonedSettings):
    """FollowUpWorkerFunction: FollowUpQueue → the confirmation e-mail, the pick, the courier call."""

    # The order (lines, buyer, address) and its follow-ups' idempotency record.
    orders_table_name: str
    # The shop's name and reply-to address.
    tenants_table_name: str
    # The verified SES identity every e-mail goes from (the morning report's too).
    report_sender_email: str = Field(min_length=3)
    # The warehouse pick: the stock ledger's entries (ProductsTable), the pick documents (picks/).
    products_table_name: str
    data_bucket_name: str
    # Where a message that can never be parsed is parked at once (handlers/batch.py).
    follow_up_dead_letter_queue_url: str
