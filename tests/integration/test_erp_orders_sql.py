"""The differential test of erp_orders' two implementations: the SQL one
(tandem.adapters.duckdb_erp_orders, what curation runs for these files) against the Python one
(tandem.logic.lake.erp_orders through connectors.curate, the definition): on every shared file, on
hand-written dirty files and on generated ones, the same curated rows (as the Parquet decodes
them, in order), the same rejects and the same manifest. A file the SQL declines takes the Python
path in production; the shared files must never be declined."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.adapters.parquet_duckdb import DuckDbParquet
from tandem.logic.lake.connectors import curate
from tandem.logic.lake.reading import read_records
from tandem.logic.lake.sources import Source, sources
from tandem.logic.lake.tables import ORDER_LINES, split
from tandem.logic.ports import BulkCurated
from tandem.models.lake_config import FxRate, LakeConfig
from tests.shared_data import SHARED_DATA

BY_DAY = SHARED_DATA / "online_retail" / "by-day"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
# EUR prices for a GBP tenant: rates with gaps (a weekend) and nothing before 2024-03-01.
FX = LakeConfig(
    currency="GBP",
    erp_currency="EUR",
    fx_rates=(
        FxRate(currency="EUR", day=date(2024, 3, 1), rate=Decimal("0.8571")),
        FxRate(currency="EUR", day=date(2024, 3, 4), rate=Decimal("0.85333")),
        FxRate(currency="EUR", day=date(2024, 10, 25), rate=Decimal("0.8333")),
    ),
)


@pytest.fixture(scope="module")
def codec(tmp_path_factory: pytest.TempPathFactory) -> DuckDbParquet:
    return DuckDbParquet(work_dir=str(tmp_path_factory.mktemp("duckdb")))


def erp(config: LakeConfig | None = None, zone: str = "Europe/London") -> Source:
    return sources(config or LakeConfig(), zone)["erp_orders"]


def both(codec: DuckDbParquet, name: str, data: bytes, source: Source | None = None) -> bool:
    """Asserts the two implementations agree on one file; False when the SQL declined it."""
    source = source or erp()
    bulk = codec.curate_file(source.connector, name, data, source.mapping)
    if bulk is None:
        return False
    agree(codec, name, data, bulk, source)
    return True


def agree(codec: DuckDbParquet, name: str, data: bytes, bulk: BulkCurated, source: Source) -> None:
    """The SQL's result for one file is the Python connector's."""
    raw = read_records(name, data)
    python = curate(source.connector, name, raw.records, source.mapping)
    assert bulk.manifest == python.manifest.model_copy(update={"encoding": raw.encoding})
    assert bulk.manifest.balanced
    assert bulk.rejects == python.rejects
    rows = split("erp_orders", name, python.rows)["order_lines"]
    expected = codec.decode(ORDER_LINES, codec.encode(ORDER_LINES, rows)) if rows else []
    got = codec.decode(ORDER_LINES, bulk.parts["order_lines"]) if "order_lines" in bulk.parts else []
    assert got == expected
    assert set(bulk.parts) == ({"order_lines"} if rows else set())


SHARED = sorted(BY_DAY.glob("*.csv"))


@pytest.mark.skipif(not SHARED, reason="the shared data is not beside the clone")
def test_every_shared_file_gives_the_same_rows_rejects_and_manifest(codec: DuckDbParquet) -> None:
    assert len(SHARED) == 68
    declined = [path.name for path in SHARED if not both(codec, path.name, path.read_bytes())]
    assert declined == []


def test_a_bench_file_of_50000_rows_read_in_parallel(codec: DuckDbParquet, tmp_path: Path) -> None:
    """Big enough for DuckDB's parallel CSV reader and joins: the order of the rows is kept.
    (Once, with FX: the conversion's lookups are the most the SQL does; `make bench` runs 5 M.)"""
    from bench.order_lines import write_order_lines

    path = tmp_path / "night.csv"
    write_order_lines(path, 50_000, 0, date(2024, 3, 31), 7)  # London's spring change of clock
    assert both(codec, path.name, path.read_bytes(), erp(FX))


DIRTY = (
    HEADER
    + "536365,85123A,  WHITE  HANGING\tHEART ,6,2010-12-01 08:26:00,2.55,17850.0, United  Kingdom \n"
    + "536365,85123A,  WHITE  HANGING\tHEART ,6,2010-12-01 08:26:00,2.55,17850.0, United  Kingdom \n"
    + 'C536379,D,"Discount, big ""one""",-1,01/12/2010 09:41,27.50,14527.0,United Kingdom\n'
    + "c536380,22086,PAPER CHAIN,-2,01-12-2010 09:41,2.95,,France\n"
    + "536381,22086,PAPER CHAIN,-3,2010-12-01,2.95,  ,France\n"
    + ",22086,no order,1,2010-12-01 10:00,1,1,UK\n"
    + "   ,22086,blank order,1,2010-12-01 10:00,1,1,UK\n"
    + "536382,,no sku,1,2010-12-01 10:00,1,1,UK\n"
    + "536383,22086,bad qty,1.5,2010-12-01 10:00,1,1,UK\n"
    + "536384,22086,word qty,six,2010-12-01 10:00,1,1,UK\n"
    + "536385,22086,zero,0,2010-12-01 10:00,1,1,UK\n"
    + "536386,22086,float qty,4.0,2010-12-01 10:00,1,1,UK\n"
    + "536387,22086,bad price,1,2010-12-01 10:00,abc,1,UK\n"
    + "536388,22086,neg price,1,2010-12-01 10:00,-2.5,1,UK\n"
    + "536389,22086,inf price,1,2010-12-01 10:00,Infinity,1,UK\n"
    + "536390,22086,bad date,1,12/31/2010 10:00,1,1,UK\n"
    + "536391,22086,no date,1,,1,1,UK\n"
    + '536392,22086,too many,1,2010-12-01 10:00,1,1,UK,extra,"x,y"\n'
    + "536393,22086,too few,1\n"
    + "536394,POST,POSTAGE,1,2010-12-01 10:00,18,12583.0,France\n"
    + "536395,BANK CHARGES,Bank,1,2010-12-01 10:00,15,,UK\n"
    + "536396,22086,adjust,-12,2010-12-01 10:00,0,,UK\n"
    + "536397,22086,odd customer,1,2010-12-01 10:00,1, 1.00 ,UK\n"
    + "536398,22086,\u00a0nbsp\u2003inside\u00a0,1,2010-12-01 10:00,1,abc,\u00a0UK\n"
    + "536399,22086,spring gap,1,31/03/2024 01:30,1,1,UK\n"
    + "536400,22086,autumn fold,1,27/10/2024 01:30,1,1,UK\n"
    + "536401,22086,autumn after,1,2024-10-27 02:30:00,1,1,UK\n"
    + "536402,22086,leap,1,29-02-2024 23:59:59,1,1,UK\n"
    + "536403,22086,plus,+3,2024-02-29 23:59,+1.5,1,UK\n"
    + "536404,22086,price 1e1,2,2024-02-29 23:59,1E+1,1,UK\n"
    + "\n"
    + "536405,22086,after a blank line,1,2024-02-29 23:59,.5,1,UK\n"
    + "536405,22086,after a blank line,1,2024-02-29 23:59,.5,1,UK,\n"
    + "536406,22086,\u00c9t\u00e9 \u00a3 caf\u00e9,1,2024-02-29 23:59,0.5,1,UK\n"
)


def test_a_dirty_file_every_rule_and_reason(codec: DuckDbParquet) -> None:
    assert both(codec, "dirty.csv", DIRTY.encode())
    source = erp()
    bulk = codec.curate_file(source.connector, "dirty.csv", DIRTY.encode(), source.mapping)
    assert bulk is not None
    reasons = set(bulk.manifest.quarantined_by_reason)
    assert reasons == {
        "missing_order_id",
        "missing_sku",
        "bad_quantity",
        "zero_quantity",
        "bad_price",
        "negative_price",
        "bad_date",
        "malformed_row",
    }
    assert set(bulk.manifest.rules_applied) >= {
        "trimmed_text",
        "customer_id_normalised",
        "guest_customer",
        "time_to_utc",
        "cancellation_as_return",
        "non_product_apart",
        "negative_quantity_as_adjustment",
    }
    assert bulk.manifest.duplicates_removed == 1


def test_fx_with_gaps_and_days_before_any_rate(codec: DuckDbParquet) -> None:
    text = (
        HEADER
        + "1,22086,before any rate,1,2024-02-29 23:59,10,1,UK\n"
        + "2,22086,first day,3,2024-03-01 00:00,10,1,UK\n"
        + "3,22086,weekend: friday's,3,2024-03-03 12:00,3.33,1,UK\n"
        + "4,22086,monday,7,2024-03-04 00:30,0.0001,1,UK\n"
        + "5,22086,local day differs from utc,1,2024-10-26 00:30,19.99,1,UK\n"
        + "6,22086,bad price before fx,1,2024-02-29 23:59,x,1,UK\n"
        + "7,22086,bad date,1,2024-13-01,1,1,UK\n"
    )
    source = erp(FX)
    assert both(codec, "fx.csv", text.encode(), source)
    bulk = codec.curate_file(source.connector, "fx.csv", text.encode(), source.mapping)
    assert bulk is not None
    assert bulk.manifest.quarantined_by_reason == {"bad_date": 1, "bad_price": 1, "no_fx_rate": 1}
    assert bulk.manifest.rules_applied["fx_converted"] == 4


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Australia/Lord_Howe", "UTC"])
def test_dst_edges_come_out_as_zoneinfo_fold_0(codec: DuckDbParquet, zone: str) -> None:
    days = ["2024-03-31", "2024-10-27", "2024-03-10", "2024-11-03", "2024-04-07", "2024-10-06"]
    lines = [
        f"{i},22086,t,1,{day} {hour:02d}:{minute:02d},1,1,UK\n"
        for i, (day, hour, minute) in enumerate(
            (d, h, m) for d in days for h in range(4) for m in (0, 15, 30, 45)
        )
    ]
    assert both(codec, "dst.csv", (HEADER + "".join(lines)).encode(), erp(zone=zone))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("cp1252.csv", DIRTY.replace("\u2003", " ").replace("\u00a0", " ").encode("cp1252")),
        ("bom.csv", b"\xef\xbb\xbf" + DIRTY.encode()),
        ("latin.csv", (HEADER + "1,22086,\x81\x8d odd,1,2024-02-29,1,1,UK\n").encode("latin-1")),
        ("zipped.csv.gz", gzip.compress(DIRTY.encode())),
        ("UPPER.CSV", DIRTY.encode()),
        ("header-only.csv", HEADER.encode()),
        ("header-no-newline.csv", HEADER.strip().encode()),
        ("one-row-no-newline.csv", (HEADER + "1,22086,t,1,2024-02-29,1,1,UK").encode()),
        ("renamed.csv", DIRTY.replace("InvoiceNo", "Invoice").encode()),
        # DuckDB may split it (a small file) or decline it (its parallel reader): equal if taken
        ("quoted-newline.csv", (HEADER + '1,22086,"two\nlines",1,2024-02-29,1,1,UK\n').encode()),
        ("spaces.csv", (HEADER + " , , , , , , , \n,,,,,,,\n").encode()),
    ],
)
def test_encodings_and_shapes(codec: DuckDbParquet, name: str, data: bytes) -> None:
    assert both(codec, name, data) or name == "quoted-newline.csv"


