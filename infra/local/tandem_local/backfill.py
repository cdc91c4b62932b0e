"""`tandem batch run nightly`: the night re-run for past days (a backfill), a window at a time.

Each date is what an operator's re-run is: NightlyFunction invoked synchronously with
`{"date": D, "tenants": [...]}`, which plans the day and starts the nightly state machine; the
execution is then polled with DescribeExecution until it ends. At most `concurrency` executions
run at once: the next date starts when one of them ends, so a year of nights does not land on
the emulator (or on the account's Lambda concurrency) at once. Every step of the night is
idempotent per (tenant, date), so a date re-run, or run twice, writes the same bytes.

A date whose invoke fails (NightlyFunction raised: the payload is printed) or whose execution
does not succeed counts as failed; the others go on, and the exit code says whether any failed.
The clients are parameters, the clock and the sleep too, so the window is tested with fakes.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tandem.logic.errors import InvalidRequestError
from tandem.logic.rollups import day_to_roll_up

MAX_DAYS = 400  # a year and a bit: more is a mistake in --from more often than a wish
DEFAULT_CONCURRENCY = 4
POLL_SECONDS = 1.0  # a local night takes seconds; on AWS, minutes: once a second is enough for both
ERROR_CHARS = 300  # an error cell stays one line; the full cause is in the execution's history

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
NOT_STARTED = "NOT STARTED"
INVOKE_FAILED = "INVOKE FAILED"  # NightlyFunction raised or could not be called: no execution
FAILED_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED", INVOKE_FAILED})


class BackfillError(ValueError):
    """The dates asked for cannot be backfilled; nothing was started."""


class LambdaClient(Protocol):
    """The call of boto3's Lambda client used here."""

    def invoke(self, **kwargs: Any) -> Any: ...


class StepFunctionsClient(Protocol):
    """The call of boto3's Step Functions client used here."""

    def describe_execution(self, **kwargs: Any) -> Any: ...


def days_between(first: date, last: date) -> list[date]:
    """Every date from `first` to `last`, both included; refused when backwards or too long."""
    if first > last:
        raise BackfillError(f"--from {first} is after --to {last}")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise BackfillError(f"{first} to {last} is {count} days; at most {MAX_DAYS} at a time")
    return [first + timedelta(days=n) for n in range(count)]


def refuse_unfinished(days: Sequence[date], zone: ZoneInfo, now: datetime) -> None:
    """Refused unless every date is a finished day in the reporting zone.

    NightlyFunction's own rule and message (`day_to_roll_up`), checked before anything starts:
    a range ending today would start every other date, then fail its last.
    """
    try:
        day_to_roll_up(max(days), now, zone)
    except InvalidRequestError as refused:
        raise BackfillError(refused.message) from None


@dataclass(frozen=True)
class NightlyBackfill:
    function: str  # NightlyFunction's name or ARN
    days: Sequence[date]
    tenants: Sequence[str] = ()  # none: every tenant, as the schedule does
    concurrency: int = DEFAULT_CONCURRENCY
    wait: bool = True  # False (--no-wait): return once the last date is started

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")

    def event(self, day: date) -> dict[str, Any]:
        event: dict[str, Any] = {"date": day.isoformat()}
        if self.tenants:
            event["tenants"] = list(self.tenants)
        return event


@dataclass
class DayRun:
    """One date's run, as far as it got."""

    day: date
    status: str = NOT_STARTED
    execution: str | None = None  # the execution's ARN, once started
    items: int | None = None  # planned by NightlyFunction, then as the execution's output says
    seconds: float | None = None
    error: str | None = None  # one line
    started_at: float | None = None  # the local clock at the invoke: the duration's fallback

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


def one_line(error: str | None, cause: str | None) -> str:
    """DescribeExecution's error and cause as one line: a Lambda error's cause is a JSON document
    (message, type, stack trace), of which the message says it."""
    message = cause or ""
    try:
        document = json.loads(message)
    except ValueError:
        document = None
    if isinstance(document, dict) and document.get("errorMessage"):
        message = str(document["errorMessage"])
    text = " ".join(": ".join(part for part in (error, message) if part).split())
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("dates  [red]{task.fields[failed]} failed[/]  {task.fields[running]} running"),
        TimeElapsedColumn(),
        console=console,
    )


