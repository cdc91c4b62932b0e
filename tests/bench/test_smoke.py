"""The benchmarks still run (at smoke size): CI keeps them working, it does not time them."""

from __future__ import annotations

from typing import Any

from tests.bench import run_benchmark
from tests.template_model import functions


def run_smoke(benchmark: str) -> tuple[str, dict[str, Any]]:
    """Run `python -m bench.<benchmark> --size smoke`; its printed table and its JSON figures."""
    output, figures = run_benchmark(benchmark, "--size", "smoke")
    assert figures["size_name"] == "smoke"
    assert "ratio of medians" in output
    return output, figures


def test_reports_benchmark_runs_and_writes_its_figures() -> None:
    _, figures = run_smoke("reports")
    for route in ("POST /reports", "GET /health"):
        assert figures["api"]["routes"][route]["median_ms"] > 0
    assert figures["api"]["ratio_median_post_over_health"] > 1
    # 3c: the same kinds of job run both ways, every batch new jobs that all succeeded (else it stops).
    batch = figures["batch"]
    assert batch["batch_size"] == 10
    assert batch["kinds"]["cheap"]["orders_per_job"] == 0
    assert batch["kinds"]["realistic"]["orders_per_job"] > 0
    for kind in batch["kinds"].values():
        for way in ("powertools", "bare loop"):
            assert kind["ways"][way]["batches"] == figures["size"]["batch_repeats"]
            assert kind["ways"][way]["median_messages_per_s"] > 0
        assert kind["ratio_median_time_powertools_over_bare"] > 0


def test_checkout_benchmark_runs_and_writes_its_figures() -> None:
    _, figures = run_smoke("checkout")
    for route in ("POST /orders", "GET /health"):
        assert figures["routes"][route]["median_ms"] > 0
    assert figures["ratio_median_checkout_over_health"] > 1
    assert figures["scorer"]["median_us"] > 0
    assert figures["checkout_fraud_decisions"] == {"approve": figures["size"]["checkouts"]}
    # The AWS calls a checkout waits for: how many, and the longest chain of them (under the
    # latency model), at every size; a baseline of as many bare sequential calls beside it.
    assert isinstance(figures["depth"], int)
    assert 1 <= figures["depth"] <= figures["aws_calls"]
    models = figures["latency_model"]["models"]
    assert [model["latency_ms"] for model in models] == [0, 4, 10]
    for model in models:
        assert isinstance(model["checkout"]["depth"], int)
        assert model["checkout"]["depth"] >= 1
        assert model["baseline"]["depth"] == figures["latency_model"]["baseline_calls"]
        assert model["ratio_median_checkout_over_baseline"] > 0
    # A round trip costs at least its modelled latency, each one of a chain after the other.
    slowest = models[-1]
    assert slowest["checkout"]["min_ms"] >= slowest["latency_ms"] * slowest["checkout"]["depth"]
    assert figures["calls_outliving_their_checkout"] == 0


def test_coldstart_benchmark_pairs_tandem_with_the_floor_of_its_imports() -> None:
    _, figures = run_smoke("coldstart")
    for name in ("tandem", "floor"):
        assert len(figures["samples"][name]["first_answer"]) == figures["size"]["pairs"]
        assert figures["figures"][name]["first_answer"]["median_ms"] > 0
    assert figures["ratio_median_tandem_over_floor"] > 0
    # Every function of the template, its import against the floor of the imports all of them need.
    measured = {entry["function"]: entry for entry in figures["functions"]}
    assert set(measured) == {name for name, f in functions().items() if "Handler" in f["Properties"]}
    for entry in measured.values():
        assert entry["import"]["median_ms"] > 0
        assert entry["ratio_import_over_floor"] > 0
    assert {name for name, entry in measured.items() if "first_answer" in entry} == {
        "ApiFunction",
        "AuthorizerFunction",
    }


