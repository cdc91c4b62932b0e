"""How fast a checkout runs and how many AWS round trips it waits for: POST /orders, the
fraud scorer alone, GET /health as the baseline, and the checkout under a latency model.

    .venv/bin/python -m bench.checkout [--size smoke|standard|full]

Everything runs in this one process, under moto.mock_aws for the AWS calls, so the
figures are our code + Powertools + botocore + moto's in-memory emulation of DynamoDB,
SQS and S3: no network, no Lambda runtime. They compare versions of this code on one
machine; they are not the latencies a deployed stack answers with. Every AWS call a
checkout makes is recorded (bench.calls): how many, and the depth, the longest chain of
calls that wait on each other. Under the latency model every call sleeps a fixed round
trip (4 ms, DynamoDB's typical in-region latency, and 10 ms) in its calling thread, and
a baseline of as many bare sequential GetItem calls runs alongside. Prints a table and
writes bench/results/checkout.json. See bench/README.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from typing import Any

import boto3
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from tests.conftest import FakeLambdaContext
from tests.events import http_event
from tests.moto_stack import create_stack, publish_sanctions_list
from tests.template_model import Resolver, functions

# Importing bench.reports sets the offline environment (fake credentials, no endpoint,
# the template's Globals forced, moto's lenient purge): that is its one side effect at
# import, and this benchmark needs exactly it. It must happen before anything from tandem
# is imported, as Powertools reads its settings at import; the sorted imports keep it so
# (bench before tandem; boto3, moto and tests read no setting at import). Its helpers are
# reused as they are, so both benchmarks measure, check and print alike.
from bench.calls import Call, Calls, Timed, census, depth, timed_loop
from bench.cli import command_line
from bench.reports import (
    REGION,
    ROOT,
    _Discard,
    _expect,
    _machine,
    _row,
    progress,
    quiet,
)
from tandem.adapters.catalog_table import CatalogTable
from tandem.handlers import api
from tandem.logic import checkout as checkout_logic
from tandem.logic.fraud import score
from tandem.models.catalog import Product
from tandem.models.fraud import (
    DEFAULT_DISPOSABLE_EMAIL_DOMAINS,
    DEFAULT_FRAUD_MODEL,
    AmountHistory,
    FraudAssessment,
    FraudSignals,
)
from tandem.models.payments import luhn_valid

RESULTS = ROOT / "bench" / "results" / "checkout.json"
TENANT = "acme"
SCOPES = "orders:read orders:write"
SEED = 20261128
CHECKOUT, HEALTH = "POST /orders", "GET /health"
SCORER = "fraud score()"
TARGET_P95_US = 1_000.0  # the target for the scorer: p95 below 1 ms
# The catalogue the buyers pick from; the stock is so large that no run can sell it out.
PRODUCTS = {"MUG": "6.50", "TEA": "3.25", "POT": "24.00", "BAG": "12.75"}
STOCK = 10**12


# The latency model: a fixed round trip slept in every AWS call, in the calling thread.
# 4 ms is DynamoDB's typical in-region latency; 0 ms is moto alone.
LATENCIES_MS = (0, 4, 10)
DEPTH_AT_MS = 4  # the latency whose depth is the run's `depth` (see depth_figures)


@dataclass(frozen=True)
class Size:
    checkouts: int  # timed calls per API route
    api_warmup: int  # untimed calls per API route after the first one
    api_block: int  # the routes alternate in blocks of this many calls
    scores: int  # timed score() calls, spread evenly over the rounds
    score_warmup: int  # untimed score() calls after the first one
    modelled: int  # timed checkouts (and baselines) per latency of the latency model
    modelled_block: int  # in alternating blocks of this many
    modelled_warmup: int  # untimed checkouts (and baselines) per latency, first


# smoke: that each part still runs (make test); standard: what `make bench` measures.
SIZES = {
    "smoke": Size(
        checkouts=20,
        api_warmup=3,
        api_block=10,
        scores=1_000,
        score_warmup=100,
        modelled=6,
        modelled_block=3,
        modelled_warmup=1,
    ),
    "standard": Size(
        checkouts=100,
        api_warmup=10,
        api_block=25,
        scores=5_000,
        score_warmup=500,
        modelled=20,
        modelled_block=10,
        modelled_warmup=2,
    ),
    "full": Size(
        checkouts=1_000,
        api_warmup=50,
        api_block=25,
        scores=50_000,
        score_warmup=2_000,
        modelled=200,
        modelled_block=25,
        modelled_warmup=10,
    ),
}

CALLS = Calls()


def code_digest() -> str:
    """SHA-256 of the measured code (functions/tandem/**/*.py and template.yaml), to tell versions apart."""
    digest = hashlib.sha256()
    for path in sorted([*(ROOT / "functions" / "tandem").rglob("*.py"), ROOT / "template.yaml"]):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def timer_overhead_ns(pairs: int = 10_000) -> float:
    """Median of two back-to-back perf_counter_ns reads: the floor under every figure."""
    clock = time.perf_counter_ns
    gaps = []
    for _ in range(pairs):
        before = clock()
        gaps.append(clock() - before)
    return statistics.median(gaps)


# ---------------------------------------------------------------- the checkouts


def _card_number(n: int) -> str:
    """A Luhn-valid Visa number of its own per buyer; the sandbox approves it (not a test decline)."""
    partial = f"4242{n:011d}"
    return next(partial + str(digit) for digit in range(10) if luhn_valid(partial + str(digit)))


@dataclass(frozen=True)
class Checkout:
    event: dict[str, Any]
    total: Decimal


class Buyers:
    """Each checkout is a different first-time buyer: own e-mail, card, IP and Idempotency-Key.

    The Idempotency-Key is a UUID drawn from the seeded generator: one per purchase, never
    reused, so every checkout is a first attempt, not a replay.

    With one buyer repeated, the fraud scorer's velocity features would soon block every
    attempt (403): a different path, not the checkout being measured. The basket is 1-3
    products of the catalogue, 1-3 of each (seeded), so orders are priced differently.
    """

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._numbers = count()
        self._expiry = f"12/{(datetime.now(UTC).year + 4) % 100:02d}"

    def checkout(self) -> Checkout:
        n = next(self._numbers)
        basket = {
            sku: self._rng.randint(1, 3)
            for sku in self._rng.sample(sorted(PRODUCTS), k=self._rng.randint(1, 3))
        }
        body = {
            "items": [{"sku": sku, "quantity": quantity} for sku, quantity in basket.items()],
            "customer": {"email": f"buyer{n}@example.com", "name": "Ada Lovelace", "country": "GB"},
            "shipping_address": {
                "line1": "12 St James's Square",
                "city": "London",
                "postal_code": "SW1Y 4LB",
                "country": "GB",
            },
            "payment": {"card_number": _card_number(n), "expiry": self._expiry, "cvc": "123"},
            "currency": "GBP",
        }
        key = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        event = http_event("POST", "/orders", body=body, scopes=SCOPES, headers={"idempotency-key": key})
        event["requestContext"]["http"]["sourceIp"] = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        total = sum((Decimal(PRODUCTS[sku]) * quantity for sku, quantity in basket.items()), Decimal(0))
        return Checkout(event, total)


def _check_checkout(response: dict[str, Any], expected_total: Decimal, decisions: Counter[str]) -> str:
    """A 201, confirmed, at the basket's price; the order id it names."""
    _expect(response, 201, CHECKOUT)
    answer = json.loads(response["body"])
    if answer["status"] != "confirmed" or Decimal(answer["total"]) != expected_total:
        raise SystemExit(f"{CHECKOUT} confirmed {answer['status']} {answer['total']}, not {expected_total}")
    decisions[answer["fraud"]["decision"]] += 1
    return str(answer["order_id"])


