"""Report requested → message on the queue → worker → object in S3 → job succeeded → presigned download."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import requests

from tandem.handlers import api, report_worker
from tests.events import http_event, sqs_event
from tests.factories import order
from tests.integration.conftest import receive_reports
from tests.moto_stack import REGION
from tests.template_model import Resolver

PERIOD = {"from": "2026-11-01", "to": "2026-11-27"}


@pytest.fixture
def orders(seed: Callable[..., Any]) -> None:
    seed(
        orders=(
            order(datetime(2026, 11, 2, 12, tzinfo=UTC), ("MUG", 2, "6.50")),
            order(datetime(2026, 11, 20, 18, tzinfo=UTC), ("MUG", 1, "6.50"), ("TEA", 3, "4.25")),
            order(datetime(2026, 11, 28, 9, tzinfo=UTC), ("TEA", 10, "4.25")),  # after the period
            order(datetime(2026, 11, 5, 9, tzinfo=UTC), ("TEA", 1, "4.25"), tenant="bravo"),
        )
    )


def request_report(lambda_context: Any, tenant: str = "acme", body: dict[str, str] = PERIOD) -> str:
    # The job's path asked for: these periods are small enough to be answered inline otherwise.
    event = http_event("POST", "/reports", body=body, tenant=tenant, headers={"Prefer": "respond-async"})
    response = api.handler(event, lambda_context)
    assert response["statusCode"] == 202
    return str(json.loads(response["body"])["job_id"])


def get_report(job_id: str, lambda_context: Any, tenant: str = "acme") -> tuple[int, dict[str, Any]]:
    event = http_event(
        "GET",
        f"/reports/{job_id}",
        route="/reports/{job_id}",
        tenant=tenant,
        path_parameters={"job_id": job_id},
    )
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def deliver(
    stack: Resolver, lambda_context: Any, extra: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Receive what waits on ReportQueue and hand it to the worker, as Lambda's poller does."""
    event = sqs_event(receive_reports(stack) + (extra or []), stack.attributes[("ReportQueue", "Arn")])
    return report_worker.handler(event, lambda_context)


@pytest.mark.usefixtures("orders")
def test_a_report_goes_from_request_to_download(stack: Resolver, lambda_context: Any) -> None:
    job_id = request_report(lambda_context)
    assert get_report(job_id, lambda_context)[1]["status"] == "queued"

    assert deliver(stack, lambda_context) == {"batchItemFailures": []}

    s3 = boto3.client("s3", region_name=REGION)
    stored = json.loads(
        s3.get_object(Bucket=stack.physical["ReportsBucket"], Key=f"reports/acme/{job_id}.json")[
            "Body"
        ].read()
    )
    assert stored["orders"] == 2
    assert stored["units"] == 6
    assert stored["by_currency"]["GBP"] == {
        "orders": 2,
        "units": 6,
        "revenue": "32.25",
        "average_order_value": "16.12",
    }
    assert [(p["sku"], p["units"]) for p in stored["top_products"]] == [("MUG", 3), ("TEA", 3)]

    status, job = get_report(job_id, lambda_context)
    assert status == 200
    assert job["status"] == "succeeded"
    assert job["attempts"] == 1
    assert job["params"] == {**PERIOD, "format": "json", "granularity": "day", "filters": {}}
    downloaded = requests.get(job["result"]["url"], timeout=5)
    assert downloaded.status_code == 200
    assert downloaded.json() == stored


@pytest.mark.usefixtures("orders")
def test_another_tenant_cannot_read_the_job(lambda_context: Any) -> None:
    job_id = request_report(lambda_context, tenant="acme")
    status, body = get_report(job_id, lambda_context, tenant="bravo")
    assert (status, body["error"]) == (404, "not_found")


@pytest.mark.usefixtures("orders")
def test_a_failing_record_is_reported_alone_and_the_others_succeed(
    stack: Resolver, lambda_context: Any
) -> None:
    good = [request_report(lambda_context), request_report(lambda_context, tenant="bravo")]
    poison = {
        "MessageId": "poison-1",
        "ReceiptHandle": "poison-receipt",
        "Body": '{"type": "report.requested", "version": 1, "tenant_id": "acme"}',
        "Attributes": {"ApproximateReceiveCount": "1"},
    }
    result = deliver(stack, lambda_context, extra=[poison])
    # It cannot parse: parked in the DLQ at once (handlers/batch.py) rather than retried.
    assert result == {"batchItemFailures": []}
    parked = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=stack.physical["ReportDeadLetterQueue"], MaxNumberOfMessages=10
    )["Messages"]
    assert [message["Body"] for message in parked] == [poison["Body"]]
    assert get_report(good[0], lambda_context)[1]["status"] == "succeeded"
    assert get_report(good[1], lambda_context, tenant="bravo")[1]["status"] == "succeeded"


