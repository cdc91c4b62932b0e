"""`tandem query`'s Athena module against a stubbed boto3 client (botocore's Stubber checks every
request and answer against Athena's API model): the statement scoped to tenants, polling to the
end, every page of results read once with its header row dropped, Athena's reason on failure,
a query stopped when abandoned, and the three output formats, exact to the digit."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from rich.console import Console

from tandem.logic.lake.tables import TABLES
from tandem_local import athena, cli
from tandem_local.athena import Lake, QueryFailed, QueryResult, ResultColumn, run_query, scope
from tandem_local.config import LocalCloud
from tandem_local.stack import Stack

LAKE = Lake(workgroup="tandem-local-lake", database="tandem_local_lake")
QUERY_ID = "5f0c2a4e-1111-2222-3333-444455556666"
SUMS = "SELECT tenant, date, count(*) AS lines, sum(amount) AS revenue FROM order_lines GROUP BY 1, 2"
# What `--tenant acme` makes of SUMS.
ACME_SUMS = (
    "WITH order_lines AS (SELECT * FROM tandem_local_lake.order_lines WHERE tenant = 'acme')\n"  # noqa: S608
    + SUMS
)
SUM_COLUMNS = [("tenant", "varchar"), ("date", "varchar"), ("lines", "bigint"), ("revenue", "decimal")]


# ---------------------------------------------------------------- scope
def test_without_tenants_the_statement_goes_as_written_without_a_trailing_semicolon() -> None:
    assert scope(f"  {SUMS} ;\n", LAKE.database) == SUMS


def test_one_tenant_shadows_each_lake_table_the_query_names() -> None:
    scoped = scope(SUMS, LAKE.database, ["acme"])
    assert scoped == ACME_SUMS


def test_several_tenants_and_tables() -> None:
    sql = "SELECT o.sku FROM order_lines o JOIN returns r ON r.original_order_id = o.order_id"
    scoped = scope(sql, LAKE.database, ["acme", "bravo", "acme"])
    condition = "WHERE tenant IN ('acme', 'bravo'))"
    assert scoped.startswith(
        f"WITH order_lines AS (SELECT * FROM tandem_local_lake.order_lines {condition}, "  # noqa: S608
        f"returns AS (SELECT * FROM tandem_local_lake.returns {condition}\n"
    )
    assert scoped.endswith(sql)


def test_a_query_with_its_own_with_clause_gets_the_scoping_entries_first() -> None:
    sql = "-- the days\nwith days AS (SELECT DISTINCT date FROM order_lines) SELECT count(*) AS n FROM days"
    assert scope(sql, LAKE.database, ["acme"]) == (
        "WITH order_lines AS (SELECT * FROM tandem_local_lake.order_lines WHERE tenant = 'acme'), "
        "days AS (SELECT DISTINCT date FROM order_lines) SELECT count(*) AS n FROM days"
    )


def test_a_database_name_that_is_not_a_bare_identifier_is_quoted() -> None:
    assert 'FROM "my-lake".crm_leads WHERE' in scope("SELECT * FROM crm_leads", "my-lake", ["acme"])


@pytest.mark.parametrize(
    ("sql", "tenants", "refusal"),
    [
        ("SELECT 1 AS one", ["acme"], "names none of the lake's tables"),
        ("WITH RECURSIVE t(n) AS (SELECT 1) SELECT * FROM order_lines", ["acme"], "WITH RECURSIVE"),
        (SUMS, ["acme' OR '1'='1"], "not a tenant id"),
        (SUMS, ["ACME"], "not a tenant id"),
    ],
    ids=["no-lake-table", "recursive", "injection", "upper-case"],
)
def test_scoping_refuses_what_it_cannot_scope(sql: str, tenants: list[str], refusal: str) -> None:
    with pytest.raises(ValueError, match=refusal):
        scope(sql, LAKE.database, tenants)


def test_every_lake_table_can_be_scoped() -> None:
    for table in TABLES:
        query = f"SELECT count(*) AS n FROM {table}"  # noqa: S608 - the lake's own names
        entry = f"{table} AS (SELECT * FROM tandem_local_lake.{table} "  # noqa: S608
        assert entry in scope(query, LAKE.database, ["acme"])


@pytest.mark.parametrize(
    ("sql", "unstated"),
    [
        (SUMS, True),
        ("SELECT count(*) AS n FROM returns WHERE date = '2010-12-01'", True),
        ("SELECT count(*) AS n FROM order_lines WHERE tenant = 'acme'", False),
        ("SELECT count(*) AS n FROM order_lines WHERE Tenant IN ('acme', 'bravo')", False),
        ("SELECT 1 AS one", False),  # no lake table: nothing to state
    ],
)
def test_a_query_that_aws_would_refuse_for_want_of_a_tenant_is_recognised(sql: str, unstated: bool) -> None:
    assert athena.states_no_tenant(sql) is unstated


# ---------------------------------------------------------------- running, with a stubbed client
@pytest.fixture
def client() -> Iterator[tuple[Any, Stubber]]:
    athena_client = boto3.client("athena", region_name="eu-west-1")
    with Stubber(athena_client) as stubber:
        yield athena_client, stubber
        stubber.assert_no_pending_responses()


class Clock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _start(stubber: Stubber, statement: str) -> None:
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": QUERY_ID},
        {
            "QueryString": statement,
            "WorkGroup": LAKE.workgroup,
            "QueryExecutionContext": {"Catalog": "AwsDataCatalog", "Database": LAKE.database},
        },
    )


def _status(stubber: Stubber, state: str, statement_type: str = "DML", **status: Any) -> None:
    stubber.add_response(
        "get_query_execution",
        {
            "QueryExecution": {
                "QueryExecutionId": QUERY_ID,
                "StatementType": statement_type,
                "Status": {"State": state, **status},
                "Statistics": {"DataScannedInBytes": 4096, "EngineExecutionTimeInMillis": 812},
            }
        },
        {"QueryExecutionId": QUERY_ID},
    )


def _page(
    stubber: Stubber,
    rows: list[list[str | None]],
    columns: list[tuple[str, str]],
    token: str | None = None,
    next_token: str | None = None,
) -> None:
    response: dict[str, Any] = {
        "ResultSet": {
            "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows],
            "ResultSetMetadata": {"ColumnInfo": [{"Name": n, "Label": n, "Type": t} for n, t in columns]},
        }
    }
    if next_token:
        response["NextToken"] = next_token
    expected: dict[str, Any] = {"QueryExecutionId": QUERY_ID, "MaxResults": athena.PAGE_SIZE}
    if token:
        expected["NextToken"] = token
    stubber.add_response("get_query_results", response, expected)


def test_a_query_is_polled_to_its_end_and_every_page_read_once(client: tuple[Any, Stubber]) -> None:
    athena_client, stubber = client
    clock = Clock()
    _start(stubber, ACME_SUMS)
    _status(stubber, "QUEUED")
    _status(stubber, "RUNNING")
    _status(stubber, "SUCCEEDED")
    header: list[str | None] = [name for name, _ in SUM_COLUMNS]
    _page(stubber, [header, ["acme", "2010-12-01", "3039", "46376.4900"]], SUM_COLUMNS, next_token="t1")
    # Later pages have no header row, however their first row looks.
    _page(stubber, [["acme", "2010-12-02", "2109", "47316.5300"]], SUM_COLUMNS, token="t1", next_token="t2")
    _page(stubber, [["acme", "2010-12-03", "0", None]], SUM_COLUMNS, token="t2")

    result = run_query(athena_client, LAKE, SUMS, ["acme"], sleep=clock.sleep, clock=clock)

    assert result.query_id == QUERY_ID
    assert result.columns == tuple(ResultColumn(n, t) for n, t in SUM_COLUMNS)
    assert result.rows == [
        ("acme", "2010-12-01", 3039, Decimal("46376.4900")),
        ("acme", "2010-12-02", 2109, Decimal("47316.5300")),
        ("acme", "2010-12-03", 0, None),
    ]
    assert clock.sleeps == [0.05, 0.1]  # quick at first, doubling
    assert result.seconds == pytest.approx(0.15)
    assert result.statistics["DataScannedInBytes"] == 4096
    assert result.summary() == f"3 rows in 0.15 s, 4,096 bytes scanned (query {QUERY_ID})"


def test_polls_back_off_to_once_a_second(client: tuple[Any, Stubber]) -> None:
    athena_client, stubber = client
    clock = Clock()
    _start(stubber, "SELECT 1 AS one")
    for _ in range(8):
        _status(stubber, "RUNNING")
    _status(stubber, "SUCCEEDED")
    _page(stubber, [["one"], ["1"]], [("one", "integer")])
    result = run_query(athena_client, LAKE, "SELECT 1 AS one", sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert result.rows == [(1,)]


def test_a_statement_that_is_not_a_select_has_no_header_row_to_drop(client: tuple[Any, Stubber]) -> None:
    athena_client, stubber = client
    _start(stubber, "SHOW TABLES")
    _status(stubber, "SUCCEEDED", statement_type="UTILITY")
    _page(stubber, [["ad_spend"], ["crm_deals"]], [("tab_name", "varchar")])
    result = run_query(athena_client, LAKE, "SHOW TABLES")
    assert result.rows == [("ad_spend",), ("crm_deals",)]


def test_an_empty_result_has_its_columns_and_no_rows(client: tuple[Any, Stubber]) -> None:
    athena_client, stubber = client
    _start(stubber, "SELECT sku FROM products")
    _status(stubber, "SUCCEEDED")
    _page(stubber, [["sku"]], [("sku", "varchar")])
    result = run_query(athena_client, LAKE, "SELECT sku FROM products")
    assert (result.columns, result.rows) == ((ResultColumn("sku", "varchar"),), [])


@pytest.mark.parametrize(
    ("state", "status", "reason"),
    [
        (
            "FAILED",
            {"StateChangeReason": "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved"},
            "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved",
        ),
        (
            "FAILED",
            {"AthenaError": {"ErrorCategory": 2, "ErrorType": 1006, "ErrorMessage": "CONSTRAINT_VIOLATION"}},
            "CONSTRAINT_VIOLATION",
        ),
        ("CANCELLED", {"StateChangeReason": "Query was cancelled by user"}, "Query was cancelled by user"),
        ("FAILED", {}, "no reason given"),
    ],
    ids=["reason", "athena-error", "cancelled", "no-reason"],
)
def test_a_query_that_does_not_succeed_raises_with_athenas_reason(
    client: tuple[Any, Stubber], state: str, status: dict[str, Any], reason: str
) -> None:
    athena_client, stubber = client
    _start(stubber, "SELECT nope FROM order_lines")
    _status(stubber, state, **status)
    with pytest.raises(QueryFailed) as failed:
        run_query(athena_client, LAKE, "SELECT nope FROM order_lines")
    assert (failed.value.state, failed.value.reason, failed.value.query_id) == (state, reason, QUERY_ID)
    assert str(failed.value) == f"{state} (query {QUERY_ID}): {reason}"


def test_a_refused_start_raises_with_the_message(client: tuple[Any, Stubber]) -> None:
    athena_client, stubber = client
    stubber.add_client_error(
        "start_query_execution", "InvalidRequestException", "WorkGroup tandem-local-lake is not found."
    )
    with pytest.raises(QueryFailed, match=r"^REFUSED: WorkGroup tandem-local-lake is not found\.$"):
        run_query(athena_client, LAKE, "SELECT 1 AS one")


def test_a_query_still_running_at_the_deadline_is_stopped(client: tuple[Any, Stubber]) -> None:
    athena_client, stubber = client
    clock = Clock()
    _start(stubber, "SELECT 1 AS one")
    for _ in range(4):  # polled at 0, 0.05, 0.15, 0.35 s; the next pause would pass 0.5 s
        _status(stubber, "RUNNING")
    stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": QUERY_ID})
    with pytest.raises(QueryFailed, match="TIMEOUT") as failed:
        run_query(athena_client, LAKE, "SELECT 1 AS one", timeout=0.5, sleep=clock.sleep, clock=clock)
    assert failed.value.query_id == QUERY_ID


def test_an_interrupted_wait_stops_the_query(client: tuple[Any, Stubber]) -> None:
    athena_client, stubber = client
    _start(stubber, "SELECT 1 AS one")
    _status(stubber, "RUNNING")
    # The query may have ended meanwhile: a refused stop is no error of ours.
    stubber.add_client_error("stop_query_execution", "InvalidRequestException", "already done")

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_query(athena_client, LAKE, "SELECT 1 AS one", sleep=interrupted)


# ---------------------------------------------------------------- values and output
@pytest.mark.parametrize(
    ("text", "athena_type", "value"),
    [
        ("12", "bigint", 12),
        ("-3", "integer", -3),
        ("46376.4900", "decimal", Decimal("46376.4900")),
        ("46376.4900", "decimal(38,4)", Decimal("46376.4900")),
        ("0.1", "double", 0.1),
        ("true", "boolean", True),
        ("2010-12-01", "date", date(2010, 12, 1)),
        # Athena's TIMESTAMP has no zone (the lake's are UTC): AWS writes milliseconds, the emulator not.
        ("2010-12-01 08:26:00.000", "timestamp", datetime(2010, 12, 1, 8, 26)),  # noqa: DTZ001
        ("2010-12-01 08:26:00", "timestamp", datetime(2010, 12, 1, 8, 26)),  # noqa: DTZ001
        ("[1, 2]", "array", "[1, 2]"),
        ("not a number", "bigint", "not a number"),  # shown as written, never dropped
        (None, "decimal", None),
    ],
)
def test_values_take_their_columns_type(text: str | None, athena_type: str, value: object) -> None:
    converted = athena.value_of(text, athena_type)
    assert converted == value
    assert type(converted) is type(value)


RESULT = QueryResult(
    query_id=QUERY_ID,
    sql="…",
    columns=(
        ResultColumn("tenant", "varchar"),
        ResultColumn("revenue", "decimal"),
        ResultColumn("lines", "bigint"),
        ResultColumn("ratio", "double"),
        ResultColumn("first", "date"),
        ResultColumn("guest", "boolean"),
    ),
    texts=(
        ("acme", "123456789012345.1234", "3", "0.25", "2010-12-01", "true"),
        ('a "quoted", name', None, "0", "NaN", None, "false"),
    ),
    seconds=0.1,
    statistics={},
)


def test_csv_is_the_header_then_athenas_texts_with_null_as_an_empty_field() -> None:
    out = io.StringIO()
    athena.write_csv(RESULT, out)
    assert out.getvalue() == (
        "tenant,revenue,lines,ratio,first,guest\n"
        "acme,123456789012345.1234,3,0.25,2010-12-01,true\n"
        '"a ""quoted"", name",,0,NaN,,false\n'
    )


def test_json_keeps_numbers_as_numbers_digit_for_digit() -> None:
    out = io.StringIO()
    athena.write_json(RESULT, out)
    rows = json.loads(out.getvalue(), parse_float=Decimal)
    assert rows == [
        {"tenant": "acme", "revenue": Decimal("123456789012345.1234"), "lines": 3, "ratio": Decimal("0.25"),
         "first": "2010-12-01", "guest": True},
        {"tenant": 'a "quoted", name', "revenue": None, "lines": 0, "ratio": "NaN", "first": None,
         "guest": False},
    ]  # fmt: skip
    assert out.getvalue().count("\n") == 4  # one object a line, between [ and ]
    empty = io.StringIO()
    athena.write_json(QueryResult(QUERY_ID, "…", RESULT.columns, (), 0.1, {}), empty)
    assert json.loads(empty.getvalue()) == []


def test_the_table_shows_every_value_and_null_as_null() -> None:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    athena.print_table(RESULT, console)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    for text in ("tenant", "revenue", "acme", "123456789012345.1234", 'a "quoted", name', "NULL"):
        assert text in shown


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="not an output format"):
        athena.render(RESULT, "xml", Console(file=io.StringIO()), io.StringIO())


# ---------------------------------------------------------------- the command
@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, client: tuple[Any, Stubber]) -> Stubber:
    athena_client, stubber = client
    outputs = {"LakeWorkGroupName": LAKE.workgroup, "LakeDatabaseName": LAKE.database}
    monkeypatch.setattr(cli, "_stack", lambda _cloud: Stack({}, {}, outputs, {}, {}))
    monkeypatch.setattr(LocalCloud, "client", lambda _self, service: {"athena": athena_client}[service])
    return stubber


def test_tandem_query_prints_the_rows_and_a_summary(
    stack: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    _start(stack, ACME_SUMS)
    _status(stack, "SUCCEEDED")
    _page(
        stack,
        [["tenant", "date", "lines", "revenue"], ["acme", "2010-12-01", "3039", "46376.4900"]],
        SUM_COLUMNS,
    )
    assert cli.main(["query", SUMS, "--tenant", "acme", "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert out == "tenant,date,lines,revenue\nacme,2010-12-01,3039,46376.4900\n"
    assert err.startswith("1 row in ")


def test_tandem_query_notes_what_aws_would_refuse(stack: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    _start(stack, SUMS)
    _status(stack, "SUCCEEDED")
    _page(stack, [["tenant", "date", "lines", "revenue"]], SUM_COLUMNS)
    assert cli.main(["query", SUMS, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == []
    assert "note: AWS refuses this query" in err


def test_tandem_query_prints_athenas_reason_and_exits_1(
    stack: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    _start(stack, "SELECT nope FROM order_lines")
    _status(stack, "FAILED", StateChangeReason="COLUMN_NOT_FOUND: Column 'nope' cannot be resolved")
    assert cli.main(["query", "SELECT nope FROM order_lines"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"error: FAILED (query {QUERY_ID}): COLUMN_NOT_FOUND: Column 'nope' cannot be resolved\n"


def test_tandem_query_explains_what_it_cannot_scope(
    stack: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["query", "SELECT 1 AS one", "--tenant", "acme"]) == 1
    assert "names none of the lake's tables" in capsys.readouterr().err


def test_tandem_query_on_a_stack_without_the_lake_says_to_redeploy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_stack", lambda _cloud: Stack({}, {}, {}, {}, {}))
    assert cli.main(["query", SUMS]) == 1
    assert "redeploy" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments",
    [["--tenant", "Not A Tenant"], ["--format", "xml"], ["--timeout", "0"]],
    ids=["tenant", "format", "timeout"],
)
def test_tandem_query_refuses_bad_arguments(arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["query", SUMS, *arguments])
    assert exited.value.code == 2
