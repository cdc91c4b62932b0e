"""A raw file's bytes as records: CSV, CSV.gz or JSON Lines, in whatever encoding it came.

Exports arrive as they are: UTF-8 with or without a byte-order mark, or Windows-1252 from a
spreadsheet, sometimes gzipped. Text is read as UTF-8 when it is valid UTF-8, else as
Windows-1252, else as Latin-1 (which decodes any byte): a file is never refused for its
encoding, and the encoding used is reported. A JSON Lines line that is not a JSON object is
kept as a record of its own `_line`, so the connector loop can quarantine it
(`malformed_row`) rather than lose it.
"""

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

MALFORMED = "_line"


@dataclass(frozen=True)
class RawFile:
    name: str
    encoding: str
    records: list[dict[str | None, str | None]]


def read_records(name: str, data: bytes) -> RawFile:
    """The records of a raw file named `name` (its suffix says the format: .csv, .jsonl, .ndjson, + .gz)."""
    stem = name.lower()
    if stem.endswith(".gz"):
        data = gzip.decompress(data)
        stem = stem.removesuffix(".gz")
    text, encoding = decode(data)
    if stem.endswith((".jsonl", ".ndjson")):
        return RawFile(name, encoding, list(_json_lines(text)))
    if stem.endswith(".csv"):
        return RawFile(name, encoding, list(csv.DictReader(io.StringIO(text, newline=""))))
    raise ValueError(f"{name}: a raw file is .csv, .jsonl or .ndjson, optionally .gz")


def decode(data: bytes) -> tuple[str, str]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _json_lines(text: str) -> Iterator[dict[str | None, str | None]]:
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            yield {str(k): None if v is None else str(v) for k, v in value.items()}
        else:
            yield {MALFORMED: line}
