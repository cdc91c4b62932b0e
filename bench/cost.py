"""What our flows cost on AWS, from what they are measured to use, priced by bench/prices.yaml.

    .venv/bin/python -m bench.cost [--size smoke|standard|full]

Counted, not guessed, where the flow runs here: checkouts (POST /orders) and the same sales
report served inline (`Prefer: wait=8`, answered by ApiFunction) and queued (`Prefer:
respond-async`: ApiFunction's 202, the report worker, one GET /reports/{id} to poll, the
download) run through their real handlers in this process under moto, every AWS call counted by
kind with botocore's hooks (`before-call` and `after-call`, on every session, as bench.calls
does) together with what it is billed by: DynamoDB's read and write units from the items' sizes
(DynamoDB's rules: 4 KB a read unit, half for an eventually consistent read, 1 KB a write unit,
twice for a transaction), the bytes put to S3 and sent to SQS (one request per 64 KB), the log
and metric bytes the handlers print (CloudWatch Logs ingests them). Each invocation's duration
is measured with every AWS call given a 4 ms round trip (bench.calls' latency model) and billed
at its function's MemorySize and the template's Architecture. A tenant's night is priced from
bench.night's figures (bench/results/night.json: its steps' durations and calls per night).

What follows each checkout is measured the same way (`Effects`): the orders stream read as
Lambda's poller reads it (moto has no stream trigger: tests' StreamFeed plays it), the template's
filter applied, OrderEventsFunction on the confirmation (follow-ups queued; the live counters,
payment window and histories in one transaction), FollowUpWorkerFunction on the three follow-ups
(the e-mail through SES, the warehouse pick to S3 and the stock ledger, the signed courier webhook
to a local endpoint that answers at once). A checkout's cost is reported as its two parts: POST
/orders, and what follows it. The pick rebuilds the day's list from every pick document of the
day, so the measured checkouts follow as many seeded documents as put them at the model shop's
mean order of the day (`seeded_picks`).

What is modelled, not measured, is said in the output (`modelled` lines): the Step Functions
transitions of a night, the SQS pollers' idle receives, the schedules, the Secrets Manager secrets.

Writes bench/results/cost.json. See bench/README.md, "bench.cost".
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import random
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench.cli import command_line

ROOT = Path(__file__).resolve().parent.parent
PRICES = ROOT / "bench" / "prices.yaml"
RESULTS = ROOT / "bench" / "results" / "cost.json"
NIGHT = ROOT / "bench" / "results" / "night.json"
ROUND_TRIP_MS = 4  # every AWS call's modelled latency, as bench.checkout's model
FULL_VCPU_MB = 1769  # Lambda's memory at which a function has one full vCPU
MEMORY_MB: dict[str, int] = {}  # each function's MemorySize, from the template (set by run)
KB = 1024


@dataclass(frozen=True)
class Size:
    checkouts: int
    orders_per_day: int  # seeded for the report, over the 27 days of bench.reports' period
    reports: int  # of each path


SIZES = {
    "smoke": Size(checkouts=5, orders_per_day=5, reports=2),
    "standard": Size(checkouts=30, orders_per_day=100, reports=5),
    "full": Size(checkouts=50, orders_per_day=300, reports=5),
}

# The model shop of issue 13: 300 orders a day, 1,000 SKUs. What else it does in a month is an
# assumption, stated here: a morning report a day (queued by the night) and five reports asked
# for by hand each working day, answered inline.
MODEL_SHOP = {
    "orders_per_day": 300,
    "skus": 1000,
    "days": 30,
    "async_reports_per_month": 30,
    "inline_reports_per_month": 5 * 22,
    "log_retention_months": 1,
}


# ---------------------------------------------------------------- metering


def item_bytes(value: Any) -> int:
    """An item's size by DynamoDB's rules, from its wire form ({"S": …}, {"N": …} …), names included."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind == "S":
            return len(str(inner).encode())
        if kind == "N":
            return (len(str(inner).lstrip("-").replace(".", "")) + 1) // 2 + 1
        if kind == "B":
            return len(inner) if isinstance(inner, bytes | str) else 0
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + item_bytes(v) for k, v in inner.items())
        if kind == "L":
            return 3 + sum(1 + item_bytes(v) for v in inner)
        if kind in ("SS", "NS", "BS"):
            return sum(item_bytes({kind[0]: v}) for v in inner)
    if isinstance(value, dict):  # an item: attribute name → value
        return sum(len(k.encode()) + item_bytes(v) for k, v in value.items())
    return 0


def read_units(items: list[dict[str, Any]], consistent: bool) -> float:
    """Read units of a response's items, taken together (a Query or a page): 4 KB each, at least one."""
    units = max(1, math.ceil(sum(item_bytes(item) for item in items) / (4 * KB)))
    return units if consistent else units / 2


def write_units(item: dict[str, Any] | None) -> int:
    return max(1, math.ceil(item_bytes(item or {}) / KB))


class _ItemSizes:
    """The mean size of the items Queries and Scans of one table (or index) returned in this process."""

    def __init__(self) -> None:
        self.items = 0
        self.bytes = 0

    def add(self, items: list[dict[str, Any]]) -> None:
        self.items += len(items)
        self.bytes += sum(item_bytes(item) for item in items)

    def mean(self) -> float:
        return self.bytes / self.items if self.items else 0.0


_ITEMS: defaultdict[tuple[str, str], _ItemSizes] = defaultdict(_ItemSizes)


def _where(request: dict[str, Any]) -> tuple[str, str]:
    return str(request.get("TableName", "")), str(request.get("IndexName", ""))


