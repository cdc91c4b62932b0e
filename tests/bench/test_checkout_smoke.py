"""The checkout benchmark still runs (at smoke size): CI keeps it working, it does not time it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.template_model import ROOT


def test_checkout_benchmark_runs_and_writes_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.checkout", "--size", "smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((ROOT / "bench" / "results" / "checkout.json").read_text())
    assert figures["size_name"] == "smoke"
    for route in ("POST /orders", "GET /health"):
        assert figures["routes"][route]["median_ms"] > 0
    assert figures["ratio_median_checkout_over_health"] > 1
    assert figures["scorer"]["median_us"] > 0
    assert figures["checkout_fraud_decisions"] == {"approve": figures["size"]["checkouts"]}
    assert "ratio of medians" in result.stdout
