"""How fast the report paths run: the API handler, the sales arithmetic and the report worker.

    .venv/bin/python -m bench.reports [--size smoke|standard|full]

Everything runs in this one process, under moto.mock_aws for the AWS calls, so
the figures are our code + Powertools + botocore + moto's in-memory emulation of
DynamoDB, SQS and S3: no network, no Lambda runtime. They compare versions of
this code on one machine; they are not the latencies a deployed stack answers
with. Prints a table and writes bench/results/reports.json. See bench/README.md.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "reports.json"
REGION = "eu-west-1"


def _offline_environment() -> None:
    """As tests/conftest.py does: fake credentials, no endpoint, the template's Globals.

    Powertools reads its settings when the Logger is created, at import, so this
    runs before anything from tandem is imported. The Globals are forced (not
    setdefault) so a stray POWERTOOLS_LOG_LEVEL in the shell cannot change the figures.
    """
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_LAMBDA_LOG_LEVEL"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's fake credentials, as in tests/conftest.py
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        # The benchmark empties ReportQueue between timed blocks (see bench_api);
        # moto, like SQS, refuses a second purge within 60 s unless told otherwise.
        MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR="false",
    )
    from tests.template_model import Resolver

    os.environ.update(Resolver({}).globals_environment())


_offline_environment()

import boto3  # noqa: E402
import botocore.client  # noqa: E402
from moto import mock_aws  # noqa: E402
from tests.conftest import FakeLambdaContext  # noqa: E402
from tests.events import http_event, sqs_event  # noqa: E402
from tests.factories import order  # noqa: E402
from tests.moto_stack import create_stack  # noqa: E402
from tests.template_model import Resolver  # noqa: E402

from bench.cli import command_line  # noqa: E402
from tandem.adapters.orders_table import OrdersTable  # noqa: E402
from tandem.handlers import api, report_worker  # noqa: E402
from tandem.handlers.wiring import report_worker as worker_root  # noqa: E402
from tandem.logic.reports import run_report  # noqa: E402
from tandem.logic.sales import period_bounds, summarize_sales  # noqa: E402
from tandem.models.messages import ReportRequested  # noqa: E402
from tandem.models.records import JobStatus, Order, OrderStatus  # noqa: E402
from tandem.observability import logger  # noqa: E402

TENANT = "acme"
PERIOD = {"from": "2026-11-01", "to": "2026-11-27"}
DATE_FROM, DATE_TO = date(2026, 11, 1), date(2026, 11, 27)
SEED = 20261128


@dataclass(frozen=True)
class Size:
    api_calls: int  # timed calls per route
    api_warmup: int  # untimed calls per route after the first one
    api_block: int  # the routes alternate in blocks of this many calls
    sales_orders: int
    sales_repeats: int
    worker_orders: int  # orders stored in DynamoDB, all inside the report's period
    worker_jobs: int  # timed jobs, after one untimed first job
    batch_repeats: int  # 3c: timed batches per job kind and way of running them


# smoke: that each part still runs (make test); standard: what `make bench` measures.
SIZES = {
    "smoke": Size(
        api_calls=60,
        api_warmup=5,
        api_block=20,
        sales_orders=1_000,
        sales_repeats=2,
        worker_orders=50,
        worker_jobs=2,
        # 2: quantiles needs two on Python 3.11
        batch_repeats=2,
    ),
    "standard": Size(
        api_calls=300,
        api_warmup=30,
        api_block=25,
        sales_orders=5_000,
        sales_repeats=3,
        worker_orders=200,
        worker_jobs=3,
        # 2 (quantiles needs two on Python 3.11; each batch is 10 jobs under moto)
        batch_repeats=2,
    ),
    "full": Size(
        api_calls=3_000,
        api_warmup=200,
        api_block=25,
        sales_orders=100_000,
        sales_repeats=5,
        worker_orders=2_000,
        worker_jobs=5,
        batch_repeats=15,
    ),
}


# ---------------------------------------------------------------- output


class _Discard(io.TextIOBase):
    """Where the handlers' output goes while they are timed: counted, then dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