QUOTING = {
    "stray": '1,22086,ab"c,1,2024-02-29,1,1,UK\n',
    "after-close": '1,22086,"ab"c,1,2024-02-29,1,1,UK\n',
    "unterminated": '1,22086,"abc,1,2024-02-29,1,1,UK\n',
    "space-before-quote": '1,22086, "a,b",1,2024-02-29,1,1,UK\n',
    "tab-before-quote": '1,22086,\t"a,b",1,2024-02-29,1,1,UK\n',
    "line-start-space-quote": ' "1",22086,x,1,2024-02-29,1,1,UK\n',
    "space-after-close": '1,22086,"a,b" ,1,2024-02-29,1,1,UK\n',
    "inner-space-quote": '1,22086,"a ""b"" , c, ",1,2024-02-29,1,1,UK\n',
    "quoted-empty-line": '""\n1,22086,x,1,2024-02-29,1,1,UK\n',
    "tab-only": "\t\n",
    "escape-backslash": '1,22086,"a\\"b",1,2024-02-29,1,1,UK\n',
    "odd-separators": "1,22086,a\x0bb\x0cc\x1cd\x85e\u2028f,1,2024-02-29,1,1,\u2029UK\n",
}


@pytest.mark.parametrize("case", list(QUOTING))
def test_quoting_edge_cases_agree_or_take_the_python_path(codec: DuckDbParquet, case: str) -> None:
    taken = both(codec, f"{case}.csv", (HEADER + QUOTING[case]).encode())
    # blanks beside a quote outside a quoted field: csv and DuckDB split them otherwise
    assert taken or case not in {"stray", "inner-space-quote", "quoted-empty-line", "odd-separators"}
    assert not taken or case not in {"space-before-quote", "tab-before-quote", "space-after-close"}


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.csv", b""),
        ("blank-line-first.csv", ("\n" + DIRTY).encode()),
        ("crlf.csv", DIRTY.replace("\n", "\r\n").encode()),
        ("lines.jsonl", b'{"InvoiceNo": "1"}\n'),
        ("finer-price.csv", (HEADER + "1,22086,t,1,2024-02-29,1.23456,1,UK\n").encode()),
        ("wide.csv", (HEADER + "1,22086,t,1,2024-02-29,1,1,UK" + ",x" * 9 + "\n").encode()),
        ("dup-header.csv", b"a,a\n1,2\n"),
        ("broken.csv.gz", b"\x1f\x8b not a gzip"),
    ],
)
def test_what_the_sql_declines_takes_the_python_path(codec: DuckDbParquet, name: str, data: bytes) -> None:
    source = erp()
    assert codec.curate_file(source.connector, name, data, source.mapping) is None


