"""Where the lake keeps things (keys in the data bucket), and the run's manifest and quarantine.

- raw files, as they came:        raw/{tenant}/{source}/{date}/{name}
- rows that could not be used:    quarantine/{tenant}/{source}/{date}/rejects.jsonl
- what a night made of a date:    manifests/{tenant}/{date}.json

Every part of a key is checked here: a tenant id, a source name or a file name that could
climb out of its prefix ("..", "/") is refused before any key is made.
"""

import json
import re
from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel, Field

from tandem.models.lake import DayJoins, FileManifest, ProductOutcome, Reject

SOURCE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
FILE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def raw_key(tenant_id: str, source: str, day: date, name: str) -> str:
    if not FILE_NAME_PATTERN.match(name) or ".." in name:
        raise ValueError(f"not a file name the lake keeps: {name!r}")
    return f"{_prefix('raw', tenant_id, source, day)}/{name}"


def parse_raw_key(key: str) -> tuple[str, str, date, str] | None:
    """(tenant, source, day, name) of a key under raw/, or None when the key is not a raw file's
    (another prefix, a folder marker, a bad date or a part that raw_key would refuse)."""
    parts = key.split("/")
    if len(parts) != 5 or parts[0] != "raw":
        return None
    _, tenant_id, source, day_text, name = parts
    try:
        day = date.fromisoformat(day_text)
        if raw_key(tenant_id, source, day, name) != key:
            return None  # e.g. 20101201 is an ISO date to Python, not the layout's
    except ValueError:
        return None
    return tenant_id, source, day, name


def quarantine_key(tenant_id: str, source: str, day: date) -> str:
    return f"{_prefix('quarantine', tenant_id, source, day)}/rejects.jsonl"


def manifest_key(tenant_id: str, day: date) -> str:
    check_tenant(tenant_id)
    return f"manifests/{tenant_id}/{day.isoformat()}.json"


def rejects_jsonl(file: str, rejects: Iterable[Reject]) -> bytes:
    """One JSON object per line: the file, its line, the reason, and the row as it came."""
    lines = (
        json.dumps({"file": file, **reject.model_dump(mode="json")}, ensure_ascii=False, sort_keys=True)
        for reject in rejects
    )
    return "".join(f"{line}\n" for line in lines).encode()


class RunManifest(BaseModel):
    """What a night made of one tenant's date: per source, per file, the counts of FileManifest."""

    tenant_id: str
    date: date
    sources: dict[str, list[FileManifest]] = Field(default_factory=dict)
    # What the night's joins found (None until the night has run for the day)
    night: DayJoins | None = None
    # The night's products made from the day (rollups, inventory, …), each with counts and timing
    products: dict[str, ProductOutcome] = Field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return all(manifest.balanced for files in self.sources.values() for manifest in files)

    def to_json(self) -> bytes:
        """Stable bytes (sorted sources and files): a re-run of the same date writes the same manifest."""
        ordered = {
            "tenant_id": self.tenant_id,
            "date": self.date.isoformat(),
            "sources": {
                source: [m.model_dump(mode="json") for m in sorted(files, key=lambda m: m.file)]
                for source, files in sorted(self.sources.items())
            },
        }
        if self.night is not None:
            ordered["night"] = self.night.model_dump(mode="json")
        if self.products:
            ordered["products"] = {
                name: p.model_dump(mode="json") for name, p in sorted(self.products.items())
            }
        return json.dumps(ordered, indent=2, sort_keys=True).encode()


def _prefix(kind: str, tenant_id: str, source: str, day: date) -> str:
    check_tenant(tenant_id)
    if not SOURCE_PATTERN.match(source):
        raise ValueError(f"not a source name: {source!r}")
    return f"{kind}/{tenant_id}/{source}/{day.isoformat()}"


def check_tenant(tenant_id: str) -> None:
    if not TENANT_PATTERN.match(tenant_id):
        raise ValueError(f"not a tenant id: {tenant_id!r}")
