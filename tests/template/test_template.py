"""template.yaml: linted, validated, built, and held to the rules the linters do not check."""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from aws_croniter import AwsCroniter

from tests.template.conftest import SAM_BIN, run_tool
from tests.template_model import (
    ROOT,
    function_events,
    function_property,
    functions,
    parameter_defaults,
    resources,
    template,
)

pytestmark = pytest.mark.template

_RATE = re.compile(r"^(?:1 (?:minute|hour|day)|(?:[2-9]|[1-9]\d+) (?:minutes|hours|days))$")


def test_cfn_lint_with_the_serverless_rules_is_clean() -> None:
    result = run_tool(SAM_BIN / "cfn-lint", "template.yaml", "-a", "cfn_lint_serverless.rules")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes(sam: Path) -> None:
    result = run_tool(sam, "validate", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr


def _schedule_expressions(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("ScheduleExpression", "Schedule") and isinstance(value, str):
                found.append(value)
            found += _schedule_expressions(value)
    elif isinstance(node, list):
        for value in node:
            found += _schedule_expressions(value)
    return found


def test_every_schedule_expression_parses() -> None:
    expressions = _schedule_expressions(template()["Resources"])
    assert expressions, "the template has no schedule"
    for expression in expressions:
        kind, _, rest = expression.partition("(")
        body = rest.removesuffix(")")
        assert expression.endswith(")"), expression
        if kind == "cron":
            AwsCroniter(body)  # raises on anything AWS would refuse
        else:
            assert kind == "rate", f"neither cron() nor rate(): {expression}"
            assert _RATE.match(body), f"not a valid AWS rate(): {expression}"


def test_every_handler_imports_and_is_callable() -> None:
    for name in functions():
        module, _, attribute = function_property(name, "Handler").rpartition(".")
        assert callable(getattr(importlib.import_module(module), attribute)), name


def _sqs_consumers() -> list[tuple[str, dict[str, Any], str]]:
    return [(name, event, event["Queue"]["Fn::GetAtt"][0]) for name, event in function_events("SQS")]


def test_every_queue_consumer_reports_partial_failures_and_has_room_to_retry() -> None:
    consumers = _sqs_consumers()
    assert consumers
    queues = resources("AWS::SQS::Queue")
    for function, event, queue in consumers:
        assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"], function
        queue_props = queues[queue]["Properties"]
        visibility = _default(queue_props["VisibilityTimeout"])
        assert visibility >= 6 * _default(function_property(function, "Timeout")), queue
        redrive = queue_props["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues, queue
    variables = functions()["ReportWorkerFunction"]["Properties"]["Environment"]["Variables"]
    # The worker marks a job failed on the last delivery: it must know which one that is.
    report_queue = queues["ReportQueue"]["Properties"]
    assert variables["REPORT_MAX_RECEIVE_COUNT"] == report_queue["RedrivePolicy"]["maxReceiveCount"]


def _default(value: Any) -> int:
    """A number as deployed with the template's defaults (literal, or a Ref to a parameter)."""
    if isinstance(value, dict):
        return int(parameter_defaults()[value["Ref"]])
    return int(value)


def test_every_schedule_has_a_retry_policy_a_dead_letter_queue_and_crons_a_time_zone() -> None:
    schedules = [
        event["Properties"]
        for body in functions().values()
        for event in body["Properties"].get("Events", {}).values()
        if event["Type"] == "ScheduleV2"
    ]
    assert schedules
    for schedule in schedules:
        if schedule["ScheduleExpression"].startswith("cron("):  # a rate() has no time of day
            assert schedule["ScheduleExpressionTimezone"] == {"Ref": "ReportingTimezone"}
        assert schedule["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        assert schedule["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] in resources("AWS::SQS::Queue")
        json.loads(schedule["Input"])


def test_the_core_layer_pins_the_same_runtime_versions_as_the_project() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = {line for line in declared if "==" in line}
    layer = {
        line.strip()
        for line in (ROOT / "infra/layers/core/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert layer == pinned


def test_the_aws_build_ships_arm64_wheels(aws_build: Path) -> None:
    binaries = list((aws_build / "CoreLayer" / "python" / "pydantic_core").glob("_pydantic_core*.so"))
    assert [b.name for b in binaries] == ["_pydantic_core.cpython-313-aarch64-linux-gnu.so"]
    built = (aws_build / "template.yaml").read_text()
    assert "python3.13" in built


def test_the_function_package_holds_only_our_code(host_build: Path) -> None:
    package = host_build / "ApiFunction"
    top_level = sorted(p.name for p in package.iterdir())
    assert top_level == ["tandem"], top_level
    web = package / "tandem" / "web"
    code = [f for f in package.rglob("*") if f.is_file() and web not in f.parents]
    size = sum(f.stat().st_size for f in code)
    assert size < 1_000_000, f"the code package grew to {size} bytes: dependencies belong in a layer"


def test_the_api_package_holds_the_dashboard_page_and_exactly_its_allow_listed_assets(
    host_build: Path,
) -> None:
    from tandem.handlers.web_assets import ASSETS

    web = host_build / "ApiFunction" / "tandem" / "web"
    served = sorted(str(f.relative_to(web)) for f in web.rglob("*") if f.is_file())
    # chart.umd.min.js is copied from npm by `make web` (gitignored): a build without it has no charts.
    assert served == sorted(["index.html", *(f"assets/{name}" for name in ASSETS)])
    size = sum((web / name).stat().st_size for name in served)
    assert size < 400_000, f"the dashboard page's files grew to {size} bytes"


def test_the_documents_layer_pins_the_projects_documents_extra() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    layer = {
        line.strip()
        for line in (ROOT / "infra/layers/documents/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert layer == set(declared["documents"])
