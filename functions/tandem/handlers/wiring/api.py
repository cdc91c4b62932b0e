"""ApiFunction's composition root: one dependency object per use case, each built on first use.

Settings that must not run are refused here, when the first request needs them
(ConfigurationError, logged with what to fix): the published development pepper or
the sandbox gateway outside the dev stage, a gateway without an adapter.
"""

import hashlib
import hmac
import time
from datetime import timedelta
from functools import cache

from tandem.adapters.backup_tables import DynamoDbTableSizes, parse_table_names
from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.checkout_store import DynamoCheckoutStore
from tandem.adapters.directory_tables import TenantsTable
from tandem.adapters.documents import S3Documents
from tandem.adapters.fraud_signals import DynamoFraudSignals
from tandem.adapters.jobs_table import JobsTable
from tandem.adapters.lake_bucket import S3LakeBucket
from tandem.adapters.live_tables import AuditTable, LiveCountersTable
from tandem.adapters.model_store import S3ModelSource
from tandem.adapters.orders_table import OrdersTable
from tandem.adapters.queue import S3ClaimChecks, SqsQueue
from tandem.adapters.raw_uploads import S3RawUploads
from tandem.adapters.rollups_table import RollupsTable
from tandem.adapters.sanctions_list import S3SanctionsList
from tandem.handlers.wiring import new_id, now, payments
from tandem.logic.catalog import CatalogDeps
from tandem.logic.checkout import CheckoutDeps
from tandem.logic.dashboard_kpis import DashboardDeps, RollupCache
from tandem.logic.exports import ExportDeps, ExportDispatchDeps
from tandem.logic.ingest import IngestDeps
from tandem.logic.inventory import InventoryReadDeps
from tandem.logic.orders import OrderDeps, ReviewDeps
from tandem.logic.ports import PaymentGateway
from tandem.logic.report_dispatch import DispatchDeps
from tandem.logic.reports import ReportDeps, ReportListDeps
from tandem.logic.risk import RiskDeps, Screening
from tandem.logic.webhooks import WebhookSettingsDeps
from tandem.models.settings import ApiSettings


@cache
def settings() -> ApiSettings:
    return ApiSettings()  # filled from the environment


@cache
def pepper() -> bytes:
    """The card-fingerprint key, from Secrets Manager once per cold start; refused if unfit for the stage."""
    config = settings()
    return payments.card_pepper(config.card_pepper_secret_arn, config.stage)


def cursor_key() -> bytes:
    # Derived, not the pepper itself: a cursor's signature must reveal nothing about card fingerprints.
    return hmac.new(pepper(), b"tandem page cursors v1", hashlib.sha256).digest()


def payment_gateway() -> PaymentGateway:
    config = settings()
    return payments.payment_gateway(
        config.payment_gateway,
        config.stage,
        pepper(),
        config.sandbox_payments_table_name,
        sandbox_timeout_seconds=config.sandbox_timeout_seconds,
    )


@cache
def _catalog_table() -> CatalogTable:
    return CatalogTable(settings().products_table_name, cursor_key=cursor_key())


@cache
def _orders_table() -> OrdersTable:
    return OrdersTable(settings().orders_table_name, cursor_key=cursor_key())


@cache
def _audit() -> AuditTable:
    return AuditTable(settings().audit_table_name)


@cache
def _live_counters() -> LiveCountersTable:
    return LiveCountersTable(settings().live_counters_table_name)


@cache
def live_counter_reader() -> LiveCountersTable:
    """Today's hours for the dashboard (LiveCounterReader): the same table the checkout reads."""
    return _live_counters()


@cache
def rollup_reader() -> RollupsTable:
    """The nights' days for the dashboard (RollupStore.days)."""
    return RollupsTable(settings().rollups_table_name)


@cache
def _fraud_signals() -> DynamoFraudSignals:
    return DynamoFraudSignals(settings().fraud_signals_table_name, pepper=pepper())


