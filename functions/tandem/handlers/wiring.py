"""The API's composition root: settings and adapters built once per warm process, on first use."""

import uuid
from datetime import UTC, datetime
from functools import cache

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.documents import S3Documents
from tandem.adapters.fraud_signals import DynamoFraudSignals
from tandem.adapters.jobs_table import JobsTable
from tandem.adapters.live_tables import AuditTable, LiveCountersTable
from tandem.adapters.model_store import S3ModelSource
from tandem.adapters.orders_table import OrdersTable
from tandem.adapters.queue import SqsQueue
from tandem.adapters.sanctions_list import S3SanctionsList
from tandem.adapters.sandbox_gateway import SandboxGateway
from tandem.logic.checkout import CheckoutDeps
from tandem.logic.risk import Screening
from tandem.models.settings import ApiSettings


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


@cache
def settings() -> ApiSettings:
    return ApiSettings()  # filled from the environment


@cache
def jobs() -> JobsTable:
    return JobsTable(settings().jobs_table_name)


@cache
def report_queue() -> SqsQueue:
    return SqsQueue(settings().report_queue_url)


@cache
def reports_bucket() -> S3Documents:
    return S3Documents(settings().reports_bucket_name)


@cache
def catalog() -> CatalogTable:
    return CatalogTable(settings().products_table_name)


@cache
def orders() -> OrdersTable:
    return OrdersTable(settings().orders_table_name)


@cache
def idempotency_store() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=settings().idempotency_table_name)


def pepper() -> bytes:
    return settings().card_pepper.get_secret_value().encode()


@cache
def fraud_signals() -> DynamoFraudSignals:
    return DynamoFraudSignals(settings().fraud_signals_table_name, pepper=pepper())


@cache
def audit() -> AuditTable:
    return AuditTable(settings().audit_table_name)


@cache
def live_counters() -> LiveCountersTable:
    return LiveCountersTable(settings().live_counters_table_name)


@cache
def screening() -> Screening:
    config = settings()
    return Screening(
        signals=fraud_signals(),
        models=S3ModelSource(config.data_bucket_name),
        sanctions=S3SanctionsList(config.data_bucket_name),
        payments=live_counters(),
    )


@cache
def checkout() -> CheckoutDeps:
    config = settings()
    return CheckoutDeps(
        catalog=catalog(),
        orders=orders(),
        # The sandbox until a provider's adapter exists: it behaves like a provider's test mode.
        gateway=SandboxGateway(pepper=pepper()),
        risk=screening(),
        counters=live_counters(),
        audit=audit(),
        follow_ups=SqsQueue(config.follow_up_queue_url),
        clock=now,
        new_id=new_id,
        card_pepper=pepper(),
    )