def partition() -> dict[str, bytes]:
    """One night's files as a shop sends them: the batch must keep each file's own counts."""
    files = {path.name: path.read_bytes() for path in SHARED[:3]}
    return {
        **files,
        "a-dirty.csv": DIRTY.encode(),
        "b-same-as-dirty.csv": DIRTY.encode(),  # duplicates are a file's own: none across files
        "c-finer-price.csv": (HEADER + "1,22086,t,1,2024-02-29,1.23456,1,UK\n").encode(),
        "d-crlf.csv": DIRTY.replace("\n", "\r\n").encode(),
        "e-zipped.csv.gz": gzip.compress(DIRTY.encode()),
        "f-header-only.csv": HEADER.encode(),
        "g-other-header-order.csv": DIRTY.replace("Quantity,InvoiceDate", "InvoiceDate,Quantity")
        .replace(",6,2010-12-01 08:26:00,", ",2010-12-01 08:26:00,6,")
        .encode(),
        "h-unterminated-quote.csv": (HEADER + '1,22086,"abc,1,2024-02-29,1,1,UK\n').encode(),
        "i-cp1252.csv": DIRTY.replace("\u2003", " ").replace("\u00a0", " ").encode("cp1252"),
        "j-last-dirty.csv": DIRTY.encode(),
    }


