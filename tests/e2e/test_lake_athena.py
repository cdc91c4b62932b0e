"""The lake queried through Athena on the local cloud, by `tandem query`'s own code path: retail
days dropped into raw/ for two tenants, curated by the intake worker into Parquet, then summed
through the stack's workgroup and Glue tables and compared with DuckDB run here, over the same
Parquet parts downloaded, never through the code under test. Totals must be equal to the cent
(DECIMAL, exact). `-s` prints each query's latency."""

from __future__ import annotations

import json
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tandem.logic.lake.layout import raw_key
from tandem_local import athena, cli
from tests.e2e.conftest import Running, wait_until
from tests.shared_data import SHARED_DATA

RETAIL = sorted((SHARED_DATA / "online_retail" / "by-day").glob("*.csv"))
ACME, BRAVO = RETAIL[:5], RETAIL[5:6]  # bravo's day is none of acme's: a mix-up shows in the dates
SUMS = "SELECT tenant, date, count(*) AS lines, sum(amount) AS revenue FROM order_lines GROUP BY 1, 2"
pytestmark = pytest.mark.skipif(len(RETAIL) < 6, reason="../shared/data is absent")

Row = tuple[str, str, int, Decimal]


def _drop_and_wait(running: Running) -> None:
    s3 = running.cloud.client("s3")
    bucket = running.stack.outputs["DataBucketName"]
    drops = [("acme", path) for path in ACME] + [("bravo", path) for path in BRAVO]
    for tenant, path in drops:
        key = raw_key(tenant, "erp_orders", date.fromisoformat(path.stem), path.name)
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

    def manifests() -> bool:
        for tenant, path in drops:
            try:
                body = s3.get_object(Bucket=bucket, Key=f"manifests/{tenant}/{path.stem}.json")["Body"].read()
            except s3.exceptions.NoSuchKey:
                return False
            files = json.loads(body)["sources"].get("erp_orders", [])
            if not any(f["file"] == path.name and f["error"] is None for f in files):
                return False
        return True

    wait_until(manifests, timeout=300, every=1, what="the worker's manifests of every dropped file")


def _duckdb_over_downloaded_parts(running: Running, tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    """`sql` over a view `t` of every Parquet part under curated/, read with Hive partitions."""
    s3 = running.cloud.client("s3")
    bucket = running.stack.outputs["DataBucketName"]
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="curated/"):
        for item in page.get("Contents", []):
            target = tmp_path / item["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    with duckdb.connect() as db:
        return db.execute(sql.format(root=tmp_path)).fetchall()


def _query(running: Running, capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    """`tandem query …` against the test's stack, as the command line runs it."""
    capsys.readouterr()
    args = cli._parser().parse_args(["query", *arguments])
    code = args.run(running.cloud, args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _sums(rows: list[dict[str, Any]]) -> set[Row]:
    return {(r["tenant"], r["date"], r["lines"], r["revenue"]) for r in rows}


def test_athena_totals_equal_duckdb_over_the_same_parquet_and_tenants_stay_apart(
    running: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _drop_and_wait(running)
    expected = {
        (tenant, day, lines, revenue)
        for tenant, day, lines, revenue in _duckdb_over_downloaded_parts(
            running,
            tmp_path,
            "SELECT tenant, date, count(*), sum(amount) FROM read_parquet("
            "'{root}/curated/order_lines/**/*.parquet', hive_partitioning = true, "
            "hive_types = {{'tenant': VARCHAR, 'date': VARCHAR}}) GROUP BY 1, 2",
        )
    }
    assert {t for t, *_ in expected} == {"acme", "bravo"}
    assert len(expected) == len(ACME) + len(BRAVO)

    # The command line, as an operator types it; JSON read back with exact decimals.
    started = time.perf_counter()
    code, out, err = _query(
        running, capsys, SUMS, "--tenant", "acme", "--tenant", "bravo", "--format", "json"
    )
    seconds = time.perf_counter() - started
    assert code == 0, err
    answered = json.loads(out, parse_float=Decimal)
    assert _sums(answered) == expected
    assert all(isinstance(r["revenue"], Decimal) for r in answered)
    print(
        f"\ntandem query, {len(answered)} groups over {len(RETAIL[:6])} days: {seconds:.2f} s ({err.strip()})"
    )

    # The module the command uses, typed values: the same totals; a tenant alone sees only its own.
    lake = athena.Lake.of(running.stack.outputs)
    client = running.cloud.client("athena")
    bravo = athena.run_query(client, lake, SUMS, ["bravo"])
    assert set(bravo.rows) == {row for row in expected if row[0] == "bravo"}
    acme = athena.run_query(client, lake, "SELECT DISTINCT tenant FROM order_lines WHERE tenant = 'acme'")
    assert acme.rows == [("acme",)]
    print(f"run_query, one tenant: {bravo.seconds:.2f} s; a WHERE on tenant: {acme.seconds:.2f} s")

    # Every line, not a sum: thousands of rows, read back 1,000 a page, none lost or repeated.
    lines = athena.run_query(client, lake, "SELECT order_id, sku, amount FROM order_lines", ["acme"])
    acme_lines = sum(n for t, _, n, _ in expected if t == "acme")
    assert len(lines.rows) == acme_lines > 2 * athena.PAGE_SIZE
    amounts = [amount for _, _, amount in lines.rows if isinstance(amount, Decimal)]
    assert len(amounts) == len(lines.rows)
    assert sum(amounts) == sum(r for t, _, _, r in expected if t == "acme")
    pages = -(-len(lines.rows) // athena.PAGE_SIZE)
    print(f"run_query, {len(lines.rows)} rows in {pages} pages: {lines.seconds:.2f} s")

    # A filter beside the scoping: acme's returned lines counted as DuckDB counts them.
    [(returns,)] = _duckdb_over_downloaded_parts(
        running,
        tmp_path,
        "SELECT count(*) FROM read_parquet('{root}/curated/order_lines/tenant=acme/**/*.parquet')"
        " WHERE kind = 'return'",
    )
    counted = athena.run_query(
        client, lake, "SELECT count(*) AS n FROM order_lines WHERE kind = 'return'", ["acme"]
    )
    assert counted.rows == [(returns,)]
    assert returns > 0

    # The emulator ignores partition projection: without a tenant it reads every tenant's files.
    # AWS refuses this query (the injected `tenant` must be stated), hence --tenant above.
    unscoped = athena.run_query(client, lake, SUMS)
    assert set(unscoped.rows) == expected


def test_a_failed_query_prints_athenas_reason_and_exits_non_zero(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _query(running, capsys, "SELECT no_such_column FROM order_lines", "--tenant", "acme")
    assert code == 1
    assert out == ""
    assert err.startswith("error: FAILED (query ")
    assert "no_such_column" in err


def test_the_default_output_is_a_table_of_the_rows(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _query(running, capsys, "SELECT 'acme' AS tenant, 1 + 1 AS two")
    assert code == 0, err
    assert "tenant" in out
    assert "two" in out
    assert "acme" in out
    assert "1 row in" in err
