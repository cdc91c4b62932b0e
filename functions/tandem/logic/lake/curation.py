"""One tenant's day of raw files, curated: the use case the nightly run calls per (tenant, date).

For each source with a connector, every raw file of the day is read (any encoding, .gz, CSV
or JSON Lines) and curated; what could not be used goes to the source's quarantine file, and
the day's manifest records every file's counts. A file that cannot be read at all (an unknown
format, a broken gzip) is recorded in the manifest with its error, never skipped in silence.

Idempotent: the same raw files give the same quarantine and manifest bytes, written under the
same keys, so a re-run of a date replaces them with themselves. The curated rows are returned
for the lake's writer (Parquet: the next slice of issue 9).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel

from tandem.logic.lake.connectors import Connector, curate
from tandem.logic.lake.layout import RunManifest, manifest_key, quarantine_key, rejects_jsonl
from tandem.logic.lake.reading import read_records
from tandem.logic.ports import DocumentStore, RawFiles
from tandem.models.lake import FileManifest


@dataclass(frozen=True)
class CurationDeps:
    raw: RawFiles
    documents: DocumentStore
    # source name → its connector, configured for the tenant (zone, currency, mapping)
    connectors: Mapping[str, Connector[Any]]


@dataclass(frozen=True)
class CuratedDay:
    manifest: RunManifest
    rows: dict[str, list[BaseModel]] = field(default_factory=dict)


def curate_day(tenant_id: str, day: date, deps: CurationDeps) -> CuratedDay:
    manifest = RunManifest(tenant_id=tenant_id, date=day)
    rows: dict[str, list[BaseModel]] = {}
    for source, connector in sorted(deps.connectors.items()):
        files: list[FileManifest] = []
        quarantine = b""
        for name in sorted(deps.raw.names(tenant_id, source, day)):
            try:
                raw = read_records(name, deps.raw.read(tenant_id, source, day, name))
            except (ValueError, OSError, EOFError) as unreadable:  # an unknown format, a broken .gz
                files.append(FileManifest(file=name, error=str(unreadable)[:500]))
                continue
            curated = curate(connector, name, raw.records)
            files.append(curated.manifest.model_copy(update={"encoding": raw.encoding}))
            quarantine += rejects_jsonl(name, curated.rejects)
            rows.setdefault(source, []).extend(curated.rows)
        if files:
            manifest.sources[source] = files
        if quarantine:
            deps.documents.put(quarantine_key(tenant_id, source, day), quarantine, "application/x-ndjson")
    deps.documents.put(manifest_key(tenant_id, day), manifest.to_json(), "application/json")
    return CuratedDay(manifest=manifest, rows=rows)
