"""Each gap of gaps.py, checked: these tests fail when a gap reopens (the glue stops working)
or closes upstream (the glue is no longer needed and should go)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tandem_local import gaps
from tests.e2e.conftest import Running, wait_until
from tests.e2e.test_fidelity import logged_events

NIGHTLY_SCHEDULE = "NightlyFunctionNightly"


def _declared_routes(running: Running) -> set[str]:
    body = running.stack.processed["Resources"]["HttpApi"]["Properties"]["Body"]
    return {f"{method.upper()} {path}" for path, operations in body["paths"].items() for method in operations}


def test_gap_1_http_api_routes_exist_only_thanks_to_the_glue(running: Running) -> None:
    declared = _declared_routes(running)
    assert declared, "the template declares routes"
    # Gap still open: MiniStack's CloudFormation made no route of SAM's OpenAPI body.
    assert running.deployment.routes_before_glue == 0
    # Glue works: every declared route exists, and is answered.
    api = running.stack.physical["HttpApi"]
    live = {r["RouteKey"] for r in running.cloud.client("apigatewayv2").get_routes(ApiId=api)["Items"]}
    assert live == declared
    assert running.call("GET", "/health").status_code == 200


def test_gap_1_the_glue_is_idempotent(running: Running) -> None:
    again = gaps.recreate_http_api_routes(running.cloud, running.stack)
    assert set(again) == _declared_routes(running)
    assert gaps.count_routes(running.cloud, running.stack) == len(again)


def test_gap_2_scheduler_passes_context_placeholders_through_unfilled(running: Running) -> None:
    scheduler = running.cloud.client("scheduler")
    written = running.stack.processed["Resources"][NIGHTLY_SCHEDULE]["Properties"]["Target"]["Input"]
    assert "<aws.scheduler.scheduled-time>" in written
    # The glue removed the placeholder from the deployed schedule.
    assert running.deployment.schedules_fixed == [NIGHTLY_SCHEDULE]
    assert json.loads(scheduler.get_schedule(Name=NIGHTLY_SCHEDULE)["Target"]["Input"]) == {}

    # Gap still open: a schedule whose Input holds the placeholder delivers it verbatim.
    lambda_ = running.cloud.client("lambda")
    nightly = running.function("NightlyFunction")
    variables = lambda_.get_function_configuration(FunctionName=nightly)["Environment"]["Variables"]
    lambda_.update_function_configuration(
        FunctionName=nightly, Environment={"Variables": {**variables, "POWERTOOLS_LOGGER_LOG_EVENT": "true"}}
    )
    probe = {"probe": "gap-2", "scheduled_time": "<aws.scheduler.scheduled-time>"}
    deployed: dict[str, Any] = scheduler.get_schedule(Name=NIGHTLY_SCHEDULE)["Target"]
    when = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    try:
        scheduler.create_schedule(
            Name="gap-2-probe",
            ScheduleExpression=f"at({when})",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": deployed["Arn"],
                "RoleArn": deployed["RoleArn"],
                "Input": json.dumps(probe),
                "RetryPolicy": {"MaximumRetryAttempts": 0},
            },
        )
        received = wait_until(lambda: logged_events(running, "NightlyFunction", "gap-2"), 40, what="a firing")
    finally:
        scheduler.delete_schedule(Name="gap-2-probe")
        lambda_.update_function_configuration(FunctionName=nightly, Environment={"Variables": variables})
    # Fidelity too: Scheduler delivers the Input itself, key for key.
    assert received[0] == probe


def test_gap_3_schedule_time_zones_are_not_kept(running: Running) -> None:
    written = running.stack.processed["Resources"][NIGHTLY_SCHEDULE]["Properties"][
        "ScheduleExpressionTimezone"
    ]
    intended = running.stack.value(written)
    assert intended == "Europe/London"
    deployed = running.cloud.client("scheduler").get_schedule(Name=NIGHTLY_SCHEDULE)
    assert deployed.get("ScheduleExpressionTimezone", "UTC") == "UTC"
