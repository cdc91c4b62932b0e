"""in_parallel: results in call order, every call waited for, the first failure raised, nesting safe."""

import contextvars
import threading
import time
from collections.abc import Callable
from functools import partial

import pytest

from tandem.logic.concurrency import all_in_parallel, in_parallel


def _after(seconds: float, value: object) -> Callable[[], object]:
    def call() -> object:
        time.sleep(seconds)
        return value

    return call


def test_in_parallel_returns_the_results_in_the_order_of_the_calls() -> None:
    # The slowest call first, the fastest last: the order is the calls', not the finishing order
    assert in_parallel(_after(0.03, "a"), _after(0.02, 2), _after(0.0, None)) == ("a", 2, None)
    assert in_parallel(lambda: 1) == (1,)
    assert in_parallel() == ()
    assert all_in_parallel([partial(pow, n, 2) for n in range(10)]) == [n * n for n in range(10)]
    assert all_in_parallel([]) == []


def test_in_parallel_runs_the_calls_at_the_same_time() -> None:
    # Seven calls that each wait until all seven have started: one after another, they never would
    barrier = threading.Barrier(7, timeout=5)
    results = in_parallel(*(lambda n=n: (barrier.wait(), n)[1] for n in range(7)))
    assert results == tuple(range(7))


def test_in_parallel_runs_the_first_call_in_the_callers_thread() -> None:
    caller = threading.get_ident()
    first, second = in_parallel(threading.get_ident, threading.get_ident)
    assert first == caller
    assert second != caller


def test_in_parallel_waits_for_every_call_then_raises_the_first_failure_in_call_order() -> None:
    finished: list[str] = []

    def slow_then(error: Exception | None, name: str, seconds: float) -> Callable[[], str]:
        def call() -> str:
            time.sleep(seconds)
            finished.append(name)
            if error:
                raise error
            return name

        return call

    # The second call fails last, the third first: the second's error is the one raised
    with pytest.raises(KeyError, match="second"):
        in_parallel(
            slow_then(None, "first", 0.0),
            slow_then(KeyError("second"), "second", 0.05),
            slow_then(ValueError("third"), "third", 0.0),
            slow_then(None, "fourth", 0.1),
        )
    # And nothing was left running when it was raised
    assert sorted(finished) == ["first", "fourth", "second", "third"]


def test_in_parallel_raises_the_callers_own_failure_after_the_others_finished() -> None:
    finished: list[str] = []

    def other() -> None:
        time.sleep(0.05)
        finished.append("other")

    def failing() -> None:
        raise RuntimeError("first call")

    with pytest.raises(RuntimeError, match="first call"):
        in_parallel(failing, other)
    assert finished == ["other"]


def test_in_parallel_calls_see_the_callers_context_variables() -> None:
    request = contextvars.ContextVar("request", default="none")
    request.set("req-1")
    assert in_parallel(request.get, request.get, request.get) == ("req-1",) * 3


def test_in_parallel_nests_under_50_concurrent_callers_without_deadlock() -> None:
    # 50 "checkouts" at once, each a wave whose middle call is itself a wave (like risk.gather),
    # all of whose calls meet at a barrier: a bounded shared pool would starve and hang here
    callers = 50
    inner_barrier = threading.Barrier(callers * 3, timeout=10)

    def inner(n: int) -> int:
        inner_barrier.wait()
        return n

    def checkout(n: int) -> tuple[int, tuple[int, int, int], int]:
        return in_parallel(
            lambda: n, lambda: in_parallel(lambda: inner(n), lambda: inner(n), lambda: inner(n)), lambda: -n
        )

    results = all_in_parallel([partial(checkout, n) for n in range(callers)])
    assert results == [(n, (n, n, n), -n) for n in range(callers)]