@dataclass
class Usage:
    """What one run of a flow used: calls by kind and what each is billed by."""

    calls: Counter[str] = field(default_factory=Counter)
    rru: float = 0.0
    wru: float = 0.0
    s3_put_bytes: int = 0
    sqs_requests: int = 0
    log_bytes: int = 0
    lambda_ms: dict[str, float] = field(default_factory=dict)  # function → billed ms (summed), modelled
    measured_ms: dict[str, float] = field(default_factory=dict)  # the same, as measured under moto
    invocations: Counter[str] = field(default_factory=Counter)
    api_requests: int = 0
    waited_ms: float = 0.0  # on what is not AWS (the courier's endpoint), billed as measured
    stream_records: int = 0  # read from the orders stream by Lambda's poller (played here)
    stream_records_delivered: int = 0  # of those, what the template's filter lets through


def _dynamodb(  # noqa: C901 - one branch per operation
    usage: Usage,
    operation: str,
    request: dict[str, Any],
    answer: dict[str, Any],
    stored: list[int] | None = None,
) -> None:
    """`stored`: for a write, the size of each item it wrote, the larger of before and after (as
    DynamoDB bills it), in the order of `write_targets`; without it the request is the floor."""
    consistent = bool(request.get("ConsistentRead"))
    if operation == "GetItem":
        usage.rru += read_units([answer.get("Item", {})], consistent)
    elif operation in ("Query", "Scan") and request.get("Select") == "COUNT":
        # DynamoDB reads (and bills) the counted items all the same; none comes back to be sized,
        # so each counts at the mean size of the items this process has read so far.
        scanned = int(answer.get("ScannedCount", answer.get("Count", 0)))
        units = max(1, math.ceil(scanned * _ITEMS[_where(request)].mean() / (4 * KB)))
        usage.rru += units if consistent else units / 2
    elif operation in ("Query", "Scan"):
        items = answer.get("Items", [])
        _ITEMS[_where(request)].add(items)
        usage.rru += read_units(items, consistent)
    elif operation == "BatchGetItem":
        for table, items in answer.get("Responses", {}).items():
            strong = bool(request.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
            usage.rru += sum(read_units([item], strong) for item in items)
    elif operation == "TransactGetItems":
        usage.rru += 2 * sum(read_units([r.get("Item", {})], True) for r in answer.get("Responses", []))
    elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
        # Billed on the larger of the item before and after; the request's item (or key, values): a floor.
        floor = write_units(
            request.get("Item") or {**request.get("Key", {}), **request.get("ExpressionAttributeValues", {})}
        )
        usage.wru += max(floor, _units_of(stored, 0))
    elif operation == "BatchWriteItem":
        for writes in request.get("RequestItems", {}).values():
            usage.wru += sum(write_units(w.get("PutRequest", {}).get("Item")) for w in writes)
    elif operation == "TransactWriteItems":
        for n, action in enumerate(request.get("TransactItems", [])):
            ((_, spec),) = action.items()
            item = spec.get("Item") or {**spec.get("Key", {}), **spec.get("ExpressionAttributeValues", {})}
            usage.wru += 2 * max(write_units(item), _units_of(stored, n))


def _units_of(stored: list[int] | None, n: int) -> int:
    """Write units of the n-th item a write touched, by its stored size (0: not known, or not a write)."""
    if stored is None or n >= len(stored) or not stored[n]:
        return 0
    return math.ceil(stored[n] / KB)


def write_targets(operation: str, request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (table, key or item) of each item a single or transactional write touches, in request order;
    ConditionCheck entries too (they write nothing: their size is not taken)."""
    if operation in ("UpdateItem", "DeleteItem"):
        return [(str(request.get("TableName", "")), request.get("Key", {}))]
    if operation == "PutItem":
        return [(str(request.get("TableName", "")), request.get("Item", {}))]
    if operation == "TransactWriteItems":
        targets = []
        for action in request.get("TransactItems", []):
            ((kind, spec),) = action.items()
            where = spec.get("Item") or spec.get("Key", {})
            targets.append((str(spec.get("TableName", "")), where if kind != "ConditionCheck" else {}))
        return targets
    return []


def stored_item_bytes(table: str, key_or_item: dict[str, Any]) -> int:
    """The size of the item stored under a key now, read from moto's own tables (no AWS call is
    made, so nothing is metered or delayed): 0 if there is none."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.exceptions import MockValidationException, ResourceNotFoundException
    from moto.dynamodb.models import dynamodb_backends

    from bench.reports import REGION

    if not table or not key_or_item:
        return 0
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    try:
        found = backend.get_table(table)
        key = {name: key_or_item[name] for name in (found.hash_key_attr, found.range_key_attr) if name}
        item = backend.get_item(table, key)
    except (KeyError, ResourceNotFoundException, MockValidationException):  # the request's floor stands
        return 0
    return item_bytes(item.to_json()["Attributes"]) if item is not None else 0


class Meter:
    """botocore hooks that add each call, and what it is billed by, to the open Usage.

    A DynamoDB write is billed on the larger of the item before and after it: the hooks read the
    items it touches from moto's tables before the call and after it. The hooks' own time outside
    the call's recorded interval (bench.calls' hooks open and close it) is kept (`overhead_ns`), so
    that `invoke` leaves it out of the billed duration as it leaves the calls out.
    """

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self._requests = threading.local()
        self.overhead_ns = 0

    def install(self) -> None:
        from bench.calls import install_hooks

        install_hooks((("before-call", self._before), ("after-call", self._after)), "tandem-cost")

    def _before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        started = time.perf_counter_ns()
        body = params.get("body")
        self._requests.body = body
        self._requests.headers = params.get("headers", {})
        self._requests.before = []
        if self.usage is not None and model.service_model.endpoint_prefix == "dynamodb":
            request = json.loads(body) if isinstance(body, bytes | str) and body else {}
            targets = write_targets(model.name, request)
            self._requests.before = [stored_item_bytes(table, key) for table, key in targets]
        self._outside(context, started)

    def _after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        usage = self.usage
        if usage is None:
            return
        started = time.perf_counter_ns()
        service = model.service_model.endpoint_prefix
        operation = model.name
        usage.calls[f"{service}.{operation}"] += 1
        body = getattr(self._requests, "body", None)
        if service == "dynamodb":
            request = json.loads(body) if isinstance(body, bytes | str) and body else {}
            after = [stored_item_bytes(table, key) for table, key in write_targets(operation, request)]
            before = getattr(self._requests, "before", [])
            stored = [max(a, b) for a, b in zip(after, before, strict=False)] if before else after
            _dynamodb(usage, operation, request, parsed, stored)
        elif service == "s3" and operation == "PutObject":
            usage.s3_put_bytes += int(getattr(self._requests, "headers", {}).get("Content-Length", 0) or 0)
        elif service == "sqs":
            size = len(body) if isinstance(body, bytes | str) else 0
            usage.sqs_requests += max(1, math.ceil(size / 65536))
        self._outside(context, started)

    def _outside(self, context: dict[str, Any], started: int) -> None:
        from bench.calls import _START

        if _START not in context:  # the call's interval is not open: this time would count as ours
            self.overhead_ns += time.perf_counter_ns() - started


METER = Meter()


def invoke(usage: Usage, sink: _Counting, function: str, call: Any) -> Any:
    """One invocation of a function's handler, its duration billed.

    Under moto an AWS call costs moto's Python (a Query of a thousand orders: seconds), not a
    network round trip; so the billed duration is the time spent outside AWS calls, stretched
    to the function's share of a vCPU (this machine's core counts as one), plus the modelled
    round trip along the invocation's longest chain of calls (bench.calls.depth). botocore's
    parsing of an answer is inside the call's time, so it is replaced by the round trip too: a
    lower bound for a large Query. A wait on something that is not AWS (a tenant's webhook,
    `WAITS`) is billed as it was measured, not stretched. The duration as measured here, moto
    included and not stretched, is kept beside it (`measured_ms`).
    """
    from bench.calls import busy_ns, depth
    from bench.checkout import CALLS

    chars_before = sink.chars
    waited_before, overhead_before = WAITS.ns, METER.overhead_ns
    started = time.perf_counter_ns()
    with CALLS.recording() as calls:
        answer = call()
    elapsed_ns = time.perf_counter_ns() - started
    waited_ns = WAITS.ns - waited_before
    # Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB: our time
    # outside the calls (CPU) stretches by that ratio below it; a round trip or a wait does not.
    stretch = max(1.0, FULL_VCPU_MB / MEMORY_MB.get(function, FULL_VCPU_MB))
    outside_ns = elapsed_ns - (busy_ns(calls) if calls else 0) - waited_ns
    cpu_ms = max(0, outside_ns - (METER.overhead_ns - overhead_before)) / 1e6
    modelled_ms = cpu_ms * stretch + depth(calls) * ROUND_TRIP_MS + waited_ns / 1e6
    usage.lambda_ms[function] = usage.lambda_ms.get(function, 0.0) + math.ceil(modelled_ms)
    usage.measured_ms[function] = usage.measured_ms.get(function, 0.0) + math.ceil(elapsed_ns / 1e6)
    usage.invocations[function] += 1
    usage.log_bytes += sink.chars - chars_before
    usage.waited_ms += waited_ns / 1e6
    return answer


class _Waits:
    """Time spent waiting on what is not AWS (a tenant's webhook), summed over the process."""

    def __init__(self) -> None:
        self.ns = 0


WAITS = _Waits()


@contextlib.contextmanager
def timed_webhooks() -> Iterator[None]:
    """Every webhook post (tandem.adapters.webhook_http: the courier's, a report job's announcement)
    timed into `WAITS` while open."""
    from tandem.adapters.webhook_http import UrllibWebhooks

    post = UrllibWebhooks.post

    def timed(self: UrllibWebhooks, *args: Any, **kwargs: Any) -> int:
        started = time.perf_counter_ns()
        try:
            return post(self, *args, **kwargs)
        finally:
            WAITS.ns += time.perf_counter_ns() - started

    UrllibWebhooks.post = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        UrllibWebhooks.post = post  # type: ignore[method-assign]


class _Counting(io.TextIOBase):
    """The handlers' log and metric lines (see bench.reports.quiet): their bytes counted, then dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = 0
        self.chars = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        self.chars += len(text.encode())
        return len(text)


# ---------------------------------------------------------------- the flows


def measure_checkouts(size: Size, sink: _Counting, effects: Effects) -> tuple[list[Usage], list[Usage]]:
    """Each checkout (POST /orders), then what follows it (`Effects.follow`): two Usages a checkout."""
    from tests.conftest import FakeLambdaContext

    from bench.checkout import Buyers
    from tandem.handlers import api

    context = FakeLambdaContext()
    buyers = Buyers(20261203)
    runs: tuple[list[Usage], list[Usage]] = ([], [])
    for n in range(size.checkouts + 1):
        checkout = buyers.checkout()
        usage = Usage()
        METER.usage = usage
        answer = invoke(usage, sink, "ApiFunction", lambda c=checkout: api.handler(c.event, context))
        METER.usage = None
        if answer["statusCode"] != 201:
            raise SystemExit(f"POST /orders answered {answer['statusCode']}: {answer.get('body')}")
        usage.api_requests = _api_requests(checkout.event, answer)
        followed = effects.follow(sink)
        if n:  # the first is the process's cold start: its own figure (bench.coldstart)
            runs[0].append(usage)
            runs[1].append(followed)
        else:  # the day's earlier orders, for the pick list the next ones rebuild
            effects.seed_picks(seeded_picks(size))
    return runs


# ---------------------------------------------------------------- what follows a checkout


def seeded_picks(size: Size) -> int:
    """The day's pick documents put before the measured checkouts: as many that the measured
    ones sit, on average, where the model shop's mean order of the day does (each pick rebuilds
    the day's list from every document of the day: its cost grows with the day's orders)."""
    mean_position = (MODEL_SHOP["orders_per_day"] + 1) / 2
    # The measured checkouts come after the cold one and the seeded ones: positions s+2 … s+1+n.
    return max(0, round(mean_position - 1 - (size.checkouts + 1) / 2))


def stream_filters() -> list[dict[str, Any]]:
    """The patterns of OrderEventsFunction's stream event (template.yaml's FilterCriteria)."""
    from tests.template_model import function_events

    stream = next(event for name, event in function_events("DynamoDB") if name == "OrderEventsFunction")
    return [json.loads(f["Pattern"]) for f in stream["FilterCriteria"]["Filters"]]


def matches(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    """Lambda's event filtering, for the pattern forms our template uses: nested keys, and a list of
    the values allowed. Any other form (prefix, numeric, exists …) is refused, not guessed at."""
    for key, wanted in pattern.items():
        value = record.get(key)
        if isinstance(wanted, dict):
            if not (isinstance(value, dict) and matches(wanted, value)):
                return False
        elif isinstance(wanted, list) and all(isinstance(w, str | int | float | bool) for w in wanted):
            if value not in wanted:
                return False
        else:
            raise ValueError(f"a filter pattern bench.cost does not apply: {key}: {wanted!r}")
    return True


class Effects:
    """What follows a checkout, run in this process as AWS runs it, every call metered.

    - the orders stream: its new records read as Lambda's poller reads them (tests'
      `StreamFeed`; its GetRecords are metered, and priced at what Lambda pays for them), the
      template's filter applied (only a PENDING → CONFIRMED change is delivered; the rest are
      not billed), OrderEventsFunction on what passes: it reads the order, sends the three
      follow-ups in one SendMessageBatch, and in one transaction marks the order applied and adds
      it to the live counters' hour, the buyer's payment window and the amount histories;
    - FollowUpQueue: the messages received (one receive, as Lambda's poller does, which batches
      up to 10 within a second: the three come together), FollowUpWorkerFunction on them — the
      confirmation e-mail through SES, the warehouse pick (a ledger entry per line, the pick
      document to S3, the day's pick list rebuilt from all of the day's documents), the signed
      courier webhook to tests' `Courier`, a local HTTP endpoint that answers 200 at once (its
      wait, 1-4 ms here, is billed as measured) — and the batch deleted (one request);
    - the worker's own writes come back on the stream: read, filtered out, not delivered.
    """

    def __init__(self, resolver: Any) -> None:
        import boto3
        from tests.integration.test_follow_ups import SECRET, Courier
        from tests.integration.test_order_events import StreamFeed

        from bench.reports import REGION, TENANT
        from tandem.adapters.directory_tables import TenantsTable
        from tandem.models.records import Tenant, TenantWebhook

        self.resolver = resolver
        self.feed = StreamFeed(resolver.physical["OrdersTable"])  # from the stream's start
        self.filters = stream_filters()
        self.courier = Courier()
        webhook = TenantWebhook(url=self.courier.url, secret=SECRET, set_at=datetime.now(UTC))
        tenant = Tenant(tenant_id=TENANT, name="Acme Gifts", reply_to="help@acme.example", webhook=webhook)
        TenantsTable(resolver.physical["TenantsTable"], boto3.resource("dynamodb", region_name=REGION)).put(
            tenant
        )
        self._sqs = boto3.client("sqs", region_name=REGION)
        self._s3 = boto3.client("s3", region_name=REGION)
        self.seeded = 0

    def follow(self, sink: _Counting) -> Usage:
        from tests.conftest import FakeLambdaContext
        from tests.integration.test_follow_ups import _receive, _work

        from tandem.handlers import order_events

        usage = Usage()
        METER.usage = usage
        delivered = self._read_stream(usage)
        if len(delivered) != 1:
            raise SystemExit(
                f"a checkout's stream records: {len(delivered)} delivered through the filter, not 1"
            )
        answer = invoke(
            usage,
            sink,
            "OrderEventsFunction",
            lambda: order_events.handler({"Records": delivered}, FakeLambdaContext()),
        )
        if answer != {"batchItemFailures": []}:
            raise SystemExit(f"OrderEventsFunction failed: {answer}")
        messages = _receive(self.resolver)
        if sorted(json.loads(m["Body"])["kind"] for m in messages) != [
            "confirmation_email",
            "courier_notification",
            "warehouse_pick",
        ]:
            raise SystemExit(f"FollowUpQueue held {len(messages)} messages, not the order's three")
        worked = invoke(usage, sink, "FollowUpWorkerFunction", lambda: _work(self.resolver, messages))
        if worked != {"batchItemFailures": []}:
            raise SystemExit(f"FollowUpWorkerFunction failed: {worked}")
        self._sqs.delete_message_batch(
            QueueUrl=self.resolver.physical["FollowUpQueue"],
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )  # Lambda's poller deletes a batch that succeeded
        if self._read_stream(usage):
            raise SystemExit("the follow-ups' own writes passed the stream's filter")
        METER.usage = None
        return usage

    def _read_stream(self, usage: Usage) -> list[dict[str, Any]]:
        records = self.feed.new_records()
        delivered = [r for r in records if any(matches(p, r) for p in self.filters)]
        usage.stream_records += len(records)
        usage.stream_records_delivered += len(delivered)
        return delivered

    def seed_picks(self, count: int) -> None:
        """`count` more pick documents on the day of the pick just made: copies of it under other
        order ids (the same size as a real one), put outside any metering."""
        bucket = self.resolver.physical["DataBucket"]
        listed = self._s3.list_objects_v2(Bucket=bucket, Prefix="picks/")["Contents"]
        (document_key,) = [o["Key"] for o in listed if o["Key"].count("/") == 3]  # picks/t/day/id.json
        document = json.loads(self._s3.get_object(Bucket=bucket, Key=document_key)["Body"].read())
        folder = document_key.rsplit("/", 1)[0]
        for n in range(count):
            order_id = f"seeded-{n:05d}"
            body = json.dumps({**document, "order_id": order_id}, sort_keys=True, indent=2).encode()
            self._s3.put_object(Bucket=bucket, Key=f"{folder}/{order_id}.json", Body=body)
        self.seeded += count

    def close(self) -> None:
        self.courier.close()


def _api_requests(event: dict[str, Any], answer: dict[str, Any]) -> int:
    """HTTP API meters a request per 512 KB of request or answer, whichever is larger."""
    size = max(len(str(event.get("body") or "")), len(str(answer.get("body") or "")))
    return max(1, math.ceil(size / 524288))


def seed_orders(resolver: Any, size: Size) -> int:
    import boto3

    from bench.reports import DATE_FROM, DATE_TO, REGION, synthetic_orders
    from tandem.adapters.orders_table import OrdersTable

    days = (DATE_TO - DATE_FROM).days + 1
    start = datetime(DATE_FROM.year, DATE_FROM.month, DATE_FROM.day, 12, tzinfo=UTC)
    end = datetime(DATE_TO.year, DATE_TO.month, DATE_TO.day, 12, tzinfo=UTC)
    orders = synthetic_orders(size.orders_per_day * days, random.Random(7), start, end)
    table = OrdersTable(resolver.physical["OrdersTable"], boto3.resource("dynamodb", region_name=REGION))
    for order in orders:
        table.put(order)
    return len(orders)


@contextlib.contextmanager
def inline_deadline_off() -> Iterator[None]:
    """The inline path's deadline measured on a stopped clock, while the inline report runs.

    An inline report gives way to a job when reading the orders overruns `Prefer: wait` (8 s at
    most). Under moto a Query of a few thousand orders takes seconds of moto's Python, which AWS
    does not spend: on the real clock the same report overran here and was queued, on a loaded
    machine. The count-based choice (rows against the budget's rows) still decides; only the
    seconds moto adds are kept out of it, as they are kept out of the billed duration.
    """
    from tandem.handlers.wiring import api as root

    cached = root.report_dispatch
    deps = cached()
    stopped = deps.clock()
    patched = dataclasses.replace(deps, clock=lambda: stopped)
    root.report_dispatch = lambda: patched  # type: ignore[assignment]
    try:
        yield
    finally:
        root.report_dispatch = cached


def measure_reports(size: Size, resolver: Any, sink: _Counting) -> dict[str, list[Usage]]:
    import boto3
    from tests.conftest import FakeLambdaContext
    from tests.events import http_event, sqs_event

    from bench.reports import PERIOD, REGION, TENANT
    from tandem.handlers import api, report_worker

    context = FakeLambdaContext()
    sqs = boto3.client("sqs", region_name=REGION)
    queue = resolver.physical["ReportQueue"]
    runs: dict[str, list[Usage]] = {"inline": [], "async": []}
    for n in range(size.reports + 1):
        # Inline: one POST, answered 200 with the summary.
        usage = Usage()
        event = http_event("POST", "/reports", body=PERIOD, tenant=TENANT, headers={"Prefer": "wait=8"})
        METER.usage = usage
        with inline_deadline_off():
            answer = invoke(usage, sink, "ApiFunction", lambda e=event: api.handler(e, context))
        METER.usage = None
        if answer["statusCode"] != 200:
            raise SystemExit(f"inline POST /reports answered {answer['statusCode']}: {answer.get('body')}")
        usage.api_requests = _api_requests(event, answer)
        if n:
            runs["inline"].append(usage)

        # Queued: the 202, the worker on its message (received and deleted as Lambda's poller
        # does), one GET of the job, the download of the result from its link.
        usage = Usage()
        event = http_event(
            "POST", "/reports", body=PERIOD, tenant=TENANT, headers={"Prefer": "respond-async"}
        )
        METER.usage = usage
        accepted = invoke(usage, sink, "ApiFunction", lambda e=event: api.handler(e, context))
        if accepted["statusCode"] != 202:
            raise SystemExit(f"async POST /reports answered {accepted['statusCode']}: {accepted.get('body')}")
        usage.api_requests += _api_requests(event, accepted)
        job_id = json.loads(accepted["body"])["job_id"]
        messages = sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=1, MessageAttributeNames=["All"], AttributeNames=["All"]
        )["Messages"]
        batch = sqs_event(messages, resolver.attributes[("ReportQueue", "Arn")])
        result = invoke(
            usage, sink, "ReportWorkerFunction", lambda b=batch: report_worker.handler(b, context)
        )
        if result != {"batchItemFailures": []}:
            raise SystemExit(f"the report worker failed job {job_id}: {result}")
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])
        poll = http_event("GET", f"/reports/{job_id}", tenant=TENANT)
        polled = invoke(usage, sink, "ApiFunction", lambda p=poll: api.handler(p, context))
        if polled["statusCode"] != 200 or json.loads(polled["body"])["status"] != "succeeded":
            raise SystemExit(f"GET /reports/{job_id}: {polled['statusCode']} {polled.get('body')}")
        usage.api_requests += _api_requests(poll, polled)
        boto3.client("s3", region_name=REGION).get_object(
            Bucket=resolver.physical["ReportsBucket"], Key=f"reports/{TENANT}/{job_id}.json"
        )  # the client's download through the presigned link: one S3 GET
        METER.usage = None
        if n:
            runs["async"].append(usage)
    return runs


def stored_bytes() -> int:
    """Every table's items, by DynamoDB's size rules (moto's tables, scanned)."""
    import boto3

    from bench.reports import REGION

    client = boto3.client("dynamodb", region_name=REGION)
    total = 0
    for table in client.list_tables()["TableNames"]:
        for page in client.get_paginator("scan").paginate(TableName=table):
            total += sum(item_bytes(item) for item in page["Items"])
    return total


# ---------------------------------------------------------------- pricing


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    prices: dict[str, Any] = yaml.safe_load(path.read_text())
    return prices


def function_settings() -> tuple[str, dict[str, int]]:
    """The template's Architecture (its default) and each function's MemorySize (Globals' otherwise)."""
    from tests.template_model import functions, parameter_defaults, template

    default = int(template()["Globals"]["Function"]["MemorySize"])
    memory = {}
    for name, resource in functions().items():
        value = resource["Properties"].get("MemorySize", default)
        memory[name] = int(value) if isinstance(value, int | str) else default
    return str(parameter_defaults()["Architecture"]), memory


def worker_queues() -> list[str]:
    """The SQS queues a function of the template is triggered by (logical ids): each has Lambda's
    pollers on it."""
    from tests.template_model import function_events

    return sorted({event["Queue"]["Fn::GetAtt"][0] for _, event in function_events("SQS")})


def average(runs: list[Usage]) -> dict[str, Any]:
    """The mean use of a flow's runs (durations: the median run's, per function)."""
    n = len(runs)
    functions = {f for run in runs for f in run.lambda_ms}
    calls: Counter[str] = Counter()
    for run in runs:
        calls.update(run.calls)
    return {
        "runs": n,
        "calls": {k: v / n for k, v in sorted(calls.items())},
        "rru": sum(r.rru for r in runs) / n,
        "wru": sum(r.wru for r in runs) / n,
        "s3_put_bytes": sum(r.s3_put_bytes for r in runs) / n,
        "sqs_requests": sum(r.sqs_requests for r in runs) / n,
        "log_bytes": sum(r.log_bytes for r in runs) / n,
        "api_requests": sum(r.api_requests for r in runs) / n,
        "waited_ms": statistics.median(r.waited_ms for r in runs),
        "stream_records": sum(r.stream_records for r in runs) / n,
        "stream_records_delivered": sum(r.stream_records_delivered for r in runs) / n,
        "invocations": {f: sum(r.invocations[f] for r in runs) / n for f in sorted(functions)},
        "lambda_ms": {f: statistics.median(r.lambda_ms.get(f, 0.0) for r in runs) for f in sorted(functions)},
        "measured_ms": {
            f: statistics.median(r.measured_ms.get(f, 0.0) for r in runs) for f in sorted(functions)
        },
    }


def price(
    use: dict[str, Any], prices: dict[str, Any], architecture: str, memory: dict[str, int]
) -> dict[str, float]:
    """Dollars by line item for one run of a flow (a dict from `average`, or one made alike)."""
    lam, ddb, s3 = prices["lambda"], prices["dynamodb_on_demand"], prices["s3_standard"]
    calls = use["calls"]
    gb_s = sum(ms / 1000 * memory[f] / 1024 for f, ms in use["lambda_ms"].items())
    s3_puts = sum(v for k, v in calls.items() if k.startswith("s3.") and k.split(".")[1] in _S3_PUT_CLASS)
    s3_gets = sum(v for k, v in calls.items() if k.startswith("s3.")) - s3_puts
    lines = {
        "lambda requests": sum(use["invocations"].values()) * lam["request"],
        "lambda duration": gb_s * lam["gb_second"][architecture],
        "api gateway": use["api_requests"] * prices["api_gateway_http"]["request"],
        "dynamodb writes": use["wru"] * ddb["write_request_unit"],
        "dynamodb reads": use["rru"] * ddb["read_request_unit"],
        "s3 requests": s3_puts * s3["put_request"] + s3_gets * s3["get_request"],
        "sqs": use["sqs_requests"] * prices["sqs"]["request"],
        "dynamodb streams reads": calls.get("streams.dynamodb.GetRecords", 0)
        * ddb["streams_read_request_by_lambda"],
        "ses": calls.get("email.SendEmail", 0) + calls.get("email.SendRawEmail", 0),
        "step functions": use.get("transitions", 0) * prices["step_functions_standard"]["state_transition"],
        "secrets manager calls": calls.get("secretsmanager.GetSecretValue", 0)
        * prices["secrets_manager"]["api_call"],
        "cloudwatch logs": use["log_bytes"] / 1e9 * prices["cloudwatch_logs"]["ingestion_gb"],
    }
    lines["ses"] *= prices["ses"]["email"]
    return lines


# S3 bills these at the PUT price (LIST included), every other request at the GET price.
_S3_PUT_CLASS = {"PutObject", "CopyObject", "ListObjectsV2", "ListObjects", "CreateMultipartUpload",
                 "UploadPart", "CompleteMultipartUpload", "PostObject"}  # fmt: skip


def _as_measured(
    use: dict[str, Any], prices: dict[str, Any], architecture: str, memory: dict[str, int]
) -> float:
    return sum(price({**use, "lambda_ms": use["measured_ms"]}, prices, architecture, memory).values())


def night_use(night: dict[str, Any]) -> dict[str, Any]:
    """A tenant's night, per night, from bench.night's figures: every step is NightlyLakeFunction."""
    nights = night["nights"]
    calls: Counter[str] = Counter()
    seconds = 0.0
    step_runs = 0
    for step in night["steps"]:
        if step["step"].startswith("ingest"):
            continue  # the shop's own uploads: not the night's work
        calls.update(step["by_operation"])
        seconds += step["total_s"] + step["aws_calls"] * ROUND_TRIP_MS / 1000  # moto answers in ~0 ms
        step_runs += step["runs"]
    per_night = {k: v / nights for k, v in calls.items()}
    return {
        "runs": nights,
        "calls": per_night,
        # The night's DynamoDB reads are Query/GetItem/BatchGetItem of small items: a unit each (modelled).
        "rru": sum(v for k, v in per_night.items() if k.startswith("dynamodb.") and "Write" not in k),
        "wru": sum(v for k, v in per_night.items() if k.startswith("dynamodb.") and "Write" in k),
        "s3_put_bytes": 0,
        "sqs_requests": sum(v for k, v in per_night.items() if k.startswith("sqs.")),
        "log_bytes": 0,
        "api_requests": 0,
        "invocations": {"NightlyLakeFunction": step_runs / nights, "NightlyFunction": 1},
        # As measured under moto plus a round trip per call (an upper bound); the planner's 1 s is modelled.
        "lambda_ms": {"NightlyLakeFunction": seconds / nights * 1000, "NightlyFunction": 1000},
        "measured_ms": {"NightlyLakeFunction": seconds / nights * 1000, "NightlyFunction": 1000},
        # modelled: a transition per step run, and the run's own states (plan, map, finish, outcome).
        "transitions": step_runs / nights + 6,
    }


def month(results: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any]:
    """The model shop's month: its flows times their counts, plus what runs whether or not it sells."""
    shop = MODEL_SHOP
    per = results["per_run_usd"]
    orders = shop["orders_per_day"] * shop["days"]
    lines = {
        "checkouts (POST /orders)": orders * per["checkout"],
        "checkouts' follow-ups (stream, e-mail, pick, courier)": orders * per["checkout effects"],
        "reports inline": shop["inline_reports_per_month"] * per["report inline"],
        "reports queued (morning reports)": shop["async_reports_per_month"] * per["report async"],
    }
    if "tenant night" in per:
        lines["nights"] = shop["days"] * per["tenant night"]
    minutes = shop["days"] * 24 * 60
    # modelled: the sweeper's rate(1 minute) and the nightly cron; Lambda's SQS pollers (5 per
    # queue, a 20 s long poll each: 15 receives a minute) on every queue a function is triggered by
    # (template.yaml); one secret. The stream's poller reads for free (prices.yaml).
    queues = len(results["worker_queues"])
    fixed = {
        "schedules (sweeper every minute, nightly)": (minutes + shop["days"])
        * prices["eventbridge_scheduler"]["invocation"],
        "sweeper invocations (128 ms at 512 MB, modelled)": minutes
        * (
            prices["lambda"]["request"] + 0.128 * 0.5 * prices["lambda"]["gb_second"][results["architecture"]]
        ),
        f"sqs pollers' idle receives ({queues} queues)": queues * 15 * minutes * prices["sqs"]["request"],
        "secrets manager (1 secret)": prices["secrets_manager"]["secret_month"],
        "dynamodb storage (the month's orders)": orders
        * results["order_item_bytes"]
        / 1e9
        * prices["dynamodb_on_demand"]["storage_gb_month"],
    }
    total = sum(lines.values()) + sum(fixed.values())
    return {"assumptions": shop, "flows_usd": lines, "fixed_usd": fixed, "usd": total}


def run(size_name: str) -> dict[str, Any]:
    import importlib
    import os

    # Before anything imports tandem (tests.moto_stack does): bench.reports, which bench.checkout
    # imports, sets the offline environment, and Powertools reads its settings at import.
    importlib.import_module("bench.checkout")

    from moto import mock_aws
    from tests.moto_stack import create_stack, publish_sanctions_list
    from tests.template_model import functions

    from bench.checkout import CALLS, PRODUCTS, _seed_catalogue
    from bench.reports import quiet

    size = SIZES[size_name]
    started = time.perf_counter()
    prices = load_prices()
    architecture, memory = function_settings()
    MEMORY_MB.update(memory)
    sink = _Counting()
    # botocore's account-based endpoints (…streams-ddb…) are not routed by moto: the classic one is
    # (as tests.integration.test_order_events's feed).
    os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
    with mock_aws():
        resolver = create_stack()
        for function in functions():
            os.environ.update(resolver.environment(function))
        _seed_catalogue(resolver)
        publish_sanctions_list(resolver)
        CALLS.install()
        METER.install()
        # The tenant's one webhook endpoint (its courier's) stays up to the end: it is told of
        # report jobs too (tandem.logic.report_notifications).
        effects = Effects(resolver)
        try:
            with quiet(sink), CALLS.latency(ROUND_TRIP_MS), timed_webhooks():
                stored_before = stored_bytes()
                checkouts, followed = measure_checkouts(size, sink, effects)
                bytes_per_order = (stored_bytes() - stored_before) / (size.checkouts + 1)
                courier_calls = len(effects.courier.calls)
            seeded = seed_orders(resolver, size)
            with quiet(sink), CALLS.latency(ROUND_TRIP_MS), timed_webhooks():
                reports = measure_reports(size, resolver, sink)
            report_calls = len(effects.courier.calls) - courier_calls
        finally:
            effects.close()
    uses = {
        "checkout": average(checkouts),
        "checkout effects": average(followed),
        "report inline": average(reports["inline"]),
        "report async": average(reports["async"]),
    }
    night_note = "bench/results/night.json missing: run python -m bench.night first"
    if NIGHT.exists():
        night = json.loads(NIGHT.read_text())
        uses["tenant night"] = night_use(night)
        night_note = f"from bench.night over {night['nights']} night(s) ({night.get('first')} …)"
    lines = {flow: price(use, prices, architecture, memory) for flow, use in uses.items()}
    per_run = {flow: sum(items.values()) for flow, items in lines.items()}
    results: dict[str, Any] = {
        "benchmark": "cost",
        "size_name": size_name,
        "size": asdict(size),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "region": prices["region"],
        "prices_as_of": prices["as_of"],
        "architecture": architecture,
        "memory_mb": memory,
        "round_trip_ms": ROUND_TRIP_MS,
        "orders_in_report": seeded,
        "products": len(PRODUCTS),
        "use": uses,
        "lines_usd": lines,
        "per_run_usd": per_run,
        "night": night_note,
        # What a checkout leaves stored in every table (DynamoDB's item sizes), all items counted.
        "order_item_bytes": bytes_per_order,
        # The checkout's part (POST /orders), what follows it (the stream's consumer, the
        # follow-ups), and the two together.
        "usd_per_1000_checkouts_sync": 1000 * per_run["checkout"],
        "usd_per_1000_checkouts_effects": 1000 * per_run["checkout effects"],
        "usd_per_1000_checkouts": 1000 * (per_run["checkout"] + per_run["checkout effects"]),
        "effects": {
            "pick_documents_seeded": effects.seeded,
            # the day's pick documents each measured pick read: the model shop's mean order's
            "mean_pick_documents_read": uses["checkout effects"]["calls"].get("s3.GetObject", 0),
            "courier_calls": courier_calls,
            "report_announcements": report_calls,  # the same endpoint, told of each report job
            "courier_endpoint": "local HTTP server, answers 200 at once (tests' Courier)",
        },
        "worker_queues": worker_queues(),
        "ratio_async_over_inline": per_run["report async"] / per_run["report inline"],
        # The same with the durations as measured under moto (moto's Python in every call): the bound above.
        "ratio_async_over_inline_as_measured": _as_measured(
            uses["report async"], prices, architecture, memory
        )
        / _as_measured(uses["report inline"], prices, architecture, memory),
    }
    results["model_shop_month"] = month(results, prices)
    results["model_shop_month_usd"] = results["model_shop_month"]["usd"]
    results["total_s"] = time.perf_counter() - started
    results["json"] = str(RESULTS.relative_to(ROOT))
    return results


def print_table(results: dict[str, Any]) -> None:
    print(
        f"\nCost per run of each flow, {results['region']}, {results['architecture']}, prices as of "
        f"{results['prices_as_of']}; every AWS call a {results['round_trip_ms']} ms round trip\n"
    )
    flows = list(results["lines_usd"])
    print("| line item | " + " | ".join(flows) + " |")
    print("|---|" + "---:|" * len(flows))
    for item in results["lines_usd"][flows[0]]:
        cells = [f"${results['lines_usd'][flow][item] * 1e6:,.2f} µ" for flow in flows]
        print(f"| {item} | " + " | ".join(cells) + " |")
    print(
        "| **total** | " + " | ".join(f"**${results['per_run_usd'][f] * 1e6:,.2f} µ**" for f in flows) + " |"
    )
    print("\n(µ: millionths of a dollar)")
    for flow, use in results["use"].items():
        ms = ", ".join(
            f"{f} {v:,.0f} ms billed ({use['measured_ms'][f]:,.0f} ms under moto)"
            for f, v in use["lambda_ms"].items()
        )
        calls = ", ".join(f"{k} {v:g}" for k, v in sorted(use["calls"].items(), key=lambda kv: -kv[1]))
        print(f"- {flow}: {ms}; RRU {use['rru']:.1f}, WRU {use['wru']:.1f}; calls: {calls}")
    effects, use = results["effects"], results["use"]["checkout effects"]
    emails = use["calls"].get("email.SendEmail", 0)
    print(
        f"- what follows a checkout: {use['stream_records']:g} stream records read, "
        f"{use['stream_records_delivered']:g} delivered through the filter; {emails:g} e-mail(s) through SES;"
        " "
        f"the pick read {effects['mean_pick_documents_read']:g} of the day's documents (mean; "
        f"{effects['pick_documents_seeded']} seeded before); {effects['courier_calls']} courier calls to "
        f"a {effects['courier_endpoint']}, {use['waited_ms']:.1f} ms waited (median)"
    )
    print(
        f"\nper 1,000 checkouts: ${results['usd_per_1000_checkouts']:.4f}"
        f" = POST /orders ${results['usd_per_1000_checkouts_sync']:.4f}"
        f" + what follows ${results['usd_per_1000_checkouts_effects']:.4f}"
    )
    per = results["per_run_usd"]
    print(
        f"a report of {results['orders_in_report']:,} orders: inline ${per['report inline']:.6f},"
        f" queued ${per['report async']:.6f}: ratio queued / inline {results['ratio_async_over_inline']:.2f}"
        f" (with the durations as measured under moto: {results['ratio_async_over_inline_as_measured']:.2f})"
    )
    print(f"tenant night: {results['night']}")
    shop = results["model_shop_month"]
    print(f"\nmodel shop month ({shop['assumptions']}): ${shop['usd']:.2f}")
    for name, usd in {**shop["flows_usd"], **shop["fixed_usd"]}.items():
        print(f"  {name}: ${usd:.4f}")
    print(f"\nfigures: {results['json']}")


def main(argv: list[str] | None = None) -> None:
    command_line(argv, "cost", __doc__ or "", SIZES, run, print_table, RESULTS)


if __name__ == "__main__":
    main()
