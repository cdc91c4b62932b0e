"""Chaos, the night: a nightly run killed halfway (at the k-th S3 write, for several k) and run again
leaves the same curated data and manifests as a clean run, byte for byte; of a manifest, all but
how long each night product took (`products.<name>.seconds`), left out of the comparison.

The night runs in-process as tests/integration/test_nightly.py runs it: the schedule's handler
plans it, then its state machine's steps in order. Smoke: 2 kill points; full: before every S3 write.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto.core.botocore_stubber import BotocoreStubber

from tandem.handlers import nightly
from tests.factories import order
from tests.integration.chaos import FULL, Figures, ProcessKilled
from tests.integration.test_nightly import _execution_input, _run_steps
from tests.moto_stack import REGION
from tests.template_model import Resolver

DAY = "2026-11-27"
ERP = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" + "".join(
    f"5{n:05d},8512{n % 7}A,ITEM {n % 7},{1 + n % 5},2026-11-27 {8 + n % 12:02d}:{n % 60:02d}:00,"
    f"{1 + n % 9}.55,1785{n % 10}.0,{('United Kingdom', 'France', 'Germany')[n % 3]}\n"
    for n in range(200)
)
COMPARED = ("curated/", "manifests/")
# What a manifest says about the run rather than the data: a product's duration (ProductOutcome).
RUN_FIELDS = {"seconds"}


class PutKiller:
    """Moto's before-send hook, wrapped: counts S3 writes and kills the run before the k-th."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.puts = 0
        self.kill_at: int | None = None
        handle = BotocoreStubber.__call__
        killer = self

        def before_send(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            if stubber.enabled and request.method == "PUT" and "s3" in request.url.split("/")[2]:
                killer.puts += 1
                if killer.puts == killer.kill_at:
                    raise ProcessKilled(f"the night killed before S3 write {killer.puts}")
            return handle(stubber, event_name, request, **kwargs)

        monkeypatch.setattr(BotocoreStubber, "__call__", before_send)


def _without_run_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_run_fields(v) for k, v in value.items() if k not in RUN_FIELDS}
    if isinstance(value, list):
        return [_without_run_fields(v) for v in value]
    return value


def _snapshot(stack: Resolver) -> dict[str, bytes]:
    s3 = boto3.client("s3", region_name=REGION)
    found = {}
    for prefix in COMPARED:
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=stack.physical["DataBucket"], Prefix=prefix
        ):
            for listed in page.get("Contents", []):
                body = s3.get_object(Bucket=stack.physical["DataBucket"], Key=listed["Key"])["Body"].read()
                if listed["Key"].startswith("manifests/") and b'"seconds"' in body:
                    body = json.dumps(_without_run_fields(json.loads(body)), sort_keys=True).encode()
                found[listed["Key"]] = body
    return found


def _clear(stack: Resolver) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    for key in _snapshot(stack):
        s3.delete_object(Bucket=stack.physical["DataBucket"], Key=key)


def _night(stack: Resolver, context: Any) -> None:
    started = nightly.handler({"date": DAY, "tenants": ["acme", "bravo"]}, context)
    _run_steps(_execution_input(stack, started["execution"]), context)


def test_a_night_killed_halfway_and_run_again_leaves_what_a_clean_night_leaves(
    stack: Resolver, seed: Callable[..., Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(
        tenants=("acme", "bravo"),
        orders=tuple(
            order(
                datetime(2026, 11, 27, n % 24, n % 60, tzinfo=UTC), ("MUG", 1 + n % 4, "6.50"), tenant=tenant
            )
            for n in range(40)
            for tenant in ("acme", "bravo")
        ),
    )
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(
        Bucket=stack.physical["DataBucket"], Key=f"raw/acme/erp_orders/{DAY}/day.csv", Body=ERP.encode()
    )
    figures = Figures("a nightly run killed and run again")
    killer = PutKiller(monkeypatch)
    started = time.monotonic()

    # A clean night: what every other night must leave
    _night(stack, lambda_context)
    writes = killer.puts
    clean = _snapshot(stack)
    assert any(k.startswith("curated/") for k in clean)
    assert any(k.startswith("manifests/") for k in clean)

    kill_points = range(1, writes + 1) if FULL else (writes // 2, writes - 1)
    differing: dict[int, list[str]] = {}
    for kill_at in kill_points:
        _clear(stack)
        killer.puts, killer.kill_at = 0, kill_at
        with pytest.raises(ProcessKilled):
            _night(stack, lambda_context)
        killer.kill_at = None
        _night(stack, lambda_context)  # the operator's re-run of the day
        again = _snapshot(stack)
        differing[kill_at] = sorted(k for k in clean.keys() | again.keys() if clean.get(k) != again.get(k))

    figures.jobs["nights killed and re-run"] = len(kill_points)
    figures.faults["night killed at an S3 write"] = len(kill_points)
    figures.lost = sum(1 for keys in differing.values() for k in keys if k in clean)
    figures.duplicated = sum(1 for keys in differing.values() for k in keys if k not in clean)
    figures.extra.update(
        {
            "S3 writes in a clean night": writes,
            "objects compared (curated/, manifests/)": len(clean),
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    figures.show()
    assert differing == {key: [] for key in kill_points}
