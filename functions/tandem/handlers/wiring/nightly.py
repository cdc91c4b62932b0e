"""NightlyRollupFunction's composition root."""

from functools import cache

from tandem.adapters.directory_tables import TenantsTable
from tandem.adapters.documents import S3Documents
from tandem.adapters.orders_table import OrdersTable
from tandem.handlers.wiring import now
from tandem.logic.rollups import RollupDeps
from tandem.models.settings import NightlySettings


@cache
def deps() -> RollupDeps:
    config = NightlySettings()
    return RollupDeps(
        tenants=TenantsTable(config.tenants_table_name),
        orders=OrdersTable(config.orders_table_name),
        documents=S3Documents(config.data_bucket_name),
        zone=config.zone,
        clock=now,
    )
