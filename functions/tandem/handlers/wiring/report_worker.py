"""ReportWorkerFunction's composition root."""

import time
from functools import cache

from tandem.adapters.backup_objects import S3BackupObjects
from tandem.adapters.backup_tables import DynamoDbBackupTables, parse_table_names
from tandem.adapters.directory_tables import TenantsTable
from tandem.adapters.documents import S3Documents
from tandem.adapters.duckdb_lake_query import DuckDbLakeQuery
from tandem.adapters.jobs_table import JobsTable
from tandem.adapters.lake_bucket import S3LakeBucket
from tandem.adapters.orders_table import OrdersTable
from tandem.adapters.queue import S3ClaimChecks, SqsPoisonParking
from tandem.adapters.report_renderers import LibraryReportRenderer
from tandem.adapters.rollups_table import RollupsTable
from tandem.adapters.ses_mailer import SesMailer
from tandem.adapters.webhook_http import UrllibWebhooks
from tandem.handlers.wiring import now
from tandem.logic.backups import BackupDeps
from tandem.logic.lake_reports import LakeReportDeps
from tandem.logic.morning_report import MorningReportDeps
from tandem.logic.ports import ClaimChecks, PoisonParking
from tandem.logic.report_notifications import NotifyDeps
from tandem.logic.reports import ReportWorkerDeps
from tandem.models.settings import ReportWorkerSettings


@cache
def deps() -> ReportWorkerDeps:
    config = ReportWorkerSettings()
    return ReportWorkerDeps(
        jobs=JobsTable(config.jobs_table_name),
        orders=OrdersTable(config.orders_table_name),
        documents=S3Documents(config.reports_bucket_name),
        max_attempts=config.report_max_receive_count,
        zone=config.zone,
        clock=now,
        backups=BackupDeps(
            tables=DynamoDbBackupTables(parse_table_names(config.backup_tables)),
            objects=S3BackupObjects(config.data_bucket_name),
            clock=now,
        ),
        morning=morning(config),
        notify=notify(config),
        lake_reports=lake_reports(config),
        renderer=LibraryReportRenderer(),
    )


def lake_reports(config: ReportWorkerSettings) -> LakeReportDeps:
    lake = S3LakeBucket(config.data_bucket_name)
    return LakeReportDeps(query=DuckDbLakeQuery(lake), objects=lake)


def morning(config: ReportWorkerSettings) -> MorningReportDeps:
    return MorningReportDeps(
        rollups=RollupsTable(config.rollups_table_name),
        lake=S3LakeBucket(config.data_bucket_name),
        tenants=TenantsTable(config.tenants_table_name),
        mailer=SesMailer(config.report_sender_email),
    )


def notify(config: ReportWorkerSettings) -> NotifyDeps:
    return NotifyDeps(
        tenants=TenantsTable(config.tenants_table_name),
        webhooks=UrllibWebhooks(),
        mailer=SesMailer(config.report_sender_email),
        documents=S3Documents(config.reports_bucket_name),
        clock=now,
        sleep=time.sleep,
        link_ttl_seconds=config.report_notify_link_ttl_seconds,
    )


@cache
def poison_parking() -> PoisonParking:
    return SqsPoisonParking(ReportWorkerSettings().report_dead_letter_queue_url)


@cache
def claim_checks() -> ClaimChecks:
    return S3ClaimChecks(ReportWorkerSettings().data_bucket_name)
