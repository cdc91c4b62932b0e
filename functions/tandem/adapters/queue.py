"""An SQS queue that takes typed messages."""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel

from tandem.adapters import aws

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsQueue:
    def __init__(self, queue_url: str, sqs: "SQSClient | None" = None) -> None:
        self._url = queue_url
        self._sqs = sqs or aws.sqs()

    def send(self, message: BaseModel, attributes: Mapping[str, str]) -> None:
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=message.model_dump_json(),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            },
        )


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
