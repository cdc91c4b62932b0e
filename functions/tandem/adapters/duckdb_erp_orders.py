"""The `erp_orders` connector run in bulk by DuckDB: one raw file → its manifest, rejects and Parquet.

Why two implementations: the Python connector (tandem.logic.lake.erp_orders with the shared loop
tandem.logic.lake.connectors.curate) handles one row at a time, about 23k rows/s and ~3 KB of
memory a row; the order lines are the lake's big source, so their files are curated here, in SQL,
at the engine's speed and in bounded memory. The Python connector stays the definition: it serves
every other source, the files this module declines (returns None), and it is what this module is
tested against (tests/integration/test_erp_orders_sql.py: the same rows, rejects and manifests on
every shared file, on hand-written dirty files and on generated ones).

How they are held equal:
- the row work that scales with rows is SQL: splitting the CSV (DuckDB's reader, all text), the
  column mapping, exact duplicates (every raw column compared as text, extra fields joined as
  csv's DictReader gives them), malformed rows, the reasons' precedence, the line kinds, the
  counts of rules and reasons, the Parquet;
- what a single cell means (trimming with Python's `\\s`, `Decimal`, `strptime` and zoneinfo's
  fold=0, the FX table's rounding) is decided by the Python connector's own functions, once per
  DISTINCT value of a column (a file of 100,000 lines has a few thousand), and joined back: the
  same code gives the same answer, DST edges and odd numbers included;
- decoding is Python's (tandem.logic.lake.reading.decode); a file DuckDB's CSV reader might split
  otherwise than the csv module (a carriage return, a NUL, a quoted line break, quotes DuckDB
  refuses, a header it cannot name, JSON Lines) is declined and takes the Python path.
"""

import csv
import gzip
import io
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from tandem.logic.lake.connectors import ColumnMapping, Connector, RowRejected, Rules
from tandem.logic.lake.erp_orders import (
    DATE_FORMATS,
    PRODUCT_CODE,
    ErpOrdersSettings,
    customer,
    quantity_of,
)
from tandem.logic.lake.fx import FxTable
from tandem.logic.lake.reading import decode
from tandem.logic.lake.tables import ORDER_LINES
from tandem.logic.lake.values import amount, local_and_utc, trimmed
from tandem.logic.ports import BulkCurated
from tandem.models.lake import FileManifest, Reject

# Fields a row may have beyond the header before the file is declined (DuckDB would refuse it).
EXTRA_FIELDS = 4
# Blanks between a field's edge and a quote: csv reads ` "a"` as text (no skipinitialspace) and
# `"a" ,` as `a `; DuckDB reads both otherwise. Inside a quoted field they are only text. (Three
# patterns that start with a literal: one with alternatives scans 8x slower.)
_OPENING = (re.compile(r',[ \t]+"'), re.compile(r'\n[ \t]+"'), re.compile(r'\A[ \t]+"'))
_CLOSING = (re.compile(r'"[ \t]+[,\n]'), re.compile(r'"[ \t]+\Z'))
_NULL = "chr(0)"  # a lookup's key for an absent value (the text has no NUL: such files are declined)
_MALFORMED = "the row does not fit the file's columns"


def curate_erp_orders(
    db: duckdb.DuckDBPyConnection,
    work_dir: Path,
    connector: Connector[Any],
    file: str,
    data: bytes,
    mapping: ColumnMapping,
) -> BulkCurated | None:
    settings = connector.settings
    if connector.name != "erp_orders" or not isinstance(settings, ErpOrdersSettings):
        return None
    stem = file.lower()
    if stem.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return None  # a broken .gz: the Python path reports it as the file's error
        stem = stem.removesuffix(".gz")
    if not stem.endswith(".csv"):
        return None
    text, encoding = decode(data)
    if "\r" in text or "\x00" in text or _blanks_by_a_quote(text):
        return None
    header = next(csv.reader(io.StringIO(text, newline="")), None)
    if not header or len(set(header)) != len(header) or any("\n" in name for name in header):
        return None
    with tempfile.TemporaryDirectory(dir=work_dir) as work:
        source = Path(work) / "raw.csv"
        source.write_text(text, encoding="utf-8")
        try:
            _read(db, str(source), len(header))
        except duckdb.Error:
            return None  # a split DuckDB refuses (a quoted line break, a stray quote): Python's path
        result = _curate(db, Path(work), header, file, mapping, settings)
    if result is None:
        return None
    return BulkCurated(result[0].model_copy(update={"encoding": encoding}), result[1], result[2])