def run_nightly(
    lambdas: LambdaClient,
    sfn: StepFunctionsClient,
    request: NightlyBackfill,
    console: Console,
    *,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[DayRun]:
    """Every date started, `request.concurrency` at a time, and (unless --no-wait) waited for.

    Ctrl-C stops starting and waiting; the executions already started run on, and the dates
    come back as far as they got (RUNNING, NOT STARTED).
    """
    runs = [DayRun(day) for day in request.days]
    waiting = deque(runs)
    running: list[DayRun] = []
    with _progress(console) as progress:
        task = progress.add_task("nightly", total=len(runs), failed=0, running=0)

        def show() -> None:
            done = [run for run in runs if run.status not in (NOT_STARTED, RUNNING)]
            failed = sum(run.failed for run in done)
            progress.update(task, completed=len(done), failed=failed, running=len(running))

        try:
            while waiting or (running and request.wait):
                while waiting and len(running) < request.concurrency:
                    run = waiting.popleft()
                    _start(lambdas, request, run, progress.console, clock)
                    if run.status == RUNNING:
                        running.append(run)
                    show()
                if not waiting and not request.wait:
                    break
                if running:
                    sleep(POLL_SECONDS)
                    running = [run for run in running if not _ended(sfn, run, clock)]
                    show()
        except KeyboardInterrupt:
            progress.console.print(
                "[yellow]interrupted:[/] nothing more is started; the executions started run on"
            )
    return runs


def _start(
    lambdas: LambdaClient, request: NightlyBackfill, run: DayRun, console: Console, clock: Callable[[], float]
) -> None:
    run.started_at = clock()
    try:
        answer = lambdas.invoke(
            FunctionName=request.function, Payload=json.dumps(request.event(run.day)).encode()
        )
        payload = json.loads(answer["Payload"].read() or b"null")
    except (BotoCoreError, ClientError, ValueError) as error:
        run.status, run.error = INVOKE_FAILED, one_line(type(error).__name__, str(error))
        console.print(f"[red]error:[/] {run.day}: could not invoke NightlyFunction: {escape(str(error))}")
        return
    if answer.get("FunctionError") or not isinstance(payload, dict) or "execution" not in payload:
        # The payload whole: it says why (errorType, errorMessage) and where (stackTrace).
        details = payload if isinstance(payload, dict) else {}
        run.status = INVOKE_FAILED
        run.error = one_line(str(details.get("errorType") or "NightlyFunction"), details.get("errorMessage"))
        console.print(f"[red]error:[/] {run.day}: NightlyFunction failed: {escape(json.dumps(payload))}")
        return
    run.status, run.execution, run.items = RUNNING, str(payload["execution"]), payload.get("items")


def _ended(sfn: StepFunctionsClient, run: DayRun, clock: Callable[[], float]) -> bool:
    described = sfn.describe_execution(executionArn=run.execution)
    status = str(described["status"])
    if status == RUNNING:
        return False
    run.status = status
    started, stopped = described.get("startDate"), described.get("stopDate")
    if isinstance(started, datetime) and isinstance(stopped, datetime):
        run.seconds = (stopped - started).total_seconds()
    elif run.started_at is not None:
        run.seconds = clock() - run.started_at
    if status == SUCCEEDED:
        with contextlib.suppress(ValueError, KeyError, TypeError):  # else the planned count stands
            run.items = int(json.loads(described.get("output") or "{}")["items"])
    else:
        run.error = one_line(described.get("error"), described.get("cause"))
    return True


def summary(runs: Sequence[DayRun], out: Console, *, waited: bool = True) -> int:
    """The table of dates; 0 when every date succeeded (not waited for: started and none failed
    yet), else 1."""
    table = Table(title="nightly backfill")
    table.add_column("date", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("items", justify="right")
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("error", overflow="ellipsis", no_wrap=True)
    for run in runs:
        style = "red" if run.failed else "green" if run.status == SUCCEEDED else "yellow"
        table.add_row(
            str(run.day),
            f"[{style}]{run.status}[/]",
            "" if run.items is None else str(run.items),
            "" if run.seconds is None else f"{run.seconds:.1f} s",
            escape(run.error or ""),
        )
    out.print(table)
    counts = {status: sum(run.status == status for run in runs) for status in {run.status for run in runs}}
    out.print(", ".join(f"{count} {status.lower()}" for status, count in sorted(counts.items())))
    if any(run.execution and run.failed for run in runs):
        out.print(
            "Each failed step is parked on NightlyFailureQueue with its reason; the whole story is "
            "in the execution's history (tandem aws stepfunctions get-execution-history --execution-arn …)."
        )
    still = [run for run in runs if run.status == RUNNING]
    if still:
        out.print("Still running (tandem aws stepfunctions describe-execution --execution-arn …):")
        for run in still:
            out.print(f"  {run.day}  {run.execution}")
    # Waited for, a date still running was interrupted: not a success either.
    unfinished = {NOT_STARTED, RUNNING} if waited else {NOT_STARTED}
    return 1 if any(run.failed or run.status in unfinished for run in runs) else 0
