"""How a source file becomes curated rows: the one loop every connector shares.

A connector knows one kind of source (`erp_orders`, …): its canonical row model, the column
names its usual export uses (a tenant's own names come as a `ColumnMapping`, configuration,
not code), and how one row is cleaned. This module does the rest, the same for all:

1. rename the source's columns to canonical ones (the mapping), every value as text;
2. drop exact duplicates of an earlier row of the same file, and count them;
3. clean each row: a curated row, or a `RowRejected` with a reason code; nothing is dropped
   silently, and each cleaning rule that changes a row is counted by name.

For every file: rows_in = rows_curated + rows_quarantined + duplicates_removed.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel

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


@dataclass
class CuratedFile(Generic[Row]):
    manifest: FileManifest
    rows: list[Row] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def curate(
    connector: Connector[Row],
    file: str,
    records: Iterable[Mapping[str, str | None]],
    mapping: ColumnMapping | None = None,
) -> CuratedFile[Row]:
    """Every record of one file (as csv.DictReader gives them), curated or rejected, and counted."""
    columns = dict(mapping or connector.default_mapping)
    result: CuratedFile[Row] = CuratedFile(FileManifest(file=file))
    seen: set[tuple[tuple[str, str | None], ...]] = set()
    rules, rejects = Rules(), Counter[str]()
    rows_in = duplicates = 0
    for line, record in enumerate(records, start=2):
        rows_in += 1
        identity = tuple(sorted((str(k), v) for k, v in record.items()))
        if identity in seen:
            duplicates += 1
            continue
        seen.add(identity)
        canonical = {name: _text(record.get(source)) for name, source in columns.items()}
        try:
            result.rows.append(connector.clean(canonical, rules))
        except RowRejected as refused:
            rejects[refused.reason] += 1
            result.rejects.append(
                Reject(line=line, reason=refused.reason, detail=refused.detail, row=dict(record))
            )
    result.manifest = FileManifest(
        file=file,
        rows_in=rows_in,
        rows_curated=len(result.rows),
        rows_quarantined=len(result.rejects),
        duplicates_removed=duplicates,
    ).count(rules, rejects)
    return result


def _text(value: str | None) -> str | None:
    """A missing column and an empty cell are both absent; text is otherwise kept as it came."""
    return value if value not in (None, "") else None
