"""The chaos suite's harness (`make chaos`; its smoke size runs in `make test`): faults injected at
the boundaries of the real functions under moto, never in function code, and the figures printed.

- AWS: moto answers every botocore request from its `before-send` hook (`BotocoreStubber`). The
  `Boundary` wraps that hook, so while a function runs, a seeded share of its requests are answered
  by "the cloud" with a throttling error or a 500 instead (botocore's own retries see them as they
  would see AWS's), and an invocation can be killed before its k-th request or run out of time: a
  `BaseException`, which no `except Exception` in the code catches, so nothing after it runs, as
  when Lambda kills a process.
- SQS as Lambda uses it: `drain` receives batches, invokes the real handler with a Lambda context,
  deletes what the partial batch response says succeeded, lets the rest (and a killed invocation's
  whole batch) come back, and moto moves a message to its DLQ after the template's maxReceiveCount.
  An empty source queue is when an operator redrives (`tandem_local.redrive`, `tandem dlq redrive`).

The size: `TANDEM_CHAOS=full` for `make chaos`, anything else (the default) the smoke size.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

from tandem.adapters.ses_mailer import SesMailer
from tandem.adapters.webhook_http import UrllibWebhooks
from tandem_local import redrive
from tests.events import sqs_event
from tests.moto_stack import REGION

FULL = os.environ.get("TANDEM_CHAOS", "smoke") == "full"
SIZE = "full" if FULL else "smoke"


def sized(smoke: int, full: int) -> int:
    return full if FULL else smoke


class ProcessKilled(BaseException):
    """The worker's process died mid-batch (an out-of-memory kill, a crashed host)."""


class InvocationTimedOut(BaseException):
    """Lambda ended the invocation at its timeout: nothing after this point runs."""


@dataclass
class Figures:
    """What a chaos run counts; `table()` is what it prints."""

    part: str
    jobs: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    dead_lettered: int = 0
    redriven: int = 0
    lost: int = 0
    duplicated: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    def table(self) -> str:
        rows: list[tuple[str, object]] = [("size", SIZE)]
        rows += [(f"jobs: {kind}", n) for kind, n in sorted(self.jobs.items())]
        rows.append(("jobs", sum(self.jobs.values())))
        rows += [(f"faults: {kind}", n) for kind, n in sorted(self.faults.items())]
        rows.append(("faults injected", sum(self.faults.values())))
        rows += [
            ("retries (redeliveries)", self.retries),
            ("DLQ'd", self.dead_lettered),
            ("redriven", self.redriven),
        ]
        rows += list(self.extra.items())
        rows += [("lost (must be 0)", self.lost), ("duplicated (must be 0)", self.duplicated)]
        width = max(len(name) for name, _ in rows)
        lines = [f"chaos: {self.part}", "-" * (width + 12)]
        lines += [f"{name:<{width}}  {value!s:>9}" for name, value in rows]
        return "\n".join(lines)

    def show(self) -> None:
        # Printed to the terminal even under xdist or captured output: the figures are the product.
        text = self.table()
        print("\n" + text)
        path = os.environ.get("TANDEM_CHAOS_FIGURES")
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.write(text + "\n\n")