@contextlib.contextmanager
def quiet(sink: _Discard) -> Iterator[None]:
    """Send the handlers' log lines and EMF metric lines to `sink` instead of the terminal.

    The log level stays INFO (the template's default LogLevel), so each log line is
    still built and JSON-formatted as in Lambda; only the write to a terminal or a
    pipe is replaced by a no-op, so printing does not dominate the figures. The
    logger's handler holds its own reference to stdout, hence both redirections;
    Powertools' Metrics print() their EMF blob, hence redirect_stdout.
    """
    handler = logger.registered_handler
    previous = handler.setStream(sink)  # type: ignore[attr-defined]
    try:
        with contextlib.redirect_stdout(sink):
            yield
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


def progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


class _AwsClock:
    """Time spent inside AWS SDK calls (botocore serialisation + moto's emulation + parsing).

    Every boto3 call, client or resource, goes through BaseClient._make_api_call;
    wrapping it costs two clock reads per AWS call (~0.1 µs against calls of ~1 ms)
    and tells how much of a figure is moto rather than our code.
    """

    def __init__(self) -> None:
        self.ns = 0

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        original = botocore.client.BaseClient._make_api_call
        clock = time.perf_counter_ns

        def timed(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            before = clock()
            try:
                return original(client, operation_name, api_params)
            finally:
                self.ns += clock() - before

        botocore.client.BaseClient._make_api_call = timed  # type: ignore[method-assign]
        try:
            yield
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


AWS = _AwsClock()


# ---------------------------------------------------------------- statistics


def latency_stats(samples_ns: list[int], aws_ns: list[int], wall_ns: int, block: int) -> dict[str, float]:
    """Per-call latency in ms; throughput is calls / wall time of the timed loops (one thread).

    aws_* is the part of each call spent in AWS SDK calls (under moto); the first and
    last blocks' medians show whether the figures drift as the tables and queue fill.
    """
    ms = [sample / 1e6 for sample in samples_ns]
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "calls": len(ms),
        "median_ms": statistics.median(ms),
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
        "mean_ms": statistics.fmean(ms),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "throughput_per_s": len(ms) / (wall_ns / 1e9),
        "aws_median_ms": statistics.median(aws_ns) / 1e6,
        "aws_share": sum(aws_ns) / sum(samples_ns),
        "first_block_median_ms": statistics.median(ms[:block]),
        "last_block_median_ms": statistics.median(ms[-block:]),
    }


# ---------------------------------------------------------------- synthetic orders


def synthetic_orders(count: int, rng: random.Random, start: datetime, end: datetime) -> list[Order]:
    """Orders placed uniformly in [start, end): mostly confirmed, mostly GBP, 1-5 lines of 200 SKUs."""
    span = (end - start).total_seconds()
    statuses = [OrderStatus.CONFIRMED, OrderStatus.PENDING, OrderStatus.CANCELLED, OrderStatus.REFUNDED]
    currencies = ["GBP", "EUR", "USD"]
    orders = []
    for _ in range(count):
        lines = tuple(
            (f"SKU-{rng.randrange(200):03d}", rng.randint(1, 4), str(Decimal(rng.randint(99, 9_999)) / 100))
            for _ in range(rng.randint(1, 5))
        )
        orders.append(
            order(
                start + timedelta(seconds=rng.random() * span),
                *lines,
                tenant=TENANT,
                status=rng.choices(statuses, weights=(85, 5, 5, 5))[0],
                currency=rng.choices(currencies, weights=(80, 15, 5))[0],
            )
        )
    return orders


# ---------------------------------------------------------------- 1 + 2: the API handler


def _post_event() -> dict[str, Any]:
    # The job's path, as measured before adaptive dispatch: a small period is answered inline otherwise.
    return http_event("POST", "/reports", body=PERIOD, tenant=TENANT, headers={"Prefer": "respond-async"})


def _health_event() -> dict[str, Any]:
    return http_event("GET", "/health", tenant=None)


ROUTES: dict[str, tuple[Callable[[], dict[str, Any]], int]] = {
    "POST /reports": (_post_event, 202),
    "GET /health": (_health_event, 200),
}


