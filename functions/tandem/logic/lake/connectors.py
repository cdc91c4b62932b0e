"""How a source file becomes curated rows: the one loop every connector shares.

A connector knows one kind of source (`erp_orders`, …): its canonical row model, the column
names its usual export uses (a tenant's own names come as a `ColumnMapping`, configuration,
not code), and how one row is cleaned. This module does the rest, the same for all:

1. rename the source's columns to canonical ones (the mapping), every value as text;
2. drop exact duplicates of an earlier row of the same file, and count them;
3. clean each row: a curated row, or a `RowRejected` with a reason code; nothing is dropped
   silently, and each cleaning rule that changes a row is counted by name. A row the reader
   could not split into the file's columns (more fields than the header, a JSON Lines line that
   is not an object) is quarantined as `malformed_row` before any connector sees it.

For every file: rows_in = rows_curated + rows_quarantined + duplicates_removed.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from tandem.logic.lake.reading import MALFORMED
from tandem.models.lake import FileManifest, Reject

Row = TypeVar("Row", bound=BaseModel)
# canonical field → the source's column name
ColumnMapping = Mapping[str, str]


class RowRejected(ValueError):
    """A row that cannot be used: `reason` is the quarantine's reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Rules(Counter[str]):
    """The named cleaning rules one file's rows met (a rule that changed nothing is not counted)."""

    def applied(self, name: str) -> None:
        self[name] += 1


# A row's cleaning: its canonical fields as text (None when the column is absent or empty) → a row.
Cleaner = Callable[[dict[str, str | None], Rules], Row]


@dataclass(frozen=True)
class Connector(Generic[Row]):
    name: str
    row_model: type[Row]
    default_mapping: ColumnMapping
    clean: Cleaner[Row]
    # What a bulk (SQL) implementation of the same rules needs (tandem.logic.ports.BulkCurator):
    # the tenant's settings, for a connector that has one; None otherwise.
    settings: Any = None


@dataclass
class CuratedFile(Generic[Row]):
    manifest: FileManifest
    rows: list[Row] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def curate(
    connector: Connector[Row],
    file: str,
    records: Iterable[Mapping[Any, Any]],
    mapping: ColumnMapping | None = None,
) -> CuratedFile[Row]:
    """Every record of one file (as csv.DictReader or tandem.logic.lake.reading give them), curated
    or rejected, and counted."""
    columns = dict(mapping or connector.default_mapping)
    result: CuratedFile[Row] = CuratedFile(FileManifest(file=file))
    seen: set[tuple[tuple[str, str | None], ...]] = set()
    rules, rejects = Rules(), Counter[str]()
    rows_in = duplicates = 0
    for line, record in enumerate(records, start=2):
        rows_in += 1
        as_text = _as_text(record)
        identity = tuple(sorted(as_text.items()))
        if identity in seen:
            duplicates += 1
            continue
        seen.add(identity)
        try:
            if None in record or MALFORMED in record:
                raise RowRejected("malformed_row", "the row does not fit the file's columns")
            canonical = {name: _text(record.get(source)) for name, source in columns.items()}
            result.rows.append(connector.clean(canonical, rules))
        except RowRejected as refused:
            rejects[refused.reason] += 1
            result.rejects.append(
                Reject(line=line, reason=refused.reason, detail=refused.detail, row=as_text)
            )
    result.manifest = FileManifest(
        file=file,
        rows_in=rows_in,
        rows_curated=len(result.rows),
        rows_quarantined=len(result.rejects),
        duplicates_removed=duplicates,
    ).count(rules, rejects)
    return result


def _as_text(record: Mapping[Any, Any]) -> dict[str, str | None]:
    """The record as it came, for duplicates and quarantine: csv's extra fields (key None, a list)
    joined back as they were written."""
    return {
        "_extra" if key is None else str(key): ",".join(value) if isinstance(value, list) else value
        for key, value in record.items()
    }


def _text(value: str | None) -> str | None:
    """A missing column and an empty cell are both absent; text is otherwise kept as it came."""
    return value if value not in (None, "") else None
