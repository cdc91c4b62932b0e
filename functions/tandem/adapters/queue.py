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
