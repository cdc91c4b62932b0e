"""One case of bench.nightly, in a process of its own so that its peak memory is its own.

    python -m bench.nightly_case '<case as JSON>'

Run by bench.nightly, never by hand. The process caps its address space first
(resource.setrlimit), imports what the case needs, runs it and prints one line,
`NIGHTLY-RESULT {json}`, with its figures and `ru_maxrss` (the peak resident memory of this
process, imports included). Progress lines go to stderr, so a case stopped for its time limit
still says how far it got. Kinds of case:

- `curate`: tandem.logic.lake.curation.curate_partition over partitions of raw files on disk,
  with the real DuckDB Parquet encoder and the lake written to a local folder (no S3);
- `bare`: the bare engine on the same CSV files: DuckDB read_csv with an explicit schema →
  one Parquet file (COPY), then revenue by country and day from it (a group-by);
- `profile`: a `curate` case under cProfile (its times are not figures: see bench.nightly).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

MARK = "NIGHTLY-RESULT "
TENANT = "acme"


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux counts KiB


_LAST_PROGRESS: list[str] = []


def progress(message: str) -> None:
    _LAST_PROGRESS[:] = [message]
    print(f"NIGHTLY-PROGRESS {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- curate


def _deps(case: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    from datetime import date

    from bench.lake_local import DiskLakeObjects, DiskRawFiles, TimedParquet
    from tandem.adapters.parquet_duckdb import DuckDbParquet
    from tandem.logic.lake.curation import CurationDeps
    from tandem.logic.lake.sources import sources
    from tandem.models.lake_config import LakeConfig

    work = Path(case["work"])
    files = {
        (TENANT, case["source"], date.fromisoformat(day)): [Path(p) for p in paths]
        for day, paths in case["partitions"]
    }
    started = time.perf_counter()
    raw = DiskRawFiles(
        files,
        lambda done, name: progress(
            f"{done} files done, reading {name} at {time.perf_counter() - started:.1f} s"
        ),
    )
    objects = DiskLakeObjects(work / "lake")
    # The adapter as the functions build it (1 GB, 2 threads), its spill folder in the case's folder.
    parquet = TimedParquet(DuckDbParquet(work_dir=str(work / "duckdb")))
    deps = CurationDeps(
        raw=raw,
        objects=objects,
        parquet=parquet,
        sources=sources(LakeConfig(), "Europe/London"),
        bulk=parquet,  # the timed wrapper passes curate_files through to DuckDbParquet's
    )
    return deps, raw, objects, parquet


def _curate_passes(case: dict[str, Any], deps: Any) -> tuple[list[float], list[Any]]:
    from datetime import date

    from tandem.logic.lake.curation import curate_partition

    passes: list[float] = []
    manifests: list[Any] = []
    for number in range(case["passes"]):
        started = time.perf_counter()
        manifests = []
        for day, _ in case["partitions"]:
            manifests += curate_partition(TENANT, case["source"], date.fromisoformat(day), deps)
            rows = sum(m.rows_in for m in manifests)
            progress(
                f"pass {number + 1}: {len(manifests)} files, {rows} rows,"
                f" {time.perf_counter() - started:.1f} s"
            )
        passes.append(time.perf_counter() - started)
    return passes, manifests


def run_curate(case: dict[str, Any]) -> dict[str, Any]:
    from bench.lake_local import clock_duckdb

    deps, raw, objects, parquet = _deps(case)
    duckdb_clock = clock_duckdb(parquet.inner)  # connects now: the connection is not in the figures
    after_imports = peak_rss_bytes()
    passes, manifests = _curate_passes(case, deps)
    counts = {
        key: sum(getattr(m, key) for m in manifests)
        for key in ("rows_in", "rows_curated", "rows_quarantined", "duplicates_removed")
    }
    return {
        **counts,
        "files": len(manifests),
        "partitions": len(case["partitions"]),
        "unreadable_files": [m.file for m in manifests if m.error],
        "quarantined_by_reason": _summed(m.quarantined_by_reason for m in manifests),
        "pass_s": passes,
        "file_s": raw.file_seconds(),
        "read_bytes_s": raw.read_s / len(passes),
        "encode_s": parquet.seconds / len(passes),
        "duckdb_execute_s": duckdb_clock.seconds / len(passes),
        "encode_calls": parquet.calls // len(passes),
        "rows_encoded": {table: n // len(passes) for table, n in parquet.rows.items()},
        "bytes_in": raw.bytes_read // len(passes),
        "bytes_written": {kind: n // len(passes) for kind, n in objects.bytes_by_kind.items()},
        "rss_after_imports_bytes": after_imports,
    }


def _summed(counters: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for counter in counters:
        for key, n in counter.items():
            total[key] = total.get(key, 0) + n
    return dict(sorted(total.items()))


# ---------------------------------------------------------------- bare engine

_BARE_COPY = (
    "COPY (SELECT * FROM read_csv([{files}], columns={{{columns}}}, header=true, auto_detect=false, "
    "ignore_errors=true, timestampformat='%Y-%m-%d %H:%M:%S')) "
    "TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
)
_BARE_GROUP_BY = (
    "SELECT Country, CAST(InvoiceDate AS DATE) AS day, SUM(Quantity * UnitPrice) AS revenue, "
    "COUNT(*) AS lines FROM read_parquet('{target}') GROUP BY ALL"
)


def run_bare(case: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    from bench.order_lines import SCHEMA

    work = Path(case["work"])
    work.mkdir(parents=True, exist_ok=True)
    # The settings of tandem.adapters.parquet_duckdb.DuckDbParquet: 1 GB, 2 threads, offline.
    db = duckdb.connect(
        config={
            "memory_limit": "1GB",
            "threads": 2,
            "temp_directory": str(work / "spill"),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    after_imports = peak_rss_bytes()
    target = work / "bare.parquet"
    files = ", ".join(f"'{path}'" for path in case["files"])  # our own temporary paths, no quotes
    columns = ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in SCHEMA.items())
    copy_s, group_by_s = [], []
    for number in range(case["passes"]):
        started = time.perf_counter()
        [(written,)] = db.execute(_BARE_COPY.format(files=files, columns=columns, target=target)).fetchall()
        copied = time.perf_counter()
        groups = db.execute(_BARE_GROUP_BY.format(target=target)).fetchall()
        copy_s.append(copied - started)
        group_by_s.append(time.perf_counter() - copied)
        progress(f"pass {number + 1}: {written} rows, {copy_s[-1]:.2f} + {group_by_s[-1]:.2f} s")
    return {
        "rows_written": written,
        "groups": len(groups),
        "lines_grouped": sum(row[3] for row in groups),
        "copy_s": copy_s,
        "group_by_s": group_by_s,
        "pass_s": [a + b for a, b in zip(copy_s, group_by_s, strict=True)],
        "parquet_bytes": target.stat().st_size,
        "rss_after_imports_bytes": after_imports,
    }


# ---------------------------------------------------------------- profile

# Where the time goes: the cumulative time of these functions (file suffix, function name), or
# their own time ("own"), as cProfile counts them. DuckDB's statements are timed by a clock with
# the profiler off (bench.lake_local.ClockedConnection), so the frames around them (curate_partition,
# _curate_file, encode) have no whole figure here: the total is the wall time under the profiler.
PROFILE_PARTS = (
    ("reading: decode + csv.DictReader", "lake/reading.py", "read_records", "cumulative"),
    ("connector loop (connectors.curate)", "lake/connectors.py", "curate", "cumulative"),
    ("  its own lines (dedupe key, mapping)", "lake/connectors.py", "curate", "own"),
    ("  _as_text (dedupe, quarantine)", "lake/connectors.py", "_as_text", "cumulative"),
    ("  erp_orders.clean", "lake/erp_orders.py", "clean", "cumulative"),
    ("    local_and_utc (strptime, zone)", "lake/values.py", "local_and_utc", "cumulative"),
    ("    OrderLineRow(...) (pydantic)", "pydantic/main.py", "__init__", "cumulative"),
    ("split into table rows (tables.split)", "lake/tables.py", "split", "cumulative"),
    (
        "CSV handoff: _cell, join, writelines",
        "~",
        "<method 'writelines' of '_io._IOBase' objects>",
        "cumulative",
    ),
    ("rejects_jsonl (quarantine)", "lake/layout.py", "rejects_jsonl", "cumulative"),
    ("lake writes (local disk)", "bench/lake_local.py", "put", "cumulative"),
)


def run_profile(case: dict[str, Any]) -> dict[str, Any]:
    import cProfile
    import pstats

    from bench.lake_local import clock_duckdb

    deps, _, _, parquet = _deps(case)
    profiler = cProfile.Profile()
    duckdb_clock = clock_duckdb(parquet.inner, profiler)
    started = time.perf_counter()
    profiler.enable()
    _, manifests = _curate_passes(case, deps)
    profiler.disable()
    wall = time.perf_counter() - started
    Path(case["stats_file"]).parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(case["stats_file"])
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    parts = []
    for label, suffix, name, measure in PROFILE_PARTS:
        column = 3 if measure == "cumulative" else 2
        seconds = sum(
            v[column] for (file, _, func), v in stats.items() if func == name and file.endswith(suffix)
        )
        parts.append({"part": label, "seconds": seconds, "measure": measure})
    parts.append(
        {"part": "DuckDB: read_csv -> Parquet (execute)", "seconds": duckdb_clock.seconds, "measure": "clock"}
    )
    top = sorted(stats.items(), key=lambda item: -item[1][2])[: case.get("top", 15)]
    return {
        "rows_in": sum(m.rows_in for m in manifests),
        "wall_s": wall,
        "parts": parts,
        "top_by_own_time": [
            {"function": _label(key), "calls": value[1], "own_s": value[2], "cumulative_s": value[3]}
            for key, value in top
        ],
        "stats_file": case["stats_file"],
    }


def _label(key: tuple[str, int, str]) -> str:
    file, line, name = key
    if file == "~":
        return name
    parts = Path(file).parts
    short = "/".join(parts[parts.index("tandem") :] if "tandem" in parts else parts[-2:])
    return f"{short}:{line}({name})"


# ---------------------------------------------------------------- main

KINDS = {"curate": run_curate, "bare": run_bare, "profile": run_profile}


def main(argv: list[str]) -> None:
    case = json.loads(argv[0])
    cap = case["memory_cap_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    started = time.perf_counter()
    try:
        result = {"status": "ok", **KINDS[case["kind"]](case)}
    except MemoryError:
        result = {"status": "out of memory", "detail": f"address space capped at {cap / 2**30:.1f} GiB"}
    except Exception as error:
        out_of_memory = "memory" in type(error).__name__.lower() or "out of memory" in str(error).lower()
        result = {"status": "out of memory" if out_of_memory else "failed", "detail": f"{error!r}"[:2000]}
    if result["status"] != "ok":
        result["last_progress"] = _LAST_PROGRESS[0] if _LAST_PROGRESS else None
    result["process_s"] = time.perf_counter() - started
    result["peak_rss_bytes"] = peak_rss_bytes()
    print(MARK + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
