"""The stack's schedules: list them with the fire times AWS would use, or fire one now "as of" a date."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aws_croniter import AwsCroniter

from tandem_local.config import LocalCloud
from tandem_local.stack import Stack


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    name: str  # the event's name in template.yaml, e.g. "Nightly"
    resource: str  # the deployed schedule's name
    expression: str
    timezone: str
    target_arn: str
    input_template: str  # the Input as written in the template, placeholders and all

    def next_fires(self, after: datetime, count: int = 3) -> list[datetime]:
        """The next fire times, in the schedule's own time zone (AWS's behaviour; the emulator uses UTC)."""
        zone = ZoneInfo(self.timezone)
        kind, _, body = self.expression.partition("(")
        if kind == "rate":
            # A rate counts from when the schedule was created, which AWS does not report: the
            # times listed keep the interval, counted from `after`.
            every = _rate(body.removesuffix(")"))
            return [(after + every * (n + 1)).astimezone(zone) for n in range(count)]
        if kind != "cron":
            raise ScheduleError(
                f"only cron() and rate() schedules have fire times to list: {self.expression}"
            )
        # aws-croniter computes in UTC only: give it local wall time labelled UTC and
        # label its answers back with the zone (cron means wall-clock times).
        wall = after.astimezone(zone).replace(tzinfo=UTC)
        cron = AwsCroniter(body.removesuffix(")"))
        return [moment.replace(tzinfo=zone) for moment in cron.get_next(wall, count)]

    def fire_time_on(self, day: date) -> datetime:
        """When the schedule fires on local `day` (on a day it skips: its next firing after)."""
        start = datetime.combine(day, time.min, tzinfo=ZoneInfo(self.timezone))
        return self.next_fires(start - timedelta(seconds=1), 1)[0]  # next_fires is strictly after

    def event_for(self, fired_at: datetime) -> dict[str, Any]:
        """The Input Scheduler delivers for a firing at `fired_at`, context attributes filled in."""
        values = {
            "<aws.scheduler.scheduled-time>": fired_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "<aws.scheduler.execution-id>": str(uuid.uuid4()),
            "<aws.scheduler.attempt-number>": "1",
            "<aws.scheduler.schedule-arn>": f"arn:aws:scheduler:::schedule/default/{self.resource}",
        }
        text = self.input_template or "{}"
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return dict(json.loads(text))


_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def _rate(body: str) -> timedelta:
    """`1 minute`, `5 minutes`, `2 hours`, `1 day` → the interval."""
    value, _, unit = body.strip().partition(" ")
    seconds = _RATE_UNITS.get(unit.strip().removesuffix("s"))
    if not value.isdigit() or seconds is None:
        raise ScheduleError(f"not a rate expression: rate({body})")
    return timedelta(seconds=int(value) * seconds)


def schedules(cloud: LocalCloud, stack: Stack) -> list[Schedule]:
    scheduler = cloud.client("scheduler")
    found = []
    for logical, name in sorted(stack.of_type("AWS::Scheduler::Schedule").items()):
        deployed = scheduler.get_schedule(Name=name)
        written = stack.processed["Resources"][logical]["Properties"]
        found.append(
            Schedule(
                name=_event_name(stack, logical),
                resource=name,
                expression=deployed["ScheduleExpression"],
                # The template's zone, not the deployed one: the emulator ignores it (gaps.py, gap 3).
                timezone=str(stack.value(written.get("ScheduleExpressionTimezone", "UTC"))),
                target_arn=deployed["Target"]["Arn"],
                input_template=written.get("Target", {}).get("Input", "{}"),
            )
        )
    return found


def _event_name(stack: Stack, logical: str) -> str:
    """SAM names a schedule <Function><Event>; the template's reader knows it by <Event>."""
    for function in stack.functions():
        if logical.startswith(function) and logical != function:
            return logical[len(function) :]
    return logical


def find(cloud: LocalCloud, stack: Stack, name: str) -> Schedule:
    candidates = schedules(cloud, stack)
    for schedule in candidates:
        if name in (schedule.name, schedule.resource):
            return schedule
    known = ", ".join(s.name for s in candidates) or "none"
    raise ScheduleError(f"no schedule {name!r}; the stack has: {known}")


def run(cloud: LocalCloud, schedule: Schedule, day: date | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Invoke the target now with the event of the firing on `day` (default: now); (event, result)."""
    fired_at = schedule.fire_time_on(day) if day else datetime.now(UTC)
    event = schedule.event_for(fired_at)
    answer = cloud.client("lambda").invoke(
        FunctionName=schedule.target_arn, Payload=json.dumps(event).encode()
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        raise ScheduleError(f"{schedule.name} failed: {json.dumps(payload)}")
    return event, payload
