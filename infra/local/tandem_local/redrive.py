"""Dead-letter queues: list them, read their messages with a reason, move them back.

Against the local cloud or AWS alike: every function takes a `Cloud` (anything with
`stack_name` and `client(service)`), and the queues come from the stack's own
resources. Moving back uses SQS's StartMessageMoveTask where the service has it
(AWS); MiniStack does not (gaps.py, gap 5), so there the messages are received,
sent to the source queue and deleted here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError

from tandem.adapters.queue import POISON_REASON_ATTRIBUTE
from tandem_local.stack import Stack

# Queues that something other than SQS parks failures in: a Lambda on-failure destination, the
# Scheduler's dead-letter config, a handler that parks records itself. SQS's redrive policies
# name the rest.
_PARKING_NAME = re.compile(r"(DeadLetter|Failure)Queue$")
# What an emulator answers for an action it lacks (MiniStack: InvalidAction): then we move by hand.
_UNSUPPORTED = {"InvalidAction", "UnsupportedOperation", "NotImplemented", "UnknownOperationException"}
_PEEK_LIMIT = 100


class RedriveError(ValueError):
    pass


class Cloud(Protocol):
    @property
    def stack_name(self) -> str: ...

    def client(self, service: str) -> Any: ...


@dataclass(frozen=True)
class AwsCloud:
    """A stack on AWS, reached with the caller's own credentials (profile, environment, role)."""

    stack_name: str
    region: str | None = None

    def client(self, service: str) -> Any:
        return boto3.session.Session(region_name=self.region).client(service)  # type: ignore[call-overload]


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str  # logical id
    url: str
    arn: str
    source: str | None  # the logical id of the queue whose redrive policy targets it, if any
    source_url: str | None


@dataclass(frozen=True)
class Letter:
    message_id: str
    sent: datetime
    receives: int
    reason: str
    body: str


@dataclass(frozen=True)
class Depth:
    queue: DeadLetterQueue
    visible: int
    in_flight: int
    oldest_age: timedelta | None  # None: empty (or every message in flight)


def dead_letter_queues(cloud: Cloud, stack: Stack) -> dict[str, DeadLetterQueue]:
    """Every DLQ of the stack by logical id: redrive targets, and queues named as parking places."""
    sqs = cloud.client("sqs")
    queues = stack.of_type("AWS::SQS::Queue")
    attributes = {
        logical: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])[
            "Attributes"
        ]
        for logical, url in queues.items()
    }
    arn_of = {logical: found["QueueArn"] for logical, found in attributes.items()}
    source_of: dict[str, str] = {}
    for logical, found in sorted(attributes.items()):
        if "RedrivePolicy" in found:
            target = json.loads(found["RedrivePolicy"])["deadLetterTargetArn"]
            source_of.update({dlq: logical for dlq, arn in arn_of.items() if arn == target})
    return {
        logical: DeadLetterQueue(
            name=logical,
            url=url,
            arn=arn_of[logical],
            source=source_of.get(logical),
            source_url=queues[source_of[logical]] if logical in source_of else None,
        )
        for logical, url in sorted(queues.items())
        if logical in source_of or _PARKING_NAME.search(logical)
    }


def dead_letter_queue(cloud: Cloud, stack: Stack, name: str) -> DeadLetterQueue:
    found = dead_letter_queues(cloud, stack)
    if name not in found:
        raise RedriveError(f"{name!r} is not a DLQ of {cloud.stack_name}; these are: {', '.join(found)}")
    return found[name]


def source_of(cloud: Cloud, stack: Stack, dead_letter_queue_name: str) -> tuple[str, str]:
    """(DLQ url, source queue url) for a DLQ named by logical id, or an error naming the DLQs there are."""
    queue = dead_letter_queue(cloud, stack, dead_letter_queue_name)
    if queue.source_url is None:
        raise RedriveError(_no_source(queue))
    return queue.url, queue.source_url


def _no_source(queue: DeadLetterQueue) -> str:
    return (
        f"{queue.name} is no queue's DLQ (no redrive policy points at it): its messages are records of "
        "failed invocations; fix the cause and run the work again (README, Queues and schedules)"
    )


def peek(cloud: Cloud, url: str, limit: int = _PEEK_LIMIT, hold: int = 30) -> list[Letter]:
    """Up to `limit` messages, oldest first, left in the queue.

    Each is received (held `hold` seconds so one pass sees each message once) and then made
    visible again at once. Receiving counts as a receive, which a DLQ without a redrive policy
    of its own does not act on."""
    sqs = cloud.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    try:
        while len(seen) < limit:
            batch = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=hold,
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not batch:
                break
            for message in batch:
                handles.append(message["ReceiptHandle"])
                seen.setdefault(message["MessageId"], message)
    finally:
        for start in range(0, len(handles), 10):
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for i, handle in enumerate(handles[start : start + 10])
                ],
            )
    letters = [_letter(message) for message in seen.values()]
    return sorted(letters, key=lambda letter: letter.sent)


