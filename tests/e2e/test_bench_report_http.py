"""bench.report_http still runs (at smoke size), on the session's local cloud instead of one of its own:
CI keeps it working, it does not time it (tests/bench/test_smoke.py does the same for the others)."""

from __future__ import annotations

import pytest

from bench import report_http
from tests.e2e.conftest import Running


def test_report_http_benchmark_times_both_paths_at_every_scale(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    results = report_http.run("smoke", report_http.Target(running.cloud, running.stack))
    report_http.print_table(results)
    assert "ratio of medians 100x/1x" in capsys.readouterr().out

    base = report_http.SIZES["smoke"].base_orders
    assert {scale: tenant["orders"] for scale, tenant in results["seeded"].items()} == {
        str(scale): base * scale for scale in report_http.SCALES
    }
    assert set(results["paths"]) == {"inline", "async"}
    for figures in results["paths"].values():
        assert [row["orders"] for row in figures["sizes"]] == [base * s for s in report_http.SCALES]
        for row in figures["sizes"]:
            assert 0 < row["ttfb_ms"]["median"] <= row["total_ms"]["median"]
            assert row["ttfb_ms"]["median"] <= row["ttfb_ms"]["p95"]
        assert figures["ratio_median_100x_over_1x"] > 0
    # Each answer took the path it was meant to: the inline one counted every order, the async one
    # estimated nothing (respond-async) and its job ran to the end.
    for row in results["paths"]["inline"]["sizes"]:
        assert row["estimate"] == f"rows={row['orders']}; limit=80000; path=inline"
        assert row["preference_applied"] == "wait=8"
    for row in results["paths"]["async"]["sizes"]:
        assert row["estimate"] == "path=async"
        assert row["preference_applied"] == "respond-async"
        assert row["worker_job_s"]["median"] >= 0
