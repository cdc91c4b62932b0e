"""The lake's nightly transform, measured: raw files → curated Parquet, against the bare engine.

    .venv/bin/python -m bench.nightly [--rows 1000000,5000000] [--file-rows 100000] [--retail-days 68]
                                      [--passes 3] [--profile-rows 1000000] [--timeout 600]
                                      [--memory-cap-gib 12] [--no-sizes]

The transform is tandem.logic.lake.curation.curate_partition, with the real Parquet encoder
(tandem.adapters.parquet_duckdb.DuckDbParquet: DuckDB writes the Parquet) and the raw files and
the lake on this machine's disk (bench.lake_local): S3 is not in the measurement. Each case runs
in a fresh process (bench.nightly_case), so its peak memory (ru_maxrss) is its own, with a time
limit and a cap on its address space; a case stopped by either is reported as such.

1. the shared files: the 68 days of ../shared/data/online_retail/by-day (erp_orders, one
   partition a day), Olist's products, leads and deals, the ads export;
2. synthetic order lines (bench.order_lines): one night of one tenant, `--rows` lines of one
   day in files of `--file-rows`, all in one partition;
3. the bare engine on the same CSV files: DuckDB read_csv (explicit schema) → Parquet + a
   group-by, and the ratios ours / bare;
4. where the time goes: cProfile on one synthetic night (`--profile-rows`);
5. the sizes of the analytics layer and the API's package after `sam build`.

Prints a table and writes bench/results/nightly.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.nightly_case import MARK
from bench.order_lines import Written, night_of_order_lines
from bench.sizes import folder_size

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "nightly.json"
PROFILE_STATS = ROOT / "bench" / "results" / "nightly-profile.prof"
SHARED = ROOT.parent / "shared" / "data"
BUILD = ROOT / ".aws-sam" / "build"
BUILD_COMMAND = "make build ARCH=x86_64 RUNTIME=python3.13"
NIGHT = date(2026, 12, 1)  # the day of the synthetic night, and the day the shared exports landed
SEED = 20261202
# Issue 9's targets: throughput at least half the bare engine's; under 1.5 GB at 5 M rows.
TARGET_RATIO = 0.5
TARGET_PEAK_BYTES = 1.5e9
TARGET_ROWS = 5_000_000
MIB = 2**20

# case name → (source, file under ../shared/data)
SHARED_FILES = {
    "olist products": ("erp_products", "olist/olist_products_dataset.csv"),
    "olist leads": ("crm_leads", "olist/olist_marketing_qualified_leads_dataset.csv"),
    "olist deals": ("crm_deals", "olist/olist_closed_deals_dataset.csv"),
    "ads": ("ads_spend", "ads/KAG_conversion_data.csv"),
}


@dataclass(frozen=True)
class Options:
    rows: list[int]
    file_rows: int
    retail_days: int
    passes: int
    profile_rows: int
    timeout_s: float
    memory_cap_bytes: int
    sizes: bool
    shared: bool
    work: Path


def code_digest() -> str:
    """sha256 of the code under test (the lake's logic and models, the Parquet adapter): other work
    on the tree may change it during a run, which the run then says."""
    tandem = ROOT / "functions" / "tandem"
    files = [
        *sorted((tandem / "logic" / "lake").glob("*.py")),
        *sorted((tandem / "models").glob("lake*.py")),
        tandem / "adapters" / "parquet_duckdb.py",
    ]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- running one case


def _child_environment(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Bytecode in the work folder, not beside the sources: each case's process starts faster.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def run_case(case: dict[str, Any], options: Options) -> dict[str, Any]:
    """The case in a fresh process; stopped at the time limit (status `timeout`, with how far it got)."""
    work = options.work / case["name"].replace(" ", "-").replace(",", "")
    case = {**case, "work": str(work), "memory_cap_bytes": options.memory_cap_bytes}
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result: dict[str, Any]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.nightly_case", json.dumps(case)],
            cwd=ROOT,
            env=_child_environment(options.work),
            capture_output=True,
            text=True,
            timeout=options.timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as stopped:
        result = {"status": "timeout", "detail": f"stopped after {options.timeout_s:.0f} s"}
        result["last_progress"] = _last_progress(stopped.stderr)
    else:
        line = next((x for x in done.stdout.splitlines() if x.startswith(MARK)), None)
        if line is None:  # killed (e.g. by the kernel's OOM killer) or crashed before reporting
            detail = f"exit status {done.returncode}: {done.stderr[-1500:]}"
            result = {"status": "killed" if done.returncode < 0 else "failed", "detail": detail}
            result["last_progress"] = _last_progress(done.stderr)
        else:
            result = json.loads(line.removeprefix(MARK))
    result["wall_with_process_s"] = time.perf_counter() - started
    result["load_average_1m"] = {"before": load_before, "after": os.getloadavg()[0]}
    shutil.rmtree(work, ignore_errors=True)
    return result


def _last_progress(stderr: str | bytes | None) -> str | None:
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr or ""
    lines = [
        x.removeprefix("NIGHTLY-PROGRESS ") for x in text.splitlines() if x.startswith("NIGHTLY-PROGRESS")
    ]
    return lines[-1] if lines else None


def _check_accounting(name: str, result: dict[str, Any], expected: dict[str, int]) -> None:
    """Stop on a wrong answer: every row in is curated, quarantined or a duplicate, as expected."""
    if result["status"] != "ok":
        return
    accounted = result["rows_curated"] + result["rows_quarantined"] + result["duplicates_removed"]
    wrong: dict[str, tuple[Any, Any]] = {
        key: (result[key], want) for key, want in expected.items() if result[key] != want
    }
    if accounted != result["rows_in"]:
        wrong["rows_in = curated + quarantined + duplicates"] = (accounted, result["rows_in"])
    if result["unreadable_files"]:
        wrong["unreadable files"] = (result["unreadable_files"], [])
    if wrong:
        raise SystemExit(f"{name}: the transform gave a wrong count (got, expected): {wrong}")


def _csv_rows(path: Path) -> int:
    """Records in a CSV, read independently of the code under test (the csv module)."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        return sum(1 for _ in csv.DictReader(handle))


# ---------------------------------------------------------------- 1: the shared files


def shared_cases(options: Options) -> list[dict[str, Any]]:
    retail = sorted((SHARED / "online_retail" / "by-day").glob("*.csv"))[: options.retail_days]
    cases: list[dict[str, Any]] = []
    if retail:
        cases.append(
            {
                "name": f"retail by-day ({len(retail)} days)",
                "kind": "curate",
                "source": "erp_orders",
                "partitions": [[path.stem, [str(path)]] for path in retail],
                "passes": 1,
                "expected": {"rows_in": sum(_csv_rows(path) for path in retail)},
                "bare_files": [str(path) for path in retail],
            }
        )
    for name, (source, file) in SHARED_FILES.items():
        path = SHARED / file
        cases.append(
            {
                "name": name,
                "kind": "curate",
                "source": source,
                "partitions": [[NIGHT.isoformat(), [str(path)]]],
                "passes": options.passes,
                "expected": {"rows_in": _csv_rows(path)},
            }
        )
    return cases


# ---------------------------------------------------------------- 2: synthetic nights


def synthetic_cases(options: Options) -> tuple[list[dict[str, Any]], float]:
    """One case per size; the files are written first (not timed), the larger nights reusing the
    smaller ones' files where they are the same."""
    cache: dict[Path, Written] = {}
    started = time.perf_counter()
    cases = []
    for rows in sorted(options.rows):
        progress(f"writing {rows:,} synthetic order lines in files of {options.file_rows:,}")
        files = night_of_order_lines(options.work / "raw", rows, options.file_rows, NIGHT, SEED, cache)
        cases.append(
            {
                "name": f"synthetic {rows:,}",
                "kind": "curate",
                "source": "erp_orders",
                "partitions": [[NIGHT.isoformat(), [str(w.path) for w in files]]],
                "passes": 1,
                "expected": {
                    "rows_in": sum(w.rows for w in files),
                    "duplicates_removed": sum(w.duplicates for w in files),
                    "rows_quarantined": sum(w.dirty for w in files),
                },
                "bare_files": [str(w.path) for w in files],
                "synthetic_rows": rows,
            }
        )
    return cases, time.perf_counter() - started


# ---------------------------------------------------------------- 1-3: measuring


def measure_case(case: dict[str, Any], options: Options) -> dict[str, Any]:
    """Ours, then (for order lines) the bare engine on the same files, each in its own process."""
    progress(f"{case['name']}: curate_partition")
    ours = run_case({k: v for k, v in case.items() if k not in ("expected", "bare_files")}, options)
    _check_accounting(case["name"], ours, case["expected"])
    entry: dict[str, Any] = {"name": case["name"], "source": case["source"], "ours": ours}
    entry["rows"] = case["expected"]["rows_in"]
    entry["files"] = sum(len(paths) for _, paths in case["partitions"])
    if "synthetic_rows" in case:
        entry["synthetic_rows"] = case["synthetic_rows"]
    if "bare_files" in case:
        progress(f"{case['name']}: bare DuckDB")
        bare_case = {"name": case["name"] + " bare", "kind": "bare", "files": case["bare_files"]}
        bare = run_case({**bare_case, "passes": max(1, options.passes)}, options)
        if bare["status"] == "ok" and not 0 < bare["lines_grouped"] == bare["rows_written"] <= entry["rows"]:
            raise SystemExit(f"{case['name']}: the bare engine's counts do not add up: {bare}")
        entry["bare"] = bare
    _figures(entry)
    return entry


def _stats(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)
    return {
        "median_s": statistics.median(ordered),
        "p95_s": statistics.quantiles(ordered, n=100, method="inclusive")[94]
        if len(ordered) > 1
        else ordered[0],
        "min_s": ordered[0],
        "max_s": ordered[-1],
    }


def _figures(entry: dict[str, Any]) -> None:
    """Throughput (rows in ÷ the median pass), per-file times, and the ratio ours / bare."""
    ours, rows = entry["ours"], entry["rows"]
    if ours["status"] == "ok":
        ours["per_file"] = _stats(ours["file_s"])
        ours["per_pass"] = _stats(ours["pass_s"])
        ours["rows_per_s"] = rows / ours["per_pass"]["median_s"]
        ours["encoder_share"] = ours["encode_s"] / ours["per_pass"]["median_s"]
        ours["split_s"] = _split(ours)
    bare = entry.get("bare")
    if bare and bare["status"] == "ok":
        bare["per_pass"] = _stats(bare["pass_s"])
        bare["rows_per_s"] = rows / bare["per_pass"]["median_s"]
        bare["copy_median_s"] = statistics.median(bare["copy_s"])
        bare["group_by_median_s"] = statistics.median(bare["group_by_s"])
        if ours["status"] == "ok":
            entry["ratio_throughput_ours_over_bare"] = ours["rows_per_s"] / bare["rows_per_s"]
            entry["ratio_peak_rss_ours_over_bare"] = ours["peak_rss_bytes"] / bare["peak_rss_bytes"]


def _split(ours: dict[str, Any]) -> dict[str, float]:
    """A pass cut by clocks, without a profiler: reading the raw bytes, our Python (decoding, the
    connector, the split into table rows, manifests), the Python inside the codec (the CSV handoff;
    for erp_orders, curated in SQL by the codec: decoding and the distinct-value lookups), DuckDB's
    statements."""
    wall = statistics.fmean(ours["pass_s"])
    return {
        "read_raw": ours["read_bytes_s"],
        "python": wall - ours["encode_s"] - ours["read_bytes_s"],
        "csv_handoff": ours["encode_s"] - ours["duckdb_execute_s"],
        "duckdb": ours["duckdb_execute_s"],
    }


_SPLIT_LABELS = {
    "read_raw": "read raw",
    "python": "Python outside the codec (Python connectors, manifests, quarantine)",
    "csv_handoff": "Python in the codec (CSV handoff; erp_orders: decode, distinct-value lookups)",
    "duckdb": "DuckDB statements",
}


def targets(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Issue 9's two targets: the ratio on the largest synthetic night that finished, with its
    baseline; the memory on the 5 M-row night."""
    synthetic = [e for e in entries if "synthetic_rows" in e]
    with_ratio = [e for e in synthetic if "ratio_throughput_ours_over_bare" in e]
    largest = max(with_ratio, key=lambda e: e["synthetic_rows"], default=None)
    at_target = next((e for e in synthetic if e["synthetic_rows"] == TARGET_ROWS), None)
    ratio: float | None = largest["ratio_throughput_ours_over_bare"] if largest else None
    peak = at_target["ours"]["peak_rss_bytes"] if at_target and at_target["ours"]["status"] == "ok" else None
    return {
        "throughput": {
            "target": f"ours / bare >= {TARGET_RATIO}x",
            "at_rows": largest["synthetic_rows"] if largest else None,
            "ratio": ratio,
            "met": None if ratio is None else ratio >= TARGET_RATIO,
        },
        "peak_memory": {
            "target": f"peak RSS < {TARGET_PEAK_BYTES / 1e9:.1f} GB at {TARGET_ROWS:,} rows",
            "peak_rss_bytes": peak,
            "met": None if peak is None else peak < TARGET_PEAK_BYTES,
            "why_not_judged": None
            if peak is not None
            else (
                f"{TARGET_ROWS:,} rows not in --rows"
                if at_target is None
                else f"the {TARGET_ROWS:,} case did not finish: {at_target['ours']['status']}"
            ),
        },
    }


# ---------------------------------------------------------------- 4: the profile


def profile(options: Options) -> dict[str, Any] | None:
    if options.profile_rows <= 0:
        return None
    files = night_of_order_lines(
        options.work / "raw", options.profile_rows, options.file_rows, NIGHT, SEED, {}
    )
    progress(f"cProfile on {options.profile_rows:,} synthetic order lines")
    case = {
        "name": f"profile {options.profile_rows:,}",
        "kind": "profile",
        "source": "erp_orders",
        "partitions": [[NIGHT.isoformat(), [str(w.path) for w in files]]],
        "passes": 1,
        "stats_file": str(PROFILE_STATS),
        "top": 15,
    }
    result = run_case(case, options)
    result["rows"] = options.profile_rows
    return result


# ---------------------------------------------------------------- 5: package sizes


def _folder_size(folder: Path) -> dict[str, Any]:
    """bench.sizes' measure of a folder, and how many compiled files it ships."""
    return folder_size(folder) | {
        "pyc_files": sum(p.suffix == ".pyc" for p in folder.rglob("*") if p.is_file())
    }


def package_sizes(options: Options) -> dict[str, Any]:
    if not options.sizes:
        return {"skipped": "--no-sizes"}
    if not BUILD.is_dir():
        return {"built": False, "how": f"{BUILD_COMMAND} (needs .tools/sam; about 15 s)"}
    progress(f"zipping {BUILD.relative_to(ROOT)}")
    built = datetime.fromtimestamp((BUILD / "template.yaml").stat().st_mtime, UTC).isoformat(
        timespec="seconds"
    )
    sizes: dict[str, Any] = {"built": True, "build_dir": str(BUILD.relative_to(ROOT)), "built_at": built}
    for name in ("ApiFunction", "CoreLayer", "AnalyticsLayer"):
        if (BUILD / name).is_dir():
            sizes[name] = _folder_size(BUILD / name)
    if "ApiFunction" in sizes and "CoreLayer" in sizes:
        sizes["api_with_its_layer_unzipped_bytes"] = (
            sizes["ApiFunction"]["unzipped_bytes"] + sizes["CoreLayer"]["unzipped_bytes"]
        )
    return sizes


# ---------------------------------------------------------------- run


def run(options: Options) -> dict[str, Any]:
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    code_before = code_digest()
    shared = shared_cases(options) if options.shared else []
    entries = [measure_case(case, options) for case in shared]
    synthetic, generate_s = synthetic_cases(options)
    entries += [measure_case(case, options) for case in synthetic]
    profiled = profile(options)
    return {
        "benchmark": "nightly",
        "options": {
            "rows": options.rows,
            "file_rows": options.file_rows,
            "retail_days": options.retail_days,
            "passes": options.passes,
            "profile_rows": options.profile_rows,
            "timeout_s": options.timeout_s,
            "memory_cap_bytes": options.memory_cap_bytes,
            "shared": options.shared,
        },
        "started_at": started_at,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "duckdb": version("duckdb"),
            "pydantic": version("pydantic"),
        },
        "load_average_1m": {"before": load_before[0], "after": os.getloadavg()[0]},
        "code_sha256": {"before": code_before, "after": code_digest()},
        "synthetic_day": NIGHT.isoformat(),
        "synthetic_generate_s": generate_s,
        "cases": entries,
        "targets": targets(entries),
        "profile": profiled,
        "sizes": package_sizes(options),
        "total_s": time.perf_counter() - started,
        "json": str(RESULTS.relative_to(ROOT)),
    }


# ---------------------------------------------------------------- report


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(
        cell.rjust(width) if i else cell.ljust(width)
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
    ).rstrip()


def _mib(n: float | None) -> str:
    return "-" if n is None else f"{n / MIB:,.0f} MiB"


def _case_cells(label: str, rows: int, result: dict[str, Any], files: str) -> list[str]:
    if result["status"] != "ok":
        reached = result.get("last_progress") or result.get("detail", "no progress reported")[:60]
        return [label, f"{rows:,}", files, result["status"].upper(), f"  {reached}", "", "", "", ""]
    if "per_file" in result:  # ours
        per = result["per_file"]
        unit = f"{per['median_s'] * 1e3:,.0f} / {per['p95_s'] * 1e3:,.0f} ms"
        share = f"{result['encoder_share']:.0%}"
    else:  # bare
        unit = f"{result['copy_median_s']:.2f} + {result['group_by_median_s']:.2f} s"
        share = "-"
    return [
        label,
        f"{rows:,}",
        files,
        f"{result['per_pass']['median_s']:,.2f} s",
        unit,
        f"{result['rows_per_s']:,.0f}",
        _mib(result["peak_rss_bytes"]),
        _mib(result["rss_after_imports_bytes"]),
        share,
    ]


def print_table(results: dict[str, Any]) -> None:
    m, load, o = results["machine"], results["load_average_1m"], results["options"]
    print(
        f"\nTandem nightly transform: Python {m['python']}, {m['machine']}, {m['cpus']} CPUs,"
        f" DuckDB {m['duckdb']}, load average (1 min) {load['before']:.1f} before, {load['after']:.1f} after"
    )
    print(
        "curate_partition with DuckDbParquet (1 GB, 2 threads), raw files and lake on local disk (no S3);"
        f" each case in a fresh process\n(time limit {o['timeout_s']:.0f} s, address space capped at"
        f" {o['memory_cap_bytes'] / 2**30:.0f} GiB). Synthetic nights: one partition"
        f" ({results['synthetic_day']}), files of {o['file_rows']:,} rows.\n"
    )
    widths = [30, 10, 6, 9, 21, 10, 10, 9, 7]
    head = [
        "case",
        "rows in",
        "files",
        "wall",
        "per file median / p95",
        "rows/s",
        "peak RSS",
        "imports",
        "encoder",
    ]
    print(_row(head, widths))
    for entry in results["cases"]:
        ours = entry["ours"]
        passes = len(ours.get("pass_s", [])) or 1
        files = f"{entry['files']}" + (f" x{passes}" if passes > 1 else "")
        print(_row(_case_cells(entry["name"], entry["rows"], ours, files), widths))
        if "bare" in entry and ours["status"] == "ok":
            wall = sum(ours["split_s"].values())
            split = ", ".join(
                f"{_SPLIT_LABELS[k]} {seconds / wall:.0%}" for k, seconds in ours["split_s"].items()
            )
            print(f"  {'':28}time: {split}")
        if "bare" in entry:
            label = "  bare DuckDB (COPY + group-by)"
            print(_row(_case_cells(label, entry["rows"], entry["bare"], str(entry["files"])), widths))
        if "ratio_throughput_ours_over_bare" in entry:
            print(
                f"  {'':28}ratio ours / bare: throughput {entry['ratio_throughput_ours_over_bare']:.3f}x,"
                f" peak RSS {entry['ratio_peak_rss_ours_over_bare']:.2f}x"
            )
    print(
        "\nwall: the median pass over all the case's partitions (files xN: N passes; DuckDB connects before"
        " the clock starts);\nper file: from a file's read to the next; bare: COPY to Parquet + group-by"
        " (median of its passes);\nimports: peak RSS before the work (Python, tandem, DuckDB imported);"
        " encoder: share of the wall time in DuckDbParquet.encode."
    )
    code = results["code_sha256"]
    if code["before"] != code["after"]:
        print("  WARNING: the lake's code changed during the run (other work on the tree); run it again")
    print_targets(results["targets"])
    print_profile(results["profile"])
    print_sizes(results["sizes"])
    print(f"\nRun took {results['total_s']:.0f} s; JSON in {results['json']}")


def print_targets(judged: dict[str, Any]) -> None:
    throughput, memory = judged["throughput"], judged["peak_memory"]
    if throughput["ratio"] is None:
        print(f"\nTarget {throughput['target']}: not judged (no synthetic case finished with its baseline)")
    else:
        verdict = "MET" if throughput["met"] else "NOT MET"
        print(
            f"\nTarget {throughput['target']}: {verdict} at {throughput['at_rows']:,} rows"
            f" ({throughput['ratio']:.3f}x)"
        )
    if memory["met"] is None:
        print(f"Target {memory['target']}: not judged ({memory['why_not_judged']})")
    else:
        verdict = "MET" if memory["met"] else "NOT MET"
        print(f"Target {memory['target']}: {verdict} ({_mib(memory['peak_rss_bytes'])})")


def print_profile(profiled: dict[str, Any] | None) -> None:
    if profiled is None:
        return
    if profiled["status"] != "ok":
        print(f"\ncProfile on {profiled['rows']:,} rows: {profiled['status']} ({profiled.get('detail')})")
        return
    total = profiled["wall_s"]
    print(
        f"\nWhere the time goes: cProfile on {profiled['rows_in']:,} synthetic rows"
        f" ({total:.1f} s under the profiler, which inflates Python's share; DuckDB timed by a clock)"
    )
    for part in profiled["parts"]:
        print(f"  {part['part']:<44} {part['seconds']:8.2f} s {part['seconds'] / total:6.1%}")
    rest = total - sum(p["seconds"] for p in profiled["parts"] if not p["part"].startswith(" "))
    print(f"  {'the rest (curation loop, manifests, profiler)':<44} {rest:8.2f} s {rest / total:6.1%}")
    print("  top functions by own time:")
    for item in profiled["top_by_own_time"][:10]:
        print(
            f"    {item['own_s']:7.2f} s own {item['cumulative_s']:7.2f} s cum {item['calls']:>10,}"
            f"  {item['function']}"
        )
    print(f"  (pstats file: {Path(profiled['stats_file']).relative_to(ROOT)})")


def print_sizes(sizes: dict[str, Any]) -> None:
    if "skipped" in sizes:
        return
    if not sizes.get("built"):
        print(f"\nPackage sizes: no sam build in .aws-sam/build; get one with: {sizes['how']}")
        return
    print(f"\nPackage sizes after sam build ({sizes['build_dir']}, built {sizes['built_at']}):")
    for name in ("ApiFunction", "CoreLayer", "AnalyticsLayer"):
        if name in sizes:
            s = sizes[name]
            print(
                f"  {name:<15} {s['unzipped_bytes'] / MIB:7.1f} MiB unzipped,"
                f" {s['zipped_bytes'] / MIB:6.1f} MiB zipped, {s['files']:,} files ({s['pyc_files']} .pyc)"
            )
    if "api_with_its_layer_unzipped_bytes" in sizes:
        print(
            "  the API as deployed (code + CoreLayer):"
            f" {sizes['api_with_its_layer_unzipped_bytes'] / MIB:.1f} MiB unzipped, of Lambda's 250 MB"
        )


# ---------------------------------------------------------------- command line


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.nightly", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument(
        "--rows", default="1000000,5000000", help="synthetic nights, rows each (comma-separated)"
    )
    parser.add_argument("--file-rows", type=int, default=100_000, help="rows per synthetic file")
    parser.add_argument("--retail-days", type=int, default=68, help="how many of the 68 retail days")
    parser.add_argument(
        "--passes", type=int, default=3, help="passes over each small shared file, and of the bare engine"
    )
    parser.add_argument(
        "--profile-rows", type=int, default=1_000_000, help="cProfile on a night of this many rows (0: none)"
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds a case may take before it is stopped"
    )
    parser.add_argument("--memory-cap-gib", type=float, default=12, help="address space each case may take")
    parser.add_argument("--no-sizes", action="store_true", help="leave out the sizes of the sam build")
    parser.add_argument(
        "--no-shared", action="store_true", help="leave out the shared files (synthetic only)"
    )
    args = parser.parse_args(argv)
    return Options(
        rows=[int(n) for n in args.rows.split(",") if n.strip()],
        file_rows=args.file_rows,
        retail_days=args.retail_days,
        passes=args.passes,
        profile_rows=args.profile_rows,
        timeout_s=args.timeout,
        memory_cap_bytes=int(args.memory_cap_gib * 2**30),
        sizes=not args.no_sizes,
        shared=not args.no_shared,
        work=Path(tempfile.mkdtemp(prefix="tandem-nightly-")),
    )


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    try:
        results = run(options)
    finally:
        shutil.rmtree(options.work, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)


if __name__ == "__main__":
    main()
