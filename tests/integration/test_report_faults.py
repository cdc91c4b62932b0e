"""A report worker that fails 30 % of its records at random still ends every job succeeded, once.

The worker runs as Lambda runs it, under moto: batches received from ReportQueue, the handler's
partial batch response honoured (successes deleted, failures visible again at once), SQS moving a
message to the DLQ after the queue's maxReceiveCount receives, and the DLQ redriven
(`tandem dlq redrive`'s function) until nothing is left. The faults: a chosen record fails at a
random one of its job-store or S3 calls, half the time *after* the call took effect (the write is
done, the worker is told it failed), which is what makes a retry dangerous.
"""

import json
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tandem.adapters.documents import S3Documents
from tandem.adapters.jobs_table import JobsTable
from tandem.handlers import report_worker
from tandem.models.records import Job, JobStatus
from tandem_local import redrive
from tests.events import sqs_event
from tests.factories import order
from tests.integration.test_report_flow import request_report
from tests.moto_stack import REGION
from tests.template_model import Resolver

JOBS = 40
FAULT_RATE = 0.3


class InjectedFault(RuntimeError):
    """A transient failure (a throttled call, a lost connection) as the worker sees one."""


class Faults:
    """Per record: fail it (with FAULT_RATE) at its n-th store call, before or after the call."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.calls = 0
        self.fail_at: int | None = None
        self.after = False
        self.injected = 0
        # Saves that moved a job to succeeded (the table took them): a job must have exactly one.
        self.succeeded: Counter[str] = Counter()
        self._last: dict[str, JobStatus] = {}

    def saved(self, job: Job, took: bool) -> None:
        if took:
            if job.status is JobStatus.SUCCEEDED and self._last.get(job.job_id) is not JobStatus.SUCCEEDED:
                self.succeeded[job.job_id] += 1
            self._last[job.job_id] = job.status

    def next_record(self) -> None:
        self.calls = 0
        failing = self.random.random() < FAULT_RATE
        # A run makes 5 to 6 of these calls (get, running, two progress steps, the object, the end).
        self.fail_at = self.random.randrange(6) if failing else None
        self.after = self.random.random() < 0.5

    def around(self, call: Callable[[], Any]) -> Any:
        due = self.fail_at is not None and self.calls == self.fail_at
        self.calls += 1
        if due and not self.after:
            self.injected += 1
            raise InjectedFault("injected before the call")
        result = call()
        if due:
            self.injected += 1
            raise InjectedFault("injected after the call took effect")
        return result


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    faults = Faults(seed=20261202)
    original_handler = report_worker.record_handler
    get, save, put = JobsTable.get, JobsTable.save, S3Documents.put

    def record_handler(record: Any) -> None:
        faults.next_record()
        original_handler(record)

    monkeypatch.setattr(report_worker, "record_handler", record_handler)
    monkeypatch.setattr(JobsTable, "get", lambda self, *a: faults.around(lambda: get(self, *a)))

    def saving(self: JobsTable, job: Job, expected_version: int) -> bool:
        def call() -> bool:
            took = save(self, job, expected_version)
            faults.saved(job, took)
            return took

        return bool(faults.around(call))

    monkeypatch.setattr(JobsTable, "save", saving)
    monkeypatch.setattr(S3Documents, "put", lambda self, *a: faults.around(lambda: put(self, *a)))
    return faults


def test_every_job_succeeds_exactly_once_under_30_percent_failing_records(
    stack: Resolver, seed: Callable[..., Any], lambda_context: Any, faults: Faults
) -> None:
    seed(
        orders=tuple(
            order(datetime(2026, 11, 2 + i % 20, 12, tzinfo=UTC), ("MUG", 1, "6.50")) for i in range(30)
        )
    )
    job_ids = {request_report(lambda_context) for _ in range(JOBS)}
    sqs = boto3.client("sqs", region_name=REGION)
    source, dead = stack.physical["ReportQueue"], stack.physical["ReportDeadLetterQueue"]
    arn = stack.attributes[("ReportQueue", "Arn")]
    batches = redriven = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=source, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            # Nothing visible: what exhausted its receives is in the DLQ; send it back, as an operator would.
            moved = redrive.redrive(_Cloud(), dead, source)
            if not moved:
                break
            redriven += moved
            continue
        batches += 1
        assert batches < 500, "the queue never drained"
        response = report_worker.handler(sqs_event(messages, arn), lambda_context)
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] in failed:
                # Lambda leaves it; it comes back once its visibility times out (here: at once).
                sqs.change_message_visibility(
                    QueueUrl=source, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])

    table = JobsTable(stack.physical["JobsTable"])
    jobs = {job_id: table.get("acme", job_id) for job_id in job_ids}
    statuses = Counter(job.status for job in jobs.values() if job is not None)
    s3 = boto3.client("s3", region_name=REGION)
    stored = s3.list_objects_v2(Bucket=stack.physical["ReportsBucket"], Prefix="reports/acme/").get(
        "Contents", []
    )
    print(
        json.dumps(
            {
                "jobs": JOBS,
                "faults_injected": faults.injected,
                "batches": batches,
                "redriven": redriven,
                "succeeded": statuses[JobStatus.SUCCEEDED],
                "moves_to_succeeded": sum(faults.succeeded.values()),
                "results_stored": len(stored),
            }
        )
    )
    assert faults.injected >= JOBS * FAULT_RATE / 2  # the faults really happened
    assert statuses == {JobStatus.SUCCEEDED: JOBS}
    assert faults.succeeded == dict.fromkeys(job_ids, 1)  # each moved to succeeded once, never again
    # One result object per job, each the job's own, each the same summary.
    assert sorted(obj["Key"] for obj in stored) == sorted(f"reports/acme/{job_id}.json" for job_id in job_ids)
    bodies = {
        json.loads(s3.get_object(Bucket=stack.physical["ReportsBucket"], Key=obj["Key"])["Body"].read())[
            "orders"
        ]
        for obj in stored
    }
    assert bodies == {30}


class _Cloud:
    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)
