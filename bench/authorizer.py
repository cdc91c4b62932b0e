"""What the API key authorizer costs per request: warm and cold, at 0 and 4 ms per AWS call.

    .venv/bin/python -m bench.authorizer [--size smoke|standard|full]

`tandem.handlers.authorizer.handler` is called in this process with HTTP API authorizer
events (payload 2.0), under moto.mock_aws, the key table of template.yaml holding one
key. API Gateway calls it on every request to an authenticated route: its caching is
off (see the HttpApi's Auth in template.yaml). The AWS calls are recorded and, under
the latency model, delayed as in bench.checkout (bench.calls). Prints a table and
writes bench/results/authorizer.json. See bench/README.md.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from moto import mock_aws
from tests.conftest import FakeLambdaContext
from tests.events import authorizer_event
from tests.moto_stack import create_stack
from tests.template_model import Resolver, functions

# Importing bench.reports (bench.calls does) sets the offline environment before tandem is
# imported; see bench/checkout.py.
from bench.calls import Calls, Timed, timed_loop
from bench.cli import command_line
from bench.reports import REGION, ROOT, _Discard, _machine, _row, progress, quiet
from tandem.adapters.directory_tables import ApiKeysTable
from tandem.handlers import authorizer
from tandem.handlers.wiring import authorizer as root
from tandem.logic.auth import new_api_key
from tandem.models.records import ALL_SCOPES
from tandem.models.settings import AuthorizerSettings

RESULTS = ROOT / "bench" / "results" / "authorizer.json"
TENANT = "acme"
SECRET = "tdm_bench_authorizer_key_0123456789abcdef"  # noqa: S105 - a made-up key for moto
UNKNOWN = "tdm_no_such_key_in_the_table_0123456789"
MALFORMED = "tdm_short"
LATENCIES_MS = (0, 4)
CALLS = Calls()

SHIPPED, EVERY_TIME = "known key, as shipped", "known key, read every time"
UNKNOWN_KEY, MALFORMED_KEY, NO_KEY = "unknown key", "malformed key", "no key"
FRESH = "known key, fresh root"
WARM = (SHIPPED, EVERY_TIME, UNKNOWN_KEY, MALFORMED_KEY, NO_KEY)


@dataclass(frozen=True)
class Size:
    requests: int  # timed requests per kind and latency (warm kinds)
    block: int  # the kinds alternate in blocks of this many requests
    fresh: int  # timed requests on a fresh composition root, per latency
    warmup: int  # untimed requests per kind and latency


SIZES = {
    # smoke: that each part still runs (make test); standard: what `make bench` measures.
    "smoke": Size(requests=40, block=20, fresh=4, warmup=5),
    "standard": Size(requests=200, block=50, fresh=10, warmup=20),
    "full": Size(requests=2_000, block=100, fresh=60, warmup=100),
}

HEADERS: dict[str, dict[str, str]] = {
    SHIPPED: {"authorization": f"Bearer {SECRET}"},
    EVERY_TIME: {"x-api-key": SECRET},
    UNKNOWN_KEY: {"x-api-key": UNKNOWN},
    MALFORMED_KEY: {"x-api-key": MALFORMED},
    NO_KEY: {},
    FRESH: {"x-api-key": SECRET},
}


def _check(kind: str, response: dict[str, Any]) -> None:
    context = response.get("context", {})
    known = kind in (SHIPPED, EVERY_TIME, FRESH)
    if response.get("isAuthorized") is not True or (context.get("tenant_id") == TENANT) != known:
        raise SystemExit(f"{kind}: the authorizer answered {response}")


def fresh_process_caches() -> None:
    """What a new Lambda container starts without (imports aside): every `functools.cache` of
    tandem's modules (settings, the key table, the boto3 resource) and boto3's default
    session, so botocore loads its service model again. The bench's hooks are among
    botocore's built-in handlers, so the next session has them too."""
    for name, module in list(sys.modules.items()):
        if name.startswith("tandem."):
            for value in vars(module).values():
                if (
                    callable(getattr(value, "cache_clear", None))
                    and getattr(value, "__module__", None) == name
                ):
                    value.cache_clear()
    boto3.DEFAULT_SESSION = None


@cache
def _bare_keys() -> ApiKeysTable:
    return ApiKeysTable(AuthorizerSettings().api_keys_table_name)


@contextlib.contextmanager
def reading_every_time() -> Iterator[None]:
    """The authorizer's root answering with the bare key table: one GetItem per request."""
    shipped = root.keys
    setattr(root, "keys", _bare_keys)  # noqa: B010 - a stand-in for the root's own function
    try:
        yield
    finally:
        setattr(root, "keys", shipped)  # noqa: B010


class Bench:
    def __init__(self, context: FakeLambdaContext) -> None:
        self.context = context

    def block(self, kind: str, requests: int) -> Timed:
        events = [authorizer_event(HEADERS[kind]) for _ in range(requests)]
        responses: list[dict[str, Any]] = []
        handler, context = authorizer.handler, self.context

        def unit(event: dict[str, Any]) -> None:
            responses.append(handler(event, context))  # type: ignore[arg-type]

        if kind == FRESH:
            timed = timed_loop(CALLS, unit, events, between=fresh_process_caches)
        elif kind == EVERY_TIME:
            with reading_every_time():
                timed = timed_loop(CALLS, unit, events)
        else:
            timed = timed_loop(CALLS, unit, events)
        for response in responses:
            _check(kind, response)
        return timed


