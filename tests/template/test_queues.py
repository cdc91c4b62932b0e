"""Every queue's guarantees, read from template.yaml: a source queue has a DLQ, a DLQ has an alarm,
a consumer reports batch item failures, a worker that parks poison parks it in its own DLQ, and
`tandem dlq list` finds exactly the DLQs the template declares."""

from __future__ import annotations

from typing import Any

from tandem_local.redrive import _PARKING_NAME
from tests.template_model import function_events, functions, resources


def _target(value: Any) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    assert isinstance(value, dict), value
    assert "Fn::GetAtt" in value, value
    return str(value["Fn::GetAtt"][0])


def _dead_letter_queues() -> set[str]:
    """Queues the template parks failures in: redrive targets, Lambda on-failure destinations,
    schedules' dead-letter configs."""
    found = {
        _target(body["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for body in resources("AWS::SQS::Queue").values()
        if "RedrivePolicy" in body["Properties"]
    }
    for body in functions().values():
        properties = body["Properties"]
        for event in properties.get("Events", {}).values():
            if "DeadLetterConfig" in event["Properties"]:
                found.add(_target(event["Properties"]["DeadLetterConfig"]["Arn"]))
            if on_failure := event["Properties"].get("DestinationConfig", {}).get("OnFailure"):
                found.add(_target(on_failure["Destination"]))
        if (
            on_failure := properties.get("EventInvokeConfig", {})
            .get("DestinationConfig", {})
            .get("OnFailure")
        ):
            found.add(_target(on_failure["Destination"]))
    return found


def _depth_alarms() -> set[str]:
    """Queues with an alarm on their visible messages."""
    return {
        _target(dimension["Value"])
        for alarm in resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/SQS"
        and alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        for dimension in alarm["Properties"].get("Dimensions", [])
        if dimension["Name"] == "QueueName"
    }


def test_every_source_queue_has_a_dead_letter_queue_with_an_alarm() -> None:
    queues = resources("AWS::SQS::Queue")
    dead_letters = _dead_letter_queues()
    sources = set(queues) - dead_letters
    assert {"ReportQueue", "IngestQueue", "FollowUpQueue"} <= sources
    for name in sorted(sources):
        policy = queues[name]["Properties"].get("RedrivePolicy")
        assert policy, f"{name} has no DLQ"
        assert _target(policy["deadLetterTargetArn"]) in queues
    assert dead_letters <= _depth_alarms(), dead_letters - _depth_alarms()


def test_every_sqs_event_source_reports_batch_item_failures() -> None:
    events = function_events("SQS")
    assert len(events) >= 3
    for function, event in events:
        assert event.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], function


def test_a_worker_parks_poison_in_its_own_queues_dlq_and_may_send_there() -> None:
    queues = resources("AWS::SQS::Queue")
    parking: dict[str, str] = {}
    for function, event in function_events("SQS"):
        variables = functions()[function]["Properties"].get("Environment", {}).get("Variables", {})
        declared = {
            name: value for name, value in variables.items() if name.endswith("_DEAD_LETTER_QUEUE_URL")
        }
        source = _target(event["Queue"])
        if source == "OrderEventsRedriveQueue":
            continue  # its records were parked once already; the handler parks failures itself
        (value,) = declared.values()
        dlq = _target(queues[source]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        assert _target(value) == dlq, function
        policies = functions()[function]["Properties"]["Policies"]
        assert {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": [dlq, "QueueName"]}}} in policies, (
            function
        )
        parking[function] = dlq
    assert parking == {
        "ReportWorkerFunction": "ReportDeadLetterQueue",
        "IngestWorkerFunction": "IngestDeadLetterQueue",
    } | {
        name: dlq
        for name, dlq in parking.items()
        if name not in ("ReportWorkerFunction", "IngestWorkerFunction")
    }


def test_tandem_dlq_list_finds_exactly_the_templates_dead_letter_queues() -> None:
    queues = resources("AWS::SQS::Queue")
    redrive_targets = {
        _target(body["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for body in queues.values()
        if "RedrivePolicy" in body["Properties"]
    }
    # What tandem_local.redrive.dead_letter_queues takes for a DLQ.
    listed = redrive_targets | {name for name in queues if _PARKING_NAME.search(name)}
    assert listed == _dead_letter_queues()
