"""Failures on the local cloud: a poison message is dead-lettered, its batch-mates are processed once;
a worker that runs past its timeout fails and its message is delivered again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from tandem_local import redrive
from tests.e2e.conftest import E2E_PARAMETERS, Running, wait_until
from tests.factories import order

MAX_RECEIVES = int(E2E_PARAMETERS["ReportMaxReceiveCount"])
VISIBILITY = int(E2E_PARAMETERS["ReportQueueVisibilityTimeout"])


@contextmanager
def worker_paused(running: Running) -> Iterator[None]:
    """Stop the queue's event source mapping, so messages sent meanwhile arrive as one batch."""
    lambda_ = running.cloud.client("lambda")
    mapping = lambda_.list_event_source_mappings(FunctionName=running.function("ReportWorkerFunction"))[
        "EventSourceMappings"
    ][0]["UUID"]
    lambda_.update_event_source_mapping(UUID=mapping, Enabled=False)
    try:
        yield
    finally:
        lambda_.update_event_source_mapping(UUID=mapping, Enabled=True)


def dead_letters(running: Running) -> list[dict[str, Any]]:
    sqs = running.cloud.client("sqs")
    return sqs.receive_message(
        QueueUrl=running.stack.outputs["ReportDeadLetterQueueUrl"],
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        WaitTimeSeconds=1,
        VisibilityTimeout=0,  # a peek: the letters stay in the DLQ
    ).get("Messages", [])


def test_a_poison_message_is_dead_lettered_and_its_batch_mates_are_processed_once(running: Running) -> None:
    key = running.tenant_with_key("acme")
    running.put_orders([order(datetime(2026, 11, 2, 12, tzinfo=UTC), ("MUG", 1, "6.50"))])
    poison = json.dumps({"type": "report.requested", "version": 1, "tenant_id": "acme"})  # no job, no params
    with worker_paused(running):
        jobs = [
            running.call(
                "POST",
                "/reports",
                key=key,
                json={"from": "2026-11-01", "to": "2026-11-02"},
                headers={"Prefer": "respond-async"},
            ).json()
            for _ in range(2)
        ]
        running.cloud.client("sqs").send_message(
            QueueUrl=running.stack.outputs["ReportQueueUrl"], MessageBody=poison
        )

    for job in jobs:
        done = wait_until(
            lambda job=job: (
                (j := running.call("GET", job["status_url"], key=key).json())["status"] == "succeeded" and j
            ),
            timeout=60,
            what="the healthy jobs",
        )
        assert done["attempts"] == 1

    letters = wait_until(
        lambda: dead_letters(running),
        timeout=VISIBILITY * (MAX_RECEIVES + 1) + 30,
        what="the poison message in the DLQ",
    )
    assert [m["Body"] for m in letters] == [poison]
    # It cannot parse: parked by the worker on its first receive, with its reason (handlers/batch.py).
    assert "poison_reason" in letters[0]["MessageAttributes"]
    # The healthy jobs were not run again while the poison message was retried.
    for job in jobs:
        assert running.call("GET", job["status_url"], key=key).json()["attempts"] == 1


def test_a_worker_past_its_timeout_fails_and_the_message_is_delivered_again(running: Running) -> None:
    key = running.tenant_with_key("acme")
    start = datetime(2026, 10, 1, tzinfo=UTC)
    # Shop-sized orders (20 lines, like the demo data): reading them takes seconds here.
    lines = tuple((f"SKU-{n:02d}", 2, "1.25") for n in range(20))
    running.put_orders([order(start + timedelta(minutes=20 * n), *lines) for n in range(2000)])
    # A small job first: the worker is warm, so what times out below is the job, not the start-up.
    warm = running.call(
        "POST",
        "/reports",
        key=key,
        json={"from": "2026-09-01", "to": "2026-09-02"},
        headers={"Prefer": "respond-async"},
    ).json()
    wait_until(lambda: running.call("GET", warm["status_url"], key=key).json()["status"] == "succeeded", 60)

    lambda_ = running.cloud.client("lambda")
    worker = running.function("ReportWorkerFunction")
    timeout = lambda_.get_function_configuration(FunctionName=worker)["Timeout"]
    # With a one-second timeout every delivery of the October job is cut short.
    lambda_.update_function_configuration(FunctionName=worker, Timeout=1)
    try:
        created = running.call(
            "POST",
            "/reports",
            key=key,
            json={"from": "2026-10-01", "to": "2026-10-31"},
            headers={"Prefer": "respond-async"},
        )
        assert created.status_code == 202
        letters = wait_until(
            lambda: dead_letters(running), VISIBILITY * (MAX_RECEIVES + 1) + 30, what="the DLQ"
        )
    finally:
        # Room for the whole month on a cold worker (a configuration change starts new workers,
        # and a cold start takes seconds on a busy 2-core machine); the original comes back below.
        lambda_.update_function_configuration(FunctionName=worker, Timeout=max(timeout, 30))
    assert json.loads(letters[0]["Body"])["job_id"] == created.json()["job_id"]
    assert int(letters[0]["Attributes"]["ApproximateReceiveCount"]) >= MAX_RECEIVES
    logs = running.cloud.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{worker}")["events"]
    timed_out = [event for event in logs if "Task timed out" in event["message"]]
    assert len(timed_out) >= MAX_RECEIVES
    # Killed mid-run, the job could not record its end: it stays "running" (see the README's known gaps).
    status_url = created.json()["status_url"]
    assert running.call("GET", status_url, key=key).json()["status"] == "running"

    # With its timeout back, the dead letter is redriven and the job runs to the end.
    dlq, source = redrive.source_of(running.cloud, running.stack, "ReportDeadLetterQueue")
    assert redrive.redrive(running.cloud, dlq, source) == 1
    try:
        job = wait_until(
            lambda: (j := running.call("GET", status_url, key=key).json())["status"] == "succeeded" and j,
            60,
            what="redrive",
        )
    finally:
        lambda_.update_function_configuration(FunctionName=worker, Timeout=timeout)
    assert job["result"]["url"]
