"""No card number, CVC, API key, e-mail address or webhook secret in the logs of a full run on the
local cloud, nor in its tables (but the fields KEPT says why), nor in a message left on a queue.

One run, all over HTTP and the emulator's own services: a tenant with an API key, a webhook (PUT
/settings/webhooks, its secret shown once) and a report address; a checkout with a card, a
distinctive CVC and the buyer's e-mail; its three follow-ups (the confirmation e-mail, the pick, the
courier's signed call); a report job (POST /reports, async) announced by webhook and e-mail; and the
night that covers the checkout's day (the schedule's target invoked, the nightly state machine on
the emulator's Step Functions). Then every event of every log group in the emulator's CloudWatch
Logs since the run began (Lambda's START, END and REPORT lines too), every item of every table of
the stack and every message still on any queue go through tests/secrets_scan.py.

What cannot be seen here: a message a function consumed during the run is gone (SQS keeps no
history, and the emulator shows none); only what its consumer logged of it is scanned. The
in-process run (tests/integration/test_secrets_at_rest.py) records every message as it is sent.
Logs are scanned from the run's start: the session's cloud keeps the logs of the e2e tests before
this one, some of which log whole events on purpose (test_fidelity.py).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tandem_local import mail, schedules
from tests.e2e.conftest import Running, wait_until
from tests.e2e.test_follow_ups import KINDS, Courier, _done, checkout, shop_with_courier
from tests.e2e.test_follow_ups import courier as courier
from tests.secrets_scan import KEPT, Known, scan

BUYER = "secrets-scan-buyer@example.com"
REPORTS_TO = "secrets-scan-reports@acme.example"
CARD = "4242424242424242"
CVC = "739"  # distinctive: found only where it leaked
# The functions the run invokes: each must have logged (or the scan of its logs proves nothing).
RAN = (
    "AuthorizerFunction",
    "ApiFunction",
    "OrderEventsFunction",
    "FollowUpWorkerFunction",
    "ReportWorkerFunction",
    "NightlyFunction",
    "NightlyLakeFunction",
    "IngestWorkerFunction",  # the night's export of the checkout's orders lands in raw/: curated
)


def _signed_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    fields = dict(part.split("=", 1) for part in headers["Tandem-Signature"].split(","))
    digest = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(fields["v1"], digest)


def _log_events(running: Running, since_ms: int) -> dict[str, list[dict[str, Any]]]:
    """Every event of every log group since `since_ms`, by group (both listings paginated)."""
    logs = running.cloud.client("logs")
    groups = [
        group["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate()
        for group in page["logGroups"]
    ]
    return {
        group: [
            event
            for page in logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, startTime=since_ms
            )
            for event in page["events"]
        ]
        for group in groups
    }


def _items(running: Running) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table of the stack, by the table's logical id."""
    dynamodb = running.cloud.resource("dynamodb")
    items: dict[str, list[dict[str, Any]]] = {}
    for logical, name in running.stack.of_type("AWS::DynamoDB::Table").items():
        table, scan_args, rows = dynamodb.Table(name), {}, []
        while True:
            page = table.scan(ConsistentRead=True, **scan_args)
            rows += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            scan_args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        items[logical] = rows
    return items


def _queued(running: Running) -> dict[str, list[dict[str, Any]]]:
    """Every message still on each queue, by the queue's logical id. Received with a visibility
    timeout of 0, so each stays where it is, visible to its consumer at once; receives repeat until
    one brings no message not seen before (a receive returns at most 10, a sample of the queue)."""
    sqs = running.cloud.client("sqs")
    queued: dict[str, list[dict[str, Any]]] = {}
    for logical, url in running.stack.of_type("AWS::SQS::Queue").items():
        seen: dict[str, dict[str, Any]] = {}
        while True:
            received = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            new = {m["MessageId"]: m for m in received if m["MessageId"] not in seen}
            if not new:
                break
            seen.update(new)
        queued[logical] = [
            {"Body": m["Body"], "MessageAttributes": m.get("MessageAttributes", {})} for m in seen.values()
        ]
    return queued


