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


class AuthorizerSettings(_Settings):
    api_keys_table_name: str


class ApiSettings(_Settings):
    jobs_table_name: str
    report_queue_url: str
    reports_bucket_name: str
    products_table_name: str
    orders_table_name: str
    idempotency_table_name: str
    live_counters_table_name: str
    audit_table_name: str
    fraud_signals_table_name: str
    follow_up_queue_url: str
    # Fraud model and sanctions list live here (models/fraud/current.json, compliance/sanctions.json).
    data_bucket_name: str
    # Keys card fingerprints (HMAC) and signs page cursors: a Secrets Manager secret, read at run time.
    card_pepper_secret_arn: str = Field(min_length=1)
    # Which PaymentGateway adapter authorizes payments; the sandbox is refused outside the dev stage.
    payment_gateway: Literal["sandbox", "stripe", "adyen"] = "sandbox"
    # A presigned URL outlives neither this nor the credentials that signed it.
    result_url_ttl_seconds: int = Field(default=900, ge=60, le=43_200)


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


class ReportWorkerSettings(_ZonedSettings):
    jobs_table_name: str
    orders_table_name: str
    reports_bucket_name: str
    # Equals the queue's maxReceiveCount: on the last delivery a failing job is
    # marked failed before its message moves to the DLQ.
    report_max_receive_count: int = Field(default=5, ge=1)


class NightlySettings(_ZonedSettings):
    tenants_table_name: str
    orders_table_name: str
    data_bucket_name: str
