"""Adapters against moto: the guarantees the logic relies on."""

from datetime import UTC, date, datetime

import boto3
import pytest
from botocore.exceptions import ClientError

from tandem.adapters.jobs_table import JobsTable
from tandem.adapters.orders_table import OrdersTable
from tandem.models.dashboard import DayRollup
from tandem.models.records import Job, JobStatus, ReportParams
from tests.factories import order
from tests.moto_stack import REGION
from tests.template_model import Resolver

NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)


def _job() -> Job:
    params = ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 2))
    return Job(tenant_id="acme", job_id="j1", params=params, created_at=NOW, updated_at=NOW)


def test_jobs_table_saves_only_over_the_expected_version(stack: Resolver) -> None:
    jobs = JobsTable(stack.physical["JobsTable"], boto3.resource("dynamodb", region_name=REGION))
    job = _job()
    jobs.create(job)
    running = job.model_copy(update={"status": JobStatus.RUNNING, "version": 2})
    assert jobs.save(running, expected_version=1) is True
    stale = job.model_copy(update={"status": JobStatus.FAILED, "version": 2})
    assert jobs.save(stale, expected_version=1) is False
    assert jobs.get("acme", "j1") == running


def test_jobs_table_never_overwrites_on_create(stack: Resolver) -> None:
    jobs = JobsTable(stack.physical["JobsTable"], boto3.resource("dynamodb", region_name=REGION))
    jobs.create(_job())
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        jobs.create(_job())


def test_orders_between_is_half_open_and_tenant_scoped(stack: Resolver) -> None:
    orders = OrdersTable(stack.physical["OrdersTable"], boto3.resource("dynamodb", region_name=REGION))
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
    at_start = order(start)
    last_microsecond = order(datetime(2026, 11, 1, 23, 59, 59, 999999, tzinfo=UTC))
    for placed in (at_start, last_microsecond, order(end), order(start, tenant="bravo")):
        orders.put(placed)
    found = sorted(o.order_id for o in orders.between("acme", start, end))
    assert found == sorted([at_start.order_id, last_microsecond.order_id])
    assert next(iter(orders.between("acme", start, end))).total == at_start.total


def test_orders_put_many_writes_in_batches_and_reads_back(stack: Resolver) -> None:
    orders = OrdersTable(stack.physical["OrdersTable"], boto3.resource("dynamodb", region_name=REGION))
    placed = [order(datetime(2026, 11, 1, 0, n, tzinfo=UTC), ("MUG", n + 1, "2.00")) for n in range(60)]
    assert orders.put_many(placed) == 60
    found = list(orders.between("acme", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)))
    assert sorted(o.order_id for o in found) == sorted(o.order_id for o in placed)
    assert sum(o.units for o in found) == sum(range(1, 61))


def _rollup(day: date, skus: int) -> DayRollup:
    from tandem.models.dashboard import SkuSales

    return DayRollup(
        tenant_id="acme",
        day=day,
        currency="GBP",
        orders=skus,
        revenue_tenant=None,
        cells=[],
        ad_spend={},
        roas=None,
        skus=[
            SkuSales(sku=f"S{n:05d}", units=n, orders=1, revenue_tenant=None, returned_units=0)
            for n in range(skus)
        ],
        lookback_days=365,
        catalogue_date=None,
    )


def test_rollups_table_replaces_a_day_and_reads_a_range(stack: Resolver) -> None:
    from tandem.adapters.rollups_table import SKU_CHUNK, RollupsTable

    table = RollupsTable(stack.physical["RollupsTable"], boto3.resource("dynamodb", region_name=REGION))
    first, second, third = date(2026, 7, 13), date(2026, 7, 14), date(2026, 7, 15)
    big = _rollup(second, 2 * SKU_CHUNK + 5)  # three chunks
    for rollup in (_rollup(first, 3), big, _rollup(third, 1)):
        table.put_day(rollup)
    assert table.days("acme", first, second) == [_rollup(first, 3), big]
    # a re-run with fewer SKUs leaves no stale chunk behind
    table.put_day(_rollup(second, 2))
    assert table.days("acme", second, second) == [_rollup(second, 2)]
    keys = (
        boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["RollupsTable"]).scan()["Items"]
    )
    assert sorted(str(item["key"]) for item in keys if "2026-07-14" in str(item["key"])) == [
        "day#2026-07-14",
        "skus#2026-07-14#000",
    ]
    assert table.days("bravo", first, third) == []