def _health_event() -> dict[str, Any]:
    return http_event("GET", "/health", tenant=None)


# Partition-key prefixes of what one buyer's checkout creates and nothing else reads (see Pruner).
BUYER_PARTITIONS = {
    "FraudSignalsTable": (f"V#{TENANT}#", f"H#{TENANT}#C#"),
    "LiveCountersTable": (f"{TENANT}#customer#",),
}
# Tables whose items no later checkout reads: each checkout writes a new order and its audit
# entries under keys of their own (see Pruner).
SETTLED = ("OrdersTable", "AuditTable")


class Pruner:
    """Drops, after each checkout (untimed), the partitions only that checkout's buyer will ever read.

    moto 5.2.5 answers a DynamoDB Query by walking every item of the table, and every
    partition ever created, emptied ones included (models/table.py: `query` walks
    `all_items()`, and `delete_item` leaves the partition's dict behind); DynamoDB reads
    one partition. A checkout makes seven Queries (six velocity counts, one payment
    window) and creates five partitions of its own buyer: in FraudSignalsTable the
    velocity partitions of its card, e-mail address and IP and its customer's amount
    history, in LiveCountersTable its customer's payment hours. Left alone, every
    checkout would be slower than the one before it. No buyer comes back, so dropping
    these partitions changes no answer. Only these key layouts are dropped (see the
    docstrings of tandem/adapters/fraud_signals.py and live_tables.py); every other
    partition, such as the tenant's amount history and hourly counters, stays.

    moto 5.2.5 also answers a TransactWriteItems by deep-copying, for each of its items,
    the whole table the item names, as a backup in case the transaction fails
    (models/__init__.py: `transact_write_items`); DynamoDB copies nothing. A checkout that
    puts its order and audit entries in its transaction (issue 8) would then take longer
    with every order and entry stored before it: its TransactWriteItems took 55 ms
    (median) over 100 checkouts, against 3 ms for its UpdateItem. So, once its order has
    been checked, the items of SETTLED (every order, every audit entry) are dropped, and
    the records of every table's stream, which nothing consumes here, with them. Each
    checkout writes an order and entries of its own, under a new order id, so no later
    checkout reads them and dropping them changes no answer.

    This reaches into moto's in-memory tables (moto is pinned in requirements/dev.lock),
    as no AWS call removes a partition from them.
    """

    def __init__(self, resolver: Resolver) -> None:
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        self._tables = [
            (backend.get_table(resolver.physical[name]), prefixes)
            for name, prefixes in BUYER_PARTITIONS.items()
        ]
        self._settled = [backend.get_table(resolver.physical[name]) for name in SETTLED]
        self._streams = [table.stream_shard for table in backend.tables.values() if table.stream_shard]
        self.partitions = 0
        self.items = 0
        self.settled = 0
        self.stream_records = 0

    def prune(self) -> None:
        # A flow that no longer writes one of these layouts at checkout (the stream consumer
        # does it after the 201) leaves nothing to drop there: that is fine;
        # `partitions_left_per_checkout` tells whether a checkout grows some other partition.
        for table, prefixes in self._tables:
            partitions = table.items
            buyers = [key for key in partitions if str(key.value).startswith(prefixes)]
            for key in buyers:
                self.items += len(partitions.pop(key))
            self.partitions += len(buyers)
        for table in self._settled:
            self.settled += sum(len(partition) for partition in table.items.values())
            table.items.clear()
        for stream in self._streams:
            self.stream_records += len(stream.items)
            stream.items.clear()

    @staticmethod
    def count() -> int:
        """Partitions in every table of moto's DynamoDB: what its Query walks grows with this."""
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        return sum(len(table.items) for table in backend.tables.values())


