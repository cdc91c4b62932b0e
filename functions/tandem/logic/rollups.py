"""The nightly rollup: which day a night covers, and where each tenant's rollup of it is kept.
The rollup itself is computed from the lake (tandem.logic.lake.nightly.finish_day)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tandem.logic.errors import InvalidRequestError


def rollup_key(tenant_id: str, day: date) -> str:
    return f"rollups/daily/tenant={tenant_id}/date={day.isoformat()}/sales.json"


def day_to_roll_up(requested: date | None, fired_at: datetime, zone: ZoneInfo) -> date:
    """The day a run covers: the one asked for, else the local day before the schedule fired.

    Only finished days: a rollup of today would be partial and differ on a re-run.
    """
    today = fired_at.astimezone(zone).date()
    day = requested or today - timedelta(days=1)
    if day >= today:
        raise InvalidRequestError(f"{day} is not a finished day in {zone.key} (today is {today})")
    return day