def _letter(message: dict[str, Any]) -> Letter:
    attributes = message.get("Attributes", {})
    return Letter(
        message_id=message["MessageId"],
        sent=datetime.fromtimestamp(int(attributes.get("SentTimestamp", 0)) / 1000, UTC),
        receives=int(attributes.get("ApproximateReceiveCount", 0)),
        reason=reason_of(message),
        body=message["Body"],
    )


def reason_of(message: dict[str, Any]) -> str:
    """Why a message is in a DLQ, from what it carries.

    - parked unparseable by a worker (handlers/batch.py, park_poison): the poison_reason attribute;
    - parked by the order events' handler or the night: `error` (or `reason`) in the body;
    - EventBridge Scheduler's DLQ: the ERROR_CODE / ERROR_MESSAGE message attributes;
    - a Lambda on-failure destination: requestContext.condition and the function's error;
    - moved by SQS after maxReceiveCount: only that, and the source queue (no error is kept)."""
    fields = message.get("MessageAttributes", {})
    if POISON_REASON_ATTRIBUTE in fields:
        return "poison: " + str(fields[POISON_REASON_ATTRIBUTE].get("StringValue", ""))
    try:
        body = json.loads(message["Body"])
    except ValueError:
        body = None
    if isinstance(body, dict):
        # Parked by our own code: the order events' ParkedOrderEvent and the night's NightFailure
        # say `error` (a NightFailure also a `cause`); anything else may say `reason`.
        for field in ("reason", "error"):
            if isinstance(body.get(field), str):
                cause = body.get("cause")
                return str(body[field]) + (f" ({cause})" if isinstance(cause, str) and cause else "")
        context = body.get("requestContext")
        if isinstance(context, dict) and "condition" in context:
            error = (body.get("responseContext") or {}).get("functionError")
            return f"Lambda: {context['condition']}" + (f" ({error})" if error else "")
    if "ERROR_CODE" in fields:
        code = fields["ERROR_CODE"].get("StringValue", "")
        text = fields.get("ERROR_MESSAGE", {}).get("StringValue", "")
        return f"{code}: {text}" if text else code
    attributes = message.get("Attributes", {})
    source = attributes.get("DeadLetterQueueSourceArn", "")
    receives = attributes.get("ApproximateReceiveCount", "?")
    origin = f" of {source.rsplit(':', 1)[-1]}" if source else ""
    return (
        f"failed every receive{origin} (SQS keeps no error; see the worker's logs). Receives here: {receives}"
    )


def depth(cloud: Cloud, queue: DeadLetterQueue, now: datetime | None = None) -> Depth:
    """A DLQ's depth and its oldest message's age.

    The age is read from the messages' SentTimestamp (a peek): ApproximateAgeOfOldestMessage is
    a CloudWatch metric, not a queue attribute, and lags by minutes. For a message SQS moved
    after maxReceiveCount, SentTimestamp is when it was first sent to the source queue. SQS
    returns messages in no set order: past the first 100 peeked, the age is a lower bound."""
    found = cloud.client("sqs").get_queue_attributes(
        QueueUrl=queue.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    visible = int(found.get("ApproximateNumberOfMessages", 0))
    letters = peek(cloud, queue.url) if visible else []
    oldest = min((letter.sent for letter in letters), default=None)
    return Depth(
        queue=queue,
        visible=visible,
        in_flight=int(found.get("ApproximateNumberOfMessagesNotVisible", 0)),
        oldest_age=(now or datetime.now(UTC)) - oldest if oldest else None,
    )


def move_back(cloud: Cloud, queue: DeadLetterQueue) -> str:
    """Send a DLQ's messages back to its source queue; says what was done.

    SQS's StartMessageMoveTask runs in the service (asynchronously); where it is missing the
    messages are moved here, one by one."""
    if queue.source_url is None:
        raise RedriveError(_no_source(queue))
    sqs = cloud.client("sqs")
    source_arn = sqs.get_queue_attributes(QueueUrl=queue.source_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    try:
        task = sqs.start_message_move_task(SourceArn=queue.arn, DestinationArn=source_arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in _UNSUPPORTED:
            raise
    except NotImplementedError:  # moto, in process
        pass
    else:
        return f"started SQS's move task {task['TaskHandle'][:16]}… from {queue.name} to {queue.source}"
    moved = redrive(cloud, queue.url, queue.source_url)
    return f"moved {moved} messages from {queue.name} back to {queue.source}"


def redrive(cloud: Cloud, dead_letter_url: str, source_url: str) -> int:
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
