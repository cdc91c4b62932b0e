"""A message that can never be parsed goes to its queue's DLQ on its first receive, with its reason."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tandem.adapters.queue import POISON_REASON_ATTRIBUTE
from tandem.handlers import ingest_worker, report_worker
from tandem.handlers.batch import park_poison
from tests.conftest import FakeLambdaContext
from tests.events import sqs_event
from tests.fakes import FakePoisonParking
from tests.moto_stack import REGION
from tests.template_model import Resolver


def _deliver(sqs: Any, queue_url: str, queue_arn: str, handler: Any) -> dict[str, Any]:
    """One receive of everything on the queue, handed to the worker, as Lambda's poller does:
    what the worker does not report failed is deleted."""
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    answer: dict[str, Any] = handler(sqs_event(messages, queue_arn), FakeLambdaContext())
    failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return answer


def _all(sqs: Any, url: str) -> list[dict[str, Any]]:
    return sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "body: Invalid JSON"),
        (
            json.dumps({"type": "report.requested", "version": 2, "tenant_id": "acme", "job_id": "j"}),
            "version",
        ),
    ],
    ids=["not-json", "wrong-version"],
)
def test_a_report_message_that_cannot_be_parsed_is_parked_on_its_first_receive(
    stack: Resolver, body: str, reason: str
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    source, dlq = stack.physical["ReportQueue"], stack.physical["ReportDeadLetterQueue"]
    sqs.send_message(
        QueueUrl=source,
        MessageBody=body,
        MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": "c-42"}},
    )

    answer = _deliver(sqs, source, stack.attributes[("ReportQueue", "Arn")], report_worker.handler)

    assert answer == {"batchItemFailures": []}  # processed: SQS deletes it, no second receive
    assert _all(sqs, source) == []
    (parked,) = _all(sqs, dlq)
    assert parked["Body"] == body  # unchanged: a redrive after the fix sends what the producer sent
    attributes = parked["MessageAttributes"]
    assert attributes["correlation_id"]["StringValue"] == "c-42"
    assert attributes[POISON_REASON_ATTRIBUTE]["StringValue"].startswith(
        "unparseable as ReportRequestedRecord"
    )
    assert reason in attributes[POISON_REASON_ATTRIBUTE]["StringValue"]


def test_the_reason_never_echoes_the_input(stack: Resolver) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    secret = "Card 4111 1111 1111 1111"
    body = json.dumps(
        {"type": "report.requested", "version": 1, "tenant_id": secret, "job_id": "j", "params": 1}
    )
    sqs.send_message(QueueUrl=stack.physical["ReportQueue"], MessageBody=body)
    _deliver(
        sqs, stack.physical["ReportQueue"], stack.attributes[("ReportQueue", "Arn")], report_worker.handler
    )
    (parked,) = _all(sqs, stack.physical["ReportDeadLetterQueue"])
    reason = parked["MessageAttributes"][POISON_REASON_ATTRIBUTE]["StringValue"]
    assert "body.tenant_id" in reason
    assert secret not in reason


def test_poison_beside_good_records_is_parked_alone_in_the_ingest_worker(stack: Resolver) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    source, dlq = stack.physical["IngestQueue"], stack.physical["IngestDeadLetterQueue"]
    sqs.purge_queue(QueueUrl=source)  # S3's test event of the notification set-up
    sqs.send_message(QueueUrl=source, MessageBody="[1, 2")
    sqs.send_message(QueueUrl=source, MessageBody=json.dumps({"Event": "s3:TestEvent"}))

    answer = _deliver(sqs, source, stack.attributes[("IngestQueue", "Arn")], ingest_worker.handler)

    assert answer == {"batchItemFailures": []}
    assert _all(sqs, source) == []
    (parked,) = _all(sqs, dlq)
    assert parked["Body"] == "[1, 2"
    assert "RawFileLandedRecord" in parked["MessageAttributes"][POISON_REASON_ATTRIBUTE]["StringValue"]


def test_a_record_that_cannot_be_parked_fails_as_usual() -> None:
    parking = FakePoisonParking(fail_with=RuntimeError("DLQ unreachable"))
    assert park_poison({"messageId": "m", "body": "x"}, "why", parking) is False
    ok = FakePoisonParking()
    record = {
        "messageId": "m",
        "body": "x",
        "messageAttributes": {"a": {"stringValue": "1", "dataType": "String"}},
    }
    assert park_poison(record, "why", ok) is True
    assert ok.parked == [("x", "why", {"a": "1"})]


def test_a_parseable_message_that_fails_is_still_retried(stack: Resolver) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    source = stack.physical["ReportQueue"]
    # Parses, but names no job: consumed as before (PermanentJobError); a valid one that fails
    # transiently would be reported failed: the poison path is only for what cannot parse.
    body = json.dumps(
        {
            "type": "report.requested",
            "version": 1,
            "tenant_id": "acme",
            "job_id": "missing",
            "params": {"date_from": "2026-11-01", "date_to": "2026-11-02"},
        }
    )
    sqs.send_message(QueueUrl=source, MessageBody=body)
    assert _deliver(sqs, source, stack.attributes[("ReportQueue", "Arn")], report_worker.handler) == {
        "batchItemFailures": []
    }
    assert _all(sqs, stack.physical["ReportDeadLetterQueue"]) == []
