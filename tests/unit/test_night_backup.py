"""The night's Backup state: its answer passes, its caught failure is parked by the outcome step."""

import json
from datetime import date

import pytest

from tandem.logic.lake.nightly import NightFailedError, night_outcome
from tandem.models.nightly import BackupStep, NightFailure, OutcomeStep
from tests.fakes import FakeQueue


def outcome(backup_result: dict[str, object] | None) -> OutcomeStep:
    body: dict[str, object] = {
        "step": "outcome",
        "date": "2026-11-30",
        "item_results": [],
        "finish_results": [],
    }
    if backup_result is not None:
        body["backup_result"] = backup_result
    return OutcomeStep.model_validate(body)


def test_a_failed_backup_is_parked_without_tenant_or_source_and_fails_the_run() -> None:
    queue = FakeQueue()
    caught = {"Error": "Runtime.HandlerError", "Cause": "AccessDenied on Scan"}
    with pytest.raises(NightFailedError, match="backup"):
        night_outcome(outcome(caught), queue)
    [(failure, attributes)] = queue.sent
    assert isinstance(failure, NightFailure)
    assert json.loads(failure.model_dump_json()) == {
        "kind": "nightly_failure",
        "date": "2026-11-30",
        "tenant_id": None,
        "source": None,
        "product": None,
        "step": "backup",
        "error": "Runtime.HandlerError",
        "cause": "AccessDenied on Scan",
    }
    assert attributes == {"kind": "nightly_failure"}


@pytest.mark.parametrize("backup_result", [None, {"tables": {"OrdersTable": 3}}])
def test_a_backup_that_answered_or_a_run_without_one_parks_nothing(
    backup_result: dict[str, object] | None,
) -> None:
    queue = FakeQueue()
    assert night_outcome(outcome(backup_result), queue) == 0
    assert queue.sent == []


def test_the_backup_step_takes_the_nights_date_only() -> None:
    assert BackupStep.model_validate({"step": "backup", "date": "2026-11-30"}).day == date(2026, 11, 30)
    with pytest.raises(ValueError, match="Extra inputs"):
        BackupStep.model_validate({"step": "backup", "date": "2026-11-30", "tenant_id": "acme"})
