"""An SQS queue that takes typed messages; one too large for SQS travels as a claim check."""

import json
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel

from tandem.adapters import aws
from tandem.logic.ports import ClaimChecks

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

# SQS's message size limit counts the body and every attribute's name, type and value. AWS
# raised it to 1 MiB in 2026; the emulators (moto, MiniStack) still enforce 256 KiB: the lower
# one is the limit that holds everywhere.
SQS_MESSAGE_LIMIT = 256 * 1024
# The message attribute that marks a claim check; its value is the stored body's reference.
CLAIM_CHECK_ATTRIBUTE = "claim_check"


class SqsQueue:
    def __init__(
        self,
        queue_url: str,
        sqs: "SQSClient | None" = None,
        claims: ClaimChecks | None = None,
        limit: int = SQS_MESSAGE_LIMIT,
    ) -> None:
        self._url = queue_url
        self._sqs = sqs or aws.sqs()
        self._claims = claims
        self._limit = limit

    def send(self, message: BaseModel, attributes: Mapping[str, str]) -> None:
        body = message.model_dump_json()
        fields = dict(attributes)
        if self._claims is not None and _size(body, fields) > self._limit:
            # Too large for SQS: the body goes to S3, a reference travels (the consumer's batch
            # processor, handlers/batch.py, puts the body back before parsing).
            reference = self._claims.put(self._url.rsplit("/", 1)[-1], body)
            body = json.dumps({"claim_check": reference, "bytes": len(body.encode())})
            fields[CLAIM_CHECK_ATTRIBUTE] = reference
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in fields.items()
            },
        )


def _size(body: str, attributes: Mapping[str, str]) -> int:
    return len(body.encode()) + sum(
        len(name.encode()) + len(b"String") + len(value.encode()) for name, value in attributes.items()
    )


class S3ClaimChecks:
    """ClaimChecks in the data bucket, `claims/{queue}/{uuid}.json`.

    Objects are never deleted by the consumer: a message may be delivered again, retried or
    redriven from its DLQ after it was processed once, and each delivery needs the body. The
    bucket's lifecycle rule (expire-claims) removes them after the longest a message can live
    (4 days in its queue + 14 in its DLQ + a redrive)."""

    PREFIX = "claims/"

    def __init__(self, bucket: str, s3: "S3Client | None" = None) -> None:
        self._bucket = bucket
        self._s3 = s3

    def _client(self) -> "S3Client":
        # Made on first use: most messages are small, and the API's cold start stays short.
        if self._s3 is None:
            self._s3 = aws.s3()
        return self._s3

    def put(self, queue: str, body: str) -> str:
        key = f"{self.PREFIX}{queue}/{uuid.uuid4().hex}.json"
        self._client().put_object(
            Bucket=self._bucket, Key=key, Body=body.encode(), ContentType="application/json"
        )
        return key

    def get(self, reference: str) -> str | None:
        if not reference.startswith(self.PREFIX):
            return None  # only our own claims: a forged reference reads nothing else
        try:
            found = self._client().get_object(Bucket=self._bucket, Key=reference)
        except self._client().exceptions.NoSuchKey:
            return None
        return found["Body"].read().decode()


# The message attribute that says why a message was parked (read by `tandem dlq show`).
POISON_REASON_ATTRIBUTE = "poison_reason"
_MAX_ATTRIBUTES = 10  # SQS's limit per message


class SqsPoisonParking:
    """A worker's DLQ (PoisonParking): the original body unchanged, so a redrive after the fix
    sends back exactly what the producer sent; the reason travels as a message attribute."""

    def __init__(self, queue_url: str, sqs: "SQSClient | None" = None) -> None:
        self._url = queue_url
        self._sqs = sqs or aws.sqs()

    def park(self, body: str, reason: str, attributes: Mapping[str, str]) -> None:
        kept = [(name, value) for name, value in attributes.items() if name != POISON_REASON_ATTRIBUTE]
        fields = dict(kept[: _MAX_ATTRIBUTES - 1]) | {POISON_REASON_ATTRIBUTE: reason[:1000]}
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in fields.items() if value
            },
        )