@pytest.mark.usefixtures("orders")
def test_a_message_delivered_twice_has_one_effect(stack: Resolver, lambda_context: Any) -> None:
    job_id = request_report(lambda_context)
    event = sqs_event(receive_reports(stack), stack.attributes[("ReportQueue", "Arn")])
    report_worker.handler(event, lambda_context)
    first = get_report(job_id, lambda_context)[1]
    assert report_worker.handler(event, lambda_context) == {"batchItemFailures": []}
    again = get_report(job_id, lambda_context)[1]
    assert {k: v for k, v in again.items() if k != "result"} == {
        k: v for k, v in first.items() if k != "result"
    }


@pytest.mark.usefixtures("orders")
def test_a_job_that_keeps_failing_is_retried_then_marked_failed(stack: Resolver, lambda_context: Any) -> None:
    job_id = request_report(lambda_context)
    message = receive_reports(stack)[0]
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=stack.physical["OrdersTable"])
    max_receives = int(stack.environment("ReportWorkerFunction")["REPORT_MAX_RECEIVE_COUNT"])

    message["Attributes"]["ApproximateReceiveCount"] = "1"
    failures = report_worker.handler(sqs_event([message], "arn:aws:sqs:eu-west-1:1:q"), lambda_context)
    assert failures == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    job = get_report(job_id, lambda_context)[1]
    assert (job["status"], job["error"]) == (
        "queued",
        f"attempt 1 of {max_receives} failed; it will be retried",
    )

    message["Attributes"]["ApproximateReceiveCount"] = str(max_receives)
    report_worker.handler(sqs_event([message], "arn:aws:sqs:eu-west-1:1:q"), lambda_context)
    job = get_report(job_id, lambda_context)[1]
    assert (job["status"], job["attempts"]) == ("failed", max_receives)
    assert job["result"] is None


def test_the_worker_reads_the_correlation_id_from_the_message(
    stack: Resolver, lambda_context: Any, logged: Callable[[], list[dict[str, Any]]]
) -> None:
    response = api.handler(
        http_event(
            "POST",
            "/reports",
            body=PERIOD,
            headers={"x-correlation-id": "checkout-7", "Prefer": "respond-async"},
        ),
        lambda_context,
    )
    assert response["statusCode"] == 202
    deliver(stack, lambda_context)
    finished = [line for line in logged() if line["message"] == "report job finished"]
    assert [line["correlation_id"] for line in finished] == ["checkout-7"]


def test_a_message_for_a_job_that_does_not_exist_is_consumed_and_logged(
    stack: Resolver, lambda_context: Any, logged: Callable[[], list[dict[str, Any]]]
) -> None:
    ghost = {
        "MessageId": "ghost-1",
        "ReceiptHandle": "ghost-receipt",
        "Body": json.dumps(
            {
                "type": "report.requested",
                "version": 1,
                "tenant_id": "acme",
                "job_id": "no-such-job",
                "params": {"kind": "sales_summary", "date_from": "2026-11-01", "date_to": "2026-11-02"},
            }
        ),
        "Attributes": {"ApproximateReceiveCount": "1"},
    }
    # Retrying cannot create the job: the record succeeds (is deleted) and the log says why.
    assert deliver(stack, lambda_context, extra=[ghost]) == {"batchItemFailures": []}
    dropped = [line for line in logged() if line["message"] == "message dropped"]
    assert dropped[0]["reason"] == "job no-such-job of tenant acme does not exist"


def test_a_failing_record_is_logged_with_its_message_id(
    stack: Resolver,
    lambda_context: Any,
    logged: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Poison that cannot even be parked (its DLQ is gone) fails as any record does.
    monkeypatch.setenv("REPORT_DEAD_LETTER_QUEUE_URL", stack.physical["ReportDeadLetterQueue"] + "-gone")
    poison = {"MessageId": "poison-9", "ReceiptHandle": "r", "Body": "not json", "Attributes": {}}
    assert deliver(stack, lambda_context, extra=[poison]) == {
        "batchItemFailures": [{"itemIdentifier": "poison-9"}]
    }
    failed = [line for line in logged() if line["message"].startswith("record failed")]
    assert failed[0]["message_id"] == "poison-9"
    assert "exception" in failed[0]
