"""Adapters against moto: the guarantees the logic relies on."""

from datetime import UTC, date, datetime

import boto3
import pytest
from botocore.exceptions import ClientError

from tandem.adapters.jobs_table import JobsTable
from tandem.adapters.orders_table import OrdersTable
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