def _blanks_by_a_quote(text: str) -> bool:
    """Blanks beside a quote outside a quoted field (or where a quoted field spans lines, so that
    a line cannot tell): csv and DuckDB would split the line differently."""
    quotes = [(found.end() - 1, 0) for pattern in _OPENING for found in pattern.finditer(text)]
    quotes += [(found.start(), 1) for pattern in _CLOSING for found in pattern.finditer(text)]
    for quote, closing in quotes:
        start = text.rfind("\n", 0, quote) + 1
        end = text.find("\n", quote)
        line = text[start : len(text) if end < 0 else end]
        if line.count('"') % 2:
            return True
        # an even number of quotes before it (an opening one), or up to it (a closing one): outside
        if text.count('"', start, quote + closing) % 2 == 0:
            return True
    return False


def _read(db: duckdb.DuckDBPyConnection, source: str, fields: int) -> None:
    names = [f"c{i}" for i in range(fields + EXTRA_FIELDS)]
    columns = ", ".join(f"'{n}': 'VARCHAR'" for n in names)
    # Every field as text; '' stays '' (nullstr is a character no file has), a field the row lacks is
    # NULL (null_padding); blank lines are skipped, as csv's DictReader does; row 0 is the header.
    db.execute(
        "CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM read_csv("
        f"'{source}', columns={{{columns}}}, header=false, auto_detect=false, delim=',', quote='\"', "
        "escape='\"', new_line='\\n', null_padding=true, strict_mode=true, nullstr=chr(1), "
        "allow_quoted_nulls=false, comment='')"
    )