class VirtualClock:
    """Now, moved forward when time would pass in the cloud (a visibility timeout, a lease)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


class ChaosContext:
    """A Lambda context whose remaining time runs down with the invocation's AWS requests
    (a virtual 100 ms each), so a timeout falls at a seeded point and is the same every run."""

    function_name = "tandem-chaos"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:tandem-chaos"
    aws_request_id = "5f2a8c1e-0000-4000-8000-0000000c4a05"
    log_group_name = "/aws/lambda/tandem-chaos"
    log_stream_name = "2026/12/03/[$LATEST]c4a05"
    TICK_MS = 100

    def __init__(self, budget_calls: int | None = None, kill_at: int | None = None) -> None:
        self.budget_calls = budget_calls
        self.kill_at = kill_at
        self.calls = 0
        # An effect outside (an e-mail or webhook call accepted) that no AWS request has followed
        # yet: the first one after it is the write that records it.
        self.effect: str | None = None

    def get_remaining_time_in_millis(self) -> int:
        if self.budget_calls is None:
            return 60_000
        return max(0, (self.budget_calls - self.calls) * self.TICK_MS)


class Boundary:
    """Moto's before-send hook, wrapped: faults while a function runs, moto's answer otherwise."""

    def __init__(self, seed: int, throttle_rate: float, error_rate: float) -> None:
        self.random = random.Random(seed)  # under the lock: one draw per request, in request order
        self.throttle_rate = throttle_rate
        self.error_rate = error_rate
        self.faults: Counter[str] = Counter()
        self.local = threading.local()  # per thread: armed?, the invocation's context
        self.armed_anywhere = 0  # threads armed now: a pool thread they start is armed too
        self.lock = threading.Lock()  # moto handles one request at a time (see test_stock_race)
        self.requests = 0
        self.outage = False  # every S3 request fails while True: a dependency down for a while
        self.sdk_retries = 0
        # Effects whose record never followed: the invocation was killed or timed out right after
        # the effect, or its record write failed. Each may be done again by a redelivery: the
        # at-least-once window, one write wide (by effect: "webhook <event id>", "email <subject>").
        self.unconfirmed: Counter[str] = Counter()

    @contextmanager
    def armed(self, context: ChaosContext | None = None) -> Iterator[None]:
        """Faults on while the calling thread runs a function (and in the pool threads it starts);
        kills and timeouts count the calling thread's own requests."""
        self.local.context, self.local.armed = context, True
        with self.lock:
            self.armed_anywhere += 1
        try:
            yield
        finally:
            self.local.context, self.local.armed = None, False
            with self.lock:
                self.armed_anywhere -= 1

    @contextmanager
    def exempt(self) -> Iterator[None]:
        """The test's own requests on this thread (sampling, checking): never faulted."""
        self.local.exempt = True
        try:
            yield
        finally:
            self.local.exempt = False

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        handle = BotocoreStubber.__call__
        boundary = self

        def before_send(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            local = boundary.local
            armed = getattr(local, "armed", False) or boundary.armed_anywhere > 0
            if armed and stubber.enabled and not getattr(local, "exempt", False):
                with boundary.lock:
                    injected = boundary._fault(request)
                if injected is not None:
                    return injected
            with boundary.lock:
                response = handle(stubber, event_name, request, **kwargs)
            context: ChaosContext | None = getattr(local, "context", None)
            if context is not None and response is not None and 200 <= response.status_code < 300:
                context.effect = None  # the effect's record was written (or a later request was)
            return response

        monkeypatch.setattr(BotocoreStubber, "__call__", before_send)

        def no_wait(backoff: ExponentialBackoff, context: Any) -> float:
            # botocore's backoff, counted instead of slept: the cloud here answers at once.
            boundary.sdk_retries += 1
            return 0.0

        monkeypatch.setattr(ExponentialBackoff, "delay_amount", no_wait)

    def watch_effects(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Note each e-mail SES accepts and each webhook call answered 2xx on the invocation that
        made it, until an AWS request after it is answered (its record)."""
        boundary = self
        post, send = UrllibWebhooks.post, SesMailer.send

        def posting(sender: UrllibWebhooks, url: str, body: bytes, *args: Any, **kwargs: Any) -> int:
            status = post(sender, url, body, *args, **kwargs)
            if 200 <= status < 300:
                boundary._effect(f"webhook {json.loads(body)['id']}")
            return status

        def sending(mailer: SesMailer, to: str, subject: str, *args: Any, **kwargs: Any) -> str:
            message_id = send(mailer, to, subject, *args, **kwargs)
            boundary._effect(f"email {subject}")
            return message_id

        monkeypatch.setattr(UrllibWebhooks, "post", posting)
        monkeypatch.setattr(SesMailer, "send", sending)

    def _effect(self, name: str) -> None:
        context: ChaosContext | None = getattr(self.local, "context", None)
        if context is not None:
            if context.effect is not None:  # two effects in a row, the first never recorded
                self.left_unconfirmed(context)
            context.effect = name

    def left_unconfirmed(self, context: ChaosContext) -> None:
        if context.effect is not None:
            self.unconfirmed[context.effect] += 1
            context.effect = None

    def _fault(self, request: Any) -> AWSResponse | None:
        self.requests += 1
        context: ChaosContext | None = getattr(self.local, "context", None)
        if context is not None:
            context.calls += 1
            if context.kill_at is not None and context.calls >= context.kill_at:
                context.kill_at = None
                self.faults["worker killed mid-batch"] += 1
                self.left_unconfirmed(context)
                raise ProcessKilled(f"killed before request {context.calls}")
            if context.budget_calls is not None and context.calls > context.budget_calls:
                context.budget_calls = None
                self.faults["invocation timed out"] += 1
                self.left_unconfirmed(context)
                raise InvocationTimedOut(f"timed out before request {context.calls}")
        roll = self.random.random()
        host = urlparse(request.url).netloc
        if self.outage and (".s3" in host or host.startswith("s3")):
            self.faults["S3 outage (500s)"] += 1
            return AWSResponse(request.url, 500, {}, MockRawResponse(b""))  # type: ignore[arg-type]
        if roll < self.throttle_rate:
            self.faults["AWS throttling"] += 1
            if host.startswith("dynamodb"):
                body = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
                body += b'"message":"Rate exceeded"}'
                return AWSResponse(request.url, 400, {}, MockRawResponse(body))  # type: ignore[arg-type]
            if ".s3" in host or host.startswith("s3"):
                body = (
                    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                )
                return AWSResponse(request.url, 503, {}, MockRawResponse(body))  # type: ignore[arg-type]
            return AWSResponse(request.url, 503, {}, MockRawResponse(b""))  # type: ignore[arg-type]
        if roll < self.throttle_rate + self.error_rate:
            self.faults["AWS 500"] += 1
            return AWSResponse(request.url, 500, {}, MockRawResponse(b""))  # type: ignore[arg-type]
        return None


@dataclass
class Worker:
    """An SQS-fed function as Lambda runs it: its queue, its DLQ, its handler."""

    name: str
    queue_url: str
    dead_letter_url: str
    queue_arn: str
    handler: Callable[[dict[str, Any], Any], Any]
    visibility: timedelta
    key: Callable[[dict[str, Any]], str]  # the job a message is about


class Cloud:
    stack_name = "tandem-test"

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)


@dataclass
class Drain:
    """Runs workers until every queue and DLQ is empty, killing and timing out invocations."""

    workers: list[Worker]
    boundary: Boundary
    figures: Figures
    clock: VirtualClock
    seed: int
    kill_rate: float
    timeout_rate: float
    lease: timedelta
    outage: range = range(0)  # the invocations during which S3 is down
    receives: Counter[str] = field(default_factory=Counter)
    # What the job's own record says while its message sits in a DLQ (None: nothing to ask).
    inspect: Callable[[str], str | None] = lambda _key: None
    letters: list[tuple[str, str, str | None]] = field(default_factory=list)  # (job, reason, record)

    def run(self, max_invocations: int = 100_000) -> None:
        rng = random.Random(self.seed)
        sqs = boto3.client("sqs", region_name=REGION)
        invocations = 0
        while True:
            busy = False
            for worker in self.workers:
                messages = sqs.receive_message(
                    QueueUrl=worker.queue_url,
                    MaxNumberOfMessages=10,
                    MessageAttributeNames=["All"],
                    AttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    continue
                busy = True
                invocations += 1
                assert invocations < max_invocations, "the queues never drained"
                self.boundary.outage = invocations in self.outage
                for message in messages:
                    self.receives[worker.key(message)] += 1
                self._invoke(worker, messages, rng, sqs)
            if busy:
                continue
            moved = 0
            for worker in self.workers:
                for letter in redrive.peek(Cloud(), worker.dead_letter_url, limit=10_000):
                    key = worker.key({"Body": letter.body})
                    self.letters.append((key, letter.reason, self.inspect(key)))
                moved += redrive.redrive(Cloud(), worker.dead_letter_url, worker.queue_url)
            if not moved:
                break
            self.boundary.outage = False
            self.figures.dead_lettered += moved
            self.figures.redriven += moved
            # An operator redrives later than the leases of claims a killed run left behind.
            self.clock.advance(self.lease)
        self.figures.retries = sum(self.receives.values()) - len(self.receives)

    def _invoke(self, worker: Worker, messages: list[dict[str, Any]], rng: random.Random, sqs: Any) -> None:
        roll = rng.random()
        if roll < self.kill_rate:
            context = ChaosContext(kill_at=rng.randrange(1, 12 * len(messages)))
        elif roll < self.kill_rate + self.timeout_rate:
            context = ChaosContext(budget_calls=rng.randrange(1, 12 * len(messages)))
        else:
            context = ChaosContext()
        event = sqs_event(messages, worker.queue_arn)
        try:
            with self.boundary.armed(context):
                response = worker.handler(event, context)
        except (ProcessKilled, InvocationTimedOut):
            # Nothing was deleted: the whole batch comes back once its visibility timeout is over.
            self.clock.advance(worker.visibility)
            failed = {message["MessageId"] for message in messages}
        else:
            failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
            self.boundary.left_unconfirmed(context)  # the last effect's record write failed
        for message in messages:
            if message["MessageId"] in failed:
                # Visible again: at once here, where SQS would wait out the visibility timeout.
                sqs.change_message_visibility(
                    QueueUrl=worker.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=worker.queue_url, ReceiptHandle=message["ReceiptHandle"])