@pytest.mark.skipif(not SHARED, reason="the shared data is not beside the clone")
@pytest.mark.parametrize("batch_bytes", [96 * 2**20, 3000])
def test_a_partition_in_batches_gives_each_file_its_own_result(
    codec: DuckDbParquet, monkeypatch: pytest.MonkeyPatch, batch_bytes: int
) -> None:
    """All of a night's files in one set of statements (or, with small batches, several): each
    file's rows, rejects and manifest are what the Python connector gives that file alone."""
    from tandem.adapters import duckdb_erp_orders

    monkeypatch.setattr(duckdb_erp_orders, "BATCH_BYTES", batch_bytes)
    files, source, read = partition(), erp(), []

    def reading(name: str) -> bytes:
        read.append(name)
        return files[name]

    done = dict(codec.curate_files(source.connector, sorted(files), reading, source.mapping))
    assert read == sorted(files)  # each file read once, in order
    declined = {"c-finer-price.csv", "d-crlf.csv", "h-unterminated-quote.csv"}
    assert set(done) == set(files) - declined
    for name, bulk in done.items():
        agree(codec, name, files[name], bulk, source)
    assert done["b-same-as-dirty.csv"].manifest.duplicates_removed == 1
    # the batch's tables are gone: a warm Lambda does not keep a night's rows
    tables = codec._db.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    assert tables == []


