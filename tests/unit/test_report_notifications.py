"""A report job announced when it ends (webhook and e-mail), with fakes: once, retried, never failing it."""

import hashlib
import hmac
import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tandem.logic import reports
from tandem.logic.report_notifications import NotifyDeps
from tandem.models.messages import ReportRequested
from tandem.models.records import JobStatus, ReportParams, Tenant, TenantWebhook
from tests.factories import order
from tests.fakes import (
    FakeClock,
    FakeDocuments,
    FakeJobs,
    FakeMailer,
    FakeOrders,
    FakeQueue,
    FakeTenantProfiles,
    FakeWebhooks,
)

PARAMS = ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 27))
SECRET = "whsec_test-secret"
URL = "https://hooks.acme.example/tandem"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def world() -> dict[str, Any]:
    clock = FakeClock()
    tenants = FakeTenantProfiles()
    tenants.add(
        Tenant(
            tenant_id="acme",
            name="Acme Mugs",
            report_email="owner@acme.example",
            webhook=TenantWebhook(url=URL, secret=SECRET, set_at=clock()),
        )
    )
    return {
        "jobs": FakeJobs(),
        "queue": FakeQueue(),
        "orders": FakeOrders([order(datetime(2026, 11, 2, 12, tzinfo=UTC), ("A", 2, "5.00"))]),
        "documents": FakeDocuments(),
        "clock": clock,
        "tenants": tenants,
        "webhooks": FakeWebhooks(),
        "mailer": FakeMailer(),
        "sleeps": Sleeps(),
    }


def _request(world: dict[str, Any]) -> ReportRequested:
    deps = reports.ReportDeps(
        jobs=world["jobs"],
        queue=world["queue"],
        documents=world["documents"],
        link_ttl_seconds=900,
        clock=world["clock"],
        new_id=lambda: "job-1",
    )
    reports.request_report("acme", PARAMS, deps, None)
    message, _ = world["queue"].sent[-1]
    assert isinstance(message, ReportRequested)
    return message


def _run(world: dict[str, Any], message: ReportRequested, attempt: int = 1, max_attempts: int = 3) -> Any:
    notify = NotifyDeps(
        tenants=world["tenants"],
        webhooks=world["webhooks"],
        mailer=world["mailer"],
        documents=world["documents"],
        clock=world["clock"],
        sleep=world["sleeps"],
    )
    deps = reports.ReportWorkerDeps(
        jobs=world["jobs"],
        orders=world["orders"],
        documents=world["documents"],
        max_attempts=max_attempts,
        zone=ZoneInfo("UTC"),
        clock=world["clock"],
        notify=notify,
    )
    return reports.run_report(message, attempt, deps)


