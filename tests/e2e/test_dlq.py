"""The operator's DLQ tools on the local cloud: poison parked at once and shown with its reason;
a job that failed every attempt seen in `tandem dlq list/show`, fixed, redriven, succeeded."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tandem_local import cli
from tests.e2e.conftest import E2E_PARAMETERS, Running, wait_until
from tests.factories import order

MAX_RECEIVES = int(E2E_PARAMETERS["ReportMaxReceiveCount"])
VISIBILITY = int(E2E_PARAMETERS["ReportQueueVisibilityTimeout"])


def _run(command: Any, running: Running, capsys: pytest.CaptureFixture[str], **arguments: Any) -> str:
    """A `tandem dlq …` command against this test's local cloud, as the CLI runs it; its output."""
    capsys.readouterr()
    assert command(running.cloud, argparse.Namespace(stack=None, region=None, **arguments)) == 0
    return capsys.readouterr().out


def _listed(output: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in output.splitlines()[1:]}


def test_poison_is_parked_at_once_and_shown_with_its_reason(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    poison = json.dumps({"type": "report.requested", "version": 7, "tenant_id": "acme", "job_id": "j"})
    running.cloud.client("sqs").send_message(
        QueueUrl=running.stack.outputs["ReportQueueUrl"], MessageBody=poison
    )

    # Parked by the worker, not moved by the redrive policy after MAX_RECEIVES failed receives:
    # the reason below is the worker's (only the worker writes one), and the worker parks poison
    # on the receive that finds it (tests/integration/test_poison.py). The wait proves nothing
    # about "at once": on a loaded machine a cold worker alone can outlast a visibility timeout.
    listed = wait_until(
        lambda: (
            (rows := _listed(_run(cli.cmd_dlq_list, running, capsys)))["ReportDeadLetterQueue"][0] == "1"
            and rows
        ),
        timeout=VISIBILITY * (MAX_RECEIVES + 1) + 30,
        what="the poison message in ReportDeadLetterQueue",
    )
    assert listed["ReportDeadLetterQueue"][-1] == "ReportQueue"
    shown = json.loads(
        _run(cli.cmd_dlq_show, running, capsys, queue="ReportDeadLetterQueue", limit=10, json=True)
    )
    assert [letter["body"] for letter in shown] == [poison]
    assert shown[0]["reason"].startswith("poison: unparseable as ReportRequestedRecord: body.version")


def test_a_dead_lettered_job_is_listed_shown_fixed_redriven_and_succeeds(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    key = running.tenant_with_key("acme")
    running.put_orders([order(datetime(2026, 11, 1, 12, tzinfo=UTC), ("MUG", 1, "6.50"))])
    lambda_ = running.cloud.client("lambda")
    worker = running.function("ReportWorkerFunction")
    environment = lambda_.get_function_configuration(FunctionName=worker)["Environment"]["Variables"]
    # Broken: the result cannot be written (a transient-looking S3 error), so every attempt fails.
    broken = {**environment, "REPORTS_BUCKET_NAME": "tandem-e2e-no-such-bucket"}
    lambda_.update_function_configuration(FunctionName=worker, Environment={"Variables": broken})
    try:
        job = running.call(
            "POST",
            "/reports",
            key=key,
            json={"from": "2026-11-01", "to": "2026-11-02"},
            headers={"Prefer": "respond-async"},
        ).json()
        listed = wait_until(
            lambda: (
                (rows := _listed(_run(cli.cmd_dlq_list, running, capsys)))["ReportDeadLetterQueue"][0] == "1"
                and rows
            ),
            timeout=VISIBILITY * (MAX_RECEIVES + 1) + 30,
            every=3,
            what="the failed job in ReportDeadLetterQueue",
        )
    finally:
        lambda_.update_function_configuration(FunctionName=worker, Environment={"Variables": environment})
    assert listed["ReportDeadLetterQueue"][2] != "-"  # an oldest age
    shown = json.loads(
        _run(cli.cmd_dlq_show, running, capsys, queue="ReportDeadLetterQueue", limit=10, json=True)
    )
    assert [json.loads(letter["body"])["job_id"] for letter in shown] == [job["job_id"]]
    assert shown[0]["reason"].startswith("failed every receive")
    status = running.call("GET", job["status_url"], key=key).json()
    assert (status["status"], status["attempts"]) == ("failed", MAX_RECEIVES)

    # Fixed (the environment is back): redriven, the job runs again and succeeds.
    said = _run(cli.cmd_dlq_redrive, running, capsys, queue="ReportDeadLetterQueue")
    assert said.strip() == "moved 1 messages from ReportDeadLetterQueue back to ReportQueue"
    done = wait_until(
        lambda: (j := running.call("GET", job["status_url"], key=key).json())["status"] == "succeeded" and j,
        timeout=60,
        what="the redriven job",
    )
    assert done["result"]["url"]
    assert _listed(_run(cli.cmd_dlq_list, running, capsys))["ReportDeadLetterQueue"][0] == "0"
