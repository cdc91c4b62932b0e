"""The lake's ports on this machine's disk, for bench.nightly: S3 is not in the measurement.

- `DiskRawFiles` (RawFiles): the raw files of each (tenant, source, day) are paths on disk, read
  whole as S3's GetObject would give them; it notes when each file is read and when the file
  list is asked for, so a partition's time can be cut into one interval per file.
- `DiskLakeObjects` (LakeObjects): keys are files under a folder; it counts the bytes it wrote.
- `TimedParquet` (ParquetCodec): the real encoder, timed, with the rows it was given counted;
  `clock_duckdb` also times its DuckDB statements (reading the CSV it wrote, writing the Parquet),
  so the encoder's time splits into the CSV handoff (Python) and DuckDB's work.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Protocol


class DiskRawFiles:
    def __init__(
        self,
        files: Mapping[tuple[str, str, date], Sequence[Path]],
        on_read: Callable[[int, str], None] | None = None,
    ) -> None:
        self._files = {key: {path.name: path for path in paths} for key, paths in files.items()}
        self._on_read = on_read  # told (files read so far, the name) before each read
        # ("names" | file name, perf_counter when it was asked for); read_s: time reading bytes
        self.events: list[tuple[str, float]] = []
        self.read_s = 0.0
        self.bytes_read = 0

    def names(self, tenant_id: str, source: str, day: date) -> list[str]:
        self.events.append(("names", time.perf_counter()))
        return list(self._files.get((tenant_id, source, day), {}))

    def read(self, tenant_id: str, source: str, day: date, name: str) -> bytes:
        if self._on_read is not None:
            self._on_read(sum(event != "names" for event, _ in self.events), name)
        started = time.perf_counter()
        self.events.append((name, started))
        body = self._files[(tenant_id, source, day)][name].read_bytes()
        self.read_s += time.perf_counter() - started
        self.bytes_read += len(body)
        return body

    def file_seconds(self) -> list[float]:
        """One interval per file read: from its read to the next read or file listing. The last
        file of a partition also holds the partition's closing writes (quarantine, manifest part)."""
        spans = []
        for (name, at), (_, after) in zip(self.events, self.events[1:], strict=False):
            if name != "names":
                spans.append(after - at)
        return spans


class DiskLakeObjects:
    def __init__(self, root: Path) -> None:
        self._root = root
        self.bytes_by_kind: Counter[str] = Counter()  # curated / quarantine / manifests → bytes

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"not a lake key: {key!r}")
        return self._root / key

    def put(self, key: str, body: bytes, content_type: str) -> None:  # noqa: ARG002 - S3's, not a file's
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        self.bytes_by_kind[key.split("/", 1)[0]] += len(body)

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def keys(self, prefix: str) -> list[str]:
        folder = self._path(prefix.rpartition("/")[0] or ".")
        if not folder.is_dir():
            return []
        found = (path.relative_to(self._root).as_posix() for path in folder.rglob("*") if path.is_file())
        return sorted(key for key in found if key.startswith(prefix))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class ClockedConnection:
    """A DuckDB connection whose `execute` is timed; with a profiler, the profiler is off during it.

    cProfile (CPython 3.13) loses its stack across DuckDB's execute: after one, the frames that
    called it are never seen to return and their figures are nonsense. Switched off around each
    execute, the profiler sees every Python call whole, and DuckDB's time comes from this clock.
    """

    def __init__(self, db: Any, profiler: Any = None, parent: ClockedConnection | None = None) -> None:
        self._db, self._profiler = db, profiler
        self._parent = parent
        self.seconds = 0.0  # wall time with at least one statement running (cursors included)
        self.calls = 0
        self._lock = threading.Lock()
        self._running = 0
        self._since = 0.0

    def cursor(self) -> ClockedConnection:
        """A cursor (the SQL path writes a batch's parts on cursors side by side) whose statements
        count in this clock; the profiler is left alone (it is this thread's)."""
        return ClockedConnection(self._db.cursor(), parent=self)

    def _start(self) -> None:
        with self._lock:
            if self._running == 0:
                self._since = time.perf_counter()
            self._running += 1
            self.calls += 1

    def _stop(self) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0:
                self.seconds += time.perf_counter() - self._since

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        clock = self._parent or self
        if self._profiler is not None:
            self._profiler.disable()
        clock._start()
        try:
            return self._db.execute(*args, **kwargs)
        finally:
            clock._stop()
            if self._profiler is not None:
                self._profiler.enable()


def clock_duckdb(encoder: Any, profiler: Any = None) -> ClockedConnection:
    """Put a ClockedConnection in place of DuckDbParquet's connection (its `_db`, a cached_property,
    so an instance attribute of that name takes its place)."""
    clocked = ClockedConnection(encoder._db, profiler)
    encoder.__dict__["_db"] = clocked
    return clocked


class _Codec(Protocol):
    def encode(self, table: Any, rows: Sequence[Sequence[object]]) -> bytes: ...

    def decode(self, table: Any, body: bytes) -> list[tuple[object, ...]]: ...


class TimedParquet:
    def __init__(self, inner: _Codec) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0
        self.rows: Counter[str] = Counter()  # table → rows encoded

    def encode(self, table: Any, rows: Sequence[Sequence[object]]) -> bytes:
        started = time.perf_counter()
        body = self.inner.encode(table, rows)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        self.rows[table.name] += len(rows)
        return body

    def curate_files(self, connector: Any, names: Any, read: Any, mapping: Any) -> Any:
        """The SQL curation (BulkCurator) the production codec has, timed with the encoding: the
        files it takes (erp_orders) are read, curated and encoded in DuckDB, in batches."""
        reading = 0.0  # the raw files' reads happen inside; DiskRawFiles counts them, not this

        def timed_read(name: str) -> bytes:
            nonlocal reading
            began = time.perf_counter()
            try:
                return read(name)  # type: ignore[no-any-return]
            finally:
                reading += time.perf_counter() - began

        started = time.perf_counter()
        for name, done in self.inner.curate_files(connector, names, timed_read, mapping):  # type: ignore[attr-defined]
            self.seconds += time.perf_counter() - started - reading
            reading = 0.0
            self.calls += 1
            self.rows["order_lines"] += done.manifest.rows_curated
            yield name, done
            started = time.perf_counter()
        self.seconds += time.perf_counter() - started - reading

    def decode(self, table: Any, body: bytes) -> list[tuple[object, ...]]:
        """The port's other half (ParquetCodec), passed through untimed: curation only encodes."""
        return self.inner.decode(table, body)
