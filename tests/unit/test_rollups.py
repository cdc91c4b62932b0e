from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tandem.logic.errors import InvalidRequestError
from tandem.logic.rollups import day_to_roll_up

LONDON = ZoneInfo("Europe/London")


def test_day_to_roll_up_is_yesterday_in_the_schedules_zone() -> None:
    # 02:00 in London in summer is 01:00 UTC: "yesterday" is London's
    assert day_to_roll_up(None, datetime(2026, 7, 15, 1, 0, tzinfo=UTC), LONDON) == date(2026, 7, 14)
    # just after midnight UTC but still the evening before in New York
    assert day_to_roll_up(
        None, datetime(2026, 7, 15, 2, 0, tzinfo=UTC), ZoneInfo("America/New_York")
    ) == date(2026, 7, 13)


def test_day_to_roll_up_accepts_any_past_day_and_refuses_unfinished_ones() -> None:
    fired = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert day_to_roll_up(date(2011, 2, 28), fired, LONDON) == date(2011, 2, 28)
    for unfinished in (date(2026, 11, 28), date(2026, 12, 1)):
        with pytest.raises(InvalidRequestError):
            day_to_roll_up(unfinished, fired, LONDON)
