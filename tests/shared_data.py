"""The shared, real data files (../shared/data beside the clone) and the independent readings the
lake's tests count them with: the csv module, never the code under test."""

from __future__ import annotations

import csv
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(newline="", encoding=encoding) as handle:
        return list(csv.DictReader(handle))


def exact_duplicates(rows: list[dict[str, str]]) -> int:
    """Rows equal, field for field, to an earlier row of the same file."""
    seen: set[tuple[str, ...]] = set()
    count = 0
    for row in rows:
        key = tuple(row.values())
        count += key in seen
        seen.add(key)
    return count
