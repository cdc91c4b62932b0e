"""The local cloud's schedule listing: cron() fire times in the schedule's zone, rate() intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tandem_local.schedules import Schedule, ScheduleError

AFTER = datetime(2026, 12, 2, 9, 30, 15, tzinfo=UTC)


def _schedule(expression: str, timezone: str = "UTC") -> Schedule:
    return Schedule("Sweep", "tandem-Sweep", expression, timezone, "arn:aws:lambda:::function:f", "{}")


def test_a_rate_schedule_lists_its_interval() -> None:
    fires = _schedule("rate(1 minute)").next_fires(AFTER, 3)
    assert [f - AFTER for f in fires] == [timedelta(minutes=n) for n in (1, 2, 3)]
    assert _schedule("rate(2 hours)").next_fires(AFTER, 1) == [AFTER + timedelta(hours=2)]


def test_a_cron_schedule_lists_wall_clock_times_in_its_zone() -> None:
    [fire] = _schedule("cron(0 2 * * ? *)", "Europe/London").next_fires(AFTER, 1)
    assert (fire.day, fire.hour, str(fire.tzinfo)) == (3, 2, "Europe/London")


@pytest.mark.parametrize("expression", ["rate(soon)", "rate(1 fortnight)", "at(2026-12-02T10:00:00)"])
def test_other_expressions_are_refused_saying_so(expression: str) -> None:
    with pytest.raises(ScheduleError):
        _schedule(expression).next_fires(AFTER)
