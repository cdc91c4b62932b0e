"""The morning report on the local cloud: the night run for two Thursdays a week apart (the
state machine's last product queues each day's report job, the report worker, fed by ReportQueue,
builds it and sends it through SES), the mail read back from the emulator's SES and its figures
checked against the seeded orders summed apart (tandem.logic.sales over the orders, not the lake's
rollups); then the later night re-run: no second mail, unless asked."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from rich.console import Console

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.directory_tables import TenantsTable
from tandem.logic.sales import summarize_sales
from tandem.models.catalog import Product
from tandem.models.records import Tenant
from tandem_local import backfill, cli, mail
from tests.e2e.conftest import Running, wait_until
from tests.factories import order

DAY = date(2026, 10, 15)  # a Thursday (British Summer Time: noon UTC is the same day in London)
WEEK_BEFORE = date(2026, 10, 8)


def _noon(day: date, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, 12, minute, tzinfo=UTC)


ORDERS = [
    order(_noon(DAY, 1), ("MUG", 2, "6.50"), ("TEA", 1, "3.25")),
    order(_noon(DAY, 2), ("MUG", 1, "6.50")),
    order(_noon(DAY, 3), ("SCARF", 1, "20.00")),
    order(_noon(DAY, 4), ("TEA", 4, "3.25")),
    order(_noon(WEEK_BEFORE, 1), ("MUG", 5, "6.50")),
    order(_noon(WEEK_BEFORE, 2), ("TEA", 2, "3.25")),
]


def _nights(running: Running, days: list[date]) -> None:
    """The night re-run for each day, one after the other (a day's report reads the week before's
    rollup), as `tandem batch run nightly --date D --tenant acme` does."""
    request = backfill.NightlyBackfill(
        function=running.function("NightlyFunction"), days=days, tenants=["acme"], concurrency=1
    )
    log = io.StringIO()
    runs = backfill.run_nightly(
        running.cloud.client("lambda"), running.cloud.client("stepfunctions"), request, Console(file=log)
    )
    assert [run.status for run in runs] == ["SUCCEEDED"] * len(days), log.getvalue()


def _mail_of(running: Running, address: str, day: date) -> list[dict[str, Any]]:
    return [
        m for m in mail.sent_mail(running.cloud, address) if f": {day:%a} {day.isoformat()}:" in m["Subject"]
    ]


def _pct(now: Decimal, before: Decimal) -> str:
    return f"{((now - before) * 100 / before).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):+.1f}%"


def test_the_morning_report_is_mailed_once_with_the_days_figures(running: Running) -> None:
    address = f"owner-{uuid4().hex[:8]}@acme.example"  # the emulator keeps mail across tests
    dynamodb = running.cloud.resource("dynamodb")
    TenantsTable(running.stack.physical["TenantsTable"], dynamodb).put(
        Tenant(tenant_id="acme", name="Acme Gifts", report_email=address)
    )
    mail.verify_address(running.cloud, address)  # SES's sandbox mails verified addresses only
    running.put_orders(ORDERS)
    catalog = CatalogTable(running.stack.physical["ProductsTable"], dynamodb)
    for sku, stock in (("MUG", 1), ("SCARF", 100)):
        catalog.put(
            Product(tenant_id="acme", sku=sku, name=sku, price=Decimal("6.50"), currency="GBP", stock=stock)
        )

    _nights(running, [WEEK_BEFORE, DAY])

    [message] = wait_until(
        lambda: _mail_of(running, address, DAY) or None, timeout=60, every=1, what="the morning report's mail"
    )
    # The figures, summed apart from the same orders: 55.75 in 4 orders against 39.00 in 2
    zone = ZoneInfo("Europe/London")
    day = summarize_sales("acme", ORDERS, DAY, DAY, zone)
    before = summarize_sales("acme", ORDERS, WEEK_BEFORE, WEEK_BEFORE, zone)
    revenue, earlier = day.by_currency["GBP"].revenue, before.by_currency["GBP"].revenue
    assert (revenue, day.orders, earlier, before.orders) == (Decimal("55.75"), 4, Decimal("39.00"), 2)
    assert message["Source"] == "reports@tandem.example"
    assert message["To"] == [address]
    assert message["Subject"] == f"Acme Gifts: Thu 2026-10-15: £{revenue}, {day.orders} orders"
    body = message["BodyText"]
    expected = [
        f"Revenue: £{revenue} ({_pct(revenue, earlier)} vs Thu 2026-10-08)",  # +42.9 %
        f"Orders: {day.orders} ({_pct(Decimal(day.orders), Decimal(before.orders))} vs Thu 2026-10-08)",
        f"Same weekday last week (Thu 2026-10-08): £{earlier}, {before.orders} orders",
        "Returns: 0 lines, 0 units, £0.00",
    ]
    top = sorted(day.top_products, key=lambda p: (-p.revenue["GBP"], -p.units, p.sku))
    expected += [
        f"  {n}. {p.sku}: £{p.revenue['GBP']:.2f}, {p.units} units" for n, p in enumerate(top, start=1)
    ]
    for line in expected:
        assert line in body, (line, body)
    assert [p.sku for p in top] == ["SCARF", "MUG", "TEA"]
    # MUG (8 sold in the 28 days, 1 on hand) is below its reorder point; SCARF (100) is not
    assert "  MUG: stock 1, reorder point " in body
    assert "  SCARF: stock" not in body
    assert "£55.75" in message["BodyHtml"]

    # The week before was mailed too, with nothing to compare it with
    [earlier_mail] = _mail_of(running, address, WEEK_BEFORE)
    assert "Revenue: £39.00 (no data vs Thu 2026-10-01)" in earlier_mail["BodyText"]

    # The night for DAY re-run: its report job has succeeded, so nothing is queued and no mail sent
    _nights(running, [DAY])
    s3 = running.cloud.client("s3")
    bucket = running.stack.outputs["DataBucketName"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="manifests/acme/2026-10-15.json")["Body"].read())
    counts = manifest["products"]["morning_report"]["counts"]
    assert (counts["queued"], counts["job_status"], counts["email"]) == (
        False,
        "succeeded",
        "to_report_email",
    )
    assert len(_mail_of(running, address, DAY)) == 1

    # The report is also the job's result: GET /reports/{job_id} links it
    key = running.tenant_with_key("acme")
    TenantsTable(running.stack.physical["TenantsTable"], dynamodb).put(
        Tenant(tenant_id="acme", name="Acme Gifts", report_email=address)
    )
    job = running.call("GET", f"/reports/{counts['job_id']}", key)
    assert job.status_code == 200, job.text
    assert (job.json()["kind"], job.json()["status"]) == ("morning_report", "succeeded")

    # Unless asked: `tandem report resend` queues the succeeded job again, and it is mailed again
    assert cli.cmd_report_resend(running.cloud, argparse.Namespace(tenant="acme", date=DAY)) == 0
    wait_until(
        lambda: len(_mail_of(running, address, DAY)) == 2 or None, timeout=60, every=1, what="the mail resent"
    )
