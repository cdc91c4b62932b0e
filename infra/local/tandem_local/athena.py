"""`tandem query`: SQL over the lake through Athena, in the stack's workgroup and database.

The query is started in the stack's workgroup (which enforces where results go and encrypts
them), polled until it ends, and its results are read with GetQueryResults, page by page:
never from the result file in S3 (the emulator does not write it where it says, and on AWS
the API already gives every row with its type). A FAILED or CANCELLED query raises
`QueryFailed` with Athena's reason.

`--tenant` scopes the query: each lake table the SQL names is shadowed by a WITH entry that
reads only those tenants' partitions. The lake's tables project `tenant` as *injected*, so on
AWS a query over them must state its tenants; this states them for you.

Values are kept as Athena wrote them (exact: a DECIMAL stays its digits) and converted by the
column's type on demand (`QueryResult.rows`).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tandem.logic.lake.layout import TENANT_PATTERN
from tandem.logic.lake.tables import TABLES

FORMATS = ("table", "csv", "json")
PAGE_SIZE = 1000  # GetQueryResults' maximum
# Polls: quick at first (a local query takes ≈ 0.1 s), then at most once a second (AWS: seconds).
FIRST_POLL, LAST_POLL = 0.05, 1.0
DEFAULT_TIMEOUT = 300.0

Value = str | int | float | bool | Decimal | date | datetime | None
Text = str | None  # a cell as Athena answered it; None: NULL

_INTEGERS = frozenset({"tinyint", "smallint", "integer", "int", "bigint"})
_FLOATS = frozenset({"double", "real", "float"})
_NUMBERS = _INTEGERS | _FLOATS | {"decimal"}
# Whitespace and comments before the first keyword.
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
_BARE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class AthenaClient(Protocol):
    """The calls of boto3's Athena client used here (no stubs for it in this project)."""

    def start_query_execution(self, **kwargs: Any) -> Any: ...
    def get_query_execution(self, **kwargs: Any) -> Any: ...
    def get_query_results(self, **kwargs: Any) -> Any: ...
    def stop_query_execution(self, **kwargs: Any) -> Any: ...


class QueryFailed(Exception):
    def __init__(self, state: str, reason: str, query_id: str | None = None) -> None:
        self.state, self.reason, self.query_id = state, reason, query_id
        where = f" (query {query_id})" if query_id else ""
        super().__init__(f"{state}{where}: {reason}")


@dataclass(frozen=True)
class Lake:
    workgroup: str
    database: str

    @classmethod
    def of(cls, outputs: dict[str, str]) -> Lake:
        """From the stack's outputs; an older stack without them is told to redeploy."""
        try:
            return cls(outputs["LakeWorkGroupName"], outputs["LakeDatabaseName"])
        except KeyError as missing:
            raise ValueError(f"the stack has no {missing} output: redeploy it (`tandem deploy`)") from None


@dataclass(frozen=True)
class ResultColumn:
    name: str
    type: str  # Athena's: varchar, integer, bigint, decimal, double, boolean, date, timestamp …

    @property
    def numeric(self) -> bool:
        return _kind(self.type) in _NUMBERS


@dataclass(frozen=True)
class QueryResult:
    query_id: str
    sql: str  # as sent (scoped)
    columns: tuple[ResultColumn, ...]
    texts: tuple[tuple[Text, ...], ...]  # exact, as Athena wrote them
    seconds: float  # from the start call to the last page read
    statistics: dict[str, Any]  # Athena's (the emulator's byte counts are made up)

    @property
    def rows(self) -> list[tuple[Value, ...]]:
        return [
            tuple(value_of(text, column.type) for text, column in zip(row, self.columns, strict=True))
            for row in self.texts
        ]

    def summary(self) -> str:
        scanned = self.statistics.get("DataScannedInBytes")
        scanned_text = f", {scanned:,} bytes scanned" if isinstance(scanned, int) else ""
        return (
            f"{len(self.texts)} row{'s' if len(self.texts) != 1 else ''} in {self.seconds:.2f} s"
            f"{scanned_text} (query {self.query_id})"
        )


def _kind(athena_type: str) -> str:
    return athena_type.lower().split("(")[0].strip()