class AfterBlock:
    """Untimed checks: after each checkout, its order is stored confirmed; after each block,
    FollowUpQueue holds what the checkouts queued, and is emptied.

    A 201 does not prove what was stored, so each order its answer names must be in
    OrdersTable with status `confirmed` (checked before the pruner drops it). A checkout
    that queues follow-ups itself (its CheckoutDeps has a `follow_ups` port) must have
    left exactly three messages per order, as a failure there is logged, not raised; one
    whose follow-ups come from the orders table's stream (not run here) must have left
    none. Then the queue is purged, standing in for the workers that keep it drained:
    moto's SendMessage walks every message already queued, so a queue left to fill would
    make each checkout slower. These calls are made outside any recording: they are
    neither counted nor delayed, and the census leaves them out.
    """

    def __init__(self, resolver: Resolver) -> None:
        self._url = resolver.physical["FollowUpQueue"]
        self._sqs = boto3.client("sqs", region_name=REGION)
        self._orders = boto3.resource("dynamodb", region_name=REGION).Table(resolver.physical["OrdersTable"])
        deps = getattr(checkout_logic, "CheckoutDeps", None)
        queues_them = deps is not None and "follow_ups" in {f.name for f in fields(deps)}
        self.follow_ups_per_order = 3 if queues_them else 0

    @property
    def clients(self) -> tuple[Any, ...]:
        """The clients of these checks, which the census leaves out."""
        return (self._sqs, self._orders.meta.client)

    def check_order(self, order_id: str) -> None:
        item = self._orders.get_item(Key={"tenant_id": TENANT, "order_id": order_id}).get("Item")
        if item is None or item.get("status") != "confirmed":
            status = item.get("status") if item else "nothing"
            raise SystemExit(f"order {order_id} answered 201 but is stored as {status!r}")

    def check_queue(self, orders: int) -> None:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        queued, expected = int(attributes["ApproximateNumberOfMessages"]), self.follow_ups_per_order * orders
        if queued != expected:
            raise SystemExit(f"{orders} checkouts queued {queued} follow-ups, not {expected}")
        if queued:
            self._sqs.purge_queue(QueueUrl=self._url)


class ApiBench:
    def __init__(
        self, context: FakeLambdaContext, buyers: Buyers, after_block: AfterBlock, pruner: Pruner
    ) -> None:
        self.context = context
        self.buyers = buyers
        self.after_block = after_block
        self.pruner = pruner
        self.decisions: Counter[str] = Counter()  # the checkouts' fraud decisions, from their answers
        self.samples = {CHECKOUT: Timed(), HEALTH: Timed()}
        self.block_medians_ms: dict[str, list[float]] = {CHECKOUT: [], HEALTH: []}
        self.census: Counter[str] = Counter()  # the warm-up checkouts' calls, from BaseClient
        self.census_checkouts = 0

    def first_call(self, route: str) -> tuple[float, list[Call]]:
        """One call timed alone, in ms, and the AWS calls it made."""
        timed = self.block(route, 1)
        return timed.ns[0] / 1e6, timed.calls[0]

    def block(self, route: str, calls: int, *, census_too: bool = False) -> Timed:
        """`calls` calls of one route; events built before the clock starts, answers checked after.

        After each checkout its answer and stored order are checked and the pruner runs; that
        time is left out of the loop's wall time.
        With `census_too` (warm-up only), BaseClient counts the calls as well, to be compared
        with what the hooks recorded.
        """
        checkouts = [self.buyers.checkout() for _ in range(calls)] if route == CHECKOUT else []
        events = [c.event for c in checkouts] if checkouts else [_health_event() for _ in range(calls)]
        responses: list[dict[str, Any]] = []
        handler, context = api.handler, self.context

        def unit(event: dict[str, Any]) -> None:
            responses.append(handler(event, context))

        def settle() -> None:
            """After each checkout, untimed: its answer and stored order checked, then pruned."""
            order_id = _check_checkout(responses[-1], checkouts[len(responses) - 1].total, self.decisions)
            self.after_block.check_order(order_id)
            self.pruner.prune()

        between = settle if checkouts else None
        if census_too:
            with census(ignore=self.after_block.clients) as counted:
                timed = timed_loop(CALLS, unit, events, between)
            self.census += counted
            self.census_checkouts += len(events)
        else:
            timed = timed_loop(CALLS, unit, events, between)
        if checkouts:
            self.after_block.check_queue(len(checkouts))
        else:
            for response in responses:
                _expect(response, 200, route)
        return timed

    def keep(self, route: str, timed: Timed) -> None:
        self.samples[route].add(timed)
        self.block_medians_ms[route].append(statistics.median(timed.ns) / 1e6)