def test_a_full_run_leaves_no_secret_in_logs_tables_or_queues(running: Running, courier: Courier) -> None:
    started = time.monotonic()
    since_ms = int(time.time() * 1000) - 1000
    key, secret = shop_with_courier(running, courier, report_email=REPORTS_TO)
    for address in (BUYER, REPORTS_TO):
        mail.verify_address(running.cloud, address)  # the emulator is an SES sandbox
    known = Known(keys=frozenset({key}), webhook_secrets=frozenset({secret}), cvc=CVC)

    # The checkout and its follow-ups
    purchase = checkout(BUYER, CARD, CVC)
    answer = running.call("POST", "/orders", key=key, json=purchase, headers={"idempotency-key": "scan-1"})
    assert answer.status_code == 201, answer.text
    order_id = answer.json()["order_id"]
    records = wait_until(lambda: _done(running, order_id), 90, what="the order's three follow-ups")
    assert {kind: r["outcome"] for kind, r in records.items()} == dict.fromkeys(KINDS, "sent")
    assert len(mail.sent_mail(running.cloud, BUYER)) == 1

    # A report job, computed by the worker and announced to the tenant by webhook and e-mail
    zone = ZoneInfo(schedules.find(running.cloud, running.stack, "Nightly").timezone)
    today = datetime.now(zone).date()
    period = {"from": (today - timedelta(days=7)).isoformat(), "to": today.isoformat()}
    answer = running.call("POST", "/reports", key=key, json=period, headers={"Prefer": "respond-async"})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job_id"]
    jobs = running.cloud.resource("dynamodb").Table(running.stack.physical["JobsTable"])

    def announced() -> dict[str, Any] | None:
        job = jobs.get_item(Key={"tenant_id": "acme", "job_id": job_id}, ConsistentRead=True).get("Item")
        # each channel's outcome is saved as it is known: announced once both are
        return job if job and len(job.get("notified") or {}) == 2 else None

    job = wait_until(announced, 60, what="the report job, done and announced")
    assert (job["status"], job["notified"]) == ("succeeded", {"webhook": "delivered", "email": "sent"})
    assert len(mail.sent_mail(running.cloud, REPORTS_TO)) == 1
    assert len(courier.calls) == 2  # the order's courier notification, the report's report.ready
    assert all(_signed_by(secret, headers, body) for headers, body in courier.calls)

    # The night that covers the checkout's day: planned, then the state machine's steps
    nightly = schedules.find(running.cloud, running.stack, "Nightly")
    _, night = schedules.run(running.cloud, nightly, today + timedelta(days=1))
    assert (night["date"], night["tenants"]) == (today.isoformat(), ["acme"])
    sfn = running.cloud.client("stepfunctions")
    run = wait_until(
        lambda: (d := sfn.describe_execution(executionArn=night["execution"]))["status"] != "RUNNING" and d,
        120,
        every=1,
        what="the night's state machine",
    )
    assert run["status"] == "SUCCEEDED", run
    exported = running.cloud.client("s3").get_object(
        Bucket=running.stack.outputs["DataBucketName"], Key=f"raw/acme/checkout/{today}/orders.jsonl"
    )["Body"]
    assert order_id in exported.read().decode()  # the night exported the checkout's order
    worked = time.monotonic() - started

    # Every function the run used has logged (its logs have arrived), the run's own ids among them
    groups = {f"/aws/lambda/{physical}": logical for logical, physical in running.stack.functions().items()}

    def all_logged() -> dict[str, list[dict[str, Any]]] | None:
        events = _log_events(running, since_ms)
        logged = {groups.get(group, group) for group, found in events.items() if found}
        return events if logged >= set(RAN) else None

    events = wait_until(all_logged, 30, every=1, what="a log line from each function the run used")
    lines = [event["message"] for group in events.values() for event in group]
    assert any(order_id in line for line in lines)
    assert any(job_id in line for line in lines)
    assert any(line.startswith("REPORT RequestId:") for line in lines)

    items, queued = _items(running), _queued(running)
    per_function = {groups.get(g, g): len(e) for g, e in events.items() if e}
    print(
        f"\nsecrets scan: the run took {worked:.1f} s; {len(events)} log groups "
        f"({sum(1 for e in events.values() if e)} with lines since the run began), {len(lines)} log lines "
        f"scanned ({per_function}), {sum(map(len, items.values()))} items in {len(items)} tables, "
        f"{sum(map(len, queued.values()))} messages left on {len(queued)} queues"
    )

    leaks = [
        f"{group}: {scan(e['message'], known)}: {e['message']}"
        for group, g in events.items()
        for e in g
        if scan(e["message"], known)
    ]
    assert leaks == [], "\n".join(leaks)
    kept = set()
    for logical, rows in items.items():
        for item in rows:
            for path, found in scan(item, known).items():
                assert (logical, path) in KEPT, f"{logical} holds {found} at {path}: {item}"
                kept.add((logical, path))
    assert kept == set(KEPT)  # the scan saw what the tables must hold: it would see more
    for logical, messages in queued.items():
        for message in messages:
            assert scan(message, known) == {}, f"{logical} holds {scan(message, known)}: {message}"