def _verified(header: str, body: bytes, secret: str) -> bool:
    """The receiver's check, written here from the scheme, not with tandem.logic.webhooks."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def test_a_succeeded_report_is_announced_signed_and_mailed_once(world: dict[str, Any]) -> None:
    message = _request(world)
    job = _run(world, message)
    assert job.status is JobStatus.SUCCEEDED
    assert job.notified == {"webhook": "delivered", "email": "sent"}
    assert world["jobs"].get("acme", "job-1").notified == job.notified

    [call] = world["webhooks"].calls
    assert call.url == URL
    assert _verified(call.headers["Tandem-Signature"], call.body, SECRET)
    assert not _verified(call.headers["Tandem-Signature"], call.body, "whsec_another")
    sent_at = int(call.headers["Tandem-Signature"].split(",")[0].removeprefix("t="))
    assert sent_at == int(world["clock"]().timestamp())
    event = json.loads(call.body)
    # The link saves the result under its name (Content-Disposition).
    link = "https://documents.example/reports/acme/job-1.json?ttl=3600&filename=sales_summary-2026-11-01-2026-11-27.json"
    assert event["id"] == call.headers["Tandem-Event-Id"] == "job-1:report.ready"
    assert event["type"] == "report.ready"
    assert event["data"]["status"] == "succeeded"
    assert event["data"]["result"]["url"] == link
    assert event["data"]["params"] == {"from": "2026-11-01", "to": "2026-11-27"}

    [mail] = world["mailer"].sent
    assert mail.to == "owner@acme.example"
    assert link in mail.text
    assert "ready" in mail.subject

    # A redelivered message: the job has ended and been announced: nothing more.
    again = _run(world, message, attempt=2)
    assert again == world["jobs"].get("acme", "job-1")
    assert (len(world["webhooks"].calls), len(world["mailer"].sent)) == (1, 1)


def test_a_down_endpoint_is_retried_with_backoff_and_the_report_stays_succeeded(
    world: dict[str, Any],
) -> None:
    world["webhooks"].status = 503
    job = _run(world, _request(world))
    assert job.status is JobStatus.SUCCEEDED
    assert len(world["webhooks"].calls) == 4
    assert world["sleeps"] == [0.5, 1.0, 2.0]  # exponential
    assert job.notified == {"webhook": "failed: the endpoint answered 503 (4 attempts)", "email": "sent"}


def test_an_endpoint_back_on_the_third_try_is_delivered(world: dict[str, Any]) -> None:
    world["webhooks"].answers = [503, 502, 204]
    job = _run(world, _request(world))
    assert job.notified == {"webhook": "delivered", "email": "sent"}
    assert world["sleeps"] == [0.5, 1.0]


def test_an_unreachable_endpoint_and_a_refused_address_are_recorded(world: dict[str, Any]) -> None:
    world["webhooks"].fail_with = TimeoutError("timed out")
    world["mailer"].refuse = {"owner@acme.example"}
    job = _run(world, _request(world))
    assert job.status is JobStatus.SUCCEEDED
    assert job.notified["webhook"] == "failed: TimeoutError (4 attempts)"
    assert job.notified["email"].startswith("failed: refused by the mail service")
    assert world["sleeps"] == [0.5, 1.0, 2.0]  # the webhook's only: a refusal is not retried


def test_a_report_that_fails_for_good_is_announced_as_failed(world: dict[str, Any]) -> None:
    message = _request(world)
    world["orders"].fail_with = TimeoutError()
    with pytest.raises(TimeoutError):
        _run(world, message, attempt=3, max_attempts=3)
    job = world["jobs"].get("acme", "job-1")
    assert (job.status, job.notified) == (JobStatus.FAILED, {"webhook": "delivered", "email": "sent"})
    event = json.loads(world["webhooks"].calls[0].body)
    assert (event["type"], event["data"]["result"], event["data"]["failure_reason"]) == (
        "report.failed",
        None,
        "retries_exhausted",
    )
    assert "could not be made" in world["mailer"].sent[0].subject


def test_a_retried_attempt_is_not_announced(world: dict[str, Any]) -> None:
    message = _request(world)
    world["orders"].fail_with = TimeoutError()
    with pytest.raises(TimeoutError):
        _run(world, message, attempt=1, max_attempts=3)
    assert world["webhooks"].calls == []
    assert world["jobs"].get("acme", "job-1").notified is None


def test_a_job_that_succeeded_unannounced_is_announced_by_the_redelivery(world: dict[str, Any]) -> None:
    message = _request(world)
    world["webhooks"].fail_with = RuntimeError("the worker died here")
    world["mailer"].fail_with = RuntimeError("the worker died here")
    _run(world, message)
    # As if the worker died before recording the outcome: succeeded, not announced.
    stored = world["jobs"].get("acme", "job-1")
    world["jobs"].save(
        stored.model_copy(update={"notified": None, "version": stored.version + 1}), stored.version
    )
    world["webhooks"].fail_with = world["mailer"].fail_with = None
    job = _run(world, message, attempt=2)
    assert job.notified == {"webhook": "delivered", "email": "sent"}
    assert job.attempts == 1  # not run again: only announced
    assert world["documents"].puts == 1


class Killed(BaseException):
    """The worker's process dies here (no `except Exception` catches it)."""


def test_a_worker_killed_between_channels_repeats_neither_on_the_redelivery(world: dict[str, Any]) -> None:
    message = _request(world)
    world["mailer"].fail_with = Killed()  # dies after the webhook's outcome was saved
    with pytest.raises(Killed):
        _run(world, message)
    stored = world["jobs"].get("acme", "job-1")
    assert (stored.status, stored.notified) == (JobStatus.SUCCEEDED, {"webhook": "delivered"})
    world["mailer"].fail_with = None
    job = _run(world, message, attempt=2)
    assert job.notified == {"webhook": "delivered", "email": "sent"}
    assert (len(world["webhooks"].calls), len(world["mailer"].sent)) == (1, 1)


def test_a_lost_save_of_one_outcome_stops_no_channel_and_both_are_saved_at_the_end(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    message = _request(world)
    save, failures = world["jobs"].save, iter([False])

    def saving(job: Any, expected_version: int) -> bool:
        # The first save that records an outcome is lost (a throttled write, retries used up).
        if job.notified == {"webhook": "delivered"} and next(failures, True) is False:
            raise TimeoutError("the write timed out")
        return bool(save(job, expected_version))

    monkeypatch.setattr(world["jobs"], "save", saving)
    job = _run(world, message)
    assert world["jobs"].get("acme", "job-1").notified == {"webhook": "delivered", "email": "sent"}
    assert job.notified == {"webhook": "delivered", "email": "sent"}
    assert (len(world["webhooks"].calls), len(world["mailer"].sent)) == (1, 1)


def test_a_tenant_with_nowhere_to_tell_is_recorded_skipped(world: dict[str, Any]) -> None:
    world["tenants"].add(Tenant(tenant_id="acme", name="Acme Mugs"))
    job = _run(world, _request(world))
    assert job.notified == {
        "webhook": "skipped: no endpoint (PUT /settings/webhooks)",
        "email": "skipped: no report_email",
    }
