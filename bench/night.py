"""One tenant's nights, whole, on all the shared data: ingest → lake → each day finished → each of
the night's products, measured per step.

    .venv/bin/python -m bench.night [--days 68] [--no-backup]

The shared exports are dropped as the demo drops them (each Online Retail day in its own
partition, the catalogue, the CRM funnel and the ad spend under the first day), then the night
runs for every day in order, as `tandem batch run nightly` would: each (source, date) item, the
tenant's day finished, then each product the deployment has (`products()` of the nightly wiring:
rollups, inventory, …), then the deployment's backup when it has one. Every step goes through
NightlyLakeFunction's handler, with the real adapters (DuckDB for the Parquet) against moto
(in-process S3 and DynamoDB): the figures are our code + DuckDB + botocore + moto, no network.

Per step: the wall time (total over the nights, median and p95 of one night's), the AWS calls by
operation (botocore's hooks, bench.calls), and the process's peak RSS once the step has run
(moto's in-memory bucket is in it). Prints a table and writes bench/results/night.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from tests.conftest import FakeLambdaContext
from tests.moto_stack import create_stack
from tests.template_model import functions

from bench.calls import Calls
from bench.reports import REGION, ROOT, _Discard, progress, quiet

RESULTS = ROOT / "bench" / "results" / "night.json"
SHARED = ROOT.parent / "shared" / "data"
TENANT = "demo"
EXPORTS = {  # source → the file, dropped under the first day (as the demo does)
    "erp_products": SHARED / "olist" / "olist_products_dataset.csv",
    "crm_leads": SHARED / "olist" / "olist_marketing_qualified_leads_dataset.csv",
    "crm_deals": SHARED / "olist" / "olist_closed_deals_dataset.csv",
    "ads_spend": SHARED / "ads" / "KAG_conversion_data.csv",
}
CALLS = Calls()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


class Steps:
    """Each step's times (one per night), calls by operation, and the peak RSS after it."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.calls: dict[str, Counter[str]] = defaultdict(Counter)
        self.rss: dict[str, float] = {}

    def run(self, name: str, work: Any) -> Any:
        with CALLS.recording() as calls:
            started = time.perf_counter()
            answer = work()
            self.seconds[name].append(time.perf_counter() - started)
        self.calls[name].update(call.operation for call in calls)
        self.rss[name] = peak_rss_mib()
        return answer


def _category_translation() -> dict[str, str]:
    path = SHARED / "olist" / "product_category_name_translation.csv"
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return {
            row["product_category_name"]: row["product_category_name_english"]
            for row in csv.DictReader(handle)
        }


def _top_skus(files: list[Path], count: int) -> list[str]:
    units: Counter[str] = Counter()
    for path in files:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                try:
                    units[row["StockCode"].strip()] += int(float(row["Quantity"]))
                except ValueError:
                    continue
    return [sku for sku, _ in units.most_common(count)]


def _seed_tenant(stack: Any, retail: list[Path]) -> None:
    """The tenant's configuration (Olist's category names in English, a channel name) and stock
    on hand for its 200 best-selling SKUs (the inventory product's flags need some)."""
    from tandem.logic.lake.intake import config_key

    config = {"categories": _category_translation(), "channels": {"erp_orders": "store"}}
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=stack.physical["DataBucket"], Key=config_key(TENANT), Body=json.dumps(config).encode()
    )
    rng = random.Random(7)
    products = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["ProductsTable"])
    with products.batch_writer() as batch:
        for sku in _top_skus(retail, 200):
            batch.put_item(
                Item={"tenant_id": TENANT, "sku": sku, "name": sku, "price": "1.00", "currency": "GBP",
                      "stock": rng.randint(0, 300), "active": True}
            )  # fmt: skip


def _night(steps: Steps, day: date, first: bool) -> None:
    """One night of the tenant, step by step, as the state machine calls NightlyLakeFunction."""
    from tandem.handlers import nightly_lake
    from tandem.handlers.wiring import nightly_lake as root

    context = FakeLambdaContext()
    for source in ["checkout", "erp_orders", *(EXPORTS if first else ())]:
        item = {"step": "item", "item": {"tenant_id": TENANT, "source": source, "date": day.isoformat()}}
        steps.run(f"lake: {source}", lambda item=item: nightly_lake.handler(item, context))
    finish = {"step": "finish", "tenant_id": TENANT, "date": day.isoformat()}
    steps.run("day finished", lambda: nightly_lake.handler(finish, context))
    for product in root.products():
        event = {"step": "product", "product": product, "tenant_id": TENANT, "date": day.isoformat()}
        steps.run(f"product: {product}", lambda event=event: nightly_lake.handler(event, context))


