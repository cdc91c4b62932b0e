"""`python -m bench`: every benchmark under bench/, one after the other, into one document.

    .venv/bin/python -m bench                  # the standard size (what `make bench` runs)
    .venv/bin/python -m bench --size smoke     # what CI runs: every benchmark works, timed at a glance
    .venv/bin/python -m bench --size full      # each benchmark's own full size (an hour and more)
    .venv/bin/python -m bench --only checkout,coldstart --out /tmp/b   # some of them, elsewhere

Each benchmark runs as its own process (`python -m bench.<name> <args>`), as a user runs it,
and writes bench/results/<name>.json; the runner reads that file and keeps its key figures,
each with a unit and a direction (lower or higher is better), in `bench/results.json` (machine,
date, git commit, load average, each benchmark's figures) and a Markdown table in
`bench/results.md`. When an earlier results.json of the same size is there, every figure is
compared with it and a change for the worse of more than 20 % is flagged: flagged, never
failed, as a slow or busy machine makes every figure worse. The run fails (exit status 1) only
when a benchmark breaks: a non-zero exit, or no figures written.

Which benchmarks: every module of the bench package but the helpers (`HELPERS`). Those whose
arguments differ from `--size smoke|full` have their command lines in `COMMANDS`, the one
place to change them; any other module (a new `bench/dashboard.py`, say) runs with
`--size smoke` at the smoke and standard sizes and `--size full` at the full one, or with no
argument if it takes no `--size`. See bench/README.md, "The runner".
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pkgutil
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS_DIR = BENCH / "results"  # where each benchmark writes its own <name>.json
SIZE_NAMES = ("smoke", "standard", "full")
THRESHOLD = 0.20  # a change for the worse above this is flagged

# A benchmark is a module of bench/ that runs as a program; of those, these are not benchmarks
# (a case's child process, this runner). Shared code (calls, lake_local, order_lines) has no guard.
_MAIN_GUARD = 'if __name__ == "__main__":'
HELPERS = frozenset({"nightly_case", "runner", "__main__"})

# The command line of each benchmark at each size, where `--size <size>` is not it. `standard`
# is what `make bench` runs: every benchmark at a size that tells a regression, in about
# 15 minutes on 2 cores (bench/README.md gives the measured times).
_SMOKE, _STANDARD, _FULL = ["--size", "smoke"], ["--size", "standard"], ["--size", "full"]
COMMANDS: dict[str, dict[str, list[str]]] = {
    "reports": {"smoke": _SMOKE, "standard": _STANDARD, "full": _FULL},  # full: about 7 min alone
    "report_formats": {"smoke": _SMOKE, "standard": _SMOKE, "full": _FULL},
    "checkout": {"smoke": _SMOKE, "standard": _STANDARD, "full": _FULL},
    "authorizer": {"smoke": _SMOKE, "standard": _STANDARD, "full": _FULL},
    "coldstart": {"smoke": _SMOKE, "standard": _FULL, "full": _FULL},
    "nightly": {
        "smoke": ["--rows", "2000", "--file-rows", "1000", "--retail-days", "2", "--passes", "1",
                  "--profile-rows", "0", "--no-sizes"],
        "standard": ["--rows", "1000000", "--retail-days", "14", "--passes", "1", "--profile-rows", "0",
                     "--no-sizes"],
        "full": ["--no-sizes"],
    },
    "night": {"smoke": ["--days", "2"], "standard": ["--days", "7"], "full": []},
    "live_counters": {"smoke": [], "standard": [], "full": []},
    "report_dispatch": {"smoke": [], "standard": [], "full": []},
    "cost": {"smoke": _SMOKE, "standard": ["--size", "standard"], "full": _FULL},
    "sizes": {"smoke": _SMOKE, "standard": _SMOKE, "full": _SMOKE},  # the same at every size
    # the shop (two years of 1,000 SKUs) is its full size: about 5 min, most of it building it
    "dashboard": {"smoke": _SMOKE, "standard": _FULL, "full": _FULL},
}  # fmt: skip

# The order they run in: the cost model last, as it prices what the others wrote.
LAST = ("cost",)


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    better: str  # "lower" or "higher"


def benchmarks() -> list[str]:
    """Every benchmark module of bench/, discovered, in a stable order (the cost model last)."""
    names = sorted(
        module.name
        for module in pkgutil.iter_modules([str(BENCH)])
        if module.name not in HELPERS and _MAIN_GUARD in (BENCH / f"{module.name}.py").read_text()
    )
    return [name for name in names if name not in LAST] + [name for name in LAST if name in names]


def command(name: str, size: str) -> list[str]:
    if name in COMMANDS:
        return COMMANDS[name][size]
    source = (BENCH / f"{name}.py").read_text()
    if "--size" not in source and "command_line(" not in source:
        return []
    return ["--size", "full" if size == "full" else "smoke"]


# ---------------------------------------------------------------- figures


# Leaf names kept as figures (besides any `ratio_*`, `*_per_s` and `*_bytes`).
_KEPT = {"median_ms", "p95_ms", "median_us", "p95_us", "median_s", "first_call_ms", "depth", "aws_calls",
         "modelled_median_ms", "wall_s", "usd"}  # fmt: skip
# Branches that are inputs, raw samples or bookkeeping, not figures.
_SKIPPED = re.compile(
    r"(^|\.)(size|machine|samples|block_medians_\w+|waves|load_average_1m|code_sha256|prices|options|targets|"
    r"first_block_median_ms|last_block_median_ms|depth_counts|call_ms_by_operation)(\.|$)"
)
_LABELS = ("name", "step", "case", "route", "function", "latency_ms", "scale")


def unit_and_direction(key: str) -> tuple[str, str]:
    """The unit a figure's name says and which way is better (latency up is bad, throughput down is)."""
    if key.endswith("_per_s"):
        return "/s", "higher"
    if key.startswith("ratio_"):
        return "x", "higher" if "throughput" in key else "lower"
    if key.endswith("_ms"):
        return "ms", "lower"
    if key.endswith("_us"):
        return "µs", "lower"
    if key.endswith("_s"):
        return "s", "lower"
    if key.endswith("_bytes"):
        return "bytes", "lower"
    if key == "usd" or key.endswith("_usd"):
        return "USD", "lower"
    return "count", "lower"


