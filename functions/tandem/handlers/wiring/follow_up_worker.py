"""FollowUpWorkerFunction's composition root."""

from functools import cache

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.directory_tables import TenantsTable
from tandem.adapters.follow_up_ledger import DynamoFollowUpLedger
from tandem.adapters.lake_bucket import S3LakeBucket
from tandem.adapters.orders_table import OrdersTable
from tandem.adapters.queue import SqsPoisonParking
from tandem.adapters.ses_mailer import SesMailer
from tandem.adapters.webhook_http import UrllibWebhooks
from tandem.handlers.wiring import now
from tandem.logic.follow_ups import FollowUpDeps
from tandem.logic.ports import PoisonParking
from tandem.models.settings import FollowUpWorkerSettings


@cache
def deps() -> FollowUpDeps:
    config = FollowUpWorkerSettings()
    return FollowUpDeps(
        orders=OrdersTable(config.orders_table_name),
        ledger=DynamoFollowUpLedger(config.orders_table_name),
        tenants=TenantsTable(config.tenants_table_name),
        mailer=SesMailer(config.report_sender_email),
        stock=CatalogTable(config.products_table_name),
        picks=S3LakeBucket(config.data_bucket_name),
        webhooks=UrllibWebhooks(),
        clock=now,
        zone=config.zone,
    )


@cache
def poison_parking() -> PoisonParking:
    return SqsPoisonParking(FollowUpWorkerSettings().follow_up_dead_letter_queue_url)
