"""`tandem dlq list | show | redrive` (tandem_local.redrive) against the template's queues in moto."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tandem_local import cli, redrive
from tandem_local.stack import Stack
from tests.moto_stack import REGION
from tests.template_model import Resolver, resources


@dataclass(frozen=True)
class MotoCloud:
    stack_name: str = "tandem-test"

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)


def _stack(resolver: Resolver) -> Stack:
    queues = {name: resolver.physical[name] for name in resources("AWS::SQS::Queue")}
    return Stack(
        physical=queues,
        types=dict.fromkeys(queues, "AWS::SQS::Queue"),
        outputs={},
        parameters={},
        processed={},
    )


def _dead_letter(sqs: Any, source_url: str, body: str, receives: int) -> None:
    """A message that failed every receive: SQS moves it to the DLQ on the receive after the last."""
    sqs.send_message(QueueUrl=source_url, MessageBody=body)
    for _ in range(receives + 1):
        sqs.receive_message(QueueUrl=source_url, VisibilityTimeout=0, MaxNumberOfMessages=10)


def test_every_dead_letter_queue_is_listed_with_the_queue_it_redrives_to(stack: Resolver) -> None:
    found = redrive.dead_letter_queues(MotoCloud(), _stack(stack))
    assert {name: queue.source for name, queue in found.items()} == {
        "FollowUpDeadLetterQueue": "FollowUpQueue",
        "IngestDeadLetterQueue": "IngestQueue",
        "NightlyDeadLetterQueue": None,
        "NightlyFailureQueue": None,
        "OrderEventsDeadLetterQueue": "OrderEventsRedriveQueue",
        "ReportDeadLetterQueue": "ReportQueue",
        "SweeperFailureQueue": None,
    }
    assert found["ReportDeadLetterQueue"].source_url == stack.physical["ReportQueue"]


def test_show_gives_each_message_its_reason_and_leaves_it_in_the_queue(stack: Resolver) -> None:
    cloud, sqs = MotoCloud(), boto3.client("sqs", region_name=REGION)
    queue = redrive.dead_letter_queue(cloud, _stack(stack), "ReportDeadLetterQueue")
    _dead_letter(sqs, stack.physical["ReportQueue"], '{"job_id": "j-1"}', receives=5)
    parked = json.dumps({"reason": "not JSON: Expecting value", "body": "{oops"})
    sqs.send_message(QueueUrl=queue.url, MessageBody=parked)

    letters = redrive.peek(cloud, queue.url)
    again = redrive.peek(cloud, queue.url)

    assert [letter.body for letter in letters] == ['{"job_id": "j-1"}', parked]  # oldest first
    assert letters[0].reason.startswith("failed every receive")
    assert letters[1].reason == "not JSON: Expecting value"
    assert [letter.message_id for letter in again] == [letter.message_id for letter in letters]
    depth = redrive.depth(cloud, queue, now=datetime.now(UTC) + timedelta(minutes=10))
    assert (depth.visible, depth.in_flight) == (2, 0)
    assert depth.oldest_age is not None
    assert timedelta(minutes=10) <= depth.oldest_age < timedelta(minutes=11)


def test_reasons_of_the_scheduler_and_of_lambda_destinations() -> None:
    scheduler = {
        "Body": "{}",
        "MessageAttributes": {
            "ERROR_CODE": {"StringValue": "AWS.Lambda.TooManyRequestsException"},
            "ERROR_MESSAGE": {"StringValue": "Rate exceeded"},
        },
    }
    destination = {
        "Body": json.dumps(
            {
                "requestContext": {"condition": "RetriesExhausted"},
                "responseContext": {"functionError": "Unhandled"},
            }
        )
    }
    assert redrive.reason_of(scheduler) == "AWS.Lambda.TooManyRequestsException: Rate exceeded"
    assert redrive.reason_of(destination) == "Lambda: RetriesExhausted (Unhandled)"


def test_redrive_moves_every_message_back_to_its_source_queue(stack: Resolver) -> None:
    cloud, sqs = MotoCloud(), boto3.client("sqs", region_name=REGION)
    queue = redrive.dead_letter_queue(cloud, _stack(stack), "FollowUpDeadLetterQueue")
    bodies = {json.dumps({"n": n}) for n in range(13)}
    for body in bodies:
        sqs.send_message(QueueUrl=queue.url, MessageBody=body, MessageAttributes=_attribute("c-1"))

    said = redrive.move_back(cloud, queue)  # moto has no StartMessageMoveTask: moved here

    assert said == "moved 13 messages from FollowUpDeadLetterQueue back to FollowUpQueue"
    assert redrive.peek(cloud, queue.url) == []
    back = sqs.receive_message(
        QueueUrl=stack.physical["FollowUpQueue"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    back += sqs.receive_message(QueueUrl=stack.physical["FollowUpQueue"], MaxNumberOfMessages=10)["Messages"]
    assert {message["Body"] for message in back} == bodies
    assert back[0]["MessageAttributes"]["correlation_id"]["StringValue"] == "c-1"  # attributes kept


def test_redrive_uses_sqs_move_task_where_the_service_has_it(stack: Resolver) -> None:
    calls: list[dict[str, str]] = []

    class WithMoveTask(MotoCloud):
        def client(self, service: str) -> Any:
            real = super().client(service)

            def start_message_move_task(**arguments: str) -> dict[str, str]:
                calls.append(arguments)
                return {"TaskHandle": "eyJ0YXNrSWQiOiJhYmMifQ=="}

            real.start_message_move_task = start_message_move_task
            return real

    cloud = WithMoveTask()
    queue = redrive.dead_letter_queue(cloud, _stack(stack), "ReportDeadLetterQueue")
    said = redrive.move_back(cloud, queue)
    assert said.startswith("started SQS's move task")
    assert calls == [{"SourceArn": queue.arn, "DestinationArn": stack.attributes[("ReportQueue", "Arn")]}]


def test_a_dlq_without_a_source_queue_is_not_redriven(stack: Resolver) -> None:
    cloud = MotoCloud()
    queue = redrive.dead_letter_queue(cloud, _stack(stack), "NightlyFailureQueue")
    with pytest.raises(redrive.RedriveError, match="no queue's DLQ"):
        redrive.move_back(cloud, queue)
    with pytest.raises(redrive.RedriveError, match="these are: FollowUpDeadLetterQueue"):
        redrive.dead_letter_queue(cloud, _stack(stack), "ReportQueue")


def test_the_commands_print_depth_and_reasons(
    stack: Resolver, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_dlq_cloud", lambda *_: (MotoCloud(), _stack(stack)))
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(
        QueueUrl=stack.physical["ReportDeadLetterQueue"], MessageBody=json.dumps({"reason": "wrong version"})
    )

    assert cli.main(["dlq", "list"]) == 0
    listed = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[1:]}
    assert listed["ReportDeadLetterQueue"][:2] == ["1", "0"]
    assert listed["IngestDeadLetterQueue"][:3] == ["0", "0", "-"]

    assert cli.main(["dlq", "show", "ReportDeadLetterQueue", "--json"]) == 0
    assert [letter["reason"] for letter in json.loads(capsys.readouterr().out)] == ["wrong version"]

    assert cli.main(["dlq", "redrive", "ReportDeadLetterQueue"]) == 0
    assert "moved 1 messages" in capsys.readouterr().out
    assert redrive.peek(MotoCloud(), stack.physical["ReportQueue"])[0].reason == "wrong version"


def test_stack_selects_aws() -> None:
    args = cli._parser().parse_args(["dlq", "list", "--stack", "tandem-prod", "--region", "eu-west-1"])
    assert (args.run, args.stack, args.region) == (cli.cmd_dlq_list, "tandem-prod", "eu-west-1")
    assert cli._parser().parse_args(["dlq", "show", "ReportDeadLetterQueue"]).stack is None


def _attribute(value: str) -> dict[str, Any]:
    return {"correlation_id": {"DataType": "String", "StringValue": value}}


def test_reasons_of_what_our_code_parks() -> None:
    poison = {
        "Body": "{oops",
        "MessageAttributes": {"poison_reason": {"StringValue": "unparseable as X: body"}},
    }
    night = {"Body": json.dumps({"kind": "nightly_failure", "error": "States.Timeout", "cause": "step lake"})}
    assert redrive.reason_of(poison) == "poison: unparseable as X: body"
    assert redrive.reason_of(night) == "States.Timeout (step lake)"


def test_the_older_tandem_redrive_still_finds_the_source(stack: Resolver) -> None:
    assert redrive.source_of(MotoCloud(), _stack(stack), "OrderEventsDeadLetterQueue") == (
        stack.physical["OrderEventsDeadLetterQueue"],
        stack.physical["OrderEventsRedriveQueue"],
    )