def value_of(text: Text, athena_type: str) -> Value:
    """A cell as Python: int, Decimal (exact), float, bool, date, datetime; else the text itself."""
    if text is None:
        return None
    kind = _kind(athena_type)
    try:
        if kind in _INTEGERS:
            return int(text)
        if kind == "decimal":
            return Decimal(text)
        if kind in _FLOATS:
            return float(text)
        if kind == "boolean":
            return {"true": True, "false": False}[text]
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "timestamp":
            return datetime.fromisoformat(text)
    except (ValueError, KeyError, InvalidOperation):
        pass  # shown as written rather than not at all
    return text


# ---------------------------------------------------------------- scoping to tenants
def scope(sql: str, database: str, tenants: Sequence[str] = ()) -> str:
    """The statement to send: without a trailing ';' and, with tenants, every lake table it names
    read through a WITH entry that keeps those tenants' partitions only.

    `SELECT … FROM order_lines` becomes `WITH order_lines AS (SELECT * FROM db.order_lines
    WHERE tenant = 'acme') SELECT … FROM order_lines`: the query's own text is untouched, and
    the filter reaches the scan, which is what injected partition projection asks for. A table
    written with its database (`db.order_lines`) is read as written.
    """
    statement = sql.strip().rstrip(";").rstrip()
    if not tenants:
        return statement
    for tenant in tenants:
        if not TENANT_PATTERN.match(tenant):  # the only text of ours that enters the SQL as a value
            raise ValueError(f"not a tenant id: {tenant!r}")
    named = [table for table in TABLES if re.search(rf"\b{table}\b", statement, re.I)]
    if not named:
        raise ValueError(f"--tenant: the query names none of the lake's tables ({', '.join(TABLES)})")
    unique = list(dict.fromkeys(tenants))
    condition = (
        f"tenant = '{unique[0]}'"
        if len(unique) == 1
        else "tenant IN (" + ", ".join(f"'{t}'" for t in unique) + ")"
    )
    qualifier = database if _BARE_NAME.match(database) else '"' + database.replace('"', '""') + '"'
    entries = ", ".join(
        # Only the lake's own table names, the stack's database and checked tenant ids enter here.
        f"{table} AS (SELECT * FROM {qualifier}.{table} WHERE {condition})"  # noqa: S608
        for table in named
    )
    start = _LEADING.match(statement)
    body = statement[start.end() if start else 0 :]
    if re.match(r"with\s+recursive\b", body, re.I):
        raise ValueError("--tenant cannot scope a WITH RECURSIVE query: filter on tenant in the SQL")
    if with_clause := re.match(r"with\s+", body, re.I):
        return f"WITH {entries}, {body[with_clause.end() :]}"
    return f"WITH {entries}\n{body}"


def states_no_tenant(sql: str) -> bool:
    """True when the SQL reads a lake table but never compares `tenant` with `=` or `IN`: AWS
    refuses such a query (injected projection); the emulator, which ignores projection, runs it."""
    names_a_table = any(re.search(rf"\b{table}\b", sql, re.I) for table in TABLES)
    return names_a_table and not re.search(r"\btenant\s*(?:=|in\b)", sql, re.I)


