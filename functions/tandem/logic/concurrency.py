"""Run a few blocking calls at once: how a use case waits for one round trip instead of several.

`in_parallel(a, b, c)` calls `a`, `b` and `c` concurrently and returns `(a(), b(), c())`.
The first call runs in the caller's thread, every other one in a new short-lived thread of
its own. There is deliberately no shared, bounded pool: waves nest (the checkout's wave runs
the risk checks' `gather`, which runs a wave of its own) and many checkouts may run in one
process (tests, a bench), so a wave waiting on a pool that its own callers fill up would
deadlock. A thread costs tens of microseconds; the calls it runs are network round trips.

Each thread runs in a copy of the caller's context (`contextvars`), so what the caller's
logger or tracer keeps there is seen by the calls too.

All calls are waited for, even when one fails (no call is left running behind the caller's
back); then the exception of the first failed call, in argument order, is raised.
"""

import contextvars
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")
T5 = TypeVar("T5")
T6 = TypeVar("T6")
T7 = TypeVar("T7")
T = TypeVar("T")


@overload
def in_parallel(c1: Callable[[], T1], /) -> tuple[T1]: ...
@overload
def in_parallel(c1: Callable[[], T1], c2: Callable[[], T2], /) -> tuple[T1, T2]: ...
@overload
def in_parallel(c1: Callable[[], T1], c2: Callable[[], T2], c3: Callable[[], T3], /) -> tuple[T1, T2, T3]: ...
@overload
def in_parallel(
    c1: Callable[[], T1], c2: Callable[[], T2], c3: Callable[[], T3], c4: Callable[[], T4], /
) -> tuple[T1, T2, T3, T4]: ...
@overload
def in_parallel(
    c1: Callable[[], T1],
    c2: Callable[[], T2],
    c3: Callable[[], T3],
    c4: Callable[[], T4],
    c5: Callable[[], T5],
    /,
) -> tuple[T1, T2, T3, T4, T5]: ...
@overload
def in_parallel(
    c1: Callable[[], T1],
    c2: Callable[[], T2],
    c3: Callable[[], T3],
    c4: Callable[[], T4],
    c5: Callable[[], T5],
    c6: Callable[[], T6],
    /,
) -> tuple[T1, T2, T3, T4, T5, T6]: ...
@overload
def in_parallel(
    c1: Callable[[], T1],
    c2: Callable[[], T2],
    c3: Callable[[], T3],
    c4: Callable[[], T4],
    c5: Callable[[], T5],
    c6: Callable[[], T6],
    c7: Callable[[], T7],
    /,
) -> tuple[T1, T2, T3, T4, T5, T6, T7]: ...
@overload
def in_parallel(*calls: Callable[[], Any]) -> tuple[Any, ...]: ...


def in_parallel(*calls: Callable[[], Any]) -> tuple[Any, ...]:
    """The results of `calls`, run concurrently, in the order of the calls."""
    return tuple(all_in_parallel(calls))


def all_in_parallel(calls: Sequence[Callable[[], T]]) -> list[T]:
    """`in_parallel` for a list of calls of one result type (e.g. one per item)."""
    if not calls:
        return []
    outcomes: list[tuple[bool, Any]] = [(False, None)] * len(calls)

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            outcomes[index] = (True, call())
        except BaseException as error:
            outcomes[index] = (False, error)

    threads = [
        threading.Thread(
            target=contextvars.copy_context().run,
            args=(run, index, call),
            name=f"in_parallel-{index}",
            daemon=True,
        )
        for index, call in enumerate(calls[1:], start=1)
    ]
    started: list[threading.Thread] = []
    try:
        for thread in threads:
            thread.start()  # RuntimeError when the process can start no more threads
            started.append(thread)
        run(0, calls[0])
    finally:
        for thread in started:
            thread.join()

    results: list[T] = []
    for succeeded, value in outcomes:
        if not succeeded:
            raise value
        results.append(value)
    return results
