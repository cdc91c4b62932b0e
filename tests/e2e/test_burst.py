"""The local cloud under a burst: 100 clients at once get slower answers, never a timeout, a reset or a 5xx.

The emulator starts a Lambda worker per concurrent call; unbounded, 100 at once on 2 cores
outlast every timeout (measured: all 100 answered 502 after 35 s). The :3000 proxy forwards
`LocalCloud.api_in_flight` requests at a time and queues the rest (tandem_local.proxy).
The burst test prints its figures: `pytest tests/e2e/test_burst.py -s`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tandem.adapters.catalog_table import CatalogTable
from tandem.models.catalog import Product
from tandem_local.config import LocalCloud
from tandem_local.proxy import ApiProxy, Gate, GateStats
from tests.e2e.conftest import Running, free_port
from tests.e2e.test_checkout import _card

CLIENTS = 100
# Beyond the proxy's own limits (60 s in its queue, 35 s upstream): a client that gives up
# first would hide which of them answered.
CLIENT_TIMEOUT = 150.0


@dataclass(frozen=True)
class Answer:
    status: int | str  # the HTTP status, or the exception's name: a timeout, a reset
    seconds: float
    body: str


@dataclass(frozen=True)
class Burst:
    answers: list[Answer]
    seconds: float

    def figures(self) -> str:
        latencies = sorted(a.seconds for a in self.answers)

        def pct(p: int) -> float:
            return latencies[min(len(latencies) - 1, round(p / 100 * len(latencies)) - 1)]

        statuses = Counter(a.status for a in self.answers)
        return (
            f"{len(self.answers)} clients at once: {dict(statuses)} in {self.seconds:.1f} s, "
            f"{len(self.answers) / self.seconds:.1f} requests/s, p50 {pct(50):.2f} s, "
            f"p95 {pct(95):.2f} s, max {latencies[-1]:.2f} s"
        )

    def unexpected(self, expected: int) -> list[Answer]:
        return [a for a in self.answers if a.status != expected]


def _order(n: int) -> dict[str, Any]:
    """A distinct buyer: card, e-mail (the fraud rules' velocity counts either)."""
    return {
        "items": [{"sku": "BURST", "quantity": 1}],
        "customer": {"email": f"burst{n}@example.com", "name": "Grace Hopper", "country": "GB"},
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Leeds",
            "postal_code": "LS1 1AA",
            "country": "GB",
        },
        "payment": {"card_number": _card(n), "expiry": "12/30", "cvc": "123"},
        "currency": "GBP",
    }


def _catalog(running: Running, stock: int) -> CatalogTable:
    catalog = CatalogTable(running.stack.physical["ProductsTable"], running.cloud.resource("dynamodb"))
    catalog.put(
        Product(
            tenant_id="acme", sku="BURST", name="Doorbuster", price=Decimal("9"), currency="GBP", stock=stock
        )
    )
    return catalog


