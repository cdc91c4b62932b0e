"""The asynchronous path on the local cloud: API → SQS → worker → S3 → presigned download over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import requests

from tandem.logic.sales import summarize_sales
from tests.e2e.conftest import Running, wait_until
from tests.factories import order

ZONE = ZoneInfo("Europe/London")  # the template's default ReportingTimezone, deployed as is


def _orders() -> list:
    return [
        order(datetime(2026, 11, 2, 9, 15, tzinfo=UTC), ("MUG", 2, "6.50"), tenant="acme"),
        order(
            datetime(2026, 11, 2, 23, 30, tzinfo=UTC), ("TEA", 4, "3.25"), ("MUG", 1, "6.50"), tenant="acme"
        ),
        order(datetime(2026, 11, 9, 12, tzinfo=UTC), ("TEA", 1, "3.25"), tenant="acme", currency="EUR"),
        order(
            datetime(2026, 11, 30, 12, tzinfo=UTC), ("TEA", 99, "3.25"), tenant="acme"
        ),  # outside the period
        order(datetime(2026, 11, 3, 12, tzinfo=UTC), ("MUG", 7, "6.50"), tenant="bravo"),  # another tenant
    ]


def test_a_report_is_queued_computed_stored_and_downloaded(running: Running) -> None:
    key = running.tenant_with_key("acme")
    orders = _orders()
    running.put_orders(orders)

    created = running.call(
        "POST",
        "/reports",
        key=key,
        json={"from": "2026-11-01", "to": "2026-11-27"},
        headers={"Prefer": "respond-async"},
    )
    assert created.status_code == 202
    status_url = created.json()["status_url"]

    job = wait_until(
        lambda: (
            (j := running.call("GET", status_url, key=key).json())["status"] in ("succeeded", "failed") and j
        ),
        timeout=60,
        what="the report job to finish",
    )
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1

    downloaded = requests.get(job["result"]["url"], timeout=10)
    assert downloaded.status_code == 200
    expected = summarize_sales("acme", orders, date(2026, 11, 1), date(2026, 11, 27), ZONE)
    assert downloaded.json() == json.loads(expected.model_dump_json())
    assert downloaded.json()["orders"] == 3
    # The job's record: done, its size that of the document, and listed (newest first) at GET /reports.
    assert (job["progress"], job["failure_reason"]) == (100, None)
    assert job["result_bytes"] == len(downloaded.content)
    assert job["duration_seconds"] >= 0
    listed = running.call("GET", "/reports", key=key, params={"status": "succeeded", "limit": "1"})
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"][0]["job_id"] == job["job_id"]