class Baseline:
    """`n` bare GetItem calls, one after another, on a tiny item: n round trips and nothing else.

    Made through a boto3 resource of the default session, as the adapters' are, so the
    same hooks record and delay them. Each sample must be a chain of exactly n calls,
    which checks the recording and the depth on a case whose answer is known.
    """

    def __init__(self, resolver: Resolver, n: int) -> None:
        self.n = n
        self.key = {"key_hash": "bench-baseline"}
        self._table = boto3.resource("dynamodb", region_name=REGION).Table(resolver.physical["ApiKeysTable"])
        self._table.put_item(Item=self.key)

    def block(self, samples: int) -> Timed:
        get, key, n = self._table.get_item, self.key, self.n
        found: list[bool] = []

        def unit(_: int) -> None:
            for _call in range(n):
                found.append("Item" in get(Key=key))

        timed = timed_loop(CALLS, unit, list(range(samples)))
        if not all(found) or any(len(made) != n or depth(made) != n for made in timed.calls):
            raise SystemExit(f"the baseline's {n} sequential calls were not recorded as a chain of {n}")
        return timed


# ---------------------------------------------------------------- the fraud scorer


def _history(rng: random.Random, orders: tuple[int, int], mean: float) -> AmountHistory:
    return AmountHistory(
        order_count=rng.randint(*orders), mean_minor=mean, std_minor=mean * rng.uniform(0.05, 0.9)
    )


def _velocity(rng: random.Random) -> dict[str, int]:
    """Attempts per kind:window: usually 1-2, sometimes a burst over the limits, sometimes none known."""
    if rng.random() < 0.1:
        return {}
    burst = rng.random() < 0.06
    counts = {}
    for kind in ("card", "email", "ip"):
        hour = rng.randint(4, 14) if burst and rng.random() < 0.6 else rng.randint(1, 2)
        counts[f"{kind}:1h"] = hour
        counts[f"{kind}:24h"] = hour + rng.randint(0, 30 if burst else 3)
    return counts


def _email(rng: random.Random) -> str:
    local = f"{rng.choice(('ann', 'bo.b', 'chen+shop', 'dee'))}{rng.randrange(10**6)}"
    roll = rng.random()
    if roll < 0.03:
        domain = rng.choice(sorted(DEFAULT_DISPOSABLE_EMAIL_DOMAINS))
    elif roll < 0.04:
        domain = "mx." + rng.choice(sorted(DEFAULT_DISPOSABLE_EMAIL_DOMAINS))  # a subdomain of one
    else:
        domain = rng.choice(("example.com", "gmail.com", "shop.co.uk", "example.org"))
    return f"{local}@{domain}"


def _other_country(rng: random.Random, country: str, same: float) -> str:
    return country if rng.random() < same else rng.choice(("US", "NG", "BR", "CN", "FR"))


def synthetic_signals(rng: random.Random) -> FraudSignals:
    """One checkout's signals: mostly ordinary, with each risk feature present now and then.

    About 30 % first orders, 80 % GBP (JPY amounts scaled up), 4 % amount spikes of 5-40x,
    6 % velocity bursts, 4 % disposable e-mail domains, country mismatches, 1 % blocklisted.
    """
    currency = rng.choices(("GBP", "EUR", "USD", "JPY"), weights=(80, 12, 6, 2))[0]
    scale = 150 if currency == "JPY" else 1
    first = rng.random() < 0.3
    customer = AmountHistory() if first else _history(rng, (1, 60), rng.uniform(1_000, 8_000) * scale)
    tenant = rng.choice((AmountHistory(), _history(rng, (40, 50_000), rng.uniform(2_000, 6_000) * scale)))
    usual = customer.mean_minor or tenant.mean_minor or 3_000.0 * scale
    amount = usual * rng.lognormvariate(0, 0.4) * (rng.uniform(5, 40) if rng.random() < 0.04 else 1)
    shipping = rng.choices(("GB", "IE", "FR", "DE", "US"), weights=(70, 8, 8, 8, 6))[0]
    ip_roll = rng.random()
    ip = (
        f"198.51.100.{rng.randrange(256)}"
        if ip_roll < 0.7
        else f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(65536):x}"
        if ip_roll < 0.9
        else None
    )
    blocklisted = rng.random() < 0.01
    return FraudSignals(
        amount_minor=int(amount),
        currency=currency,
        email=_email(rng),
        card_fingerprint=f"fp_{rng.randrange(10**9):09d}",
        card_country=None if rng.random() < 0.4 else _other_country(rng, shipping, 0.9),
        ip=ip,
        ip_country=None if ip is None or rng.random() < 0.5 else _other_country(rng, shipping, 0.85),
        shipping_country=shipping,
        customer=customer,
        tenant=tenant,
        velocity=_velocity(rng),
        is_first_order=first,
        blocklisted=blocklisted,
        blocklist_match=rng.choice(("card", "email", "ip", None)) if blocklisted else None,
    )


def _check_assessments(signals: list[FraudSignals], assessments: list[FraudAssessment]) -> None:
    """The scorer's answers must be the ones its thresholds give: a broken scorer cannot pass as fast."""
    model = DEFAULT_FRAUD_MODEL
    for signal, assessment in zip(signals, assessments, strict=True):
        expected = (
            "block"
            if signal.blocklisted or assessment.score >= model.block_at
            else "review"
            if assessment.score >= model.review_at
            else "approve"
        )
        if assessment.decision != expected or assessment.model_version != model.version:
            raise SystemExit(f"score() answered {assessment.decision} at {assessment.score}, not {expected}")


