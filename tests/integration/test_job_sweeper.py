"""SweeperFunction's job duty under moto: report jobs stuck queued or running for longer than
ReportQueue's visibility x max receives (as the template sets the queue) are failed as timed_out,
through the function's own settings and JobsTable's sparse `by_sweep` index."""

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from tandem.adapters.jobs_table import JobsTable
from tandem.adapters.orders_table import OrdersTable
from tandem.handlers import report_worker, sweeper
from tandem.models.records import Job, JobStatus, ReportParams
from tests.events import sqs_event
from tests.integration.conftest import receive_reports
from tests.integration.test_report_flow import get_report, request_report
from tests.moto_stack import REGION
from tests.template_model import Resolver


def _message_lifetime(stack: Resolver) -> timedelta:
    """Visibility x max receives, read from the queue as created from template.yaml."""
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=stack.physical["ReportQueue"], AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
    )["Attributes"]
    receives = int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"])
    return timedelta(seconds=int(attributes["VisibilityTimeout"]) * receives)


def _id(name: str) -> str:
    """A job id of the API's shape (32 hex digits), one per name."""
    return hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()


def _put(table: JobsTable, name: str, status: JobStatus, idle: timedelta) -> None:
    changed = datetime.now(UTC) - idle
    table.create(
        Job(
            tenant_id="acme",
            job_id=_id(name),
            params=ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 2)),
            status=status,
            created_at=changed,
            updated_at=changed,
            started_at=changed if status is JobStatus.RUNNING else None,
            attempts=1 if status is JobStatus.RUNNING else 0,
        )
    )


@pytest.fixture
def table(stack: Resolver) -> JobsTable:
    return JobsTable(stack.physical["JobsTable"], boto3.resource("dynamodb", region_name=REGION))


def test_the_scheduled_sweep_fails_stuck_jobs_once(
    stack: Resolver, table: JobsTable, lambda_context: Any
) -> None:
    lifetime = _message_lifetime(stack)
    assert lifetime == timedelta(minutes=30)  # 360 s x 5 receives: the template's defaults
    margin = timedelta(minutes=2)
    _put(table, "killed", JobStatus.RUNNING, lifetime + margin)  # its worker hit its timeout
    _put(table, "lost", JobStatus.QUEUED, lifetime + margin)
    _put(table, "working", JobStatus.RUNNING, lifetime - margin)
    _put(table, "old-success", JobStatus.SUCCEEDED, lifetime * 10)

    first = sweeper.handler({}, lambda_context)
    second = sweeper.handler({}, lambda_context)

    assert (first["jobs_timed_out"], first["jobs_failed"]) == (2, 0)
    assert (second["jobs_timed_out"], second["jobs_moved_on"], second["jobs_failed"]) == (0, 0, 0)
    for job_id in ("killed", "lost"):
        status, job = get_report(_id(job_id), lambda_context)
        assert status == 200, job
        assert (status, job["status"], job["failure_reason"]) == (200, "failed", "timed_out")
    assert get_report(_id("working"), lambda_context)[1]["status"] == "running"
    assert get_report(_id("old-success"), lambda_context)[1]["status"] == "succeeded"


def test_only_open_jobs_are_in_the_sweep_index(stack: Resolver, table: JobsTable) -> None:
    _put(table, "open", JobStatus.QUEUED, timedelta(hours=1))
    _put(table, "closed", JobStatus.FAILED, timedelta(hours=1))
    raw = (
        boto3.resource("dynamodb", region_name=REGION)
        .Table(stack.physical["JobsTable"])
        .scan(IndexName="by_sweep")
    )
    assert [item["job_id"] for item in raw["Items"]] == [_id("open")]
    assert [job.job_id for job in table.idle(datetime.now(UTC), 100)] == [_id("open")]
    assert table.idle(datetime.now(UTC) - timedelta(hours=2), 100) == []


def test_the_job_duty_refuses_to_guess_the_message_lifetime(
    stack: Resolver, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPORT_QUEUE_VISIBILITY_TIMEOUT")
    with pytest.raises(ValueError, match="report_queue_visibility_timeout"):
        sweeper.handler({}, lambda_context)


class Killed(BaseException):
    """What Lambda's timeout does to a worker: the process stops; no except clause runs."""


def test_a_worker_killed_mid_run_is_failed_by_the_sweep_and_a_redrive_runs_it_again(
    stack: Resolver, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = request_report(lambda_context)
    message = receive_reports(stack)[0]
    queue_arn = stack.attributes[("ReportQueue", "Arn")]

    def killed(*_: Any, **__: Any) -> None:
        raise Killed

    # Given a worker killed while it reads the period's orders: the job stays running
    with monkeypatch.context() as patch:
        patch.setattr(OrdersTable, "between", killed)
        with pytest.raises(Killed):
            report_worker.handler(sqs_event([message], queue_arn), lambda_context)
    assert get_report(job_id, lambda_context)[1]["status"] == "running"
    # a sweep now leaves it (it may still be running)
    assert sweeper.handler({}, lambda_context)["jobs_timed_out"] == 0

    # When the sweep runs after its message could have lived
    later = datetime.now(UTC) + _message_lifetime(stack) + timedelta(minutes=1)
    monkeypatch.setattr(sweeper, "now", lambda: later)
    assert sweeper.handler({}, lambda_context)["jobs_timed_out"] == 1

    # Then the job is failed, timed out
    job = get_report(job_id, lambda_context)[1]
    assert (job["status"], job["failure_reason"], job["progress"]) == ("failed", "timed_out", 0)
    # and its message, redriven from the DLQ once the cause is fixed, runs it to success
    message["Attributes"]["ApproximateReceiveCount"] = "1"
    assert report_worker.handler(sqs_event([message], queue_arn), lambda_context) == {"batchItemFailures": []}
    job = get_report(job_id, lambda_context)[1]
    assert (job["status"], job["failure_reason"], job["error"], job["progress"]) == (
        "succeeded",
        None,
        None,
        100,
    )
