"""The nightly path on the local cloud: a schedule fired "as of" a date writes each tenant's rollup."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tandem.logic.rollups import rollup_key
from tandem.logic.sales import summarize_sales
from tandem_local import schedules
from tests.e2e.conftest import Running
from tests.factories import order


def test_the_nightly_schedule_fired_for_a_date_writes_that_days_rollups(running: Running) -> None:
    running.tenant_with_key("acme")
    running.tenant_with_key("bravo")
    orders = [
        order(
            datetime(2026, 11, 19, 23, 59, tzinfo=UTC), ("MUG", 1, "6.50"), tenant="acme"
        ),  # the day before
        order(datetime(2026, 11, 20, 0, 1, tzinfo=UTC), ("MUG", 2, "6.50"), tenant="acme"),
        order(datetime(2026, 11, 20, 17, 0, tzinfo=UTC), ("TEA", 3, "3.25"), tenant="acme"),
        order(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), ("TEA", 1, "3.25"), tenant="bravo"),
    ]
    running.put_orders(orders)
    nightly = schedules.find(running.cloud, running.stack, "Nightly")

    # Fired on 21 November at 02:00 London: it rolls up 20 November.
    event, result = schedules.run(running.cloud, nightly, date(2026, 11, 21))
    assert event == {"scheduled_time": "2026-11-21T02:00:00Z"}
    assert result["date"] == "2026-11-20"

    s3 = running.cloud.client("s3")
    bucket = running.stack.outputs["DataBucketName"]
    zone = ZoneInfo(nightly.timezone)
    for tenant in ("acme", "bravo"):
        body = s3.get_object(Bucket=bucket, Key=rollup_key(tenant, date(2026, 11, 20)))["Body"].read()
        expected = summarize_sales(tenant, orders, date(2026, 11, 20), date(2026, 11, 20), zone)
        assert json.loads(body) == json.loads(expected.model_dump_json())

    # The same firing again: the same objects, byte for byte.
    first = s3.get_object(Bucket=bucket, Key=rollup_key("acme", date(2026, 11, 20)))["Body"].read()
    schedules.run(running.cloud, nightly, date(2026, 11, 21))
    assert s3.get_object(Bucket=bucket, Key=rollup_key("acme", date(2026, 11, 20)))["Body"].read() == first
