"""`python -m bench` (bench/runner.py): figures found with their units and directions, regressions
flagged against a previous results.json and never failed on, a broken benchmark failing the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import runner
from tests.template_model import ROOT


def test_every_benchmark_module_is_discovered_and_the_helpers_are_not() -> None:
    found = runner.benchmarks()
    assert {"reports", "checkout", "coldstart", "nightly", "night", "report_http", "sizes", "cost"} <= set(
        found
    )
    assert not {"calls", "lake_local", "order_lines", "nightly_case", "runner"} & set(found)
    assert found[-1] == "cost"  # it prices what the others wrote


def test_a_module_the_runner_does_not_know_runs_with_its_own_size_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new module with `--size smoke|full`, not listed in COMMANDS, runs without being listed.
    (tmp_path / "a_new_bench.py").write_text('parser.add_argument("--size", choices=["smoke", "full"])\n')
    monkeypatch.setattr(runner, "BENCH", tmp_path)
    assert "a_new_bench" not in runner.COMMANDS
    assert runner.command("a_new_bench", "standard") == ["--size", "smoke"]
    assert runner.command("a_new_bench", "full") == ["--size", "full"]
    monkeypatch.undo()
    assert runner.command("report_formats", "full") == ["--size", "full"]
    assert runner.command("nightly", "smoke")[:2] == ["--rows", "2000"]


def test_figures_have_units_and_directions() -> None:
    document = {
        "size": {"checkouts": 10},  # inputs are not figures
        "routes": {"POST /orders": {"median_ms": 10.0, "throughput_per_s": 100.0, "mean_ms": 11.0}},
        "models": [{"latency_ms": 4, "checkout": {"depth": 4}}],
        "ratio_throughput_ours_over_bare": 0.1,
        "ratio_median_checkout_over_health": 60.0,
        "flag": True,
    }
    found = runner.figures(document)
    assert set(found) == {
        "routes.POST /orders.median_ms",
        "routes.POST /orders.throughput_per_s",
        "models[latency_ms=4].checkout.depth",
        "ratio_throughput_ours_over_bare",
        "ratio_median_checkout_over_health",
    }
    assert (found["routes.POST /orders.median_ms"].unit, found["routes.POST /orders.median_ms"].better) == (
        "ms",
        "lower",
    )
    assert found["routes.POST /orders.throughput_per_s"].better == "higher"
    assert found["ratio_throughput_ours_over_bare"].better == "higher"
    assert found["ratio_median_checkout_over_health"].better == "lower"


def _run(size: str, figures: dict[str, tuple[float, str]]) -> dict[str, Any]:
    return {
        "size": size,
        "date": "2026-12-01T00:00:00+00:00",
        "git_commit": "0" * 40,
        "benchmarks": {
            "b": {
                "figures": {
                    k: {"value": v, "unit": "x", "better": better} for k, (v, better) in figures.items()
                }
            }
        },
    }


def test_regressions_are_flagged_by_direction_above_20_percent() -> None:
    previous = _run(
        "smoke",
        {
            "latency_up_30": (100, "lower"),
            "latency_up_10": (100, "lower"),
            "latency_down_50": (100, "lower"),
            "throughput_down_30": (100, "higher"),
            "throughput_down_10": (100, "higher"),
            "throughput_up_50": (100, "higher"),
        },
    )
    current = _run(
        "smoke",
        {
            "latency_up_30": (130, "lower"),
            "latency_up_10": (110, "lower"),
            "latency_down_50": (50, "lower"),
            "throughput_down_30": (70, "higher"),
            "throughput_down_10": (90, "higher"),
            "throughput_up_50": (150, "higher"),
            "new_figure": (1, "lower"),
        },
    )
    compared = runner.compare(current, previous)
    assert {r["figure"] for r in compared["regressions"]} == {"latency_up_30", "throughput_down_30"}
    figures = current["benchmarks"]["b"]["figures"]
    assert figures["latency_up_30"]["change"] == pytest.approx(0.30)
    assert figures["throughput_down_30"]["change"] == pytest.approx(-0.30)
    assert "change" not in figures["new_figure"]
    # A run of another size is not compared with it at all.
    other = runner.compare(_run("full", {"latency_up_30": (999, "lower")}), previous)
    assert other["regressions"] == []
    assert "not compared" in other["status"]


def test_the_runner_writes_one_document_and_flags_without_failing(tmp_path: Path) -> None:
    """A real smoke run of one fast benchmark, against a previous file where it was 100x faster."""
    previous = _run("smoke", {})
    previous["benchmarks"] = {
        "report_formats": {
            "figures": {"formats.json.median_ms": {"value": 0.01, "unit": "ms", "better": "lower"}}
        }
    }
    previous_path = tmp_path / "previous.json"
    previous_path.write_text(json.dumps(previous))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--size",
            "smoke",
            "--only",
            "report_formats",
            "--out",
            str(tmp_path),
            "--previous",
            str(previous_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["size"] == "smoke"
    assert len(document["git_commit"]) >= 40
    assert document["machine"]["cpus"] >= 1
    entry = document["benchmarks"]["report_formats"]
    assert entry["exit_status"] == 0
    assert entry["figures"]["formats.pdf.median_ms"]["unit"] == "ms"
    assert [r["figure"] for r in document["comparison"]["regressions"]] == ["formats.json.median_ms"]
    table = (tmp_path / "results.md").read_text()
    assert "| report_formats | `formats.json.median_ms` |" in table
    assert "more than 20% worse" in table


def test_a_broken_benchmark_is_reported_as_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(runner.COMMANDS, "no_such_benchmark", {"smoke": []})
    entry = runner.run_one("no_such_benchmark", "smoke", tmp_path)
    assert entry["exit_status"] != 0
    assert "broken" in entry


def test_a_figure_named_by_its_unit_gives_its_median_and_p95() -> None:
    document = {"sizes": [{"scale": 10, "ttfb_ms": {"median": 80.0, "p95": 90.0, "max": 99.0}}]}
    found = runner.figures(document)
    assert set(found) == {"sizes[scale=10].ttfb_ms.median", "sizes[scale=10].ttfb_ms.p95"}
    assert found["sizes[scale=10].ttfb_ms.p95"] == runner.Figure(90.0, "ms", "lower")
