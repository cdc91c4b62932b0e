"""How connectors read a cell: text tidied, whole numbers, calendar days and local times.

One reading per kind of value, so that every connector counts the same rule by the same name
(`trimmed_text`, `number_normalised`) and refuses with the same reason (`bad_number`,
`negative_number`, `bad_date`).
"""

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from tandem.logic.lake.connectors import RowRejected, Rules

_BLANKS = re.compile(r"\s+")
# A whole number as exports write them: "40", "-3", "+7", or a spreadsheet's "40.0".
_WHOLE = re.compile(r"^[+-]?\d+(\.0*)?$")


def trimmed(value: str | None, rules: Rules, *, count: bool = True) -> str | None:
    """Blanks around removed, inner runs of blanks made one (`trimmed_text`); empty → None."""
    if value is None:
        return None
    tidy = _BLANKS.sub(" ", value).strip()
    if count and tidy != value:
        rules.applied("trimmed_text")
    return tidy or None


def order_and_sku(row: dict[str, str | None], rules: Rules) -> tuple[str, str]:
    """An order line's order and product, both required (`missing_order_id`, `missing_sku`)."""
    order_id = trimmed(row.get("order_id"), rules, count=False)
    if not order_id:
        raise RowRejected("missing_order_id", "the line names no order")
    sku = trimmed(row.get("sku"), rules, count=False)
    if not sku:
        raise RowRejected("missing_sku", "the line names no product code")
    return order_id, sku


def whole_number(name: str, value: str | None, rules: Rules, *, required: bool = False) -> int | None:
    """A count or a measure ≥ 0: None when absent (refused when `required`: a missing count is not
    0); `40.0` read as 40 (`number_normalised`); anything else refused."""
    text = (value or "").strip()
    if not text:
        if required:
            raise RowRejected("bad_number", f"{name} is missing")
        return None
    if not _WHOLE.match(text):
        raise RowRejected("bad_number", f"{name} {text!r} is not a whole number")
    if "." in text:
        rules.applied("number_normalised")
    number = int(text.split(".")[0])
    if number < 0:
        raise RowRejected("negative_number", f"{name} is {number}")
    return number


def count_of(name: str, value: str | None, rules: Rules) -> int:
    """A whole number ≥ 0 that must be there (a report's count): `whole_number`, required."""
    number = whole_number(name, value, rules, required=True)
    assert number is not None  # required: a missing one was refused
    return number


def amount(text: str | None, what: str, *, bad: str = "bad_number", negative: str = "bad_number") -> Decimal:
    """A decimal ≥ 0 read from its text, never through a float (cents stay exact); refused with
    `bad` when it is not a finite decimal, `negative` when it is below 0."""
    tidy = (text or "").strip()
    try:
        number = Decimal(tidy)
    except InvalidOperation:
        raise RowRejected(bad, f"{what} {tidy!r} is not a decimal") from None
    if not number.is_finite():
        raise RowRejected(bad, f"{what} {tidy!r} is not a decimal")
    if number < 0:
        raise RowRejected(negative, f"{what} is {tidy}")
    return number


def calendar_day(value: str | None, formats: Sequence[str]) -> date:
    """A day in the first of `formats` that reads it (day-first formats before any other: a
    month-first date is never guessed); `bad_date` otherwise."""
    text = (value or "").strip()
    for pattern in formats:
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a calendar day, no time
        except ValueError:
            continue
    raise RowRejected("bad_date", f"{text!r} is not a date this connector reads")


def local_and_utc(value: str | None, formats: Sequence[str], zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A time written in the tenant's zone: (that local time, the same instant in UTC); `bad_date`."""
    text = (value or "").strip()
    for pattern in formats:
        try:
            naive = datetime.strptime(text, pattern)  # noqa: DTZ007 - the tenant's zone is added below
        except ValueError:
            continue
        local = naive.replace(tzinfo=zone)
        return local, local.astimezone(UTC)
    raise RowRejected("bad_date", f"{text!r} is not a time this connector reads")
