"""Chaos, jobs: report, export and follow-up jobs run by the real workers under moto while the cloud
throttles and fails requests, invocations are killed mid-batch or time out, and the courier's
endpoint fails or answers too late. Every job ends succeeded exactly once, or sits in a DLQ with
its reason until a redrive makes it succeed; no e-mail, object or accepted webhook call twice.

The harness and the faults: tests/integration/chaos.py. Smoke size ~60 jobs, `TANDEM_CHAOS=full`
1,005 (`make chaos`).
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.directory_tables import TenantsTable
from tandem.adapters.jobs_table import JobsTable
from tandem.handlers import api, follow_up_worker, report_worker
from tandem.handlers.wiring import follow_up_worker as follow_up_root
from tandem.handlers.wiring import report_worker as report_root
from tandem.models.catalog import Product
from tandem.models.records import Job, JobStatus, ShippingAddress, Tenant, TenantWebhook
from tests.events import http_event
from tests.factories import order
from tests.integration.chaos import Boundary, Drain, Figures, VirtualClock, Worker, sized
from tests.integration.test_report_flow import request_report
from tests.moto_stack import REGION
from tests.template_model import Resolver

# Full: 1,005 jobs. What sets the time under moto is its answer's serialisation, ~25 ms an order
# a Query returns (profiled): so each report is of one day (a seventh of the orders), not the week.
REPORTS = sized(24, 700)
EXPORTS = sized(2, 5)  # each reads every table: the slowest kind under moto
ORDERS = sized(12, 100)  # three follow-ups each: an e-mail, a pick, a courier call
SEED = 20261203
DAYS = [date(2026, 11, 2) + timedelta(days=n) for n in range(7)]  # the orders' days
WEBHOOK_TIMEOUT = 0.25  # the courier call's timeout here (10 s in the function): "slow" answers later


class Courier:
    """The courier's endpoint on a local port: answers 200, or (seeded) 500, or too late.

    A receiver dedupes calls by the event id in the body; `accepted` counts each id it answered 2xx
    in time, which must be once per order."""

    def __init__(self, seed: int, fail_rate: float, slow_rate: float) -> None:
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.accepted: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.calls = 0
        courier = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with courier.lock:
                    courier.calls += 1
                    roll = courier.random.random()
                if roll < fail_rate:
                    courier.faults["courier endpoint 500"] += 1
                    status = 500
                elif roll < fail_rate + slow_rate:
                    courier.faults["courier endpoint slow"] += 1
                    time.sleep(WEBHOOK_TIMEOUT * 2)
                    status = 200
                else:
                    status = 200
                    with courier.lock:
                        courier.accepted[json.loads(body)["id"]] += 1
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the caller gave up on a slow answer

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def courier() -> Iterator[Courier]:
    endpoint = Courier(SEED, fail_rate=0.10, slow_rate=0.05)
    yield endpoint
    endpoint.close()


class SucceededMoves:
    """Saves of a job that moved it to succeeded, as the table took them: one per job, never two."""

    def __init__(self) -> None:
        self.moves: Counter[str] = Counter()
        self.last: dict[str, JobStatus] = {}


@pytest.fixture
def moves(monkeypatch: pytest.MonkeyPatch) -> SucceededMoves:
    found = SucceededMoves()
    save = JobsTable.save

    def saving(self: JobsTable, job: Job, expected_version: int) -> bool:
        took = save(self, job, expected_version)
        if took:
            if job.status is JobStatus.SUCCEEDED and found.last.get(job.job_id) is not JobStatus.SUCCEEDED:
                found.moves[job.job_id] += 1
            found.last[job.job_id] = job.status
        return took

    monkeypatch.setattr(JobsTable, "save", saving)
    return found


def _shop(stack: Resolver, courier: Courier, seed: Callable[..., Any]) -> list[str]:
    """Tenant acme with a courier webhook, two products, and ORDERS confirmed orders to follow up."""
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    webhook = TenantWebhook(url=courier.url, secret="whsec_chaos", set_at=datetime(2026, 11, 28, tzinfo=UTC))
    TenantsTable(stack.physical["TenantsTable"], dynamodb).put(
        Tenant(tenant_id="acme", name="Acme Gifts", reply_to="help@acme.example", webhook=webhook)
    )
    catalog = CatalogTable(stack.physical["ProductsTable"], dynamodb)
    for sku, price in (("MUG", "6.50"), ("TEA", "3.25")):
        catalog.put(
            Product(tenant_id="acme", sku=sku, name=sku, price=Decimal(price), currency="GBP", stock=10_000)
        )
    address = ShippingAddress(line1="1 Main St", city="Leeds", postal_code="LS1 1AA", country="GB")
    orders = [
        order(
            datetime(2026, 11, 2 + i % 7, 12, tzinfo=UTC), ("MUG", 1 + i % 3, "6.50"), ("TEA", 1, "3.25")
        ).model_copy(update={"customer_email": f"buyer{i}@example.com", "shipping_address": address})
        for i in range(ORDERS)
    ]
    seed(orders=tuple(orders))
    sqs = boto3.client("sqs", region_name=REGION)
    for placed in orders:  # what OrderEventsFunction sends for a PENDING → CONFIRMED order
        for kind in ("confirmation_email", "warehouse_pick", "courier_notification"):
            body = {"type": "order.follow_up", "version": 1, "kind": kind, "tenant_id": "acme"}
            sqs.send_message(
                QueueUrl=stack.physical["FollowUpQueue"],
                MessageBody=json.dumps(body | {"order_id": placed.order_id}),
            )
    return [placed.order_id for placed in orders]


def _export(lambda_context: Any, day: date) -> str:
    event = http_event(
        "POST",
        "/exports",
        body={"date": day.isoformat()},
        scopes="admin",
        headers={"Prefer": "respond-async"},
    )
    response = api.handler(event, lambda_context)
    assert response["statusCode"] == 202, response["body"]
    return str(json.loads(response["body"])["job_id"])


def _job_key(message: dict[str, Any]) -> str:
    body = json.loads(message["Body"])
    return str(body["job_id"]) if "job_id" in body else f"{body['order_id']}:{body['kind']}"


def _visibility(stack: Resolver, queue: str) -> timedelta:
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack.physical[queue], AttributeNames=["VisibilityTimeout"]
    )
    return timedelta(seconds=int(attributes["Attributes"]["VisibilityTimeout"]))


def test_every_job_succeeds_exactly_once_through_faults_dead_letters_and_redrives(
    stack: Resolver,
    seed: Callable[..., Any],
    lambda_context: Any,
    courier: Courier,
    moves: SucceededMoves,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    figures = Figures("report, export and follow-up jobs")
    clock = VirtualClock()
    # The follow-ups' claims run on the cloud's time (a killed run's lease runs out while its
    # message is invisible); the courier call times out sooner than in Lambda, to keep the run short.
    deps = follow_up_root.deps
    monkeypatch.setattr(
        follow_up_root,
        "deps",
        lambda: dataclasses.replace(deps(), clock=clock, webhook_timeout_seconds=WEBHOOK_TIMEOUT),
    )
    # The reports' announcements too; their backoff between attempts counted, not slept.
    backoffs: list[float] = []
    report_deps = report_root.deps

    def announcing() -> Any:
        found = report_deps()
        assert found.notify is not None
        notify = dataclasses.replace(
            found.notify, sleep=backoffs.append, webhook_timeout_seconds=WEBHOOK_TIMEOUT
        )
        return dataclasses.replace(found, notify=notify)

    monkeypatch.setattr(report_root, "deps", announcing)
    order_ids = _shop(stack, courier, seed)
    days_asked = [DAYS[n % len(DAYS)].isoformat() for n in range(REPORTS)]
    reports = [request_report(lambda_context, body={"from": day, "to": day}) for day in days_asked]
    days = [date(2026, 11, 27) - timedelta(days=n) for n in range(EXPORTS)]
    exports = {_export(lambda_context, day): day for day in days}
    figures.jobs.update(report=REPORTS, export=EXPORTS, **{"follow-up": 3 * ORDERS})

    boundary = Boundary(SEED, throttle_rate=0.06, error_rate=0.04)
    boundary.install(monkeypatch)
    boundary.watch_effects(monkeypatch)
    drain = Drain(
        workers=[
            Worker(
                "report",
                stack.physical["ReportQueue"],
                stack.physical["ReportDeadLetterQueue"],
                stack.attributes[("ReportQueue", "Arn")],
                report_worker.handler,
                _visibility(stack, "ReportQueue"),
                _job_key,
            ),
            Worker(
                "follow-up",
                stack.physical["FollowUpQueue"],
                stack.physical["FollowUpDeadLetterQueue"],
                stack.attributes[("FollowUpQueue", "Arn")],
                follow_up_worker.handler,
                _visibility(stack, "FollowUpQueue"),
                _job_key,
            ),
        ],
        boundary=boundary,
        figures=figures,
        clock=clock,
        seed=SEED,
        kill_rate=0.12,
        timeout_rate=0.08,
        lease=timedelta(minutes=5),
        outage=range(4, sized(20, 30)),
    )
    table = JobsTable(stack.physical["JobsTable"])

    def record(key: str) -> str | None:
        job = table.get("acme", key) if ":" not in key else None
        return f"{job.status.value} {job.failure_reason or ''}".strip() if job else None

    drain.inspect = record
    started = time.monotonic()
    drain.run()
    figures.faults.update(boundary.faults)
    figures.faults.update(courier.faults)

    # Every report and export job succeeded, each moved to succeeded once
    jobs = {job_id: table.get("acme", job_id) for job_id in [*reports, *exports]}
    not_done = [
        job_id for job_id, job in jobs.items() if job is None or job.status is not JobStatus.SUCCEEDED
    ]
    twice = {job_id: n for job_id, n in moves.moves.items() if n > 1}
    # One result object per report, one manifest per export's date; nothing else
    s3 = boto3.client("s3", region_name=REGION)

    def keys(bucket: str, prefix: str) -> list[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=stack.physical[bucket], Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    results = Counter(keys("ReportsBucket", "reports/acme/"))
    manifests = Counter(k for k in keys("DataBucket", "backups/") if k.endswith("/manifest.json"))
    expected_results = {f"reports/acme/{job_id}.json" for job_id in reports}
    expected_manifests = {f"backups/{day.isoformat()}/manifest.json" for day in days}
    # One e-mail per order, one pick document per order, one accepted courier call per order
    mails = Counter(
        (tuple(m.destinations["ToAddresses"]), m.subject)
        for m in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    )
    mailed = Counter(subject.rsplit("order ", 1)[1].split(" ")[0] for (_, subject) in mails.elements())
    picks = Counter(
        k.rsplit("/", 1)[1].removesuffix(".json")
        for k in keys("DataBucket", "picks/acme/")
        if k.count("/") == 3
    )
    # The tenant's endpoint also gets the report jobs' announcements (`<job_id>:report.ready`).
    calls = Counter(
        event_id.split(":")[0]
        for event_id in courier.accepted.elements()
        if event_id.endswith(":courier_notification")
    )
    # An e-mail or accepted call made twice is a duplicate, unless the first one's record never
    # followed it (the process was killed, or the write failed, right after the effect): no design
    # can make a call to another system exactly once across that window, one write wide. A repeat
    # there carries the same event id (a receiver drops it) and is counted apart; any other repeat
    # is a duplicate.
    window = boundary.unconfirmed
    repeats = {f"webhook {event_id}": n - 1 for event_id, n in courier.accepted.items() if n > 1}
    repeats |= {f"email {subject}": n - 1 for (_, subject), n in mails.items() if n > 1}
    unexplained = {effect: n - window[effect] for effect, n in repeats.items() if n > window[effect]}

    lost = (
        len(not_done)
        + len(expected_results - set(results))
        + len(expected_manifests - set(manifests))
        + sum(1 for o in order_ids if mailed[o] == 0)
        + sum(1 for o in order_ids if picks[o] == 0)
        + sum(1 for o in order_ids if calls[o] == 0)
    )
    duplicated = (
        sum(n - 1 for n in twice.values())
        + len(set(results) - expected_results)
        + len(set(picks) - set(order_ids))
        + sum(unexplained.values())
    )
    figures.lost, figures.duplicated = lost, duplicated
    parked = Counter(f"DLQ'd, job {state}" for _, _, state in drain.letters if state)
    figures.extra.update(
        dict(sorted(parked.items()))
        | {
            "AWS requests under fault": boundary.requests,
            "SDK retries (botocore)": boundary.sdk_retries,
            "e-mails sent": sum(mailed.values()),
            "webhook calls (accepted)": f"{courier.calls} ({courier.accepted.total()})",
            "announcement backoffs (counted, not slept)": len(backoffs),
            "effects left unrecorded (kill or lost write just after)": window.total(),
            "repeated in that window (same id)": sum(repeats.values()) - sum(unexplained.values()),
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    figures.show()

    # The faults happened, of every kind, and some jobs needed a DLQ and a redrive
    assert set(figures.faults) >= {
        "AWS throttling",
        "AWS 500",
        "worker killed mid-batch",
        "invocation timed out",
        "courier endpoint 500",
        "courier endpoint slow",
        "S3 outage (500s)",
    }, figures.faults
    assert figures.dead_lettered > 0  # the outage outlasted some jobs' receives
    assert figures.retries > 0
    # Every DLQ'd message carried its reason, and its job was failed with its own (until redriven)
    # Every DLQ'd message says why (SQS keeps none: "failed every receive"); every job
    # among them had not succeeded, and its record says why: failed, retries exhausted, unless the
    # last receive was killed before it could say so (then it still reads running).
    assert all(reason.startswith("failed every receive") for _, reason, _ in drain.letters)
    assert {state for _, _, state in drain.letters if state} <= {
        "failed retries_exhausted",
        "running",
        "queued",
    }
    assert parked["DLQ'd, job failed retries_exhausted"] > 0
    assert not_done == []
    assert twice == {}
    assert (set(results), set(manifests)) == (expected_results, expected_manifests)
    assert (set(mailed), set(picks), set(calls)) == (set(order_ids),) * 3
    assert figures.duplicated == 0, (unexplained, twice)
    assert figures.lost == 0