def _checkout_burst(running: Running, key: str, first: int, clients: int = CLIENTS) -> Burst:
    """`clients` threads, one connection each, released at the same instant, each POSTing
    its own purchase (buyers `first`, `first` + 1, …) with its own Idempotency-Key."""
    start = threading.Barrier(clients + 1)
    answers: list[Answer | None] = [None] * clients

    def client(i: int) -> None:
        n = first + i
        connection = http.client.HTTPConnection("127.0.0.1", running.cloud.api_port, timeout=CLIENT_TIMEOUT)
        body = json.dumps(_order(n))
        headers = {"x-api-key": key, "idempotency-key": f"burst-{n}", "content-type": "application/json"}
        start.wait()
        sent = time.perf_counter()
        try:
            connection.request("POST", "/orders", body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode()
            answers[i] = Answer(answer.status, time.perf_counter() - sent, text[:300])
        except Exception as error:  # a timeout, a reset: what the burst must never see
            answers[i] = Answer(type(error).__name__, time.perf_counter() - sent, str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,), name=f"client-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return Burst([a for a in answers if a is not None], time.perf_counter() - began)


def _workers(running: Running, logical_id: str) -> set[int]:
    """The pids of a function's Lambda workers: the emulator's subprocesses running its code."""
    assert running.emulator is not None
    group = running.emulator.pid
    marker = f"ministack-lambda-{running.function(logical_id)}-".encode()
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group and marker in (stat.parent / "cmdline").read_bytes():
                found.add(int(stat.parent.name))
    return found


def _confirmed(running: Running) -> int:
    table = running.cloud.resource("dynamodb").Table(running.stack.physical["OrdersTable"])
    return sum(1 for item in table.scan(ConsistentRead=True)["Items"] if item["status"] == "confirmed")


FUNCTIONS = ("AuthorizerFunction", "ApiFunction")


def _kill_workers(running: Running) -> None:
    """What a new user meets: no warm worker. The emulator starts a fresh one on the next call."""
    for function in FUNCTIONS:
        for pid in _workers(running, function):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_bursts_of_100_checkouts_get_slower_answers_and_never_an_error(running: Running) -> None:
    key = running.tenant_with_key("acme")
    catalog = _catalog(running, stock=2 * CLIENTS)
    in_flight = running.proxy.in_flight
    _kill_workers(running)

    # Cold: the first requests wait for `in_flight` workers of each function to start (≈ 2 s
    # of CPU each), the others queue behind them.
    cold = _checkout_burst(running, key, first=0)
    print(f"\nburst on cold workers, {in_flight} in flight: {cold.figures()}")
    assert not cold.unexpected(201), cold.unexpected(201)[:3]
    # The emulator never started more workers than the proxy lets requests through.
    for function in FUNCTIONS:
        assert 1 <= len(_workers(running, function)) <= in_flight

    warm = _checkout_burst(running, key, first=CLIENTS)
    print(f"burst on warm workers, {in_flight} in flight: {warm.figures()}")
    assert not warm.unexpected(201), warm.unexpected(201)[:3]
    for function in FUNCTIONS:
        assert len(_workers(running, function)) <= in_flight

    assert running.proxy.gate.stats().timed_out == 0
    # Every unit sold once: the queue changes the pace, not the outcome.
    product = catalog.get("acme", "BURST")
    assert product is not None
    assert product.stock == 0
    assert _confirmed(running) == 2 * CLIENTS


# The proxy's queue on its own, before a fake emulator that holds every call (no local cloud).


class _SlowEmulator(ThreadingHTTPServer):
    """Answers every request after `seconds`, counting how many it holds at once."""

    daemon_threads = True

    def __init__(self, seconds: float) -> None:
        self.seconds, self.holding, self.most, self.lock = seconds, 0, 0, threading.Lock()
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with emulator.lock:
                    emulator.holding += 1
                    emulator.most = max(emulator.most, emulator.holding)
                time.sleep(emulator.seconds)
                with emulator.lock:
                    emulator.holding -= 1
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@contextlib.contextmanager
def _proxy(seconds: float, in_flight: int, queue_timeout: float) -> Iterator[tuple[ApiProxy, _SlowEmulator]]:
    emulator = _SlowEmulator(seconds)
    cloud = LocalCloud(
        aws_port=emulator.server_address[1],
        api_port=free_port(),
        api_in_flight=in_flight,
        api_queue_timeout=queue_timeout,
    )
    proxy = ApiProxy(cloud)
    proxy.start("api")
    try:
        yield proxy, emulator
    finally:
        proxy.stop()
        emulator.shutdown()
        emulator.server_close()


def _get(port: int, timeout: float = 30) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/health")
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read().decode()
    finally:
        connection.close()


def test_the_proxy_forwards_in_flight_requests_at_a_time_and_queues_the_rest() -> None:
    with _proxy(seconds=0.02, in_flight=3, queue_timeout=30) as (proxy, emulator):
        start = threading.Barrier(CLIENTS)

        def client(_: int) -> tuple[float, int]:
            connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
            try:
                start.wait()
                began = time.perf_counter()
                connection.connect()
                connected = time.perf_counter() - began
                connection.request("GET", "/health")
                return connected, connection.getresponse().status
            finally:
                connection.close()

        with ThreadPoolExecutor(CLIENTS) as clients:
            answers = list(clients.map(client, range(CLIENTS)))
    assert Counter(status for _, status in answers) == {200: CLIENTS}
    # Every connection accepted at once: a listen backlog too short for the burst makes the kernel
    # drop handshakes, which clients resend only after 1 s, then 3 s, 7 s...
    assert max(connected for connected, _ in answers) < 1.0
    assert emulator.most == 3
    assert proxy.gate.stats().most_waiting > 0


def test_a_request_that_waits_longer_than_the_queue_timeout_gets_503_with_retry_after() -> None:
    with _proxy(seconds=0.5, in_flight=1, queue_timeout=0.1) as (proxy, _), ThreadPoolExecutor(3) as clients:
        answers = list(clients.map(lambda _: _get(proxy.port), range(3)))
    assert sorted(status for status, _, _ in answers) == [200, 503, 503]
    busy = [(headers, body) for status, headers, body in answers if status == 503]
    for headers, body in busy:
        assert headers["retry-after"] == "5"
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["error"] == "busy"
    assert proxy.gate.stats().timed_out == 2


def test_the_gate_hands_a_freed_slot_to_the_longest_waiter() -> None:
    gate = Gate(1)
    assert gate.enter(timeout=0)
    order: list[int] = []

    def wait(n: int) -> None:
        assert gate.enter(timeout=10)
        order.append(n)
        gate.leave()

    waiters = []
    for n in range(5):
        waiters.append(threading.Thread(target=wait, args=(n,)))
        waiters[-1].start()
        while gate.stats().waiting < n + 1:  # queued in this order
            time.sleep(0.001)
    gate.leave()
    for waiter in waiters:
        waiter.join()
    assert order == [0, 1, 2, 3, 4]
    assert gate.stats() == GateStats(slots=1, in_flight=0, waiting=0, most_waiting=5, timed_out=0)