def test_an_unreadable_file_is_left_to_the_python_path(codec: DuckDbParquet) -> None:
    source = erp()

    def reading(name: str) -> bytes:
        if name == "gone.csv":
            raise OSError("the object was deleted meanwhile")
        return DIRTY.encode()

    names = ["a.csv", "gone.csv", "z.csv"]
    done = dict(codec.curate_files(source.connector, names, reading, source.mapping))
    assert sorted(done) == ["a.csv", "z.csv"]


def test_other_sources_are_not_taken(codec: DuckDbParquet) -> None:
    source = sources(LakeConfig(), "UTC")["crm_leads"]
    assert codec.curate_file(source.connector, "leads.csv", b"a\n1\n", source.mapping) is None


_TEXT = st.text(alphabet=st.sampled_from(list("aZ 09,\"'\t.-C\u00a0\u2003\u00e9\x0c\u2028")), max_size=8)
_CELLS: dict[str, Any] = {
    "InvoiceNo": st.sampled_from(
        ["536365", "C536379", " 536365 ", "", "c12", "A563185", "C", "C\u0661\u0662"]
    ),
    "StockCode": st.sampled_from(
        ["85123A", "22086", "POST", " 22086 ", "", "D", "\u0661\u0662\u0663\u0664\u0665", "12345abc"]
    ),
    "Description": _TEXT,
    "Quantity": st.sampled_from(["6", "-1", "0", "1.0", "1.5", "abc", "", " 3 ", "1e2", "+4", "-0", "NaN"]),
    "InvoiceDate": st.sampled_from(
        [
            "2010-12-01 08:26:00",
            "2024-03-01 23:30",
            "2024-03-02",
            "01/12/2010 08:26",
            "31-03-2024 01:30",
            "27/10/2024 01:30:00",
            "2024-02-30",
            "",
            "x",
            " 2024-03-04 00:00 ",
        ]
    ),
    "UnitPrice": st.sampled_from(["2.55", "-1", "abc", "", "0", "1E+1", "-0", " 3.5 ", "0.0001", "1_000"]),
    "CustomerID": st.sampled_from(["17850.0", "17850", "", " ", "abc", "1.00", "0.0", "12.5"]),
    "Country": _TEXT,
}
_ROW = st.fixed_dictionaries(_CELLS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(_ROW, st.integers(0, 9)), max_size=25),
    fx=st.booleans(),
    raw=st.booleans(),
)
def test_generated_dirty_files_agree(rows: list[tuple[dict[str, str], int]], fx: bool, raw: bool) -> None:
    """Written by csv.writer, or (`raw`) fields joined with ',' as they are: stray quotes, commas
    and blanks beside quotes; the SQL must agree with Python or decline the file."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(_CELLS))
    written: list[list[str]] = []
    for row, shape in rows:
        fields = list(row.values())
        if shape == 0 and written:  # an exact duplicate of an earlier row
            fields = written[-1]
        elif shape == 1:  # a field too many
            fields = [*fields, "x"]
        elif shape == 2:  # fields missing
            fields = fields[:4]
        written.append(fields)
        if raw:
            out.write(",".join(fields).replace("\n", " ") + "\n")
        else:
            writer.writerow(fields)
    both(_CODEC, "generated.csv", out.getvalue().encode(), erp(FX) if fx else erp())


_CODEC = DuckDbParquet(work_dir=str(Path("/tmp") / "tandem-erp-sql-test"))
