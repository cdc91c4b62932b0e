"""What POST /reports' adaptive dispatch is calibrated on: the cost of an order read and summed inline,
and the cost of the estimate (a COUNT query).

    PYTHONPATH=functions:infra/local .venv/bin/python -m bench.report_dispatch

1. Per order, in this process: DynamoDB's wire item deserialized (boto3's TypeDeserializer, as the
   resource layer does), made an Order (`order_from_item`), then `summarize_sales` over the period.
   This is the CPU an inline answer spends; the network's share is the Query pages (about 1 MB,
   some 3,000 orders, each) that DynamoDB sends.
2. Under moto, for N orders of one tenant: `count_between` (a COUNT query) against `between` (the read).
   moto emulates DynamoDB in Python, so these compare the two calls, not AWS's latencies.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from moto import mock_aws
from tests.factories import order

from tandem.adapters.orders_table import OrdersTable, order_from_item, order_to_item
from tandem.logic.sales import summarize_sales

ZONE = ZoneInfo("UTC")
START = datetime(2026, 11, 1, tzinfo=UTC)
SIZES = (1_000, 5_000, 20_000)


def _orders(count: int) -> list[Any]:
    # Two or three lines an order, as the demo shop's baskets.
    skus = [f"SKU-{n:03d}" for n in range(200)]
    return [
        order(
            START + timedelta(seconds=n * 97 % (27 * 86_400)),
            *((skus[(n * 7 + k) % 200], 1 + k, "6.50") for k in range(2 + n % 2)),
        )
        for n in range(count)
    ]


def per_order_cpu() -> None:
    serializer, deserializer = TypeSerializer(), TypeDeserializer()
    for size in SIZES:
        wire = [{k: serializer.serialize(v) for k, v in order_to_item(o).items()} for o in _orders(size)]
        runs = []
        for _ in range(3):
            began = time.perf_counter()
            read = [
                order_from_item({k: deserializer.deserialize(v) for k, v in item.items()}) for item in wire
            ]
            summarize_sales("acme", read, date(2026, 11, 1), date(2026, 11, 27), ZONE)
            runs.append(time.perf_counter() - began)
        best = min(runs)
        print(
            f"  {size:>6} orders: {best * 1000:7.1f} ms (median {statistics.median(runs) * 1000:.1f}), "
            f"{best / size * 1e6:.1f} µs an order; ≈ {int(0.5 / (best / size)):,} orders in 0.5 s of CPU"
        )


def count_against_read() -> None:
    from tests.moto_stack import create_stack

    for size in (1_000, 5_000):
        with mock_aws():
            stack = create_stack()
            table = OrdersTable(stack.physical["OrdersTable"], boto3.resource("dynamodb"))
            table.put_many(_orders(size))
            end = START + timedelta(days=27)
            began = time.perf_counter()
            counted = table.count_between("acme", START, end, at_most=10**9)
            count_s = time.perf_counter() - began
            began = time.perf_counter()
            read = sum(1 for _ in table.between("acme", START, end))
            read_s = time.perf_counter() - began
            capped_began = time.perf_counter()
            table.count_between("acme", START, end, at_most=500)
            capped_s = time.perf_counter() - capped_began
        assert counted == read == size
        print(
            f"  {size:>6} orders (moto): count {count_s * 1000:.0f} ms, count stopping past 500 "
            f"{capped_s * 1000:.0f} ms, read {read_s * 1000:.0f} ms"
        )


if __name__ == "__main__":
    print("1. per order: deserialize + order_from_item + summarize_sales")
    per_order_cpu()
    print("2. the estimate against the read, under moto")
    count_against_read()
