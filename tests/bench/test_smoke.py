"""The benchmarks still run (at smoke size): CI keeps them working, it does not time them."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.template_model import ROOT


def test_reports_benchmark_runs_and_writes_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.reports", "--size", "smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((ROOT / "bench" / "results" / "reports.json").read_text())
    assert figures["size_name"] == "smoke"
    for route in ("POST /reports", "GET /health"):
        assert figures["api"]["routes"][route]["median_ms"] > 0
    assert figures["api"]["ratio_median_post_over_health"] > 1
    assert "ratio of medians" in result.stdout