def _expect(response: dict[str, Any], status: int, route: str) -> None:
    if response["statusCode"] != status:
        raise SystemExit(f"{route} answered {response['statusCode']}, not {status}: {response.get('body')}")


def _timed_block(route: str, count: int, context: FakeLambdaContext) -> tuple[list[int], list[int], int]:
    """`count` calls of one route; events are built before the clock starts, answers checked after."""
    make, status = ROUTES[route]
    events = [make() for _ in range(count)]
    samples, aws, responses = [], [], []
    clock = time.perf_counter_ns
    started = clock()
    for event in events:
        aws_before, before = AWS.ns, clock()
        responses.append(api.handler(event, context))
        samples.append(clock() - before)
        aws.append(AWS.ns - aws_before)
    wall = clock() - started
    for response in responses:
        _expect(response, status, route)
    return samples, aws, wall


def _drain(queue_url: str) -> None:
    boto3.client("sqs", region_name=REGION).purge_queue(QueueUrl=queue_url)


def bench_api(size: Size, context: FakeLambdaContext, queue_url: str) -> dict[str, Any]:
    # First calls, in this order: POST's is the process's first invocation (settings,
    # boto3 clients, the resolver's first request); /health's comes after it.
    first_ms = {}
    for route, (make, status) in ROUTES.items():
        event = make()
        before = time.perf_counter_ns()
        response = api.handler(event, context)
        first_ms[route] = (time.perf_counter_ns() - before) / 1e6
        _expect(response, status, route)
    for route in ROUTES:
        _timed_block(route, size.api_warmup, context)
    _drain(queue_url)

    # The routes alternate block by block (and swap which goes first), so a slow
    # spell of the machine hits both alike and the ratio stays fair. ReportQueue is
    # emptied after each block, untimed, as the worker keeps it in a deployed stack:
    # moto's SendMessage walks every message already queued (about 8 µs each), so a
    # queue left to fill would make POST slower the longer the run.
    samples: dict[str, list[int]] = {route: [] for route in ROUTES}
    aws: dict[str, list[int]] = {route: [] for route in ROUTES}
    wall = dict.fromkeys(ROUTES, 0)
    for block in range(size.api_calls // size.api_block):
        for route in list(ROUTES)[:: 1 if block % 2 == 0 else -1]:
            block_samples, block_aws, block_wall = _timed_block(route, size.api_block, context)
            samples[route].extend(block_samples)
            aws[route].extend(block_aws)
            wall[route] += block_wall
            _drain(queue_url)

    routes = {
        route: {
            "first_call_ms": first_ms[route],
            **latency_stats(samples[route], aws[route], wall[route], size.api_block),
        }
        for route in ROUTES
    }
    post, health = routes["POST /reports"], routes["GET /health"]
    return {
        "warmup_calls_per_route": size.api_warmup,
        "block": size.api_block,
        "routes": routes,
        "ratio_median_post_over_health": post["median_ms"] / health["median_ms"],
    }


# ---------------------------------------------------------------- 3a: summarize_sales


def bench_sales(size: Size, zone: ZoneInfo) -> dict[str, Any]:
    rng = random.Random(SEED)
    # A superset of the period, as a caller may pass: about a fifth falls outside it.
    start, end = period_bounds(DATE_FROM, DATE_TO, zone)
    built = time.perf_counter()
    orders = synthetic_orders(size.sales_orders, rng, start - timedelta(days=3), end + timedelta(days=4))
    build_s = time.perf_counter() - built

    summarize_sales(TENANT, orders[:1_000], DATE_FROM, DATE_TO, zone)  # warm-up
    seconds = []
    for _ in range(size.sales_repeats):
        before = time.perf_counter_ns()
        summary = summarize_sales(TENANT, orders, DATE_FROM, DATE_TO, zone)
        seconds.append((time.perf_counter_ns() - before) / 1e9)
    median = statistics.median(seconds)
    return {
        "orders": len(orders),
        "orders_counted": summary.orders,
        "repeats": len(seconds),
        "median_s": median,
        "min_s": min(seconds),
        "max_s": max(seconds),
        "orders_per_s": len(orders) / median,
        "build_orders_s": build_s,
    }


# ---------------------------------------------------------------- 3b: the report worker


def _seed_orders(resolver: Resolver, size: Size, zone: ZoneInfo) -> tuple[int, float]:
    """Stores worker_orders orders inside the period; returns how many the summary must count."""
    start, end = period_bounds(DATE_FROM, DATE_TO, zone)
    orders = synthetic_orders(size.worker_orders, random.Random(SEED + 1), start, end)
    table = OrdersTable(resolver.physical["OrdersTable"], boto3.resource("dynamodb", region_name=REGION))
    before = time.perf_counter()
    for item in orders:
        table.put(item)
    seeded_s = time.perf_counter() - before
    return summarize_sales(TENANT, orders, DATE_FROM, DATE_TO, zone).orders, seeded_s


def _run_one_job(resolver: Resolver, context: FakeLambdaContext, expected_orders: int) -> tuple[float, float]:
    """POST /reports, receive its message, then time the worker on it (only the worker is timed)."""
    response = api.handler(_post_event(), context)
    _expect(response, 202, "POST /reports")
    job_id = json.loads(response["body"])["job_id"]
    sqs = boto3.client("sqs", region_name=REGION)
    queue = resolver.physical["ReportQueue"]
    messages = sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=1, MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    event = sqs_event(messages, resolver.attributes[("ReportQueue", "Arn")])

    aws_before, before = AWS.ns, time.perf_counter_ns()
    result = report_worker.handler(event, context)
    elapsed = (time.perf_counter_ns() - before) / 1e9
    aws_s = (AWS.ns - aws_before) / 1e9

    sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])
    if result != {"batchItemFailures": []}:
        raise SystemExit(f"the worker failed job {job_id}: {result}")
    stored = boto3.client("s3", region_name=REGION).get_object(
        Bucket=resolver.physical["ReportsBucket"], Key=f"reports/{TENANT}/{job_id}.json"
    )
    counted = json.loads(stored["Body"].read())["orders"]
    if counted != expected_orders:
        raise SystemExit(f"job {job_id} counted {counted} orders, not {expected_orders}")
    return elapsed, aws_s


