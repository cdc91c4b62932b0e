"""Backups of the deployment's DynamoDB tables, and their restore into empty tables.

A backup of a date is `backups/{date}/{table}.jsonl.gz` for each table and
`backups/{date}/manifest.json` (per table: items, sha256 and size of the gzip object).
Items are kept in DynamoDB's typed JSON (`{"Item": {"price": {"N": "6.50"}}}`, binary values
base64), the line format of DynamoDB's own export to S3: numbers stay the exact decimal text
DynamoDB holds, sets stay sets, and empty strings, binary and nested maps and lists pass
unchanged, so a restore writes back exactly what was read.

The same data gives the same bytes: items are sorted by their key, attributes and set members
by name and value, and the gzip header carries no time or name. A backup of a date run again
rewrites that date.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO, Any

from tandem.logic.errors import ConflictError, NotFoundError, TandemError
from tandem.logic.ports import BackupObjects, BackupTables, Clock, TypedItem
from tandem.models.backups import BackupManifest, TableBackup, TableRestored
from tandem.observability import logger

BACKUPS_PREFIX = "backups/"
# A table's gzip object is spooled in memory up to this size, then on disk (/tmp on Lambda).
SPOOL_BYTES = 8 * 1024 * 1024
_CHUNK = 1024 * 1024


def backup_prefix(day: date) -> str:
    return f"{BACKUPS_PREFIX}{day.isoformat()}/"


def manifest_key(day: date) -> str:
    return f"{backup_prefix(day)}manifest.json"


def table_key(day: date, table: str) -> str:
    return f"{backup_prefix(day)}{table}.jsonl.gz"


class RestoreRefusedError(ConflictError):
    """A table to restore into holds items: a restore never mixes a backup with live data."""


class BackupCorruptError(TandemError):
    """A backup's object does not match its manifest (checksum, size or item count)."""


@dataclass(frozen=True)
class BackupDeps:
    tables: BackupTables
    objects: BackupObjects
    clock: Clock


# ---------------------------------------------------------------- typed JSON, losslessly


def _encode_value(value: dict[str, Any]) -> dict[str, Any]:
    """One typed value as JSON: binary as base64, set members sorted (a set has no order)."""
    ((tag, inner),) = value.items()
    if tag == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if tag == "BS":
        return {"BS": sorted(base64.b64encode(b).decode("ascii") for b in inner)}
    if tag == "SS":
        return {"SS": sorted(inner)}
    if tag == "NS":
        # By value, the text as DynamoDB holds it; ties (never in a set) broken by the text.
        return {"NS": sorted(inner, key=lambda n: (Decimal(n), n))}
    if tag == "M":
        return {"M": {name: _encode_value(v) for name, v in inner.items()}}
    if tag == "L":
        return {"L": [_encode_value(v) for v in inner]}
    return {tag: inner}  # S, N (decimal text), BOOL, NULL: JSON already


def _decode_value(value: dict[str, Any]) -> dict[str, Any]:
    ((tag, inner),) = value.items()
    if tag == "B":
        return {"B": base64.b64decode(inner)}
    if tag == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if tag == "M":
        return {"M": {name: _decode_value(v) for name, v in inner.items()}}
    if tag == "L":
        return {"L": [_decode_value(v) for v in inner]}
    return {tag: inner}


def encode_item(item: TypedItem) -> bytes:
    """One line of a table's object: `{"Item": {...}}` and a newline, attributes by name."""
    body = {"Item": {name: _encode_value(value) for name, value in item.items()}}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def decode_item(line: bytes) -> TypedItem:
    return {name: _decode_value(value) for name, value in json.loads(line)["Item"].items()}


def _key_part(value: dict[str, Any]) -> tuple[str, Any]:
    ((tag, inner),) = value.items()
    return tag, Decimal(inner) if tag == "N" else inner  # S: str, B: bytes


