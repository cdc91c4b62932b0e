"""Every AWS call a benchmark's code makes: which, when, how deep, and a latency model.

Two botocore event hooks, registered on the botocore session behind boto3's default
session, which `tandem.adapters.aws` builds every client and resource from
(`boto3.client(...)`, `boto3.resource(...)`), and among botocore's built-in handlers, which
every session created afterwards registers: a library that makes its own session (as
Powertools' idempotency layer does, `boto3.session.Session()`) is seen too:

- `before-call` (emitted by `BaseClient._make_api_call` in the calling thread, once per
  API call, after the request is serialised) notes the operation and the start time and,
  under a latency model, sleeps there: a thread that makes a call waits, its siblings
  do not, so calls made in parallel overlap as they do against AWS;
- `after-call` / `after-call-error` note the end time.

A client copies its session's hooks when it is created, so `Calls.install()` must run
before the code under test creates its clients. `census()` counts the same calls from
`BaseClient._make_api_call`, which every client goes through, hooked or not: the
benchmarks compare the two counts, so a client the hooks missed stops the run.

The sleep is once per API call, not per HTTP attempt (moto answers in `before-send`, ahead
of any hook of ours there, and does not make the SDK retry). Under moto a call's time is
the sleep plus moto's own work, which holds the GIL: calls made in parallel overlap in
their sleeps, not in moto.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.client
import botocore.handlers

from bench.reports import latency_stats

_START = "tandem_bench_call"  # our key in botocore's per-call request context


def install_hooks(hooks: tuple[tuple[str, Any], ...], name: str) -> None:
    """Registers (event, hook) pairs on boto3's default session (created first if need be), and as
    built-in handlers for every botocore session created from now on, in this process."""
    session = boto3.DEFAULT_SESSION
    if session is None:
        boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
    assert session is not None
    for event, hook in hooks:
        session.events.register(event, hook, unique_id=f"{name}-{event}")
    botocore.handlers.BUILTIN_HANDLERS.extend(hooks)


@dataclass(frozen=True)
class Call:
    operation: str  # e.g. "dynamodb.GetItem"
    start_ns: int  # perf_counter_ns when the call began (before the modelled latency)
    end_ns: int
    thread: int  # threading.get_ident() of the calling thread


def depth(calls: list[Call]) -> int:
    """The longest chain of calls in which each starts after the one before it ended.

    That is the largest set of pairwise non-overlapping intervals; taking, in order of
    end time, every call that starts after the last one taken gives it exactly.
    """
    chain, last_end = 0, -1
    for call in sorted(calls, key=lambda c: c.end_ns):
        if call.start_ns >= last_end:
            chain, last_end = chain + 1, call.end_ns
    return chain


def busy_ns(calls: list[Call]) -> int:
    """How long at least one of the calls was in flight (the union of their intervals)."""
    total, current_start, current_end = 0, -1, -1
    for call in sorted(calls, key=lambda c: c.start_ns):
        if call.start_ns > current_end:
            total += current_end - current_start
            current_start, current_end = call.start_ns, call.end_ns
        else:
            current_end = max(current_end, call.end_ns)
    return total + (current_end - current_start)


class Calls:
    """Records the AWS calls made while `recording()` is open, from any thread (thread-safe).

    Calls made outside `recording()` (the benchmark's own housekeeping) are neither
    recorded nor delayed.
    """

    def __init__(self) -> None:
        self.latency_s = 0.0
        self._lock = threading.Lock()
        self._current: list[Call] | None = None
        self._in_flight = 0
        self.outlived = 0  # calls still in flight when their recording closed

    def install(self) -> None:
        """Registers the hooks on boto3's default session (created first if need be), and as
        built-in handlers for every botocore session created from now on, in this process."""
        install_hooks(
            (
                ("before-call", self._before),
                ("after-call", self._after),
                ("after-call-error", self._after),
            ),
            "tandem-bench",
        )

    @contextlib.contextmanager
    def latency(self, milliseconds: float) -> Iterator[None]:
        """Every recorded call sleeps this long in its calling thread (a fixed round trip)."""
        before, self.latency_s = self.latency_s, milliseconds / 1e3
        try:
            yield
        finally:
            self.latency_s = before

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[Call]]:
        calls: list[Call] = []
        with self._lock:
            self._current = calls
        try:
            yield calls
        finally:
            with self._lock:
                self._current = None
                self.outlived += self._in_flight
                self._in_flight = 0

    def _before(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        with self._lock:
            target = self._current
            if target is None:
                return
            self._in_flight += 1
        context[_START] = (target, f"{model.service_model.service_name}.{model.name}", time.perf_counter_ns())
        if self.latency_s:
            time.sleep(self.latency_s)  # in the calling thread: parallel calls overlap

    def _after(self, context: dict[str, Any], **_: Any) -> None:
        noted = context.pop(_START, None)
        if noted is None:
            return
        end = time.perf_counter_ns()
        target: list[Call]
        target, operation, start = noted
        with self._lock:
            if target is self._current:
                target.append(Call(operation, start, end, threading.get_ident()))
                self._in_flight -= 1


@dataclass
class Timed:
    """Timed calls of one kind: latency (ns), the AWS calls each made, wall time of the loops."""

    ns: list[int] = field(default_factory=list)
    calls: list[list[Call]] = field(default_factory=list)
    wall_ns: int = 0

    def add(self, other: Timed) -> None:
        self.ns.extend(other.ns)
        self.calls.extend(other.calls)
        self.wall_ns += other.wall_ns

    def busy_ns(self) -> list[int]:
        """Per call, how long at least one AWS call was in flight (calls in parallel count once)."""
        return [busy_ns(made) if made else 0 for made in self.calls]

    def stats(self, block: int) -> dict[str, Any]:
        return latency_stats(self.ns, self.busy_ns(), self.wall_ns, block)


def timed_loop(
    recorder: Calls,
    unit: Callable[[Any], object],
    arguments: list[Any],
    between: Callable[[], object] | None = None,
) -> Timed:
    """`unit(argument)` for each argument, each timed and its AWS calls recorded.

    `between()`, if given, runs after each call; its time is left out of the wall time.
    """
    timed = Timed()
    clock, recording = time.perf_counter_ns, recorder.recording
    untimed = 0
    started = clock()
    for argument in arguments:
        with recording() as made:
            before = clock()
            unit(argument)
            after = clock()
        timed.ns.append(after - before)
        timed.calls.append(made)
        if between is not None:
            between()
            untimed += clock() - after
    timed.wall_ns = clock() - started - untimed
    return timed


@contextlib.contextmanager
def census(ignore: tuple[Any, ...] = ()) -> Iterator[Counter[str]]:
    """Counts the AWS operations called while it is open, from BaseClient._make_api_call, which
    every client goes through, but those of the `ignore` clients (the benchmark's housekeeping)."""
    counted: Counter[str] = Counter()
    original = vars(botocore.client.BaseClient)["_make_api_call"]
    lock = threading.Lock()

    def counting(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if not any(client is ignored for ignored in ignore):
            with lock:
                counted[f"{client.meta.service_model.service_name}.{operation_name}"] += 1
        return original(client, operation_name, api_params)

    setattr(botocore.client.BaseClient, "_make_api_call", counting)  # noqa: B010 - untyped in the stubs
    try:
        yield counted
    finally:
        setattr(botocore.client.BaseClient, "_make_api_call", original)  # noqa: B010
