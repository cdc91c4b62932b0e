"""Claim checks: a message over SQS's limit travels as an S3 reference, transparently, through the
real adapter (SqsQueue + S3ClaimChecks) and the workers' batch processor, under moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Json

from tandem.adapters.queue import CLAIM_CHECK_ATTRIBUTE, POISON_REASON_ATTRIBUTE, S3ClaimChecks, SqsQueue
from tandem.handlers import report_worker
from tandem.handlers.batch import LoggedBatchProcessor
from tests.conftest import FakeLambdaContext
from tests.events import sqs_event
from tests.fakes import FakePoisonParking
from tests.integration.conftest import receive_reports
from tests.integration.test_report_flow import get_report, request_report
from tests.moto_stack import REGION
from tests.template_model import Resolver

TWO_MB = 2 * 1024 * 1024


class Bulky(BaseModel):
    order_id: str
    lines: list[str]


class BulkyRecord(SqsRecordModel):
    body: Json[Bulky]


def _bulky() -> Bulky:
    line = "x" * 1000
    return Bulky(order_id="o-1", lines=[f"{n:07d}{line}" for n in range(TWO_MB // 1000)])


def test_a_2_mb_message_travels_by_s3_and_arrives_whole(stack: Resolver) -> None:
    sqs, s3 = boto3.client("sqs", region_name=REGION), boto3.client("s3", region_name=REGION)
    bucket, url = stack.physical["DataBucket"], stack.physical["ReportQueue"]
    message = _bulky()
    assert len(message.model_dump_json()) > TWO_MB

    SqsQueue(url, sqs, claims=S3ClaimChecks(bucket, s3)).send(message, {"correlation_id": "c-7"})

    (sent,) = receive_reports(stack)
    assert len(sent["Body"]) < 300  # only the reference crossed SQS
    reference = sent["MessageAttributes"][CLAIM_CHECK_ATTRIBUTE]["StringValue"]
    assert reference.startswith("claims/tandem-test-ReportQueue/")
    assert json.loads(sent["Body"]) == {"claim_check": reference, "bytes": len(message.model_dump_json())}

    received: list[Bulky] = []
    processor = LoggedBatchProcessor(
        BulkyRecord, parking=FakePoisonParking, claims=lambda: S3ClaimChecks(bucket, s3)
    )
    answer = process_partial_response(
        event=sqs_event([sent], stack.attributes[("ReportQueue", "Arn")]),
        record_handler=lambda record: received.append(record.body),
        processor=processor,
        context=FakeLambdaContext(),
    )

    assert answer == {"batchItemFailures": []}
    assert received == [message]
    # Left to the bucket's lifecycle rule: a second delivery finds it again.
    assert s3.head_object(Bucket=bucket, Key=reference)["ContentLength"] == len(message.model_dump_json())


def test_a_small_message_goes_by_sqs_alone(stack: Resolver) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    bucket = stack.physical["DataBucket"]
    queue = SqsQueue(stack.physical["ReportQueue"], claims=S3ClaimChecks(bucket, s3))
    queue.send(Bulky(order_id="o-2", lines=["a"] * 10), {})
    (sent,) = receive_reports(stack)
    assert json.loads(sent["Body"])["order_id"] == "o-2"
    assert CLAIM_CHECK_ATTRIBUTE not in sent.get("MessageAttributes", {})
    assert s3.list_objects_v2(Bucket=bucket, Prefix="claims/")["KeyCount"] == 0


def test_just_over_the_limit_counts_the_attributes_too(stack: Resolver) -> None:
    sqs, s3 = boto3.client("sqs", region_name=REGION), boto3.client("s3", region_name=REGION)
    bucket = stack.physical["DataBucket"]
    # The body alone fits; with its attribute it would not: SQS counts both.
    body_size = 256 * 1024 - 50
    message = Bulky(order_id="o", lines=["y" * (body_size - len('{"order_id":"o","lines":[""]}'))])
    assert len(message.model_dump_json()) == body_size
    SqsQueue(stack.physical["ReportQueue"], sqs, claims=S3ClaimChecks(bucket, s3)).send(
        message, {"correlation_id": "z" * 100}
    )
    (sent,) = receive_reports(stack)
    assert CLAIM_CHECK_ATTRIBUTE in sent["MessageAttributes"]


def test_a_report_job_sent_as_a_claim_check_runs_as_any_other(stack: Resolver, lambda_context: Any) -> None:
    job_id = request_report(lambda_context)
    (original,) = receive_reports(stack)
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.delete_message(QueueUrl=stack.physical["ReportQueue"], ReceiptHandle=original["ReceiptHandle"])
    # The same message sent again by a queue whose limit every message exceeds.
    claims = S3ClaimChecks(stack.physical["DataBucket"])
    message = report_worker.ReportRequestedRecord.model_validate(
        sqs_event([original], stack.attributes[("ReportQueue", "Arn")])["Records"][0]
    ).body
    SqsQueue(stack.physical["ReportQueue"], claims=claims, limit=0).send(message, {"correlation_id": "c-9"})

    (claimed,) = receive_reports(stack)
    assert CLAIM_CHECK_ATTRIBUTE in claimed["MessageAttributes"]
    event = sqs_event([claimed], stack.attributes[("ReportQueue", "Arn")])
    assert report_worker.handler(event, lambda_context) == {"batchItemFailures": []}
    assert get_report(job_id, lambda_context)[1]["status"] == "succeeded"


def test_a_claim_check_whose_body_is_gone_is_parked_as_received(stack: Resolver, lambda_context: Any) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    reference = "claims/tandem-test-ReportQueue/expired.json"
    sqs.send_message(
        QueueUrl=stack.physical["ReportQueue"],
        MessageBody=json.dumps({"claim_check": reference, "bytes": 300000}),
        MessageAttributes={CLAIM_CHECK_ATTRIBUTE: {"DataType": "String", "StringValue": reference}},
    )
    event = sqs_event(receive_reports(stack), stack.attributes[("ReportQueue", "Arn")])
    assert report_worker.handler(event, lambda_context) == {"batchItemFailures": []}
    (parked,) = sqs.receive_message(
        QueueUrl=stack.physical["ReportDeadLetterQueue"], MessageAttributeNames=["All"]
    )["Messages"]
    assert parked["MessageAttributes"][CLAIM_CHECK_ATTRIBUTE]["StringValue"] == reference
    assert "not found" in parked["MessageAttributes"][POISON_REASON_ATTRIBUTE]["StringValue"]


def test_a_reference_outside_claims_reads_nothing(stack: Resolver) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    bucket = stack.physical["DataBucket"]
    s3.put_object(Bucket=bucket, Key="config/acme/secret.json", Body=b"{}")
    assert S3ClaimChecks(bucket, s3).get("config/acme/secret.json") is None
