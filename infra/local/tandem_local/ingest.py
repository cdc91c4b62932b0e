"""What `tandem ingest` sends, decided without AWS: the files a path names, and the day a file holds.

A raw file lands under one date (`raw/{tenant}/{source}/{date}/{name}`), and the worker curates
it as part of that date. Without `--date` the date comes from the file itself: it is read and
curated exactly as the worker will (`tandem.logic.lake.reading`, the source's connector and
mapping), and the calendar days of its curated rows are taken in the tenant's zone. A file is
filed under a date only when it holds exactly one; anything else is refused, naming the days,
rather than guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tandem.logic.lake.connectors import curate
from tandem.logic.lake.reading import RawFile, read_records
from tandem.logic.lake.sources import Source
from tandem.models.lake import OrderLineRow
from tandem.models.lake_ads import AdSpendRow
from tandem.models.lake_crm import DealRow, LeadRow
from tandem.models.lake_disputes import DisputeRow

# What a folder contributes; a file named on the command line is taken whatever its suffix
# (the reader then says whether the lake can read it).
LAKE_SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json")
DAYS_SHOWN = 5


class FileRefused(ValueError):
    """A file `tandem ingest` will not upload; the message says why and what to do."""


class NoSingleDay(FileRefused):
    """A file without exactly one day in it: `days` are the ones it holds (none, or several)."""

    def __init__(self, message: str, days: Sequence[date] = ()) -> None:
        super().__init__(message)
        self.days = tuple(days)


@dataclass
class Expanded:
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line per path that gave no file


def files_in(paths: Iterable[Path]) -> Expanded:
    """The files the paths name, in order: a file as named, a folder's lake files (recursively,
    sorted, hidden ones and those under hidden folders left out). Each file once."""
    expanded, seen = Expanded(), set[Path]()
    for path in paths:
        if path.is_file():
            found = [path]
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _lake_file(p.relative_to(path)))
            if not found:
                expanded.problems.append(f"{path}: no {', '.join(LAKE_SUFFIXES)} file in this folder")
        else:
            expanded.problems.append(f"{path}: no such file or folder")
            continue
        for file in found:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                expanded.files.append(file)
    return expanded


def _lake_file(relative: Path) -> bool:
    # A hidden folder is an editor's or a tool's (.git, .ipynb_checkpoints), never an export.
    hidden = any(part.startswith(".") for part in relative.parts)
    return not hidden and relative.name.lower().endswith(LAKE_SUFFIXES)


def read(name: str, data: bytes) -> RawFile:
    """The file's records as the worker will read them; a format the lake does not read is refused."""
    try:
        return read_records(name, data)
    except (ValueError, OSError, EOFError) as unreadable:  # an unknown suffix, a broken .gz
        raise FileRefused(f"the lake cannot read it: {unreadable}") from None


def _ordered(row: OrderLineRow, zone: ZoneInfo) -> date:
    return row.ordered_at.astimezone(zone).date()  # stored in UTC; the shop's day is local


def _won(row: DealRow, zone: ZoneInfo) -> date:
    return row.won_date.astimezone(zone).date()  # stored in UTC; the shop's day is local


def _first_contact(row: LeadRow, _zone: ZoneInfo) -> date:
    return row.first_contact_date  # a calendar day already: the CRM gives no time


def _reported(row: AdSpendRow, _zone: ZoneInfo) -> date:
    return row.day  # the ad platform's reporting day, as stated


def _opened(row: DisputeRow, zone: ZoneInfo) -> date:
    return row.opened_at.astimezone(zone).date()  # stored in UTC; the shop's day is local


# Each curated row model's day. A model not listed (erp_products' ProductRow) has no day.
DAY_OF_ROW: dict[type[Any], Callable[[Any, ZoneInfo], date]] = {
    OrderLineRow: _ordered,
    DealRow: _won,
    LeadRow: _first_contact,
    AdSpendRow: _reported,
    DisputeRow: _opened,
}


def days_in(source: Source, raw: RawFile, zone: ZoneInfo) -> list[date]:
    """The distinct calendar days (in `zone`) of the file's curated rows, sorted."""
    day_of = DAY_OF_ROW.get(source.connector.row_model)
    if day_of is None:
        raise NoSingleDay(f"{source.name} rows carry no date: pass --date YYYY-MM-DD to file it under one")
    curated = curate(source.connector, raw.name, raw.records, source.mapping)
    return sorted({day_of(row, zone) for row in curated.rows})


def day_of(source: Source, raw: RawFile, zone: ZoneInfo) -> date:
    """The one day the file holds, or NoSingleDay naming the days it holds."""
    days = days_in(source, raw, zone)
    if len(days) == 1:
        return days[0]
    if not days:
        raise NoSingleDay(
            f"no {source.name} row of it has a usable date ({len(raw.records)} rows read): "
            "pass --date YYYY-MM-DD to file it under one"
        )
    shown = ", ".join(str(day) for day in days[:DAYS_SHOWN])
    more = f", … {days[-1]}" if len(days) > DAYS_SHOWN else ""
    raise NoSingleDay(
        f"holds {len(days)} days ({shown}{more}); a raw file is filed under one date: "
        "pass --date YYYY-MM-DD, or split it by day",
        days,
    )