def item_order(item: TypedItem, key_names: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    """Where an item goes in its table's object: by partition key, then sort key, by value."""
    return tuple(_key_part(item[name]) for name in key_names)


# ---------------------------------------------------------------- backup


def run_backup(day: date, deps: BackupDeps) -> BackupManifest:
    """Every table exported under `backups/{day}/`, then the manifest (last: a manifest names
    only objects that are complete)."""
    started = deps.clock()
    entries = [_export_table(day, table, deps) for table in deps.tables.names()]
    manifest = BackupManifest(day=day, created_at=started, tables=entries)
    deps.objects.put(manifest_key(day), manifest.model_dump_json(indent=2).encode(), "application/json")
    logger.info(
        "backup written",
        extra={"date": day.isoformat(), "tables": {e.table: e.items for e in entries}},
    )
    return manifest


def _export_table(day: date, table: str, deps: BackupDeps) -> TableBackup:
    keys = deps.tables.key_names(table)
    # The table is held once, as its encoded lines (smaller than the scan's dicts): sorting needs
    # every item; the scan's pages are dropped as they are encoded.
    lines = [(item_order(item, keys), encode_item(item)) for item in deps.tables.scan(table)]
    lines.sort(key=lambda pair: pair[0])
    digest = hashlib.sha256()
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        hashing = _HashingWriter(spool, digest)
        # mtime=0 and no file name: the gzip header is the same on every run.
        with gzip.GzipFile(fileobj=hashing, mode="wb", compresslevel=6, mtime=0, filename="") as packed:
            for _, line in lines:
                packed.write(line)
        count = len(lines)
        del lines
        spool.seek(0)
        key = table_key(day, table)
        deps.objects.upload(key, spool, "application/gzip")  # type: ignore[arg-type]
    return TableBackup(table=table, key=key, items=count, sha256=digest.hexdigest(), size_bytes=hashing.size)


class _HashingWriter:
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, target: IO[bytes], digest: Any) -> None:
        self._target, self._digest, self.size = target, digest, 0

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self.size += len(data)
        return self._target.write(data)

    def flush(self) -> None:
        self._target.flush()


# ---------------------------------------------------------------- restore


def read_manifest(day: date, objects: BackupObjects) -> BackupManifest:
    body = objects.get(manifest_key(day))
    if body is None:
        raise NotFoundError(f"no backup of {day.isoformat()}: {manifest_key(day)} does not exist")
    return BackupManifest.model_validate_json(body)


def restore_backup(day: date, only: str | None, deps: BackupDeps) -> list[TableRestored]:
    """The backup of `day` (every table, or only `only`) written into empty tables.

    Nothing is written unless every chosen table exists and is empty and every object matches
    the manifest's size and sha256: a refused or broken restore leaves the tables as they were.
    """
    manifest = read_manifest(day, deps.objects)
    chosen = [e for e in manifest.tables if only is None or e.table == only]
    if not chosen:
        names = ", ".join(e.table for e in manifest.tables)
        raise NotFoundError(f"the backup of {day.isoformat()} has no table '{only}' (it has: {names})")
    existing = set(deps.tables.names())
    missing = [e.table for e in chosen if e.table not in existing]
    if missing:
        raise NotFoundError(f"this deployment has no table {', '.join(missing)}")
    full = [e.table for e in chosen if not deps.tables.is_empty(e.table)]
    if full:
        raise RestoreRefusedError(
            f"refusing to restore into tables that hold items: {', '.join(full)}; "
            "a restore writes only into empty tables (empty them, or restore into a new stack)"
        )
    files: list[tuple[TableBackup, IO[bytes]]] = []
    try:
        for entry in chosen:  # every checksum first
            files.append((entry, _verified(entry, deps.objects)))
        return [_write_table(entry, file, deps.tables) for entry, file in files]
    finally:
        for _, file in files:
            file.close()


def _verified(entry: TableBackup, objects: BackupObjects) -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by the caller)
    if not objects.download(entry.key, spool):  # type: ignore[arg-type]
        spool.close()
        raise BackupCorruptError(f"{entry.key} is named by the manifest but does not exist")
    spool.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := spool.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    if size != entry.size_bytes or digest.hexdigest() != entry.sha256:
        spool.close()
        raise BackupCorruptError(
            f"{entry.key} does not match the manifest: {size} bytes, sha256 {digest.hexdigest()}; "
            f"the manifest says {entry.size_bytes} bytes, sha256 {entry.sha256}"
        )
    spool.seek(0)
    return spool


def _lines(file: IO[bytes]) -> Iterator[TypedItem]:
    with gzip.GzipFile(fileobj=file, mode="rb") as unpacked:
        for line in unpacked:
            if line.strip():
                yield decode_item(line)


def _write_table(entry: TableBackup, file: IO[bytes], tables: BackupTables) -> TableRestored:
    written = tables.write(entry.table, _lines(file))
    if written != entry.items:
        raise BackupCorruptError(f"{entry.key}: wrote {written} items, the manifest says {entry.items}")
    logger.info("table restored", extra={"table": entry.table, "items": written})
    return TableRestored(table=entry.table, items=written)