def run(days: int, backup: bool) -> dict[str, Any]:
    from tandem.handlers import nightly_lake
    from tandem.logic.lake.layout import raw_key

    retail = sorted((SHARED / "online_retail" / "by-day").glob("*.csv"))[:days]
    if not retail:
        raise SystemExit(f"no shared data under {SHARED}")
    nights = [date.fromisoformat(path.stem) for path in retail]
    context = FakeLambdaContext()
    steps = Steps()
    with mock_aws():
        stack = create_stack()
        for function in functions():
            os.environ.update(stack.environment(function))
        CALLS.install()
        s3 = boto3.client("s3", region_name=REGION)
        bucket = stack.physical["DataBucket"]
        _seed_tenant(stack, retail)

        def ingest() -> int:
            for day, path in zip(nights, retail, strict=True):
                key = raw_key(TENANT, "erp_orders", day, path.name)
                s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
            for source, path in EXPORTS.items():
                s3.put_object(
                    Bucket=bucket, Key=raw_key(TENANT, source, nights[0], path.name), Body=path.read_bytes()
                )
            return len(retail) + len(EXPORTS)

        steps.run("ingest (raw files put)", ingest)
        for number, day in enumerate(nights):
            _night(steps, day, first=number == 0)
            if number % 10 == 0:
                progress(f"night {number + 1}/{len(nights)} ({day})")
        if backup and "backup" in json.dumps(nightly_lake.STEP.json_schema()):
            last = nights[-1].isoformat()
            steps.run(
                "backup (every table)",
                lambda: nightly_lake.handler({"step": "backup", "date": last}, context),
            )
        manifest = json.loads(
            s3.get_object(Bucket=bucket, Key=f"manifests/{TENANT}/{nights[-1].isoformat()}.json")[
                "Body"
            ].read()
        )
    return {"nights": len(nights), "first": nights[0].isoformat(), "last": nights[-1].isoformat(),
            "steps": steps, "last_manifest_products": manifest.get("products", {})}  # fmt: skip


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(result: dict[str, Any], wall: float) -> dict[str, Any]:
    steps: Steps = result["steps"]
    rows = []
    for name, seconds in steps.seconds.items():
        calls = steps.calls[name]
        rows.append(
            {
                "step": name,
                "runs": len(seconds),
                "total_s": sum(seconds),
                "median_s": statistics.median(seconds),
                "p95_s": _p95(seconds),
                "aws_calls": sum(calls.values()),
                "calls_per_run": sum(calls.values()) / len(seconds),
                "by_operation": dict(calls.most_common()),
                "peak_rss_mib_after": steps.rss[name],
            }
        )
    print(
        f"\nTandem, one tenant's nights on the shared data: {result['nights']} nights "
        f"({result['first']} … {result['last']}), Python {platform.python_version()}, "
        f"{platform.machine()}, moto in-process; {wall:.1f} s\n"
    )
    header = f"{'step':28} {'runs':>5} {'total':>9} {'median':>9} {'p95':>9} {'calls/run':>10}"
    print(f"{header}  peak RSS  top calls")
    for row in rows:
        top = ", ".join(f"{op} {n}" for op, n in list(row["by_operation"].items())[:3])
        times = f"{row['total_s']:>8.2f}s {row['median_s'] * 1000:>7.0f}ms {row['p95_s'] * 1000:>7.0f}ms"
        rss = f"{row['peak_rss_mib_after']:>6.0f} MiB"
        print(f"{row['step']:28} {row['runs']:>5} {times} {row['calls_per_run']:>10.1f} {rss}  {top}")
    print("\nThe last night's products in its manifest:")
    for name, outcome in result["last_manifest_products"].items():
        print(f"  {name}: {outcome['seconds']} s, {outcome['counts']}")
    return {"nights": result["nights"], "first": result["first"], "last": result["last"], "wall_s": wall,
            "steps": rows, "last_manifest_products": result["last_manifest_products"],
            "command": " ".join(sys.argv), "machine": platform.platform()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=68, help="nights (Online Retail days), from the first")
    parser.add_argument("--no-backup", action="store_true", help="leave the deployment's backup out")
    options = parser.parse_args()
    started = time.perf_counter()
    with quiet(_Discard()):  # the handlers' JSON logs and metrics
        result = run(options.days, not options.no_backup)
    document = report(result, time.perf_counter() - started)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2, default=str))
    print(f"\nJSON in {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
