"""A stable URL for the local API: 127.0.0.1:<api port> forwards to the emulator's execute-api URL.

MiniStack serves an HTTP API under /_aws/execute-api/{apiId}/ and the id changes
with every fresh deploy; the README, the dashboard and every curl use one address.

Every method is forwarded (API Gateway has no list of methods, only routes), and what
the emulator cannot route gets API Gateway's answer, JSON: an HTTP API answers a request
no route matches with `404 {"message":"Not Found"}`, whatever its method.

A burst queues here. The emulator starts a Lambda worker per concurrent call (per request,
one of the authorizer and one of the API function), a cold one costs ≈ 2 s of CPU, and it
never queues: unbounded, 100 requests at once on 2 cores all timed out. Its own bounds
(`put_function_concurrency`, LAMBDA_ACCOUNT_CONCURRENCY) only turn the excess into 429s.
So at most `in_flight` requests are forwarded at a time; the others wait their turn in
arrival order, and only one that waited longer than `queue_timeout` gets `503` with
`Retry-After`. A burst gets slower answers, not errors, and the API's traffic never makes
the emulator start more than `in_flight` workers of either function.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tandem_local.config import LocalCloud

_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
}  # fmt: skip
NOT_FOUND = b'{"message":"Not Found"}'
# Above API Gateway's 30 s integration timeout: the emulator answers first.
UPSTREAM_TIMEOUT = 35.0
# Connections the kernel holds until the accept loop takes them. socketserver's default, 5,
# overflows under a burst: the kernel drops the handshakes it cannot queue and the clients
# resend them after 1, 3, 7, 15 s (measured: 100 clients at once, 91 waited over 1 s to
# connect, the last 28 s). Linux caps it at net.core.somaxconn (4096).
LISTEN_BACKLOG = 1024


def _is_json(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower().endswith("json")


@dataclass(frozen=True)
class GateStats:
    slots: int
    in_flight: int
    waiting: int
    most_waiting: int  # since the gate was made
    timed_out: int


class Gate:
    """At most `slots` holders at a time; the others wait in arrival order (first come,
    first served: a freed slot is handed to the longest waiter, never to a newcomer)."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a gate needs at least one slot")
        self.slots = slots
        self._lock = threading.Lock()
        self._free = slots
        self._waiting: deque[threading.Event] = deque()
        self._most_waiting = 0
        self._timed_out = 0

    def enter(self, timeout: float) -> bool:
        """True once a slot is ours (call `leave` after), False after `timeout` seconds in the queue."""
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return True
            turn = threading.Event()
            self._waiting.append(turn)
            self._most_waiting = max(self._most_waiting, len(self._waiting))
        if turn.wait(timeout):
            return True
        with self._lock:
            if turn.is_set():  # handed a slot just as the wait ended
                return True
            self._waiting.remove(turn)
            self._timed_out += 1
            return False

    def leave(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()  # the slot passes on, never freed in between
            else:
                self._free += 1

    def stats(self) -> GateStats:
        with self._lock:
            return GateStats(
                self.slots,
                self.slots - self._free,
                len(self._waiting),
                self._most_waiting,
                self._timed_out,
            )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up (its own timeout, Ctrl-C on curl) is its business, not a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class ApiProxy:
    def __init__(self, cloud: LocalCloud) -> None:
        """Binds the port at once (OSError if it is taken); serves from `start` on.

        `cloud.api_in_flight` requests are forwarded at once; the others wait their turn, for
        at most `cloud.api_queue_timeout` seconds (then 503)."""
        self.cloud = cloud
        self.api_id = ""
        self.gate = Gate(cloud.api_in_flight)
        self.queue_timeout = cloud.api_queue_timeout
        self._server = _Server(("127.0.0.1", cloud.api_port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-proxy", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def in_flight(self) -> int:
        return self.gate.slots

    def start(self, api_id: str) -> None:
        self.api_id = api_id
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return type("Forward", (_Forward,), {"proxy": self})


class _Forward(BaseHTTPRequestHandler):
    proxy: ApiProxy  # set by ApiProxy._handler_class
    protocol_version = "HTTP/1.1"
    # The server's own refusals (a malformed request line, headers too long) in JSON too.
    error_content_type = "application/json"
    error_message_format = '{"message":"%(message)s"}'

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server answers 501 for any method without a do_<METHOD>: forward them all.
        if name.startswith("do_"):
            return self._forward
        raise AttributeError(name)

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        queued = time.monotonic()
        if not self.proxy.gate.enter(self.proxy.queue_timeout):
            self._busy(time.monotonic() - queued)
            return
        try:
            status, reason, headers, payload = self._upstream(body)
        finally:
            self.proxy.gate.leave()
        self.send_response(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _upstream(self, body: bytes | None) -> tuple[int, str | None, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = http.client.HTTPConnection(
            "127.0.0.1", self.proxy.cloud.aws_port, timeout=UPSTREAM_TIMEOUT
        )
        try:
            target = f"/_aws/execute-api/{self.proxy.api_id}{urlsplit(self.path).path or '/'}"
            if query := urlsplit(self.path).query:
                target += f"?{query}"
            upstream.request(self.command, target, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            if answer.status in (404, 405, 501) and not _is_json(answer.getheader("content-type")):
                # The emulator's own refusal (no such route or method), not our API's: answer
                # as API Gateway does when no route matches.
                return 404, None, [("content-type", "application/json")], NOT_FOUND
            kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
            return answer.status, answer.reason, kept, payload
        except OSError as error:
            payload = json.dumps(
                {"error": "emulator_unavailable", "message": str(error), "details": []}
            ).encode()
            return 502, None, [("content-type", "application/json")], payload
        finally:
            upstream.close()

    def _busy(self, waited: float) -> None:
        payload = json.dumps(
            {
                "error": "busy",
                "message": f"the local cloud is busy: this request waited {waited:.0f} s "
                f"behind {self.proxy.gate.slots} in flight; retry later",
                "details": [],
            }
        ).encode()
        self.send_response(503)
        self.send_header("content-type", "application/json")
        self.send_header("retry-after", "5")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the functions' logs say more, and the terminal shows them