def bench_worker(
    size: Size, resolver: Resolver, context: FakeLambdaContext, zone: ZoneInfo
) -> dict[str, Any]:
    expected, seeded_s = _seed_orders(resolver, size, zone)
    _drain(resolver.physical["ReportQueue"])  # the worker must get only its own messages
    first, _ = _run_one_job(resolver, context, expected)
    timed = [_run_one_job(resolver, context, expected) for _ in range(size.worker_jobs)]
    seconds = [elapsed for elapsed, _ in timed]
    median = statistics.median(seconds)
    return {
        "orders_per_job": size.worker_orders,
        "orders_counted": expected,
        "jobs": len(seconds),
        "first_job_s": first,
        "median_s": median,
        "min_s": min(seconds),
        "max_s": max(seconds),
        "orders_per_s": size.worker_orders / median,
        "aws_median_s": statistics.median(aws_s for _, aws_s in timed),
        "aws_share": sum(aws_s for _, aws_s in timed) / sum(seconds),
        "seed_orders_s": seeded_s,
    }


# ---------------------------------------------------------------- 3c: batch processing against a bare loop

# The report worker's SQS batch size (template.yaml, ReportWorkerFunction's Reports event).
BATCH_SIZE = 10
# Two jobs of the same kind (sales_summary, JSON), both over the orders _seed_orders stored:
# - cheap: one day before any order, so a job is only its fixed work (read the job, save it
#   running, one empty Query, put the JSON, save it succeeded): the processor's share is largest;
# - realistic: one day inside the period, about 1/27 of the stored orders (74 at full size).
BATCH_JOBS = {
    "cheap": {"from": "2026-10-15", "to": "2026-10-15"},
    "realistic": {"from": "2026-11-10", "to": "2026-11-10"},
}
WAYS = ("powertools", "bare loop")