def test_authorizer_benchmark_measures_each_kind_of_request_at_each_latency() -> None:
    _, figures = run_smoke("authorizer")
    assert [model["latency_ms"] for model in figures["models"]] == [0, 4]
    for model in figures["models"]:
        requests = model["requests"]
        assert requests["known key, read every time"]["aws_calls_per_request"] == 1
        assert requests["no key"]["aws_calls_per_request"] == 0
        assert requests["malformed key"]["aws_calls_per_request"] == 0
        # The process's cache: a known key is read at most once per block of requests.
        assert requests["known key, as shipped"]["aws_calls_per_request"] < 0.1
        assert requests["known key, fresh root"]["aws_calls_per_request"] == 1


def test_nightly_benchmark_measures_ours_and_the_bare_engine_on_the_same_rows() -> None:
    """Tiny sizes: 2 retail days, a synthetic night of 2,000 rows in 2 files, no sam build sizes."""
    tiny = ("--rows", "2000", "--file-rows", "1000", "--retail-days", "2", "--passes", "1")
    output, figures = run_benchmark("nightly", *tiny, "--profile-rows", "2000", "--no-sizes", timeout=120)
    assert "ratio ours / bare" in output
    cases = {case["name"]: case for case in figures["cases"]}
    assert set(cases) == {
        "retail by-day (2 days)",
        "olist products",
        "olist leads",
        "olist deals",
        "ads",
        "synthetic 2,000",
    }
    for case in cases.values():
        ours = case["ours"]
        assert ours["status"] == "ok", ours
        assert ours["rows_in"] == case["rows"] > 0
        assert ours["rows_curated"] + ours["rows_quarantined"] + ours["duplicates_removed"] == ours["rows_in"]
        assert ours["peak_rss_bytes"] >= ours["rss_after_imports_bytes"] > 0
        assert ours["rows_per_s"] > 0
    night = cases["synthetic 2,000"]
    assert night["ours"]["files"] == 2
    assert night["ours"]["rows_encoded"]["order_lines"] > 0
    assert night["bare"]["status"] == "ok"
    assert 0 < night["bare"]["rows_written"] <= 2000
    assert night["ratio_throughput_ours_over_bare"] > 0
    assert figures["targets"]["peak_memory"]["met"] is None  # 5 M rows not measured at this size
    assert figures["profile"]["status"] == "ok"
    assert figures["profile"]["rows_in"] == 2000


def test_night_benchmark_runs_every_step_of_a_tenants_nights() -> None:
    """Two nights of the shared data: every source's item, the day, each product, with calls counted."""
    _, figures = run_benchmark("night", "--days", "2", timeout=180)
    steps = {row["step"]: row for row in figures["steps"]}
    assert {"ingest (raw files put)", "lake: erp_orders", "day finished", "product: rollups"} <= set(steps)
    assert steps["lake: erp_orders"]["runs"] == steps["day finished"]["runs"] == 2
    assert steps["lake: erp_products"]["runs"] == 1  # the catalogue lands once, on the first day
    for row in steps.values():
        assert row["aws_calls"] == sum(row["by_operation"].values()) > 0
        assert row["median_s"] > 0
    assert steps["ingest (raw files put)"]["by_operation"] == {"s3.PutObject": 2 + 4}
    assert figures["last_manifest_products"]["rollups"]["counts"]["orders"] > 0


def test_report_formats_benchmark_runs_and_writes_its_figures() -> None:
    _, figures = run_smoke("report_formats")
    formats = figures["formats"]
    assert set(formats) == {"json", "csv", "xlsx", "pdf"}
    for measured in formats.values():
        assert measured["median_ms"] > 0
        assert measured["p95_ms"] >= measured["min_ms"]
        assert measured["peak_mib"] > 0
        assert measured["bytes"] > 0
    assert formats["json"]["ratio_median_over_json"] == 1
    # The PDF holds one page whatever the lines: far smaller than the table as JSON.
    assert formats["pdf"]["bytes"] < formats["json"]["bytes"]


def test_dashboard_benchmark_runs_and_writes_its_figures() -> None:
    _, figures = run_smoke("dashboard")
    for period in figures["periods"].values():
        for kind in ("warm", "new_filter", "cold"):
            assert period[kind]["median_ms"] > 0
        assert len(period["warm_by_filter"]) == 4
        assert period["ratio_median_cold_over_warm"] > 0
    assert figures["rollup_days"] == figures["size"]["days"]
    assert figures["import"]["median_ms"] > 0