def _curate(
    db: duckdb.DuckDBPyConnection,
    work: Path,
    header: list[str],
    file: str,
    mapping: ColumnMapping,
    settings: ErpOrdersSettings,
) -> tuple[FileManifest, list[Reject], dict[str, bytes]] | None:
    h = len(header)
    names = [f"c{i}" for i in range(h + EXTRA_FIELDS)]
    # csv's DictReader puts a row's fields beyond the header in a list, joined back with ','
    extra = f"CASE WHEN c{h} IS NULL THEN NULL ELSE concat_ws(',', {', '.join(names[h:])}) END"
    own = ", ".join(names[:h])
    # Exact duplicates: every raw column as text (and the extra fields); the first one is kept.
    # A 64-bit hash of the row finds the candidates cheaply; the text of every column decides.
    db.execute(
        "CREATE OR REPLACE TEMP TABLE dupes AS SELECT n FROM ("
        f"SELECT rowid AS n, row_number() OVER (PARTITION BY {own}, {extra} ORDER BY rowid) AS k "
        f"FROM raw WHERE rowid > 0 AND hash({own}, {extra}) IN ("
        f"SELECT hash({own}, {extra}) AS h FROM raw WHERE rowid > 0 GROUP BY h HAVING count(*) > 1)"
        ") WHERE k > 1"
    )
    rows = (
        f"(SELECT rowid AS n, {own}, {extra} AS extra FROM raw "
        "WHERE rowid > 0 AND rowid NOT IN (SELECT n FROM dupes))"
    )

    def col(name: str) -> str:
        src = mapping.get(name)
        return f"NULLIF(c{header.index(src)}, '')" if src in header else "CAST(NULL AS VARCHAR)"

    keyed = {k: f"coalesce({col(k)}, {_NULL})" for k in _FIELDS}
    zone, currency, fx = settings.zone, settings.currency, settings.fx
    convert = currency != fx.tenant_currency
    # Each cell's meaning, from the Python connector's own functions, once per distinct value.
    lookups: list[tuple[str, str, Callable[[str | None], tuple[Any, ...]], dict[str, str]]] = [
        ("lk_order", keyed["order_id"], _order, {"order_id": "VARCHAR", "cancelled": "BOOLEAN"}),
        ("lk_sku", keyed["sku"], _sku, {"sku": "VARCHAR", "product": "BOOLEAN"}),
        ("lk_qty", keyed["quantity"], _qty, {"q": "BIGINT", "q_reason": "VARCHAR", "q_detail": "VARCHAR"}),
        (
            "lk_price",
            keyed["unit_price"],
            _price,
            {"p": "VARCHAR", "p4": "BOOLEAN", "p_reason": "VARCHAR", "p_detail": "VARCHAR"},
        ),
        (
            "lk_when",
            keyed["ordered_at"],
            lambda v: _when(v, zone),
            {"utc": "VARCHAR", "day": "VARCHAR", "d_detail": "VARCHAR"},
        ),
        ("lk_desc", keyed["description"], _text, {"description": "VARCHAR", "d_trim": "BOOLEAN"}),
        ("lk_country", keyed["country"], _text, {"country": "VARCHAR", "c_trim": "BOOLEAN"}),
        ("lk_cust", keyed["customer_id"], _customer, {"customer_id": "VARCHAR", "c_rule": "VARCHAR"}),
    ]
    for name, key, read, out in lookups:
        values = [v for (v,) in db.execute(f"SELECT DISTINCT {key} FROM raw WHERE rowid > 0").fetchall()]
        _load(db, work, name, [(v, *read(None if v == "\x00" else v)) for v in values], out)
    if db.execute("SELECT count(*) FROM lk_price WHERE p IS NOT NULL AND NOT p4").fetchone() != (0,):
        return None  # a price finer than the lake's 4 places: its rounding is left to the Python path
    joins = " ".join(f"LEFT JOIN {name} ON {name}.k = {key}" for name, key, _, _ in lookups)
    outputs = ", ".join(f"{name}.{column}" for name, _, _, out in lookups for column in out)
    cells = f"SELECT r.n, r.extra, {outputs} FROM {rows} r {joins}"
    fx_join, price, no_fx, no_fx_detail = "", "p", "", ""
    if convert:
        # The rate of a (price, local day): only for a tenant whose ERP sells in another currency.
        pairs = db.execute(
            f"SELECT DISTINCT p || '|' || day, p, day FROM ({cells}) WHERE p IS NOT NULL AND day IS NOT NULL"
        ).fetchall()
        rated = [(k, *_rate(fx, currency, p, day)) for k, p, day in pairs]
        _load(db, work, "lk_fx", rated, {"fx_p": "VARCHAR", "fx_detail": "VARCHAR"})
        fx_join, price = "LEFT JOIN lk_fx ON lk_fx.k = c.p || '|' || c.day", "fx_p"
        no_fx, no_fx_detail = "WHEN fx_p IS NULL THEN 'no_fx_rate'", "WHEN fx_p IS NULL THEN fx_detail"
    # The first failing check wins, in the order erp_orders.clean makes them.
    db.execute(
        "CREATE OR REPLACE TEMP TABLE judged AS SELECT n, extra, order_id, sku, description, q, "
        f"CAST({price} AS DECIMAL(18,4)) AS price, utc, customer_id, country, cancelled, product, "
        "d_trim, c_trim, c_rule, "
        "CASE WHEN extra IS NOT NULL THEN 'malformed_row' WHEN order_id IS NULL THEN 'missing_order_id' "
        "WHEN sku IS NULL THEN 'missing_sku' WHEN q_reason IS NOT NULL THEN q_reason "
        "WHEN p_reason IS NOT NULL THEN p_reason WHEN d_detail IS NOT NULL THEN 'bad_date' "
        f"{no_fx} END AS reason, "
        "CASE WHEN extra IS NOT NULL THEN $$" + _MALFORMED + "$$ "
        "WHEN order_id IS NULL THEN 'the line names no order' "
        "WHEN sku IS NULL THEN 'the line names no product code' WHEN q_reason IS NOT NULL THEN q_detail "
        "WHEN p_reason IS NOT NULL THEN p_detail WHEN d_detail IS NOT NULL THEN d_detail "
        f"{no_fx_detail} END AS detail "
        f"FROM ({cells}) c {fx_join}"
    )
    counts = db.execute(
        "SELECT (SELECT count(*) FROM raw) - 1, count(*), "
        "count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL), "
        "count(*) FILTER (WHERE reason IS NULL OR reason = 'no_fx_rate'), "
        "count(*) FILTER (WHERE reason IS NULL AND cancelled), "
        "count(*) FILTER (WHERE reason IS NULL AND NOT product), "
        "count(*) FILTER (WHERE reason IS NULL AND product AND NOT cancelled AND q < 0), "
        "count(*) FILTER (WHERE reason IS NULL AND d_trim) "
        "+ count(*) FILTER (WHERE reason IS NULL AND c_trim), "
        "count(*) FILTER (WHERE reason IS NULL AND c_rule = 'guest_customer'), "
        "count(*) FILTER (WHERE reason IS NULL AND c_rule = 'customer_id_normalised') FROM judged"
    ).fetchone()
    assert counts is not None
    rows_in, kept, curated, quarantined, timed, cancelled, apart, adjusted, trims, guests, normalised = counts
    rules = Counter(
        {
            "time_to_utc": timed,
            "fx_converted": curated if convert else 0,
            "cancellation_as_return": cancelled,
            "non_product_apart": apart,
            "negative_quantity_as_adjustment": adjusted,
            "trimmed_text": trims,
            "guest_customer": guests,
            "customer_id_normalised": normalised,
        }
    )
    reasons = Counter(
        dict(
            db.execute(
                "SELECT reason, count(*) FROM judged WHERE reason IS NOT NULL GROUP BY reason"
            ).fetchall()
        )
    )
    manifest = FileManifest(
        file=file,
        rows_in=rows_in,
        rows_curated=curated,
        rows_quarantined=quarantined,
        duplicates_removed=rows_in - kept,
    ).count(+rules, reasons)

    found = db.execute(
        f"SELECT j.n, j.reason, j.detail, j.extra, {', '.join('r.' + c for c in names[:h])} "
        "FROM judged j JOIN raw r ON r.rowid = j.n WHERE j.reason IS NOT NULL ORDER BY j.n"
    ).fetchall()
    rejects = []
    for n, reason, detail, extra_text, *values in found:
        row: dict[str, str | None] = dict(zip(header, values, strict=True))
        if extra_text is not None:
            row["_extra"] = extra_text
        # the header is line 1: the first record (rowid 1) is line 2
        rejects.append(Reject(line=n + 1, reason=reason, detail=detail, row=row))

    parts: dict[str, bytes] = {}
    if curated:
        target = work / "part.parquet"
        quoted, currency_sql = file.replace("'", "''"), fx.tenant_currency.replace("'", "''")
        db.execute(
            "COPY (SELECT order_id, sku, description, CAST(q AS INTEGER) AS quantity, "
            "price AS unit_price, CAST(price * q AS DECIMAL(18,4)) AS amount, "
            f"'{currency_sql}' AS currency, CAST(utc AS TIMESTAMP) AS ordered_at, customer_id, "
            "country, CASE WHEN NOT product THEN 'non_product' WHEN cancelled THEN 'return' "
            "WHEN q < 0 THEN 'stock_adjustment' ELSE 'sale' END AS kind, "
            f"'{quoted}' AS source_file FROM judged "
            f"WHERE reason IS NULL ORDER BY n) TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
        )
        parts[ORDER_LINES.name] = target.read_bytes()
    return manifest, rejects, parts