def bare_loop(event: dict[str, Any]) -> list[Any]:
    """The same records run with nothing around them: no BatchProcessor, no record model, no claim
    check or poison check, no log context, no metrics. The body is parsed as the record model would."""
    deps = worker_root.deps()
    return [
        run_report(
            ReportRequested.model_validate_json(record["body"]),
            int(record["attributes"]["ApproximateReceiveCount"]),
            deps,
        )
        for record in event["Records"]
    ]


def _fresh_batch(resolver: Resolver, context: FakeLambdaContext, period: dict[str, str]) -> dict[str, Any]:
    """BATCH_SIZE new jobs (a job that already succeeded is skipped: each batch must be new work),
    requested through POST /reports and received from ReportQueue as Lambda's poller would. Untimed."""
    for _ in range(BATCH_SIZE):
        event = http_event(
            "POST", "/reports", body=period, tenant=TENANT, headers={"Prefer": "respond-async"}
        )
        _expect(api.handler(event, context), 202, "POST /reports")
    sqs = boto3.client("sqs", region_name=REGION)
    queue = resolver.physical["ReportQueue"]
    messages: list[dict[str, Any]] = []
    while len(messages) < BATCH_SIZE:
        messages += sqs.receive_message(
            QueueUrl=queue,
            MaxNumberOfMessages=BATCH_SIZE - len(messages),
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
    _drain(queue)
    return sqs_event(messages, resolver.attributes[("ReportQueue", "Arn")])


def _run_batch(way: str, event: dict[str, Any], context: FakeLambdaContext) -> float:
    """Seconds to run one batch one way; stops unless every job of it succeeded."""
    before = time.perf_counter_ns()
    if way == "powertools":
        result = report_worker.handler(event, context)
        elapsed = (time.perf_counter_ns() - before) / 1e9
        if result != {"batchItemFailures": []}:
            raise SystemExit(f"the worker failed records: {result}")
    else:
        bare_loop(event)
        elapsed = (time.perf_counter_ns() - before) / 1e9
    jobs = worker_root.deps().jobs
    for record in event["Records"]:
        job_id = json.loads(record["body"])["job_id"]
        job = jobs.get(TENANT, job_id)
        if job is None or job.status is not JobStatus.SUCCEEDED:
            raise SystemExit(f"{way}: job {job_id} did not succeed: {job}")
    return elapsed


def bench_batch(size: Size, resolver: Resolver, context: FakeLambdaContext) -> dict[str, Any]:
    """Messages/s of report_worker.handler (LoggedBatchProcessor + process_partial_response, with its
    logger and metrics decorators) against bare_loop, over batches of the same kind of job.

    Run after bench_worker, over the orders it stored. Each batch is new jobs (see _fresh_batch), made
    before its clock starts. The two ways alternate batch by batch, swapping which goes first, so a
    slow spell of the machine hits both alike."""
    kinds: dict[str, Any] = {}
    for kind, period in BATCH_JOBS.items():
        for way in WAYS:  # warm-up: each way's first batch of this kind, untimed
            _run_batch(way, _fresh_batch(resolver, context, period), context)
        seconds: dict[str, list[float]] = {way: [] for way in WAYS}
        for repeat in range(size.batch_repeats):
            for way in WAYS[:: 1 if repeat % 2 == 0 else -1]:
                seconds[way].append(_run_batch(way, _fresh_batch(resolver, context, period), context))
        figures = {}
        for way, samples in seconds.items():
            rates = sorted(BATCH_SIZE / s for s in samples)
            cuts = statistics.quantiles(samples, n=100, method="inclusive")
            figures[way] = {
                "batches": len(samples),
                "median_batch_s": statistics.median(samples),
                "p95_batch_s": cuts[94],
                "median_messages_per_s": statistics.median(rates),
                # The slow end: the rate of the p95 batch time.
                "p95_messages_per_s": BATCH_SIZE / cuts[94],
            }
        ours, bare = figures["powertools"], figures["bare loop"]
        kinds[kind] = {
            "period": period,
            "orders_per_job": _orders_in(resolver, period),
            "ways": figures,
            "ratio_median_time_powertools_over_bare": ours["median_batch_s"] / bare["median_batch_s"],
            "ratio_p95_time_powertools_over_bare": ours["p95_batch_s"] / bare["p95_batch_s"],
            "overhead_ms_per_message": (ours["median_batch_s"] - bare["median_batch_s"]) / BATCH_SIZE * 1e3,
        }
    return {"batch_size": BATCH_SIZE, "target_ratio": 1.2, "kinds": kinds}


def _orders_in(resolver: Resolver, period: dict[str, str]) -> int:
    """The orders one job of this period reads (a COUNT over the same index and keys)."""
    zone = ZoneInfo(os.environ["REPORTING_TIMEZONE"])
    start, end = period_bounds(date.fromisoformat(period["from"]), date.fromisoformat(period["to"]), zone)
    table = OrdersTable(resolver.physical["OrdersTable"], boto3.resource("dynamodb", region_name=REGION))
    return table.count_between(TENANT, start, end, at_most=10**9)


# ---------------------------------------------------------------- report


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def _row(cells: list[str], widths: list[int], *, label: bool = True) -> str:
    """One table row: a left-aligned label column (if `label`), then right-aligned cells."""
    first, *rest = cells
    head = first.ljust(widths[0]) if label else first.rjust(widths[0])
    return "  " + head + "".join(cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True))


