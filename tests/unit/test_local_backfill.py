"""`tandem batch run nightly`: which dates a backfill covers (and which it refuses), the window of
executions (started in date order, never more than N at once, the next when one ends) against
fakes of NightlyFunction and the state machine on a fake clock, and failures: reported, the
others still run, the exit code."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from tandem_local import backfill, cli
from tandem_local.backfill import (
    INVOKE_FAILED,
    BackfillError,
    DayRun,
    NightlyBackfill,
    days_between,
    one_line,
    refuse_unfinished,
    run_nightly,
    summary,
)
from tandem_local.config import LocalCloud
from tandem_local.stack import Stack

LONDON = ZoneInfo("Europe/London")
FIRST = date(2026, 11, 1)
STARTED = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # the fake clock's 0 s, as Step Functions dates it
FUNCTION = "tandem-NightlyFunction"


def _days(count: int) -> list[date]:
    return [FIRST + timedelta(days=n) for n in range(count)]


# --- the dates ----------------------------------------------------------------------------------


def test_a_range_is_every_date_both_ends_included() -> None:
    assert days_between(date(2026, 11, 28), date(2026, 12, 1)) == [
        date(2026, 11, 28),
        date(2026, 11, 29),
        date(2026, 11, 30),
        date(2026, 12, 1),
    ]
    assert days_between(FIRST, FIRST) == [FIRST]


def test_a_backwards_range_is_refused() -> None:
    with pytest.raises(BackfillError, match="--from 2026-11-02 is after --to 2026-11-01"):
        days_between(date(2026, 11, 2), date(2026, 11, 1))


def test_at_most_400_days_at_a_time() -> None:
    assert len(days_between(FIRST, FIRST + timedelta(days=399))) == 400
    with pytest.raises(BackfillError, match="401 days; at most 400"):
        days_between(FIRST, FIRST + timedelta(days=400))


def test_only_finished_days_with_nightly_functions_message() -> None:
    now = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    refuse_unfinished([date(2026, 11, 30), date(2026, 12, 1)], LONDON, now)
    message = "2026-12-02 is not a finished day in Europe/London (today is 2026-12-02)"
    with pytest.raises(BackfillError, match=message.replace("(", r"\(").replace(")", r"\)")):
        refuse_unfinished([date(2026, 12, 1), date(2026, 12, 2)], LONDON, now)


def test_finished_is_judged_in_the_reporting_zone() -> None:
    late = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)  # Tokyo is on the 3rd already; London is not
    refuse_unfinished([date(2026, 12, 2)], ZoneInfo("Asia/Tokyo"), late)
    with pytest.raises(BackfillError, match="not a finished day"):
        refuse_unfinished([date(2026, 12, 2)], LONDON, late)


# --- fakes: NightlyFunction and the state machine, on one fake clock ----------------------------


@dataclass
class Night:
    """What the fakes do for one date."""

    seconds: float = 3.0
    status: str = "SUCCEEDED"
    items: int = 2
    cause: str | None = None
    refused: bool = False  # NightlyFunction raises


@dataclass
class FakeCloud:
    nights: dict[date, Night]
    now: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    starts: list[tuple[date, float]] = field(default_factory=list)  # (date, fake time) per execution
    ends: dict[str, tuple[date, float, float]] = field(default_factory=dict)  # arn → (date, start, end)
    most_running: int = 0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def running(self) -> int:
        return sum(start <= self.now < end for _, start, end in self.ends.values())

    def ended_by(self, moment: float) -> int:
        return sum(end <= moment for _, _, end in self.ends.values())

    # Lambda
    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["FunctionName"] == FUNCTION
        event = json.loads(kwargs["Payload"])
        self.events.append(event)
        day = date.fromisoformat(event["date"])
        night = self.nights[day]
        if night.refused:
            error = {"errorMessage": f"{day} is not a finished day", "errorType": "InvalidRequestError"}
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": _body(error)}
        arn = f"arn:aws:states:eu-west-1:000000000000:execution:nightly:nightly-{day}-rerun-{len(self.ends)}"
        self.ends[arn] = (day, self.now, self.now + night.seconds)
        self.starts.append((day, self.now))
        self.most_running = max(self.most_running, self.running())
        answer = {"date": str(day), "execution": arn, "tenants": event.get("tenants", ["a", "b"]), "items": 1}
        return {"StatusCode": 200, "Payload": _body(answer)}

    # Step Functions
    def describe_execution(self, **kwargs: Any) -> dict[str, Any]:
        day, start, end = self.ends[kwargs["executionArn"]]
        described: dict[str, Any] = {"status": "RUNNING", "startDate": STARTED + timedelta(seconds=start)}
        if self.now < end:
            return described
        night = self.nights[day]
        described.update(status=night.status, stopDate=STARTED + timedelta(seconds=end))
        if night.status == "SUCCEEDED":
            described["output"] = json.dumps({"date": str(day), "items": night.items})
        else:
            described.update(error="States.TaskFailed", cause=night.cause)
        return described


def _body(document: object) -> io.BytesIO:
    return io.BytesIO(json.dumps(document).encode())


def _console() -> tuple[Console, io.StringIO]:
    text = io.StringIO()
    return Console(file=text, width=160, highlight=False), text


def _run(
    fake: FakeCloud,
    days: Iterable[date],
    concurrency: int = 4,
    *,
    wait: bool = True,
    tenants: tuple[str, ...] = (),
) -> tuple[list[DayRun], str]:
    request = NightlyBackfill(FUNCTION, list(days), tenants, concurrency, wait)
    err, text = _console()
    runs = run_nightly(fake, fake, request, err, sleep=fake.sleep, clock=fake.clock)
    return runs, text.getvalue()


# --- the window -----------------------------------------------------------------------------------


def test_dates_start_in_order_never_more_than_n_at_once_the_next_when_one_ends() -> None:
    seconds = [5, 2, 7, 1, 3, 4, 2, 6]
    fake = FakeCloud({day: Night(seconds=s) for day, s in zip(_days(8), seconds, strict=True)})
    runs, _ = _run(fake, _days(8), concurrency=3)

    assert [day for day, _ in fake.starts] == _days(8)
    assert fake.most_running == 3
    # The first three at once; each later one only after one more has ended.
    for n, (_, moment) in enumerate(fake.starts):
        assert fake.ended_by(moment) >= n - 2, (n, moment)
    assert [day for day, moment in fake.starts if moment == 0] == _days(3)
    assert [(run.status, run.items, run.seconds) for run in runs] == [
        ("SUCCEEDED", 2, float(s)) for s in seconds
    ]


def test_one_at_a_time_is_one_after_the_other() -> None:
    fake = FakeCloud({day: Night(seconds=2) for day in _days(3)})
    _run(fake, _days(3), concurrency=1)
    assert fake.most_running == 1
    assert [moment for _, moment in fake.starts] == [0, 2, 4]


def test_a_window_wider_than_the_range_starts_everything_at_once() -> None:
    fake = FakeCloud({day: Night() for day in _days(3)})
    runs, _ = _run(fake, _days(3), concurrency=10)
    assert [moment for _, moment in fake.starts] == [0, 0, 0]
    assert all(run.status == "SUCCEEDED" for run in runs)


def test_the_tenants_are_sent_only_when_given() -> None:
    fake = FakeCloud({day: Night() for day in _days(2)})
    _run(fake, _days(1))
    _run(fake, _days(2)[1:], tenants=("acme", "bravo"))
    assert fake.events == [
        {"date": "2026-11-01"},
        {"date": "2026-11-02", "tenants": ["acme", "bravo"]},
    ]


def test_without_waiting_it_returns_once_the_last_date_is_started() -> None:
    fake = FakeCloud({day: Night(seconds=4) for day in _days(5)})
    runs, _ = _run(fake, _days(5), concurrency=2, wait=False)
    assert fake.most_running == 2
    assert [run.status for run in runs] == ["SUCCEEDED"] * 4 + ["RUNNING"]
    assert fake.now == 8  # two windows waited for, not the last
    out, text = _console()
    assert summary(runs, out, waited=False) == 0
    assert f"2026-11-05  {runs[-1].execution}" in text.getvalue()


# --- failures -----------------------------------------------------------------------------------


def test_failures_are_reported_the_others_still_run_and_the_exit_code_says_so() -> None:
    cause = json.dumps(
        {
            "errorMessage": "2 step(s) of the night failed:\nacme/checkout, acme/finish",
            "errorType": "NightFailedError",
            "stackTrace": ['  File "/var/task/tandem/handlers/nightly_lake.py", line 40'],
        }
    )
    nights = {day: Night() for day in _days(4)}
    nights[_days(4)[1]] = Night(status="FAILED", cause=cause)
    nights[_days(4)[2]] = Night(refused=True)
    fake = FakeCloud(nights)
    runs, progress = _run(fake, _days(4), concurrency=1)

    assert [run.status for run in runs] == ["SUCCEEDED", "FAILED", INVOKE_FAILED, "SUCCEEDED"]
    # The invoke that failed took no slot: the next date started at once.
    assert [day for day, _ in fake.starts] == [_days(4)[0], _days(4)[1], _days(4)[3]]
    assert runs[1].error == "States.TaskFailed: 2 step(s) of the night failed: acme/checkout, acme/finish"
    assert runs[1].items == 1  # the planned count: a failed execution has no output
    assert runs[2].error == "InvalidRequestError: 2026-11-03 is not a finished day"
    assert "2026-11-03: NightlyFunction failed:" in progress
    assert '"errorType": "InvalidRequestError"' in progress  # the payload, whole

    out, text = _console()
    assert summary(runs, out) == 1
    table = text.getvalue()
    assert "2026-11-02 │ FAILED" in table
    assert "States.TaskFailed: 2 step(s) of the night failed: acme/checkout, acme/finish" in table
    assert "2 succeeded" in table
    assert "NightlyFailureQueue" in table


def test_every_date_succeeded_is_exit_code_0() -> None:
    fake = FakeCloud({day: Night() for day in _days(2)})
    runs, _ = _run(fake, _days(2))
    out, text = _console()
    assert summary(runs, out) == 0
    assert "2026-11-01 │ SUCCEEDED │     2 │    3.0 s" in text.getvalue()


def test_dates_interrupted_before_their_end_are_not_a_success() -> None:
    runs = [DayRun(FIRST, status="SUCCEEDED"), DayRun(FIRST, status="RUNNING", execution="arn:x")]
    assert summary(runs, _console()[0]) == 1
    assert summary([*runs[:1], DayRun(FIRST)], _console()[0], waited=False) == 1


def test_a_cause_is_cut_to_one_line() -> None:
    assert one_line("States.Timeout", None) == "States.Timeout"
    assert one_line("Error", "first line\n  second line") == "Error: first line second line"
    long = one_line("E", "x" * 1000)
    assert len(long) == backfill.ERROR_CHARS
    assert long.endswith("…")


# --- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        ["--date", "2026-11-01", "--from", "2026-11-01", "--to", "2026-11-02"],
        ["--from", "2026-11-01"],
        ["--to", "2026-11-01"],
        [],
        ["--from", "2026-11-03", "--to", "2026-11-01"],
        ["--from", "2025-01-01", "--to", "2026-11-01"],
    ],
    ids=["both", "no --to", "no --from", "no date", "backwards", "too long"],
)
def test_the_command_refuses_the_dates_before_looking_for_the_stack(
    arguments: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_stack", lambda _cloud: pytest.fail("looked for the stack"))
    with pytest.raises(SystemExit, match="error: "):
        cli.main(["batch", "run", "nightly", *arguments])


@pytest.mark.parametrize(
    "arguments",
    [["--date", "01/11/2026"], ["--date", "2026-11-01", "--concurrency", "0"], ["--tenant", "Acme"]],
    ids=["date", "concurrency", "tenant"],
)
def test_the_command_refuses_bad_arguments(arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        cli.main(["batch", "run", "nightly", *arguments])
    assert refused.value.code == 2


def _stack() -> Stack:
    return Stack({"NightlyFunction": FUNCTION}, {}, {}, {"ReportingTimezone": "Europe/London"}, {})


def test_the_command_refuses_a_day_not_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_stack", lambda _cloud: _stack())
    today = datetime.now(LONDON).date()
    with pytest.raises(SystemExit, match=f"{today} is not a finished day in Europe/London"):
        cli.main(["batch", "run", "nightly", "--from", str(today - timedelta(days=2)), "--to", str(today)])


def test_the_command_runs_the_dates_through_the_stacks_function(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    days = [date(2026, 11, 1), date(2026, 11, 2)]
    fake = FakeCloud({day: Night(seconds=0) for day in days})
    monkeypatch.setattr(cli, "_stack", lambda _cloud: _stack())
    monkeypatch.setattr(LocalCloud, "client", lambda _self, _service: fake)
    monkeypatch.setattr(backfill, "POLL_SECONDS", 0)
    arguments = ["--from", "2026-11-01", "--to", "2026-11-02", "--tenant", "acme", "--concurrency", "1"]
    assert cli.main(["batch", "run", "nightly", *arguments]) == 0
    assert fake.events == [{"date": str(day), "tenants": ["acme"]} for day in days]
    assert "2 succeeded" in capsys.readouterr().out
