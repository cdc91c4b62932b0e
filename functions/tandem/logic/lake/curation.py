"""Raw files → the curated lake, per (tenant, source, date): the one use case the intake worker
(a file landed) and the nightly run (every source of a day) both call.

`curate_partition` reads every raw file of one source and day (any encoding, .gz, CSV or JSON
Lines) and curates it:
- each file's rows go to the Parquet parts of the tables its source feeds
  (`curated/{table}/tenant=…/date=…/{source}__{file}.parquet`); parts of files no longer there
  are removed;
- what could not be used goes to `quarantine/{tenant}/{source}/{date}/rejects.jsonl`, each row
  as it came with its reason;
- the source's manifest part (`manifests/{tenant}/{date}/{source}.json`) counts every file;
  a file that cannot be read at all (an unknown format, a broken gzip) is listed with its error,
  never skipped in silence.
`assemble_day` then writes the day's manifest (`manifests/{tenant}/{date}.json`) from its parts.

Idempotent: the same raw files give the same bytes under the same keys. Two workers may run for
the same partition at once (S3 events come on a standard queue, in any order): each one writes,
then checks that what it read is still what is there, and goes again if not. Whichever finishes
last has read what the other wrote, so the final state holds every file.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from tandem.logic.lake.connectors import curate
from tandem.logic.lake.layout import RunManifest, manifest_key, quarantine_key, rejects_jsonl
from tandem.logic.lake.reading import read_records
from tandem.logic.lake.sources import Source
from tandem.logic.lake.tables import SOURCE_TABLES, TABLES, curated_prefix, part_key, split
from tandem.logic.ports import BulkCurator, LakeObjects, ParquetCodec, RawFiles
from tandem.models.lake import DayJoins, FileManifest, ProductOutcome

PARQUET = "application/vnd.apache.parquet"
JSON = "application/json"
NDJSON = "application/x-ndjson"
# The night's part of a day's manifest: a name no source can have (sources start with a letter).
NIGHT_PART = "_night"
# The parts of the night's products: `_product-{name}` (tandem.logic.lake.products)
PRODUCT_PART = "_product-"
# Rounds of "write, then check nothing changed meanwhile" before giving up (the message is retried).
ROUNDS = 5


class PartitionChanged(RuntimeError):
    """Files kept landing while a partition was curated: a transient state, retried by the queue."""


@dataclass(frozen=True)
class CurationDeps:
    raw: RawFiles
    objects: LakeObjects
    parquet: ParquetCodec
    # source name → its connector and column mapping, as the tenant configured them
    sources: Mapping[str, Source]
    # A connector's rules run in bulk (SQL) where they have such an implementation; None: Python only
    bulk: BulkCurator | None = None


def curate_partition(tenant_id: str, source: str, day: date, deps: CurationDeps) -> list[FileManifest]:
    """Every raw file of one source and day, curated; the source's manifest part written."""
    setup = deps.sources[source]
    for _ in range(ROUNDS):
        names = sorted(deps.raw.names(tenant_id, source, day))
        files: list[FileManifest] = []
        quarantine = b""
        parts: set[str] = set()
        done = _curate_in_bulk(tenant_id, setup, day, names, deps)
        for name in names:
            manifest, rejects, written = done.get(name) or _curate_file(tenant_id, setup, day, name, deps)
            files.append(manifest)
            quarantine += rejects
            parts |= written
        _remove_other_parts(tenant_id, source, day, parts, deps.objects)
        _put_or_delete(deps.objects, quarantine_key(tenant_id, source, day), quarantine, NDJSON)
        part = json.dumps([m.model_dump(mode="json") for m in files], indent=2, sort_keys=True).encode()
        _put_or_delete(deps.objects, _part_key(tenant_id, day, source), part if files else b"", JSON)
        if sorted(deps.raw.names(tenant_id, source, day)) == names:
            return files
    raise PartitionChanged(f"{tenant_id}/{source}/{day}: files kept landing during {ROUNDS} rounds")


def assemble_day(tenant_id: str, day: date, deps: CurationDeps, keep_empty: bool = True) -> RunManifest:
    return assemble_manifest(tenant_id, day, deps.objects, keep_empty)


