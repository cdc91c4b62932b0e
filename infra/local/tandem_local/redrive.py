"""Move dead letters back to the queue they came from: what `aws sqs start-message-move-task`
does on AWS, which MiniStack does not implement (gaps.py, gap 5)."""

from __future__ import annotations

import json

from tandem_local.config import LocalCloud
from tandem_local.stack import Stack


class RedriveError(ValueError):
    pass


def source_of(cloud: LocalCloud, stack: Stack, dead_letter_queue: str) -> tuple[str, str]:
    """(DLQ url, source queue url) for a DLQ named by logical id, or an error naming the DLQs there are."""
    sqs = cloud.client("sqs")
    queues = stack.of_type("AWS::SQS::Queue")
    arn_of = {
        logical: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for logical, url in queues.items()
    }
    sources: dict[str, str] = {}
    for url in queues.values():
        policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
        if "RedrivePolicy" in policy:
            target = json.loads(policy["RedrivePolicy"])["deadLetterTargetArn"]
            sources.update({dlq: url for dlq, arn in arn_of.items() if arn == target})
    if dead_letter_queue not in sources:
        raise RedriveError(
            f"{dead_letter_queue!r} is no queue's DLQ; these are: {', '.join(sorted(sources))}"
        )
    return queues[dead_letter_queue], sources[dead_letter_queue]


def redrive(cloud: LocalCloud, dead_letter_url: str, source_url: str) -> int:
    """Send every dead letter back (body and attributes intact), delete it from the DLQ; returns the count."""
    sqs = cloud.client("sqs")
    moved = 0
    while True:
        batch = sqs.receive_message(
            QueueUrl=dead_letter_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return moved
        for message in batch:
            sqs.send_message(
                QueueUrl=source_url,
                MessageBody=message["Body"],
                MessageAttributes=message.get("MessageAttributes", {}),
            )
            sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