def _print_api(api_: dict[str, Any], calls: int) -> None:
    print(
        f"\n1-2. API handler, in-process, under moto: {calls:,} timed calls per route\n"
        f"     after {api_['warmup_calls_per_route']:,} warm-up calls, the routes alternating in blocks of"
        f" {api_['block']}"
    )
    widths = [15, 12, 10, 10, 10, 15, 17, 17]
    head = ["route", "first call", "median", "p95", "p99", "throughput", "in AWS (median)", "drift (median)"]
    print(_row(head, widths))
    for route, s in api_["routes"].items():
        cells = [
            route,
            f"{s['first_call_ms']:.1f} ms",
            f"{s['median_ms']:.3f} ms",
            f"{s['p95_ms']:.3f} ms",
            f"{s['p99_ms']:.3f} ms",
            f"{s['throughput_per_s']:,.0f} call/s",
            f"{s['aws_median_ms']:.3f} ms {s['aws_share']:.0%}",
            f"{s['first_block_median_ms']:.3f} -> {s['last_block_median_ms']:.3f}",
        ]
        print(_row(cells, widths))
    print(f"  ratio of medians, POST /reports / GET /health: {api_['ratio_median_post_over_health']:.1f}x")


def _print_sales(sales: dict[str, Any]) -> None:
    print(f"\n3a. summarize_sales, pure logic, {sales['repeats']} runs after a warm-up run")
    widths = [9, 10, 10, 10, 10, 19]
    print(_row(["orders", "counted", "median", "min", "max", "throughput"], widths, label=False))
    cells = [
        f"{sales['orders']:,}",
        f"{sales['orders_counted']:,}",
        f"{sales['median_s']:.3f} s",
        f"{sales['min_s']:.3f} s",
        f"{sales['max_s']:.3f} s",
        f"{sales['orders_per_s']:,.0f} orders/s",
    ]
    print(_row(cells, widths, label=False))


def _print_worker(worker: dict[str, Any]) -> None:
    print(
        f"\n3b. report worker end-to-end under moto, {worker['jobs']} timed jobs after a first one\n"
        "     (SQS event -> job read -> DynamoDB query -> summary -> S3 put -> job saved)"
    )
    widths = [11, 11, 10, 10, 10, 17, 15]
    head = ["orders/job", "first job", "median", "min", "max", "throughput", "in AWS"]
    print(_row(head, widths, label=False))
    cells = [
        f"{worker['orders_per_job']:,}",
        f"{worker['first_job_s']:.3f} s",
        f"{worker['median_s']:.3f} s",
        f"{worker['min_s']:.3f} s",
        f"{worker['max_s']:.3f} s",
        f"{worker['orders_per_s']:,.0f} orders/s",
        f"{worker['aws_median_s']:.3f} s {worker['aws_share']:.0%}",
    ]
    print(_row(cells, widths, label=False))