@cache
def _screening() -> Screening:
    config = settings()
    return Screening(
        signals=_fraud_signals(),
        models=S3ModelSource(config.data_bucket_name),
        sanctions=S3SanctionsList(config.data_bucket_name),
        payments=_live_counters(),
    )


@cache
def checkout() -> CheckoutDeps:
    config = settings()
    return CheckoutDeps(
        catalog=_catalog_table(),
        store=DynamoCheckoutStore(
            config.orders_table_name, config.products_table_name, config.audit_table_name
        ),
        gateway=payment_gateway(),
        risk=_screening(),
        audit=_audit(),
        clock=now,
        card_pepper=pepper(),
        hold=timedelta(seconds=config.checkout_hold_seconds),
    )


@cache
def orders() -> OrderDeps:
    return OrderDeps(orders=_orders_table())


@cache
def reviews() -> ReviewDeps:
    return ReviewDeps(orders=_orders_table(), clock=now)


@cache
def catalog() -> CatalogDeps:
    return CatalogDeps(products=_catalog_table(), clock=now)


@cache
def risk() -> RiskDeps:
    return RiskDeps(
        screening=_screening(), audit=_audit(), blocklist=_fraud_signals(), pepper=pepper(), clock=now
    )


@cache
def reports() -> ReportDeps:
    config = settings()
    return ReportDeps(
        jobs=JobsTable(config.jobs_table_name),
        queue=report_queue(),
        documents=S3Documents(config.reports_bucket_name),
        link_ttl_seconds=config.result_url_ttl_seconds,
        clock=now,
        new_id=new_id,
    )


@cache
def report_dispatch() -> DispatchDeps:
    config = settings()
    return DispatchDeps(
        report=reports(),
        orders=_orders_table(),
        counts=_orders_table(),
        zone=config.zone,
        clock=now,
        inline_max_rows=config.report_inline_max_rows,
        inline_budget_seconds=config.report_inline_budget_seconds,
        max_wait_seconds=config.report_max_wait_seconds,
    )


@cache
def report_listing() -> ReportListDeps:
    # Its own table object: listing signs page cursors (the deployment's cursor key); nothing else needs it.
    return ReportListDeps(jobs=JobsTable(settings().jobs_table_name, cursor_key=cursor_key()))


@cache
def ingest() -> IngestDeps:
    config = settings()
    return IngestDeps(uploads=S3RawUploads(config.data_bucket_name), clock=now, zone=config.zone)


@cache
def inventory() -> InventoryReadDeps:
    # The night's documents in the data bucket (inventory/…): read with one GET, no engine.
    return InventoryReadDeps(objects=S3LakeBucket(settings().data_bucket_name))


def exports() -> ExportDeps:
    config = settings()
    return ExportDeps(
        jobs=JobsTable(config.jobs_table_name),
        queue=report_queue(),
        zone=config.zone,
        clock=now,
        new_id=new_id,
    )


@cache
def export_dispatch() -> ExportDispatchDeps:
    config = settings()
    return ExportDispatchDeps(
        export=exports(),
        sizes=DynamoDbTableSizes(parse_table_names(config.export_tables)),
        sleep=time.sleep,
        inline_max_items=config.export_inline_max_items,
        inline_budget_seconds=config.export_inline_budget_seconds,
        max_wait_seconds=config.report_max_wait_seconds,
    )


@cache
def report_queue() -> SqsQueue:
    # A message over SQS's limit travels as a claim check in the data bucket (claims/).
    config = settings()
    return SqsQueue(config.report_queue_url, claims=S3ClaimChecks(config.data_bucket_name))


def webhook_settings() -> WebhookSettingsDeps:
    return WebhookSettingsDeps(tenants=TenantsTable(settings().tenants_table_name), clock=now)


@cache
def dashboard() -> DashboardDeps:
    # One cache per warm process: the parsed rollups outlive the request (tandem.logic.dashboard_kpis).
    return DashboardDeps(
        rollups=rollup_reader(),
        live=live_counter_reader(),
        objects=S3LakeBucket(settings().data_bucket_name),
        zone=settings().zone,
        clock=now,
        cache=RollupCache(),
    )