_FIELDS = ("order_id", "sku", "quantity", "unit_price", "ordered_at", "description", "country", "customer_id")
_PLACES = Decimal("0.0001")
_LARGEST = Decimal(10) ** 13  # DECIMAL(18,4) holds below 10^14: a product with a count must fit


def _order(v: str | None) -> tuple[Any, ...]:
    invoice = trimmed(v, Rules(), count=False)
    if not invoice:
        return (None, False)
    cancelled = invoice[0] in "Cc" and invoice[1:].isdigit()
    return (invoice[1:] if cancelled else invoice, cancelled)


def _sku(v: str | None) -> tuple[Any, ...]:
    code = trimmed(v, Rules(), count=False)
    return (code, bool(code and PRODUCT_CODE.match(code)))


def _qty(v: str | None) -> tuple[Any, ...]:
    try:
        return (quantity_of(v), None, None)
    except RowRejected as no:
        return (None, no.reason, no.detail)


def _price(v: str | None) -> tuple[Any, ...]:
    try:
        number = amount(v, "unit price", bad="bad_price", negative="negative_price")
    except RowRejected as no:
        return (None, None, no.reason, no.detail)
    exact = number == number.quantize(_PLACES) and number < _LARGEST
    return (format(number, "f"), exact, None, None)


def _when(v: str | None, zone: ZoneInfo) -> tuple[Any, ...]:
    try:
        local, utc = local_and_utc(v, DATE_FORMATS, zone)
    except RowRejected as no:
        return (None, None, no.detail)
    return (utc.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), local.date().isoformat(), None)


def _text(v: str | None) -> tuple[Any, ...]:
    rules = Rules()
    return (trimmed(v, rules), bool(rules))


def _customer(v: str | None) -> tuple[Any, ...]:
    rules = Rules()
    return (customer(v, rules), next(iter(rules), None))


def _rate(fx: FxTable, currency: str, price: str, day: str) -> tuple[Any, ...]:
    try:
        return (str(fx.convert(Decimal(price), currency, date.fromisoformat(day))), None)
    except RowRejected as no:
        return (None, no.detail)


def _load(
    db: duckdb.DuckDBPyConnection,
    work: Path,
    name: str,
    rows: Sequence[tuple[Any, ...]],
    out: dict[str, str],
) -> None:
    path = work / f"{name}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NOTNULL, lineterminator="\n")
        writer.writerow(["k", *out])
        writer.writerows(rows)
    columns = ", ".join(f"'{c}': '{t}'" for c, t in {"k": "VARCHAR", **out}.items())
    db.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM read_csv('{path}', columns={{{columns}}}, "
        "header=true, auto_detect=false, delim=',', quote='\"', escape='\"', nullstr='', "
        "allow_quoted_nulls=false, new_line='\\n')"
    )
