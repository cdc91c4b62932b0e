"""Time to first byte of POST /reports through the local HTTP API: inline-forced against async, at 1x, 10x
and 100x the orders in the period.

    PYTHONPATH=functions:infra/local .venv/bin/python -m bench.report_http [--size smoke|full]

It starts its own local cloud (MiniStack and the :api proxy, as tests/e2e/conftest.py does, on free
ports and with its own stack name and state folder, so it never touches a running `make run`),
deploys template.yaml on it, seeds one tenant per size (orders written to OrdersTable with boto3
against the emulator), then times `POST /reports` over HTTP, the requests of every size and path
interleaved. Prints a table and writes bench/results/report_http.json. See bench/README.md.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.factories import order

from bench.cli import command_line
from tandem.adapters.directory_tables import ApiKeysTable, TenantsTable
from tandem.adapters.orders_table import OrdersTable
from tandem.logic.auth import new_api_key
from tandem.models.records import ALL_SCOPES, Tenant
from tandem_local.config import LocalCloud
from tandem_local.deploy import deploy
from tandem_local.emulator import Emulator
from tandem_local.proxy import ApiProxy
from tandem_local.stack import Stack

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "report_http.json"
# The period every tenant's orders are in; its days are whole in any time zone (placed 12:00 UTC ± 9 h).
DATE_FROM, DATE_TO = date(2026, 11, 1), date(2026, 11, 27)
BODY = json.dumps({"from": DATE_FROM.isoformat(), "to": DATE_TO.isoformat()}).encode()
# The two paths, as a client asks for them. wait=8 is the API's longest wait (REPORT_MAX_WAIT_SECONDS):
# its budget (5,000 rows x 8 / 0.5 s = 80,000 orders) holds every size here, so each answer is inline.
PATHS = {"inline": "wait=8", "async": "respond-async"}
EXPECTED_STATUS = {"inline": 200, "async": 202}
SCALES = (1, 10, 100)
TARGET_ASYNC_RATIO = 1.2
JOB_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Size:
    base_orders: int  # orders in the period at 1x; 10x and 100x hold 10 and 100 times as many
    samples: int  # timed requests per size and path
    warmup: int  # untimed requests per path first (the Lambda workers' cold starts)


SIZES = {
    "smoke": Size(base_orders=5, samples=3, warmup=1),
    # 20 / 200 / 2,000 orders. At 5,000 (base 50) the inline answer on MiniStack, under a load of 7 on
    # 2 cores, outlived the API function's 10 s timeout (a 502): 2,000 keeps 100x practical.
    "full": Size(base_orders=20, samples=15, warmup=2),
}


@dataclass(frozen=True)
class Target:
    """Where the requests go: the local API's port, and the stack behind it (for seeding)."""

    cloud: LocalCloud
    stack: Stack


# ---------------------------------------------------------------- the local cloud


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def local_cloud() -> Iterator[tuple[Target, dict[str, float]]]:
    """A local cloud of its own, as tests/e2e/conftest.py starts one, stopped afterwards.

    The template's default parameters, as `make run` deploys it (ReportWorkerTimeout 60 s,
    ReportInlineMaxRows 5,000)."""
    with tempfile.TemporaryDirectory(prefix="tandem-bench-http-") as folder:
        state = Path(folder)
        cloud = LocalCloud(
            aws_port=free_port(),
            api_port=free_port(),
            stack_name="tandem-bench-http",
            state_dir=state,
            build_dir=state / "build",
            # Its own sam folder: a build beside another (make test's lanes) must not share one.
            sam_dir=ROOT / ".aws-sam" / "bench-http",
        )
        emulator = Emulator(cloud, state / "ministack.log")
        started = time.perf_counter()
        emulator.start()
        proxy = None
        try:
            proxy = ApiProxy(cloud)
            deployment = deploy(cloud)
            proxy.start(deployment.stack.physical["HttpApi"])
            setup = {"start_and_deploy_s": time.perf_counter() - started, **deployment.seconds}
            yield Target(cloud, deployment.stack), setup
        finally:
            if proxy:
                proxy.stop()
            emulator.stop()


# ---------------------------------------------------------------- seeding


def tenant_id(scale: int) -> str:
    return f"bench-{scale}x"


def seed(target: Target, size: Size) -> dict[int, dict[str, Any]]:
    """One tenant per scale, its orders in the period, and an API key each; returns them by scale."""
    dynamodb = target.cloud.resource("dynamodb")
    tenants = TenantsTable(target.stack.physical["TenantsTable"], dynamodb)
    keys = ApiKeysTable(target.stack.physical["ApiKeysTable"], dynamodb)
    orders_table = OrdersTable(target.stack.physical["OrdersTable"], dynamodb)
    seeded: dict[int, dict[str, Any]] = {}
    first = datetime.combine(DATE_FROM, datetime.min.time(), UTC) + timedelta(hours=12)
    days = (DATE_TO - DATE_FROM).days + 1
    for scale in SCALES:
        tenant, count = tenant_id(scale), size.base_orders * scale
        tenants.put(Tenant(tenant_id=tenant, name=tenant))
        secret, record = new_api_key(tenant, f"{tenant}-bench", ALL_SCOPES, datetime.now(UTC))
        keys.put(record)
        # Spread over the period's days, two or three lines each, all confirmed: every one is counted.
        orders = [
            order(
                first + timedelta(days=n % days, minutes=(n * 37) % 540 - 270),
                *((f"SKU-{(n * 7 + k) % 200:03d}", 1 + k, "6.50") for k in range(2 + n % 2)),
                tenant=tenant,
            )
            for n in range(count)
        ]
        before = time.perf_counter()
        orders_table.put_many(orders)
        seeded[scale] = {
            "tenant": tenant,
            "orders": count,
            "key": secret,
            "seed_s": time.perf_counter() - before,
        }
    return seeded


