"""`tandem batch run nightly` on the local cloud: three past days re-run for one tenant, two
executions at a time, each day's rollup written for that tenant only; and a day NightlyFunction
refuses, reported with its payload."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from rich.console import Console

from tandem.logic.rollups import rollup_key
from tandem_local import backfill
from tests.e2e.conftest import Running
from tests.factories import order


def _console() -> tuple[Console, io.StringIO]:
    text = io.StringIO()
    return Console(file=text, width=140, highlight=False), text


def test_a_backfill_reruns_each_day_for_the_tenants_asked_for(running: Running) -> None:
    zone = ZoneInfo(running.stack.parameters.get("ReportingTimezone") or "Europe/London")
    today = datetime.now(zone).date()
    days = [today - timedelta(days=n) for n in (4, 3, 2)]
    running.tenant_with_key("acme")
    running.tenant_with_key("bravo")
    # acme: 1, 2 then 3 orders on the three days (at noon UTC: the same day in any European zone)
    orders = [
        order(datetime.combine(day, clock_time(12, n), tzinfo=UTC), ("MUG", 1, "6.50"), tenant=tenant)
        for index, day in enumerate(days)
        for tenant, count in (("acme", index + 1), ("bravo", 1))
        for n in range(count)
    ]
    running.put_orders(orders)

    request = backfill.NightlyBackfill(
        function=running.function("NightlyFunction"), days=days, tenants=["acme"], concurrency=2
    )
    err, progress = _console()
    started = time.monotonic()
    runs = backfill.run_nightly(
        running.cloud.client("lambda"), running.cloud.client("stepfunctions"), request, err
    )
    took = time.monotonic() - started
    out, table = _console()
    code = backfill.summary(runs, out)
    print(progress.getvalue(), table.getvalue(), f"{len(days)} days in {took:.1f} s", sep="\n")

    assert code == 0, table.getvalue()
    assert [(run.day, run.status, run.items) for run in runs] == [(day, "SUCCEEDED", 1) for day in days]
    assert len({run.execution for run in runs}) == 3
    s3 = running.cloud.client("s3")
    bucket = running.stack.outputs["DataBucketName"]
    for count, day in enumerate(days, start=1):
        rolled = json.loads(s3.get_object(Bucket=bucket, Key=rollup_key("acme", day))["Body"].read())
        assert (rolled["orders"], rolled["units"]) == (count, count), day
    untouched = s3.list_objects_v2(Bucket=bucket, Prefix=rollup_key("bravo", days[0]).split("date=")[0])
    assert untouched["KeyCount"] == 0

    # Today is not a finished day: NightlyFunction refuses it (the command refuses it before
    # invoking; called here without that check, the refusal comes back as the function's error).
    err, progress = _console()
    [refused] = backfill.run_nightly(
        running.cloud.client("lambda"),
        running.cloud.client("stepfunctions"),
        backfill.NightlyBackfill(running.function("NightlyFunction"), [today], ["acme"]),
        err,
    )
    print(progress.getvalue())
    assert refused.status == backfill.INVOKE_FAILED
    assert f"{today} is not a finished day in {zone.key}" in (refused.error or "")
    assert f"{today}: NightlyFunction failed: " in progress.getvalue()
    assert backfill.summary([refused], _console()[0]) == 1