def assemble_manifest(
    tenant_id: str, day: date, objects: LakeObjects, keep_empty: bool = True
) -> RunManifest:
    """The day's manifest from its sources' parts (rewritten until the parts stop changing).

    `keep_empty=False` (a file was removed): a day left without any file loses its manifest
    instead of keeping an empty one, so emptying the bucket leaves it empty.
    """
    for _ in range(ROUNDS):
        parts = _read_parts(tenant_id, day, objects)
        manifest = RunManifest(tenant_id=tenant_id, date=day)
        for source, body in parts.items():
            if source == NIGHT_PART:  # the night's joins (tandem.logic.lake.derive), not a source
                manifest.night = DayJoins.model_validate_json(body)
                continue
            if source.startswith(PRODUCT_PART):  # a night's product (tandem.logic.lake.products)
                outcome = ProductOutcome.model_validate_json(body)
                manifest.products[outcome.product] = outcome
                continue
            manifest.sources[source] = [FileManifest.model_validate(m) for m in json.loads(body)]
        body = manifest.to_json() if parts or keep_empty else b""
        _put_or_delete(objects, manifest_key(tenant_id, day), body, JSON)
        if _read_parts(tenant_id, day, objects) == parts:
            return manifest
    raise PartitionChanged(f"{tenant_id}/{day}: the manifest's parts kept changing")


def curate_day(tenant_id: str, day: date, deps: CurationDeps) -> RunManifest:
    """Every source of one tenant's day: what the nightly run does for a (tenant, date)."""
    for source in sorted(deps.sources):
        if deps.raw.names(tenant_id, source, day) or deps.objects.get(_part_key(tenant_id, day, source)):
            curate_partition(tenant_id, source, day, deps)
    return assemble_day(tenant_id, day, deps)


def _curate_in_bulk(
    tenant_id: str, setup: Source, day: date, names: list[str], deps: CurationDeps
) -> dict[str, tuple[FileManifest, bytes, set[str]]]:
    """The files the bulk (SQL) curator takes, their parts written as each batch completes."""
    if deps.bulk is None:
        return {}

    def read(name: str) -> bytes:
        return deps.raw.read(tenant_id, setup.name, day, name)

    done: dict[str, tuple[FileManifest, bytes, set[str]]] = {}
    for name, bulk in deps.bulk.curate_files(setup.connector, names, read, setup.mapping):
        keys: set[str] = set()
        for table, body in bulk.parts.items():
            key = part_key(table, tenant_id, day, setup.name, name)
            deps.objects.put(key, body, PARQUET)
            keys.add(key)
        done[name] = (bulk.manifest, rejects_jsonl(name, bulk.rejects), keys)
    return done


def _curate_file(
    tenant_id: str, setup: Source, day: date, name: str, deps: CurationDeps
) -> tuple[FileManifest, bytes, set[str]]:
    """One file through its Python connector (every source; the files the bulk curator declines)."""
    try:
        data = deps.raw.read(tenant_id, setup.name, day, name)
    except (ValueError, OSError, EOFError) as unreadable:
        return FileManifest(file=name, error=str(unreadable)[:500]), b"", set()
    try:
        raw = read_records(name, data)
    except (ValueError, OSError, EOFError) as unreadable:  # an unknown format, a broken .gz
        return FileManifest(file=name, error=str(unreadable)[:500]), b"", set()
    curated = curate(setup.connector, name, raw.records, setup.mapping)
    written: set[str] = set()
    for table, rows in split(setup.name, name, curated.rows).items():
        if rows:
            key = part_key(table, tenant_id, day, setup.name, name)
            deps.objects.put(key, deps.parquet.encode(TABLES[table], rows), PARQUET)
            written.add(key)
    manifest = curated.manifest.model_copy(update={"encoding": raw.encoding})
    return manifest, rejects_jsonl(name, curated.rejects), written


def _remove_other_parts(tenant_id: str, source: str, day: date, keep: set[str], objects: LakeObjects) -> None:
    """Parts of this source's files that are gone (a raw file deleted, or now without rows)."""
    for table in SOURCE_TABLES[source]:
        prefix = f"{curated_prefix(table, tenant_id, day)}{source}__"
        for key in objects.keys(prefix):
            if key not in keep:
                objects.delete(key)


def _put_or_delete(objects: LakeObjects, key: str, body: bytes, content_type: str) -> None:
    if body:
        objects.put(key, body, content_type)
    elif objects.get(key) is not None:
        objects.delete(key)


def part_key_of(tenant_id: str, day: date, source: str) -> str:
    """The key of one part of a day's manifest (a source's, the night's joins', a product's)."""
    return _part_key(tenant_id, day, source)


def _part_key(tenant_id: str, day: date, source: str) -> str:
    return f"{manifest_key(tenant_id, day).removesuffix('.json')}/{source}.json"


def _read_parts(tenant_id: str, day: date, objects: LakeObjects) -> dict[str, bytes]:
    prefix = _part_key(tenant_id, day, "x")[:-6]
    parts: dict[str, bytes] = {}
    for key in objects.keys(prefix):
        body = objects.get(key)
        if body is not None and key.endswith(".json"):
            parts[key[len(prefix) : -5]] = body
    return parts