def _kept(key: str) -> bool:
    return key in _KEPT or key.startswith("ratio_") or key.endswith(("_per_s", "_bytes", "_usd"))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_figure(key: str, value: Any) -> bool:
    return _is_number(value) and _kept(key)


def _label(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in _LABELS:
            if key in item and isinstance(item[key], str | int | float):
                return f"{key}={item[key]}" if key in ("latency_ms", "scale") else str(item[key])
    return str(index)


def _statistics(path: str, key: str, value: dict[str, Any]) -> dict[str, Figure]:
    """{"ttfb_ms": {"median": …, "p95": …}}: the statistics of a figure whose name says its unit."""
    unit, better = unit_and_direction(key)
    if _SKIPPED.search(path):
        return {}
    return {
        f"{path}.{stat}": Figure(float(value[stat]), unit, better)
        for stat in ("median", "p95")
        if _is_number(value.get(stat))
    }


def figures(document: Any, path: str = "") -> dict[str, Figure]:
    """The key figures of one benchmark's JSON, by dotted path."""
    found: dict[str, Figure] = {}
    if _SKIPPED.search(path):
        return found
    if isinstance(document, dict):
        for key, value in document.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(value, dict) and unit_and_direction(str(key))[0] != "count":
                found.update(_statistics(child, str(key), value))
            elif isinstance(value, dict | list):
                found.update(figures(value, child))
            elif _is_figure(str(key), value) and not _SKIPPED.search(child):
                unit, better = unit_and_direction(str(key))
                found[child] = Figure(float(value), unit, better)
    elif isinstance(document, list):
        for index, item in enumerate(document):
            if isinstance(item, dict | list):
                found.update(figures(item, f"{path}[{_label(item, index)}]"))
    return found


def compare(current: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """Each figure against the previous run's: the change and whether it is a regression (> 20 %)."""
    if previous is None:
        return {"status": "no previous results", "regressions": []}
    if previous.get("size") != current["size"]:
        return {
            "status": f"not compared: the previous run was at size {previous.get('size')}",
            "regressions": [],
        }
    regressions = []
    for name, run in current["benchmarks"].items():
        before = previous.get("benchmarks", {}).get(name, {}).get("figures", {})
        for path, figure in run.get("figures", {}).items():
            old = before.get(path)
            if not old or not old.get("value"):
                continue
            change = figure["value"] / old["value"] - 1
            figure["previous"] = old["value"]
            figure["change"] = change
            worse = change > THRESHOLD if figure["better"] == "lower" else change < -THRESHOLD
            figure["regression"] = worse
            if worse:
                regressions.append({"benchmark": name, "figure": path, **figure})
    return {
        "status": f"compared with the run of {previous.get('date')} ({previous.get('git_commit', '?')[:10]})",
        "regressions": regressions,
    }


# ---------------------------------------------------------------- running


def _git_commit() -> str:
    git = shutil.which("git") or "git"
    done = subprocess.run([git, "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        [git, "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def run_one(name: str, size: str, log_dir: Path) -> dict[str, Any]:
    """One benchmark in its own process; its figures, or why it broke."""
    args = command(name, size)
    json_path = RESULTS_DIR / f"{name}.json"
    written_before = json_path.stat().st_mtime if json_path.exists() else None
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(["functions", "infra/local", os.environ.get("PYTHONPATH", "")]),
    }
    load = os.getloadavg()[0]
    started = time.perf_counter()
    print(f"==> python -m bench.{name} {' '.join(args)}", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    (log_dir / f"{name}.out").write_text(done.stdout)
    (log_dir / f"{name}.err").write_text(done.stderr)
    entry: dict[str, Any] = {
        "command": f"python -m bench.{name} {' '.join(args)}".strip(),
        "exit_status": done.returncode,
        "load_average_1m_before": load,
        "figures": {"wall_s": {"value": wall, "unit": "s", "better": "lower"}},
    }
    if done.returncode != 0:
        entry["broken"] = f"exit status {done.returncode}: {done.stderr[-1500:]}"
    elif json_path.exists() and json_path.stat().st_mtime != written_before:
        entry["json"] = str(json_path.relative_to(ROOT))
        found = figures(json.loads(json_path.read_text()))
        entry["figures"].update({path: vars(figure) for path, figure in found.items()})
    else:
        entry["note"] = "prints its figures only (no JSON): see its output in the log"
    print(f"    {'BROKEN' if 'broken' in entry else 'ok'} in {wall:.1f} s", flush=True)
    return entry


def run(size: str, only: list[str] | None, out: Path, previous_path: Path | None) -> dict[str, Any]:
    names = [name for name in benchmarks() if not only or name in only]
    unknown = set(only or ()) - set(benchmarks())
    if unknown:
        raise SystemExit(f"no such benchmark: {', '.join(sorted(unknown))} (have: {', '.join(benchmarks())})")
    out.mkdir(parents=True, exist_ok=True)
    log_dir = out / "results-logs"
    log_dir.mkdir(exist_ok=True)
    previous_path = previous_path or out / "results.json"
    previous = json.loads(previous_path.read_text()) if previous_path.exists() else None
    started = time.perf_counter()
    document: dict[str, Any] = {
        "size": size,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "machine": _machine(),
        "load_average_1m_before": os.getloadavg()[0],
        "benchmarks": {name: run_one(name, size, log_dir) for name in names},
    }
    document["load_average_1m_after"] = os.getloadavg()[0]
    document["wall_s"] = time.perf_counter() - started
    document["broken"] = [name for name, entry in document["benchmarks"].items() if "broken" in entry]
    document["comparison"] = compare(document, previous)
    if previous_path.exists() and previous_path == out / "results.json":
        shutil.copyfile(previous_path, out / "results.previous.json")
    (out / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    (out / "results.md").write_text(markdown(document))
    return document


# ---------------------------------------------------------------- the table


def _number(value: float, unit: str) -> str:
    if unit == "bytes":
        return f"{value / 2**20:,.1f} MiB" if value >= 2**20 else f"{value:,.0f} B"
    if unit == "USD":
        return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"
    magnitude = abs(value)
    text = f"{value:,.0f}" if magnitude >= 100 else f"{value:,.2f}" if magnitude >= 1 else f"{value:.3g}"
    return text if unit == "count" else f"{text} {unit}"


def markdown(document: dict[str, Any]) -> str:
    lines = [
        f"# Benchmarks ({document['size']} size)",
        "",
        f"{document['date']}, commit `{document['git_commit'][:12]}`, {document['machine']['platform']}, "
        f"{document['machine']['cpus']} CPUs, Python {document['machine']['python']}; load average "
        f"{document['load_average_1m_before']:.2f} → {document['load_average_1m_after']:.2f}; "
        f"{document['wall_s'] / 60:.1f} min. {document['comparison']['status']}.",
        "",
    ]
    regressions = document["comparison"]["regressions"]
    if regressions:
        lines += [
            f"**{len(regressions)} figure(s) more than {THRESHOLD:.0%} worse** (flagged, not failed):",
            "",
        ]
        lines += [
            f"- {r['benchmark']} `{r['figure']}`: {_number(r['previous'], r['unit'])} → "
            f"{_number(r['value'], r['unit'])} ({r['change']:+.0%})"
            for r in regressions
        ]
        lines.append("")
    if document["broken"]:
        lines += [f"**Broken:** {', '.join(document['broken'])}", ""]
    lines += ["| benchmark | figure | value | better | change |", "|---|---|---:|---|---:|"]
    for name, entry in document["benchmarks"].items():
        if "broken" in entry:
            lines.append(f"| {name} | BROKEN (exit {entry['exit_status']}) | | | |")
        for path, figure in entry["figures"].items():
            change = ""
            if "change" in figure:
                change = f"{figure['change']:+.0%}" + (" ⚠" if figure.get("regression") else "")
            value = _number(figure["value"], figure["unit"])
            lines.append(f"| {name} | `{path}` | {value} | {figure['better']} | {change} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size", choices=SIZE_NAMES, default="standard")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--out", type=Path, default=BENCH, help="folder of results.json and results.md")
    parser.add_argument(
        "--previous", type=Path, help="the results.json to compare with (default: OUT/results.json)"
    )
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()] or None
    document = run(args.size, only, args.out, args.previous)
    regressions = document["comparison"]["regressions"]
    count = sum(len(entry["figures"]) for entry in document["benchmarks"].values())
    print(
        f"\n{args.out / 'results.md'}: {count} figures; {document['comparison']['status']};"
        f" {len(regressions)} flagged above {THRESHOLD:.0%}"
    )
    for r in regressions:
        change = f"{r['previous']:.4g} → {r['value']:.4g} ({r['change']:+.0%})"
        print(f"  REGRESSION? {r['benchmark']} {r['figure']}: {change}")
    if document["broken"]:
        print(
            f"BROKEN: {', '.join(document['broken'])} (logs in {args.out / 'results-logs'})", file=sys.stderr
        )
        return 1
    return 0