# ---------------------------------------------------------------- one request


@dataclass(frozen=True)
class Answer:
    ttfb_ms: float  # request sent → first byte of the answer received
    total_ms: float  # → last byte
    status: int
    headers: dict[str, str]
    body: bytes


def post_report(target: Target, key: str, prefer: str) -> Answer:
    """One POST /reports on a fresh connection (the proxy closes each one, HTTP/1.0).

    The connection is opened before the clock starts (a loopback handshake, not the API's time).
    The first byte is seen with recv(MSG_PEEK), which leaves it for http.client to parse."""
    connection = http.client.HTTPConnection("127.0.0.1", target.cloud.api_port, timeout=60)
    try:
        connection.connect()
        assert connection.sock is not None
        headers = {"content-type": "application/json", "x-api-key": key, "prefer": prefer}
        before = time.perf_counter_ns()
        connection.request("POST", "/reports", body=BODY, headers=headers)
        if not connection.sock.recv(1, socket.MSG_PEEK):
            raise SystemExit("the local API closed the connection without answering")
        first = time.perf_counter_ns()
        response = connection.getresponse()
        body = response.read()
        last = time.perf_counter_ns()
        return Answer(
            ttfb_ms=(first - before) / 1e6,
            total_ms=(last - before) / 1e6,
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            body=body,
        )
    finally:
        connection.close()


def get_json(target: Target, key: str, path: str) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", target.cloud.api_port, timeout=60)
    try:
        connection.request("GET", path, headers={"x-api-key": key})
        response = connection.getresponse()
        answer: dict[str, Any] = json.loads(response.read())
        return answer
    finally:
        connection.close()


def check(answer: Answer, path: str, orders: int) -> None:
    """Stop on a wrong answer: a broken path must not pass for a fast one."""
    if answer.status != EXPECTED_STATUS[path]:
        raise SystemExit(
            f"{path} POST /reports for {orders:,} orders answered {answer.status}, not "
            f"{EXPECTED_STATUS[path]} ({answer.headers.get('tandem-estimate')}): {answer.body[:300]!r}"
        )
    if path == "inline":
        counted = json.loads(answer.body)["orders"]
        if counted != orders:
            raise SystemExit(f"the inline summary counted {counted} orders, not {orders}")


def wait_for_job(target: Target, key: str, answer: Answer, orders: int) -> float:
    """Untimed: the job's end, so the worker's run never overlaps the next timed request.
    Returns the job's duration as the worker recorded it."""
    location = answer.headers["location"]
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job = get_json(target, key, location)
        if job.get("status") == "succeeded":
            return float(job["duration_seconds"])
        if job.get("status") == "failed":
            raise SystemExit(f"the report job over {orders:,} orders failed: {job}")
        time.sleep(0.1)
    raise SystemExit(f"the report job over {orders:,} orders did not finish in {JOB_TIMEOUT_S:.0f} s")


# ---------------------------------------------------------------- the measurement