def figures(timed: Timed, block: int) -> dict[str, Any]:
    stats = timed.stats(block)
    reads = [len(made) for made in timed.calls]
    return {**stats, "aws_calls_per_request": statistics.fmean(reads), "aws_calls_max": max(reads)}


def measure(size: Size, context: FakeLambdaContext) -> dict[str, Any]:
    bench = Bench(context)
    first = bench.block(SHIPPED, 1)
    models = []
    for latency_ms in LATENCIES_MS:
        progress(f"latency model: {latency_ms} ms per AWS call")
        kept: dict[str, Timed] = {kind: Timed() for kind in (*WARM, FRESH)}
        with CALLS.latency(latency_ms):
            for kind in WARM:
                bench.block(kind, size.warmup)
            rounds = max(1, size.requests // size.block)
            for round_ in range(rounds):
                kinds = WARM[round_ % len(WARM) :] + WARM[: round_ % len(WARM)]  # who goes first rotates
                for kind in kinds:
                    kept[kind].add(bench.block(kind, size.block))
                fresh = size.fresh // rounds + (1 if round_ < size.fresh % rounds else 0)
                if fresh:
                    fresh_process_caches()
                    kept[FRESH].add(bench.block(FRESH, fresh))
                    bench.block(SHIPPED, 1)  # untimed: the warm kinds go on with a warm root
        kinds_ = {kind: figures(timed, size.block if kind != FRESH else 1) for kind, timed in kept.items()}
        models.append(
            {
                "latency_ms": latency_ms,
                "requests": kinds_,
                "ratio_median_every_time_over_shipped": kinds_[EVERY_TIME]["median_ms"]
                / kinds_[SHIPPED]["median_ms"],
                "ratio_median_every_time_over_no_key": kinds_[EVERY_TIME]["median_ms"]
                / kinds_[NO_KEY]["median_ms"],
            }
        )
    return {
        "first_call_ms": first.ns[0] / 1e6,
        "first_call_aws_calls": len(first.calls[0]),
        "models": models,
        "calls_outliving_their_request": CALLS.outlived,
    }


def run(size_name: str) -> dict[str, Any]:
    size = SIZES[size_name]
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    context = FakeLambdaContext()
    sink = _Discard()
    with mock_aws():
        resolver: Resolver = create_stack()
        for function in functions():
            os.environ.update(resolver.environment(function))
        _, record = new_api_key(TENANT, "bench", ALL_SCOPES, datetime.now(UTC), secret=SECRET)
        ApiKeysTable(resolver.physical["ApiKeysTable"], boto3.resource("dynamodb", region_name=REGION)).put(
            record
        )
        CALLS.install()  # before the authorizer creates its client
        with quiet(sink):
            progress(
                f"authorizer: {len(WARM)} kinds x {size.requests:,} requests,"
                f" {size.fresh} on fresh roots, per latency"
            )
            results = measure(size, context)
    return {
        "benchmark": "authorizer",
        "size_name": size_name,
        "size": asdict(size),
        "started_at": started_at,
        "machine": _machine(),
        "load_average_1m": {"before": load_before[0], "after": os.getloadavg()[0]},
        "log_level": os.environ["POWERTOOLS_LOG_LEVEL"],
        "suppressed_output_lines": sink.lines,
        **results,
        "total_s": time.perf_counter() - started,
        "json": str(RESULTS.relative_to(ROOT)),
    }


def print_table(results: dict[str, Any]) -> None:
    m, size, load = results["machine"], results["size"], results["load_average_1m"]
    print(
        f"\nTandem authorizer benchmark, size {results['size_name']}: Python {m['python']}, {m['machine']},"
        f" {m['cpus']} CPUs, load average (1 min) {load['before']:.1f} before, {load['after']:.1f} after"
    )
    print(
        f"\nIn-process, under moto: {size['requests']:,} timed requests per kind and latency after"
        f" {size['warmup']}, the kinds rotating in blocks of {size['block']};\n{size['fresh']} on a fresh"
        " composition root (settings, boto3 session and resource, the key table: a new container, imports"
        " aside)"
    )
    widths = [9, 28, 12, 12, 12, 16, 18]
    print(_row(["latency", "request", "median", "p95", "p99", "throughput", "AWS calls/request"], widths))
    for model in results["models"]:
        for i, (kind, s) in enumerate(model["requests"].items()):
            cells = [
                f"{model['latency_ms']} ms" if i == 0 else "",
                kind,
                f"{s['median_ms']:.3f} ms",
                f"{s['p95_ms']:.3f} ms",
                f"{s['p99_ms']:.3f} ms",
                f"{s['throughput_per_s']:,.0f} call/s",
                f"{s['aws_calls_per_request']:.2f}",
            ]
            print(_row(cells, widths))
        print(
            f"{'':>11}ratio of medians, {EVERY_TIME} / {SHIPPED}:"
            f" {model['ratio_median_every_time_over_shipped']:.2f}x; / {NO_KEY}:"
            f" {model['ratio_median_every_time_over_no_key']:.2f}x"
        )
    print(
        f"  first call of the process: {results['first_call_ms']:.1f} ms"
        f" ({results['first_call_aws_calls']} AWS call); throughput is one thread calling back to back"
    )
    print(
        f"\n{results['suppressed_output_lines']:,} log lines from the handler were formatted, then discarded,"
        f" while timing. Run took {results['total_s']:.1f} s; JSON in {results['json']}"
    )


def main(argv: list[str] | None = None) -> None:
    command_line(argv, "authorizer", __doc__ or "", SIZES, run, print_table, RESULTS)


if __name__ == "__main__":
    main()
