"""The events our functions receive on the local cloud have AWS's shape, key for key (values aside)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tandem_local.config import LocalCloud
from tests.e2e import fidelity
from tests.e2e.conftest import Running, wait_until
from tests.factories import order

LOGGED = ("ApiFunction", "AuthorizerFunction", "ReportWorkerFunction")

# A well-formed job id nobody created: the route runs and answers 404.
PROBE = "f1de11770000000000000000000000be"


def generated(*kind: str) -> dict[str, Any]:
    """What `sam local generate-event` says AWS sends."""
    cloud = LocalCloud()
    result = subprocess.run(
        [str(cloud.tool("sam", "sam")), "local", "generate-event", *kind],
        capture_output=True,
        text=True,
        check=True,
        env={"SAM_CLI_TELEMETRY": "0", "PATH": "/usr/bin:/bin"},
    )
    return dict(json.loads(result.stdout))


@pytest.fixture(scope="module")
def logging_events(local_cloud: Running) -> Iterator[Running]:
    """Powertools logs each incoming event when POWERTOOLS_LOGGER_LOG_EVENT is true: switch it on."""
    lambda_ = local_cloud.cloud.client("lambda")
    saved = {}
    for function in LOGGED:
        name = local_cloud.function(function)
        variables = lambda_.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        saved[name] = dict(variables)
        variables["POWERTOOLS_LOGGER_LOG_EVENT"] = "true"
        lambda_.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    yield local_cloud
    for name, variables in saved.items():
        lambda_.update_function_configuration(FunctionName=name, Environment={"Variables": variables})


def logged_events(running: Running, function: str, marker: str) -> list[dict[str, Any]]:
    """The events a function logged whose JSON contains `marker`."""
    logs = running.cloud.client("logs")
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{running.function(function)}")["events"]
    found = []
    for event in events:
        try:
            record = json.loads(event["message"])
        except json.JSONDecodeError:
            continue
        if isinstance(record.get("message"), dict) and marker in json.dumps(record["message"]):
            found.append(record["message"])
    return found


def test_http_api_events_have_aws_shape(logging_events: Running, running: Running) -> None:
    key = running.tenant_with_key("acme")
    # A request with everything an HTTP API event can carry: path parameter, query, cookies, body.
    answer = running.call(
        "GET", f"/reports/{PROBE}?page=2&page=3", key=key, headers={"cookie": "a=1; b=2"}, data="x"
    )
    assert answer.status_code == 404
    event = wait_until(lambda: logged_events(running, "ApiFunction", PROBE), 30, what="the logged event")[0]
    diff = fidelity.differences(generated("apigateway", "http-api-proxy"), event)
    assert diff == set(fidelity.HTTP_API_DIFFERENCES)
    assert set(event["requestContext"]["authorizer"]) == {"lambda"}


def test_sqs_events_have_aws_shape(logging_events: Running, running: Running) -> None:
    key = running.tenant_with_key("acme")
    running.put_orders([order(datetime(2026, 11, 2, tzinfo=UTC))])
    created = running.call(
        "POST",
        "/reports",
        key=key,
        json={"from": "2026-11-01", "to": "2026-11-02"},
        headers={"Prefer": "respond-async"},
    ).json()
    event = wait_until(
        lambda: logged_events(running, "ReportWorkerFunction", created["job_id"]), 60, what="the logged event"
    )[0]
    diff = fidelity.differences(generated("sqs", "receive-message"), event)
    assert diff == set(fidelity.SQS_DIFFERENCES)