class ScoreBench:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ns: list[int] = []
        self.wall_ns = 0
        self.block_medians_us: list[float] = []
        self.decisions: Counter[str] = Counter()
        self.with_reasons = 0

    def signals(self, calls: int) -> list[FraudSignals]:
        return [synthetic_signals(self.rng) for _ in range(calls)]

    def first_call(self) -> float:
        """The process's first score(), timed alone, in µs."""
        (signal,) = self.signals(1)
        before = time.perf_counter_ns()
        assessment = score(signal, DEFAULT_FRAUD_MODEL, TENANT)
        elapsed = (time.perf_counter_ns() - before) / 1e3
        _check_assessments([signal], [assessment])
        return elapsed

    def block(self, calls: int, *, record: bool) -> None:
        """`calls` score() calls, each on signals of its own built before the clock starts."""
        signals = self.signals(calls)
        tenants = [self.rng.choice((TENANT, "globex", "initech")) for _ in range(calls)]
        samples, assessments = [], []
        clock, model = time.perf_counter_ns, DEFAULT_FRAUD_MODEL
        started = clock()
        for signal, tenant in zip(signals, tenants, strict=True):
            before = clock()
            assessments.append(score(signal, model, tenant))
            samples.append(clock() - before)
        wall = clock() - started
        _check_assessments(signals, assessments)
        if record:
            self.ns.extend(samples)
            self.wall_ns += wall
            self.block_medians_us.append(statistics.median(samples) / 1e3)
            self.decisions.update(a.decision for a in assessments)
            self.with_reasons += sum(1 for a in assessments if a.reasons)


def micro_stats(samples_ns: list[int], wall_ns: int, block: int) -> dict[str, Any]:
    """Per-call latency in µs, percentiles as latency_stats computes them; throughput over the loops."""
    us = [sample / 1e3 for sample in samples_ns]
    cuts = statistics.quantiles(us, n=100, method="inclusive")
    return {
        "calls": len(us),
        "median_us": statistics.median(us),
        "p95_us": cuts[94],
        "p99_us": cuts[98],
        "mean_us": statistics.fmean(us),
        "min_us": min(us),
        "max_us": max(us),
        "throughput_per_s": len(us) / (wall_ns / 1e9),
        "first_block_median_us": statistics.median(us[:block]),
        "last_block_median_us": statistics.median(us[-block:]),
        "target_p95_us": TARGET_P95_US,
        "p95_below_target": cuts[94] < TARGET_P95_US,
    }


# ---------------------------------------------------------------- the run


def _seed_catalogue(resolver: Resolver) -> None:
    catalog = CatalogTable(resolver.physical["ProductsTable"], boto3.resource("dynamodb", region_name=REGION))
    for sku, price in PRODUCTS.items():
        catalog.put(
            Product(tenant_id=TENANT, sku=sku, name=sku, price=Decimal(price), currency="GBP", stock=STOCK)
        )


def waves(calls: list[Call]) -> list[list[str]]:
    """The calls by wave: a call's wave is 1 + the highest wave among the calls that ended before
    it started (so the last wave's number is the depth), each wave's operations sorted."""
    ordered = sorted(calls, key=lambda c: c.start_ns)
    level: list[int] = []
    for i, call in enumerate(ordered):
        before = [level[j] for j in range(i) if ordered[j].end_ns <= call.start_ns]
        level.append(1 + max(before, default=0))
    return [
        sorted(c.operation.partition(".")[2] for c, lv in zip(ordered, level, strict=True) if lv == wave)
        for wave in range(1, max(level, default=0) + 1)
    ]


def _durations(timed: Timed) -> dict[str, list[int]]:
    by_operation: dict[str, list[int]] = {}
    for made in timed.calls:
        for call in made:
            by_operation.setdefault(call.operation, []).append(call.end_ns - call.start_ns)
    return by_operation