def _print_batch(batch: dict[str, Any]) -> None:
    first = next(iter(batch["kinds"].values()))
    print(
        f"\n3c. report worker: Powertools batch processing against a bare loop, batches of"
        f" {batch['batch_size']} new jobs,\n     {first['ways']['powertools']['batches']} timed batches per"
        " kind and way, the ways alternating (median, p95 of the batches)"
    )
    widths = [11, 11, 13, 18, 14, 14, 14, 16]
    head = [
        "job",
        "orders/job",
        "way",
        "messages/s",
        "p95 msg/s",
        "batch median",
        "batch p95",
        "ratio (time)",
    ]
    print(_row(head, widths))
    for kind, figures in batch["kinds"].items():
        for way, s in figures["ways"].items():
            ratio = figures["ratio_median_time_powertools_over_bare"] if way == "powertools" else None
            cells = [
                kind,
                f"{figures['orders_per_job']:,}",
                way,
                f"{s['median_messages_per_s']:,.1f} msg/s",
                f"{s['p95_messages_per_s']:,.1f}",
                f"{s['median_batch_s'] * 1e3:.1f} ms",
                f"{s['p95_batch_s'] * 1e3:.1f} ms",
                f"{ratio:.3f}x" if ratio is not None else "",
            ]
            print(_row(cells, widths))
    for kind, figures in batch["kinds"].items():
        print(
            f"  ratio of medians, powertools / bare loop (time per batch), {kind}:"
            f" {figures['ratio_median_time_powertools_over_bare']:.3f}x"
            f" (p95 {figures['ratio_p95_time_powertools_over_bare']:.3f}x),"
            f" {figures['overhead_ms_per_message']:+.2f} ms a message; target <= {batch['target_ratio']}x"
        )


def print_table(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(
        f"\nTandem report benchmarks, size {results['size_name']}: Python {m['python']}, "
        f"{m['machine']}, {m['cpus']} CPUs"
    )
    _print_api(results["api"], results["size"]["api_calls"])
    _print_sales(results["sales"])
    _print_worker(results["worker"])
    _print_batch(results["batch"])
    print(
        f"\n{results['suppressed_output_lines']:,} log and metric lines from the handlers were formatted,"
        f" then discarded, while timing.\nRun took {results['total_s']:.1f} s; JSON in {results['json']}"
    )


def run(size_name: str) -> dict[str, Any]:
    size = SIZES[size_name]
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    context = FakeLambdaContext()
    zone = ZoneInfo(os.environ["REPORTING_TIMEZONE"])
    sink = _Discard()
    with mock_aws():
        resolver = create_stack()
        for function in ("ApiFunction", "ReportWorkerFunction"):
            os.environ.update(resolver.environment(function))
        with quiet(sink), AWS.installed():
            progress("API handler: POST /reports and GET /health")
            api_results = bench_api(size, context, resolver.physical["ReportQueue"])
            progress(f"summarize_sales over {size.sales_orders:,} orders")
            sales_results = bench_sales(size, zone)
            progress(f"report worker over {size.worker_orders:,} stored orders")
            worker_results = bench_worker(size, resolver, context, zone)
            progress(
                f"report worker: batch processing against a bare loop, {size.batch_repeats} batches each"
            )
            batch_results = bench_batch(size, resolver, context)
    return {
        "benchmark": "reports",
        "size_name": size_name,
        "size": asdict(size),
        "started_at": started_at,
        "machine": _machine(),
        "log_level": os.environ["POWERTOOLS_LOG_LEVEL"],
        "suppressed_output_lines": sink.lines,
        "api": api_results,
        "sales": sales_results,
        "worker": worker_results,
        "batch": batch_results,
        "total_s": time.perf_counter() - started,
        "json": str(RESULTS.relative_to(ROOT)),
    }


def main(argv: list[str] | None = None) -> None:
    command_line(argv, "reports", __doc__ or "", SIZES, run, print_table, RESULTS)


if __name__ == "__main__":
    main()