def stats(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {
        "median": statistics.median(values),
        "p95": cuts[94],
        "min": min(values),
        "max": max(values),
    }


def progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def measure(target: Target, size: Size) -> dict[str, Any]:
    """Seed, warm up, then the timed requests: every repetition asks each scale (rotated order) on
    both paths (alternating which goes first), so a slow spell of the machine hits all cells alike."""
    seeded = seed(target, size)
    counts = ", ".join(f"{tenant['orders']:,}" for tenant in seeded.values())
    progress(f"seeded {counts} orders")
    for path, prefer in PATHS.items():
        for _ in range(size.warmup):
            tenant = seeded[SCALES[0]]
            answer = post_report(target, tenant["key"], prefer)
            check(answer, path, tenant["orders"])
            if path == "async":
                wait_for_job(target, tenant["key"], answer, tenant["orders"])

    cells: dict[tuple[int, str], list[Answer]] = {(s, p): [] for s in SCALES for p in PATHS}
    jobs_s: dict[int, list[float]] = {s: [] for s in SCALES}
    started = time.perf_counter()
    for repetition in range(size.samples):
        progress(f"repetition {repetition + 1}/{size.samples}")
        rotation = repetition % len(SCALES)
        for scale in SCALES[rotation:] + SCALES[:rotation]:
            tenant = seeded[scale]
            for path in list(PATHS)[:: 1 if (repetition + scale) % 2 == 0 else -1]:
                answer = post_report(target, tenant["key"], PATHS[path])
                check(answer, path, tenant["orders"])
                cells[(scale, path)].append(answer)
                if path == "async":
                    jobs_s[scale].append(wait_for_job(target, tenant["key"], answer, tenant["orders"]))
    timed_s = time.perf_counter() - started

    figures: dict[str, Any] = {}
    for path in PATHS:
        rows = []
        for scale in SCALES:
            answers = cells[(scale, path)]
            rows.append(
                {
                    "scale": scale,
                    "orders": seeded[scale]["orders"],
                    "ttfb_ms": stats([a.ttfb_ms for a in answers]),
                    "total_ms": stats([a.total_ms for a in answers]),
                    "estimate": answers[-1].headers.get("tandem-estimate"),
                    "preference_applied": answers[-1].headers.get("preference-applied"),
                    "body_bytes": statistics.median(len(a.body) for a in answers),
                    **({"worker_job_s": stats(jobs_s[scale])} if path == "async" else {}),
                }
            )
        top, bottom = rows[-1]["ttfb_ms"], rows[0]["ttfb_ms"]
        figures[path] = {
            "prefer": PATHS[path],
            "sizes": rows,
            "ratio_median_100x_over_1x": top["median"] / bottom["median"],
            "ratio_p95_100x_over_1x": top["p95"] / bottom["p95"],
        }
    async_ratio = figures["async"]["ratio_median_100x_over_1x"]
    return {
        "seeded": {str(s): {k: v for k, v in t.items() if k != "key"} for s, t in seeded.items()},
        "paths": figures,
        "target_async_ratio": TARGET_ASYNC_RATIO,
        "async_ratio_met": async_ratio <= TARGET_ASYNC_RATIO,
        "timed_s": timed_s,
    }


def _machine() -> dict[str, Any]:
    import platform

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
    }


def run(size_name: str, target: Target | None = None) -> dict[str, Any]:
    """Measure on `target` (a running local cloud, e.g. the e2e fixture's) or on one started here."""
    size = SIZES[size_name]
    started = time.perf_counter()
    machine = _machine()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    if target is not None:
        figures, setup = measure(target, size), {}
    else:
        progress("starting MiniStack, building and deploying the stack (a minute or two)")
        with local_cloud() as (own, setup):
            figures = measure(own, size)
    return {
        "benchmark": "report_http",
        "size_name": size_name,
        "size": asdict(size),
        "started_at": started_at,
        "machine": {**machine, "load_after": os.getloadavg()},
        "setup_s": setup,
        **figures,
        "total_s": time.perf_counter() - started,
        "json": str(RESULTS.relative_to(ROOT)),
    }


def _row(cells: list[str], widths: list[int]) -> str:
    """A left-aligned first column, then right-aligned cells."""
    first, *rest = cells
    return "  " + first.ljust(widths[0]) + "".join(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))


def print_table(results: dict[str, Any]) -> None:
    m = results["machine"]
    size = results["size"]
    print(
        f"\nPOST /reports through the local HTTP API (MiniStack), size {results['size_name']}: "
        f"Python {m['python']}, {m['cpus']} CPUs, load (1 min) {m['load_before'][0]:.2f} before, "
        f"{m['load_after'][0]:.2f} after\n"
        f"  {size['samples']} timed requests per size and path after {size['warmup']} warm-up per path,"
        " interleaved; each async job waited for (untimed) before the next request"
    )
    head = ["path", "scale", "orders", "TTFB median", "TTFB p95", "last byte med", "answer", "estimate"]
    widths = [8, 7, 8, 13, 12, 15, 9, 38]
    print(_row(head, widths))
    for path, figures in results["paths"].items():
        for row in figures["sizes"]:
            cells = [
                path,
                f"{row['scale']}x",
                f"{row['orders']:,}",
                f"{row['ttfb_ms']['median']:.1f} ms",
                f"{row['ttfb_ms']['p95']:.1f} ms",
                f"{row['total_ms']['median']:.1f} ms",
                f"{EXPECTED_STATUS[path]}",
                f"{row['estimate']}",
            ]
            print(_row(cells, widths))
    for path, figures in results["paths"].items():
        print(
            f"  ratio of medians 100x/1x, {path:6}: {figures['ratio_median_100x_over_1x']:.2f}x"
            f" (p95 {figures['ratio_p95_100x_over_1x']:.2f}x)"
        )
    jobs = results["paths"]["async"]["sizes"]
    print(
        "  the async jobs' own run (worker, duration_seconds): "
        + ", ".join(f"{r['scale']}x {r['worker_job_s']['median']:.2f} s" for r in jobs)
    )
    met = "met" if results["async_ratio_met"] else "NOT met"
    print(f"  target: async 100x/1x <= {results['target_async_ratio']}: {met}")
    print(f"\nRun took {results['total_s']:.0f} s; JSON in {results['json']}")


def main(argv: list[str] | None = None) -> None:
    command_line(argv, "report_http", __doc__ or "", SIZES, run, print_table, RESULTS)


if __name__ == "__main__":
    main()