def call_figures(timed: Timed, latency_ms: float) -> dict[str, Any]:
    """Per checkout: its AWS calls, their depth and threads, and a modelled latency.

    Calls that depend on each other always form a chain; calls made in parallel overlap
    unless a thread starts late (a busy machine, the GIL). So a checkout's measured depth
    is never below the code's, only above: `depth` is the least measured (every checkout
    here takes the same path), `depth_typical` the most frequent, `depth_max` the worst.

    modelled = the time no AWS call was in flight (our code, Powertools, pydantic, botocore's
    serialising, threads starting; measured) + depth x the latency: the checkout if every
    round trip took exactly the latency and moto no time at all. An estimate.
    """
    counts = [len(made) for made in timed.calls]
    depths = [depth(made) for made in timed.calls]
    least = min(depths)
    outside_ms = [(ns - busy) / 1e6 for ns, busy in zip(timed.ns, timed.busy_ns(), strict=True)]
    modelled = [outside + least * latency_ms for outside in outside_ms]
    cuts = statistics.quantiles(modelled, n=100, method="inclusive")
    spread = Counter(depths)
    # The waves of the median-latency checkout among those of the least depth: the code's shape.
    of_least = sorted((ns, i) for i, ns in enumerate(timed.ns) if depths[i] == least)
    example = timed.calls[of_least[len(of_least) // 2][1]]
    return {
        "aws_calls_mean": statistics.fmean(counts),
        "aws_calls_min": min(counts),
        "aws_calls_max": max(counts),
        "depth": least,
        "depth_typical": max(spread, key=lambda d: (spread[d], d)),  # the deeper on a tie
        "depth_max": max(depths),
        "depth_counts": {str(d): spread[d] for d in sorted(spread)},
        "threads_max": max(len({c.thread for c in made}) for made in timed.calls),
        # How long each kind of call takes (median, ms): the latency plus moto's own time.
        "call_ms_by_operation": {
            name.partition(".")[2]: statistics.median(durations) / 1e6
            for name, durations in sorted(_durations(timed).items())
        },
        "outside_aws_median_ms": statistics.median(outside_ms),
        "modelled_median_ms": statistics.median(modelled),
        "modelled_p95_ms": cuts[94],
        "modelled_p99_ms": cuts[98],
        "waves": waves(example),
    }


def latency_model(size: Size, bench: ApiBench, baseline: Baseline) -> list[dict[str, Any]]:
    """At each latency: checkouts and baselines, in alternating blocks (which goes first swaps)."""
    models = []
    for latency_ms in LATENCIES_MS:
        progress(f"latency model: {latency_ms} ms per AWS call")
        with CALLS.latency(latency_ms):
            bench.block(CHECKOUT, size.modelled_warmup)
            baseline.block(size.modelled_warmup)
            checkouts, baselines = Timed(), Timed()
            for round_ in range(size.modelled // size.modelled_block):
                for kind in (CHECKOUT, "baseline")[:: 1 if round_ % 2 == 0 else -1]:
                    if kind == CHECKOUT:
                        checkouts.add(bench.block(CHECKOUT, size.modelled_block))
                    else:
                        baselines.add(baseline.block(size.modelled_block))
        checkout, base = checkouts.stats(size.modelled_block), baselines.stats(size.modelled_block)
        models.append(
            {
                "latency_ms": latency_ms,
                "checkout": {**checkout, **call_figures(checkouts, latency_ms)},
                "baseline": {**base, "aws_calls": baseline.n, "depth": baseline.n},
                "ratio_median_checkout_over_baseline": checkout["median_ms"] / base["median_ms"],
                "ratio_p95_checkout_over_baseline": checkout["p95_ms"] / base["p95_ms"],
            }
        )
    return models


def measure(size: Size, resolver: Resolver, context: FakeLambdaContext) -> dict[str, Any]:
    scorer = ScoreBench(random.Random(SEED))
    pruner = Pruner(resolver)
    bench = ApiBench(context, Buyers(SEED + 1), AfterBlock(resolver), pruner)

    # First calls, in this order: the process's first score() (before any handler ran it),
    # then POST /orders, the process's first invocation (settings, boto3 clients, the
    # resolver's first request, the fraud model and sanctions list read from S3), then /health.
    first: dict[str, tuple[float, list[Call]]] = {SCORER: (scorer.first_call(), [])}
    first[CHECKOUT] = bench.first_call(CHECKOUT)
    first[HEALTH] = bench.first_call(HEALTH)

    # The warm-up checkouts tell which AWS calls a checkout makes, as the hooks saw them and
    # as BaseClient did: if the two disagree, a client escaped the hooks.
    partitions_before = Pruner.count()
    warmup = bench.block(CHECKOUT, size.api_warmup, census_too=True)
    recorded = Counter(call.operation for made in warmup.calls for call in made)
    if recorded != bench.census:
        raise SystemExit(
            f"the hooks saw {dict(recorded)}, BaseClient {dict(bench.census)}: a client escaped them"
        )
    bench.block(HEALTH, size.api_warmup)
    scorer.block(size.score_warmup, record=False)
    bench.decisions.clear()

    # Rounds: a block of each route, which goes first swapping every round so a slow spell
    # of the machine hits both alike, then a block of score() calls, so the scorer's figure
    # is spread over the same run rather than taken in one spell.
    rounds = size.checkouts // size.api_block
    scores_per_round = size.scores // rounds
    for round_ in range(rounds):
        for route in (CHECKOUT, HEALTH)[:: 1 if round_ % 2 == 0 else -1]:
            bench.keep(route, bench.block(route, size.api_block))
        scorer.block(scores_per_round, record=True)
    checkouts_so_far = size.api_warmup + size.checkouts
    partitions_left = (Pruner.count() - partitions_before) / checkouts_so_far
    decisions = dict(bench.decisions)

    # The latency model, with a baseline of as many bare sequential calls as a checkout makes.
    calls_per_checkout = statistics.fmean(len(made) for made in warmup.calls)
    models = latency_model(size, bench, Baseline(resolver, round(calls_per_checkout)))
    by_latency = {model["latency_ms"]: model for model in models}

    routes = {
        route: {
            "first_call_ms": first[route][0],
            **kept.stats(size.api_block),
            "block_medians_ms": bench.block_medians_ms[route],
        }
        for route, kept in bench.samples.items()
    }
    routes[CHECKOUT]["first_call_aws_calls"] = len(first[CHECKOUT][1])
    return {
        "warmup_calls_per_route": size.api_warmup,
        "block": size.api_block,
        "rounds": rounds,
        "routes": routes,
        "ratio_median_checkout_over_health": routes[CHECKOUT]["median_ms"] / routes[HEALTH]["median_ms"],
        # Our code, Powertools and pydantic per checkout: the time no AWS call was in flight, on average.
        "checkout_outside_aws_mean_ms": routes[CHECKOUT]["mean_ms"] * (1 - routes[CHECKOUT]["aws_share"]),
        "aws_calls": calls_per_checkout,
        "aws_calls_per_checkout": {
            name.partition(".")[2]: calls / size.api_warmup
            for name, calls in sorted(recorded.items(), key=lambda kv: (-kv[1], kv[0]))
        },
        # The longest chain of calls that wait on each other, under the latency model (at 0 ms,
        # calls made in parallel threads may not overlap under moto, which overstates it).
        "depth": by_latency[DEPTH_AT_MS]["checkout"]["depth"],
        "depth_at_ms": DEPTH_AT_MS,
        "depth_at_0ms": by_latency[0]["checkout"]["depth"],
        "calls_outliving_their_checkout": CALLS.outlived,
        "follow_ups_queued_per_order": bench.after_block.follow_ups_per_order,
        "latency_model": {
            "latencies_ms": list(LATENCIES_MS),
            "warmup": size.modelled_warmup,
            "timed": size.modelled // size.modelled_block * size.modelled_block,
            "baseline_calls": round(calls_per_checkout),
            "models": models,
        },
        "checkout_fraud_decisions": decisions,
        "pruned": {
            "partitions": pruner.partitions,
            "items": pruner.items,
            "settled_items": pruner.settled,
            "stream_records": pruner.stream_records,
        },
        "partitions_left_per_checkout": partitions_left,
        "scorer": {
            "first_call_us": first[SCORER][0],
            "warmup_calls": size.score_warmup,
            "block": scores_per_round,
            **micro_stats(scorer.ns, scorer.wall_ns, scores_per_round),
            "decisions": dict(scorer.decisions),
            "with_reasons": scorer.with_reasons,
            "block_medians_us": scorer.block_medians_us,
        },
    }


def run(size_name: str) -> dict[str, Any]:
    size = SIZES[size_name]
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    code_before = code_digest()
    context = FakeLambdaContext()
    sink = _Discard()
    with mock_aws():
        resolver = create_stack()
        # Every function's environment at once, as tests/integration/conftest.py's `stack` does.
        for function in functions():
            os.environ.update(resolver.environment(function))
        _seed_catalogue(resolver)
        publish_sanctions_list(resolver)  # screening fails closed without one
        # Before the handlers create their clients (mock_aws starts a fresh default session).
        CALLS.install()
        with quiet(sink):
            progress(
                f"{CHECKOUT} x {size.checkouts:,}, {HEALTH} x {size.checkouts:,}, score() x {size.scores:,}"
            )
            results = measure(size, resolver, context)
    return {
        "benchmark": "checkout",
        "size_name": size_name,
        "size": asdict(size),
        "started_at": started_at,
        "machine": _machine(),
        "load_average_1m": {"before": load_before[0], "after": os.getloadavg()[0]},
        # Taken after the imports and at the end: if they differ, the code changed during the run.
        "code_sha256": {"before": code_before, "after": code_digest()},
        "timer_overhead_ns": timer_overhead_ns(),
        "log_level": os.environ["POWERTOOLS_LOG_LEVEL"],
        "suppressed_output_lines": sink.lines,
        **results,
        "total_s": time.perf_counter() - started,
        "json": str(RESULTS.relative_to(ROOT)),
    }


# ---------------------------------------------------------------- report


def _api_cells(route: str, s: dict[str, Any]) -> list[str]:
    return [
        route,
        f"{s['first_call_ms']:.1f} ms",
        f"{s['median_ms']:.3f} ms",
        f"{s['p95_ms']:.3f} ms",
        f"{s['p99_ms']:.3f} ms",
        f"{s['throughput_per_s']:,.0f} call/s",
        f"{s['aws_median_ms']:.3f} ms {s['aws_share']:.0%}",
        f"{s['first_block_median_ms']:.3f} -> {s['last_block_median_ms']:.3f}",
    ]


def _scorer_cells(s: dict[str, Any]) -> list[str]:
    return [
        SCORER,
        f"{s['first_call_us']:.1f} µs",
        f"{s['median_us']:.1f} µs",
        f"{s['p95_us']:.1f} µs",
        f"{s['p99_us']:.1f} µs",
        f"{s['throughput_per_s']:,.0f} call/s",
        "no AWS call",
        f"{s['first_block_median_us']:.1f} -> {s['last_block_median_us']:.1f}",
    ]


def print_table(results: dict[str, Any]) -> None:
    m, size, scorer = results["machine"], results["size"], results["scorer"]
    load = results["load_average_1m"]
    print(
        f"\nTandem checkout benchmark, size {results['size_name']}: Python {m['python']}, {m['machine']},"
        f" {m['cpus']} CPUs, load average (1 min) {load['before']:.1f} before, {load['after']:.1f} after"
    )
    print(
        f"\nIn-process, under moto: {size['checkouts']:,} timed calls per API route after"
        f" {results['warmup_calls_per_route']:,} warm-up calls, and {scorer['calls']:,} timed score() calls\n"
        f"after {scorer['warmup_calls']:,}, in {results['rounds']} rounds of {results['block']} {CHECKOUT},"
        f" {results['block']} {HEALTH} (order swapped each round) and {scorer['block']:,} score()"
    )
    widths = [15, 12, 12, 12, 12, 16, 17, 20]
    head = ["", "first call", "median", "p95", "p99", "throughput", "in AWS (median)", "drift (median)"]
    print(_row(head, widths))
    for route in (CHECKOUT, HEALTH):
        print(_row(_api_cells(route, results["routes"][route]), widths))
    print(_row(_scorer_cells(scorer), widths))
    code = results["code_sha256"]
    if code["before"] != code["after"]:
        print("  WARNING: functions/tandem or template.yaml changed during the run; run it again")

    checkout = results["routes"][CHECKOUT]
    print(f"  ratio of medians, {CHECKOUT} / {HEALTH}: {results['ratio_median_checkout_over_health']:,.0f}x")
    print(
        f"  {CHECKOUT}: an AWS call (moto) is in flight {checkout['aws_share']:.0%} of the time;"
        f" none is {results['checkout_outside_aws_mean_ms']:.2f} ms a call (mean);"
        f" fraud decisions {dict(sorted(results['checkout_fraud_decisions'].items()))}"
    )
    calls = results["aws_calls_per_checkout"]
    listed = ", ".join(f"{n:g} {name}" for name, n in calls.items())
    print(f"  AWS calls per checkout ({sum(calls.values()):g}): {listed}")
    at = next(m for m in results["latency_model"]["models"] if m["latency_ms"] == results["depth_at_ms"])
    c = at["checkout"]
    print(
        f"  depth (the longest chain of calls that wait on each other) at {results['depth_at_ms']} ms a call:"
        f" {results['depth']}, typically {c['depth_typical']}, at most {c['depth_max']} (a thread that starts"
        f" late lengthens a chain);\n  at 0 ms: {results['depth_at_0ms']}, overstated (under moto, calls in"
        " parallel threads take turns on the GIL and may not overlap)"
    )
    print(f"  the waves of a checkout of depth {results['depth']}: {describe_waves(c['waves'])}")
    if results["calls_outliving_their_checkout"]:
        print(f"  WARNING: {results['calls_outliving_their_checkout']} AWS calls outlived their checkout")
    verdict = "below" if scorer["p95_below_target"] else "NOT below"
    print(
        f"  score() p95 {scorer['p95_us']:.1f} µs: {verdict} the 1 ms target;"
        f" {scorer['median_us'] / 1e3 / checkout['median_ms']:.2%} of a checkout's median."
        f" Decisions {dict(sorted(scorer['decisions'].items()))},"
        f" {scorer['with_reasons']:,} with a reason"
    )
    print_latency_model(results["latency_model"])
    print(
        f"\n{results['suppressed_output_lines']:,} log and metric lines from the handlers were formatted,"
        f" then discarded, while timing.\nTimer overhead (two clock reads):"
        f" {results['timer_overhead_ns']:.0f} ns."
        f" Run took {results['total_s']:.1f} s; JSON in {results['json']}"
    )


def print_latency_model(model: dict[str, Any]) -> None:
    n = model["baseline_calls"]
    print(
        "\nUnder a latency model: every AWS call sleeps a fixed round trip in its calling thread,"
        f" on top of moto's own time;\n{model['timed']} timed {CHECKOUT} and {model['timed']} baselines"
        f" ({n} bare GetItem calls one after another) per latency, after {model['warmup']} of each,"
        " in alternating blocks"
    )
    widths = [9, 22, 12, 12, 12, 14, 11, 21, 21]
    head = ["latency", "", "median", "p95", "p99", "throughput", "AWS calls", "depth", "modelled median/p95"]
    print(_row(head, widths))
    for m in model["models"]:
        c, b = m["checkout"], m["baseline"]
        calls = f"{c['aws_calls_min']}" + (
            f"-{c['aws_calls_max']}" if c["aws_calls_max"] != c["aws_calls_min"] else ""
        )
        depths = f"{c['depth']}" + (
            f" (typ. {c['depth_typical']}, max {c['depth_max']})" if c["depth_max"] != c["depth"] else ""
        )
        for label, s, cells in (
            (
                f"{m['latency_ms']} ms",
                c,
                [calls, depths, f"{c['modelled_median_ms']:.1f} / {c['modelled_p95_ms']:.1f} ms"],
            ),
            ("", b, [str(n), str(n), f"{n * m['latency_ms']:.1f} ms"]),
        ):
            route = CHECKOUT if s is c else f"baseline {n} x GetItem"
            row = [label, route, *(f"{s[k]:.3f} ms" for k in ("median_ms", "p95_ms", "p99_ms"))]
            print(_row([*row, f"{s['throughput_per_s']:,.1f} call/s", *cells], widths))
        print(
            f"{'':>11}ratio {CHECKOUT} / baseline: median {m['ratio_median_checkout_over_baseline']:.2f}x,"
            f" p95 {m['ratio_p95_checkout_over_baseline']:.2f}x"
        )
    moto = model["models"][0]["checkout"]["call_ms_by_operation"]
    slowest = sorted(moto.items(), key=lambda kv: -kv[1])
    print(
        f"  one call at {model['models'][0]['latency_ms']} ms (median; moto's work and botocore's parsing): "
        + ", ".join(f"{name} {ms:.2f} ms" for name, ms in slowest)
    )
    print(
        "  modelled = the time no AWS call was in flight (measured) + depth x the latency: the checkout"
        " if every round trip\n  took exactly the latency and moto none (an estimate). Measured figures"
        " add moto's own time to every call,\n  and calls made in parallel take turns on the GIL for it."
    )


def describe_waves(waves_: list[list[str]]) -> str:
    """`[BatchGetItem GetItem Queryx6] -> [TransactWriteItems] -> [GetItem]x3`: one wave's calls in
    brackets (an operation made k times in it: xk), then how many times that wave came in a row."""
    labels = []
    for operations in waves_:
        counted = Counter(operations)
        labels.append(
            "[" + " ".join(name + (f"x{k}" if k > 1 else "") for name, k in sorted(counted.items())) + "]"
        )
    runs: list[list[Any]] = []
    for label in labels:
        if runs and runs[-1][0] == label:
            runs[-1][1] += 1
        else:
            runs.append([label, 1])
    return " -> ".join(label + (f"x{k}" if k > 1 else "") for label, k in runs)


def main(argv: list[str] | None = None) -> None:
    command_line(argv, "checkout", __doc__ or "", SIZES, run, print_table, RESULTS)


if __name__ == "__main__":
    main()
