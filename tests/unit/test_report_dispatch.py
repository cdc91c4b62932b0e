"""Adaptive dispatch of POST /reports with fakes: the estimate, the budget, `Prefer`, the overrun."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tandem.logic import reports
from tandem.logic.report_dispatch import (
    DEADLINE_CHECK_EVERY,
    DispatchDeps,
    Path,
    Preferences,
    dispatch_report,
    parse_prefer,
)
from tandem.models.messages import ReportRequested
from tandem.models.records import Order, ReportParams
from tests.factories import order
from tests.fakes import FakeClock, FakeDocuments, FakeJobs, FakeOrders, FakeQueue

PARAMS = ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 27))
UTC_ZONE = ZoneInfo("UTC")


def _orders(count: int) -> list[Order]:
    start = datetime(2026, 11, 2, tzinfo=UTC)
    return [order(start + timedelta(minutes=n), ("MUG", 1, "6.50")) for n in range(count)]


def _deps(orders: FakeOrders, clock: FakeClock, queue: FakeQueue, max_rows: int = 10) -> DispatchDeps:
    report = reports.ReportDeps(
        jobs=FakeJobs(),
        queue=queue,
        documents=FakeDocuments(),
        link_ttl_seconds=900,
        clock=clock,
        new_id=lambda: f"job-{len(queue.sent) + 1}",
    )
    return DispatchDeps(
        report=report,
        orders=orders,
        counts=orders,
        zone=UTC_ZONE,
        clock=clock,
        inline_max_rows=max_rows,
        inline_budget_seconds=0.5,
        max_wait_seconds=8,
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, Preferences()),
        ("", Preferences()),
        ("respond-async", Preferences(respond_async=True)),
        ("Respond-Async", Preferences(respond_async=True)),  # names are case-insensitive
        ("wait=5", Preferences(wait=5)),
        ('wait="5"', Preferences(wait=5)),  # a quoted-string value is allowed by the grammar
        ("respond-async, wait=10", Preferences(respond_async=True, wait=10)),
        ("wait=3, wait=9", Preferences(wait=3)),  # the first instance counts
        ("wait=soon, wait=9", Preferences()),  # ... even when malformed: then it is ignored
        ("wait=-1", Preferences()),
        ("wait=" + "9" * 5000, Preferences(wait=10**9)),  # valid, and longer than int() reads
        ("wait=1.5", Preferences()),
        ("wait=٣", Preferences()),  # a non-ASCII digit is no delta-seconds
        ("respond-async=yes", Preferences()),  # respond-async takes no value
        ("return=minimal; foo=bar, handling=lenient", Preferences()),  # unknown: ignored
        ("respond-async; x=1", Preferences(respond_async=True)),  # parameters ignored
        (" ,;, ", Preferences()),
    ],
)
def test_prefer_is_read_as_rfc_7240_says(header: str | None, expected: Preferences) -> None:
    assert parse_prefer(header) == expected


def test_small_is_inline_and_nothing_is_queued() -> None:
    queue, orders = FakeQueue(), FakeOrders(_orders(10))
    done = dispatch_report("acme", PARAMS, Preferences(), _deps(orders, FakeClock(), queue), None)
    assert (done.path, done.rows, done.limit_rows, done.applied) == (Path.INLINE, 10, 10, ())
    assert done.summary is not None
    assert done.summary.orders == 10
    assert queue.sent == []


def test_large_is_a_job_queued() -> None:
    queue, orders = FakeQueue(), FakeOrders(_orders(11))
    done = dispatch_report("acme", PARAMS, Preferences(), _deps(orders, FakeClock(), queue), "c-1")
    assert (done.path, done.rows, done.summary, done.overran) == (Path.ASYNC, 11, None, False)
    assert done.job is not None
    message, _ = queue.sent[0]
    assert isinstance(message, ReportRequested)
    assert message.job_id == done.job.job_id


def test_respond_async_queues_without_estimating() -> None:
    queue, orders = FakeQueue(), FakeOrders(_orders(1))
    done = dispatch_report(
        "acme", PARAMS, Preferences(respond_async=True), _deps(orders, FakeClock(), queue), None
    )
    assert (done.path, done.rows, done.applied, orders.counted) == (Path.ASYNC, None, ("respond-async",), 0)
    assert len(queue.sent) == 1


@pytest.mark.parametrize(
    ("wait", "rows", "path", "limit", "applied"),
    [
        (1, 20, Path.INLINE, 20, "wait=1"),  # 10 rows in 0.5 s → 20 in 1 s
        (1, 21, Path.ASYNC, 20, "wait=1"),
        (0, 1, Path.ASYNC, 0, "wait=0"),
        (60, 160, Path.INLINE, 160, "wait=8"),  # capped at max_wait_seconds: 8 s → 160 rows
        (60, 161, Path.ASYNC, 160, "wait=8"),
    ],
)
def test_wait_sets_the_budget(wait: int, rows: int, path: Path, limit: int, applied: str) -> None:
    queue, orders = FakeQueue(), FakeOrders(_orders(rows))
    done = dispatch_report("acme", PARAMS, Preferences(wait=wait), _deps(orders, FakeClock(), queue), None)
    assert (done.path, done.limit_rows, done.applied) == (path, limit, (applied,))
    assert len(queue.sent) == (path is Path.ASYNC)


def test_respond_async_with_wait_is_the_wait_rule_and_says_both_on_the_fallback() -> None:
    queue = FakeQueue()
    small = dispatch_report(
        "acme", PARAMS, Preferences(True, 1), _deps(FakeOrders(_orders(3)), FakeClock(), queue), None
    )
    assert (small.path, small.applied) == (Path.INLINE, ("wait=1",))
    large = dispatch_report(
        "acme", PARAMS, Preferences(True, 1), _deps(FakeOrders(_orders(30)), FakeClock(), queue), None
    )
    assert (large.path, large.applied) == (Path.ASYNC, ("respond-async", "wait=1"))


class _SlowOrders(FakeOrders):
    """Each order read takes `seconds` of the fake clock: a store slower than the estimate assumed."""

    def __init__(self, orders: list[Order], clock: FakeClock, seconds: float) -> None:
        super().__init__(orders)
        self.clock, self.seconds, self.read = clock, seconds, 0

    def between(self, tenant_id: str, start: datetime, end: datetime) -> Iterator[Order]:
        for found in super().between(tenant_id, start, end):
            self.clock.advance(seconds=self.seconds)
            self.read += 1
            yield found


def test_an_inline_run_that_overruns_while_reading_stops_and_queues_the_job() -> None:
    clock, queue = FakeClock(), FakeQueue()
    rows = 3 * DEADLINE_CHECK_EVERY
    slow = _SlowOrders(_orders(rows), clock, seconds=0.01)  # 2 s for all: the budget is 0.5 s
    done = dispatch_report("acme", PARAMS, Preferences(), _deps(slow, clock, queue, max_rows=rows), None)
    assert (done.path, done.overran) == (Path.ASYNC, True)
    assert len(queue.sent) == 1
    # It gave up at the first look at the clock past the deadline, not after reading everything.
    assert slow.read == DEADLINE_CHECK_EVERY


def test_a_run_that_read_everything_in_time_answers_even_if_summing_is_late() -> None:
    clock, queue = FakeClock(), FakeQueue()
    slow = _SlowOrders(_orders(DEADLINE_CHECK_EVERY - 1), clock, seconds=0.01)  # 1.99 s, never checked
    done = dispatch_report("acme", PARAMS, Preferences(), _deps(slow, clock, queue, max_rows=1000), None)
    # Never looked at the clock (fewer orders than a check): what was read is summed and answered.
    assert done.path is Path.INLINE
    assert queue.sent == []