# ---------------------------------------------------------------- running
def run_query(
    athena: AthenaClient,
    lake: Lake,
    sql: str,
    tenants: Sequence[str] = (),
    *,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> QueryResult:
    """Run one statement to its end and read every row; QueryFailed unless it SUCCEEDED."""
    statement = scope(sql, lake.database, tenants)
    started = clock()
    try:
        query_id: str = athena.start_query_execution(
            QueryString=statement,
            WorkGroup=lake.workgroup,  # its enforced configuration says where results go
            QueryExecutionContext={"Catalog": "AwsDataCatalog", "Database": lake.database},
        )["QueryExecutionId"]
    except ClientError as error:  # refused outright (an unknown workgroup, some syntax on AWS)
        raise QueryFailed("REFUSED", error.response.get("Error", {}).get("Message", str(error))) from None
    # A query given up on (the deadline, Ctrl-C) is stopped: left running, it would go on
    # scanning, and billing, on AWS. One that FAILED or was CANCELLED has nothing left to stop.
    try:
        execution = _wait(athena, query_id, started + timeout, sleep, clock)
    except QueryFailed as failed:
        if failed.state == "TIMEOUT":
            _stop(athena, query_id)
        raise
    except BaseException:
        _stop(athena, query_id)
        raise
    columns, texts = _results(athena, query_id, dml=execution.get("StatementType") == "DML")
    return QueryResult(
        query_id=query_id,
        sql=statement,
        columns=columns,
        texts=texts,
        seconds=clock() - started,
        statistics=execution.get("Statistics", {}),
    )


def _wait(
    athena: AthenaClient,
    query_id: str,
    deadline: float,
    sleep: Callable[[float], object],
    clock: Callable[[], float],
) -> dict[str, Any]:
    pause = FIRST_POLL
    while True:
        execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        status = execution["Status"]
        state = status["State"]
        if state == "SUCCEEDED":
            return execution
        if state in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get(
                "ErrorMessage", "no reason given"
            )
            raise QueryFailed(state, reason, query_id)
        if clock() + pause > deadline:
            raise QueryFailed("TIMEOUT", f"still {state} at the deadline; stopped", query_id)
        sleep(pause)
        pause = min(pause * 2, LAST_POLL)


def _stop(athena: AthenaClient, query_id: str) -> None:
    # It may have ended meanwhile, or the connection be what failed: the first error is the one to show.
    with contextlib.suppress(ClientError, BotoCoreError):
        athena.stop_query_execution(QueryExecutionId=query_id)


def _results(
    athena: AthenaClient, query_id: str, *, dml: bool
) -> tuple[tuple[ResultColumn, ...], tuple[tuple[Text, ...], ...]]:
    columns: tuple[ResultColumn, ...] = ()
    texts: list[tuple[Text, ...]] = []
    request: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": PAGE_SIZE}
    first = True
    while True:
        page = athena.get_query_results(**request)
        result_set = page["ResultSet"]
        if first:
            info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
            columns = tuple(ResultColumn(c.get("Label") or c["Name"], c["Type"]) for c in info)
        rows = result_set.get("Rows", [])
        # A SELECT's first page starts with a row of column labels; SHOW, DESCRIBE … have none.
        if first and dml and rows:
            rows = rows[1:]
        # A NULL is a datum without VarCharValue.
        texts += [tuple(datum.get("VarCharValue") for datum in row.get("Data", [])) for row in rows]
        first = False
        if not page.get("NextToken"):
            return columns, tuple(texts)
        request["NextToken"] = page["NextToken"]


# ---------------------------------------------------------------- output
def print_table(result: QueryResult, console: Console) -> None:
    table = Table(show_edge=False, header_style="bold")
    for column in result.columns:
        table.add_column(escape(column.name), justify="right" if column.numeric else "left")
    for row in result.texts:
        table.add_row(*("[dim]NULL[/]" if text is None else escape(text) for text in row))
    console.print(table)


def write_csv(result: QueryResult, out: IO[str]) -> None:
    """A header of column names, then the rows as Athena wrote them; NULL is an empty field."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(column.name for column in result.columns)
    writer.writerows(("" if text is None else text for text in row) for row in result.texts)


def write_json(result: QueryResult, out: IO[str]) -> None:
    """An array of objects, one a line. Numbers are JSON numbers with Athena's exact digits (read
    them with `json.loads(…, parse_float=Decimal)` to keep a DECIMAL exact); dates are ISO text."""
    names = [json.dumps(column.name, ensure_ascii=False) for column in result.columns]
    objects = [
        "{" + ", ".join(f"{name}: {_json_value(text, column)}" for name, text, column in cells) + "}"
        for cells in (zip(names, row, result.columns, strict=True) for row in result.texts)
    ]
    out.write("[\n" + ",\n".join(objects) + ("\n]\n" if objects else "]\n"))


def _json_value(text: Text, column: ResultColumn) -> str:
    if text is None:
        return "null"
    value = value_of(text, column.type)
    if isinstance(value, bool):
        return "true" if value else "false"
    finite = isinstance(value, int) or (isinstance(value, Decimal | float) and math.isfinite(value))
    if finite:
        return text  # already a JSON number, digit for digit
    return json.dumps(text, ensure_ascii=False)


def render(result: QueryResult, output: str, console: Console, out: IO[str]) -> None:
    if output == "table":
        print_table(result, console)
    elif output == "csv":
        write_csv(result, out)
    elif output == "json":
        write_json(result, out)
    else:
        raise ValueError(f"not an output format: {output!r} (one of {', '.join(FORMATS)})")
