"""The `erp_orders` connector run in bulk by DuckDB: raw files → their manifests, rejects and Parquet.

Why two implementations: the Python connector (tandem.logic.lake.erp_orders with the shared loop
tandem.logic.lake.connectors.curate) handles one row at a time, about 23k rows/s and ~3 KB of
memory a row; the order lines are the lake's big source, so their files are curated here, in SQL,
at the engine's speed and in bounded memory. The Python connector stays the definition: it serves
every other source, the files this module declines (it does not give them back), and it is what
this module is tested against (tests/integration/test_erp_orders_sql.py: the same rows, rejects and
manifests on every shared file, on hand-written dirty files and on generated ones).

How they are held equal:
- the row work that scales with rows is SQL: splitting the CSV (DuckDB's reader, all text), the
  column mapping, exact duplicates (every raw column compared as text, extra fields joined as
  csv's DictReader gives them), malformed rows, the reasons' precedence, the line kinds, the
  counts of rules and reasons, the Parquet;
- what a single cell means (trimming with Python's `\\s`, `Decimal`, `strptime` and zoneinfo's
  fold=0, the FX table's rounding) is decided by the Python connector's own functions, once per
  DISTINCT value of a column (a night of a million lines has some tens of thousands), and joined
  back: the same code gives the same answer, DST edges and odd numbers included;
- decoding is Python's (tandem.logic.lake.reading.decode); a file DuckDB's CSV reader might split
  otherwise than the csv module (a carriage return, a NUL, a quoted line break, quotes DuckDB
  refuses, a header it cannot name, JSON Lines) is declined and takes the Python path.

Files are curated in batches (all of a partition's files with one header, up to BATCH_BYTES of
text): one set of statements per batch instead of per file, DuckDB reading the batch's files in
parallel. Everything a file's manifest counts stays per file (duplicates are within a file, as
the Python connector finds them).
"""

import csv
import gzip
import io
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
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
# A batch's decoded text, at most (about a million order lines): a partition of any size is
# curated in batches of this size, so DuckDB's tables stay near its memory limit (beyond it they
# spill to disk) and a batch's Parquet parts are written before the next batch is read.
BATCH_BYTES = 96 * 2**20
# Blanks between a field's edge and a quote: csv reads ` "a"` as text (no skipinitialspace) and
# `"a" ,` as `a `; DuckDB reads both otherwise. Inside a quoted field they are only text. Applied
# to one line at a time (so `\A` and `\Z` are the line's ends).
_OPENING = (re.compile(r',[ \t]+"'), re.compile(r'\A[ \t]+"'))  # in one line
_CLOSING = (re.compile(r'"[ \t]+,'), re.compile(r'"[ \t]+\Z'))
_NULL = "chr(0)"  # a lookup's key for an absent value (the text has no NUL: such files are declined)
_MALFORMED = "the row does not fit the file's columns"
# A batch's tables (all in the connection's in-memory database; `judged` is not TEMP, so the
# cursors that write the Parquet parts side by side can read it).
_TABLES = (
    *("raw", "files", "hashed", "dupes", "judged"),
    *("lk_order", "lk_sku", "lk_qty", "lk_price", "lk_when", "lk_desc", "lk_country", "lk_cust", "lk_fx"),
)


@dataclass(frozen=True)
class _Staged:
    number: int  # the file's place in the batch (the `f` column of the batch's tables)
    name: str
    path: Path  # the decoded text, as UTF-8, for DuckDB's reader
    header: tuple[str, ...]
    encoding: str
    size: int


def curate_erp_orders(
    db: duckdb.DuckDBPyConnection,
    work_dir: Path,
    connector: Connector[Any],
    names: Sequence[str],
    read: Callable[[str], bytes],
    mapping: ColumnMapping,
) -> Iterator[tuple[str, BulkCurated]]:
    """The files taken, each with what it gives, as their batch completes. A file declined, or
    that cannot be read, is not given: the Python path takes it (and reports a read error)."""
    settings = connector.settings
    if connector.name != "erp_orders" or not isinstance(settings, ErpOrdersSettings):
        return
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        work = Path(folder)
        batch: list[_Staged] = []
        for number, name in enumerate(names):
            staged = _stage(work / f"{number}.csv", len(batch), name, read)
            if staged is None:
                continue
            full = sum(s.size for s in batch) + staged.size > BATCH_BYTES
            if batch and (staged.header != batch[0].header or full):
                yield from _curate_batch(db, work, batch, mapping, settings)
                batch, staged = [], replace(staged, number=0)
            batch.append(staged)
        if batch:
            yield from _curate_batch(db, work, batch, mapping, settings)


def _stage(path: Path, number: int, name: str, read: Callable[[str], bytes]) -> _Staged | None:
    """The file decoded and written for DuckDB's reader; None where the Python path must take it."""
    try:
        data = read(name)
    except (ValueError, OSError, EOFError):
        return None
    stem = name.lower()
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
    body = data if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf") else text.encode()
    path.write_bytes(body)
    return _Staged(number, name, path, tuple(header), encoding, len(body))


def _blanks_by_a_quote(text: str) -> bool:
    """Blanks beside a quote outside a quoted field (or where a quoted field spans lines, so that
    a line cannot tell): csv and DuckDB would split the line differently. Only the lines with a
    quote beside a blank are looked at (str.find over the quotes is some 15x faster than
    scanning the whole text with the patterns)."""
    lines: set[int] = set()
    at = text.find('"')
    while at >= 0:
        if (at > 0 and text[at - 1] in " \t") or text[at + 1 : at + 2] in (" ", "\t"):
            lines.add(text.rfind("\n", 0, at) + 1)
        at = text.find('"', at + 1)
    for start in sorted(lines):
        end = text.find("\n", start)
        if _splits_otherwise(text[start : len(text) if end < 0 else end]):
            return True
    return False


def _splits_otherwise(line: str) -> bool:
    quotes = [(found.end() - 1, 0) for pattern in _OPENING for found in pattern.finditer(line)]
    quotes += [(found.start(), 1) for pattern in _CLOSING for found in pattern.finditer(line)]
    if quotes and line.count('"') % 2:
        return True
    # an even number of quotes before it (an opening one), or up to it (a closing one): outside
    return any(line.count('"', 0, quote + closing) % 2 == 0 for quote, closing in quotes)


def _read(db: duckdb.DuckDBPyConnection, batch: Sequence[_Staged]) -> None:
    """Table `raw`: every line of the batch's files (the header too) as text, in file order, with
    the file's number `f`; duckdb.Error where the reader refuses a file's split."""
    names = [f"c{i}" for i in range(len(batch[0].header) + EXTRA_FIELDS)]
    columns = ", ".join(f"'{n}': 'VARCHAR'" for n in names)
    paths = ", ".join(f"'{s.path}'" for s in batch)  # our own temporary paths: no quote in them
    numbers = " ".join(f"WHEN '{s.path}' THEN {s.number}" for s in batch)
    # Every field as text; '' stays '' (nullstr is a character no file has), a field the row lacks is
    # NULL (null_padding); blank lines are skipped, as csv's DictReader does. Insertion order is kept
    # (DuckDB's default), so rowid runs through each file's lines in order.
    db.execute(
        f"CREATE OR REPLACE TEMP TABLE raw AS SELECT CAST(CASE filename {numbers} END AS INTEGER) AS f, "
        f"{', '.join(names)} FROM read_csv([{paths}], columns={{{columns}}}, header=false, "
        "auto_detect=false, delim=',', quote='\"', escape='\"', new_line='\\n', null_padding=true, "
        "strict_mode=true, nullstr=chr(1), allow_quoted_nulls=false, comment='', filename=true)"
    )


def _readable(db: duckdb.DuckDBPyConnection, batch: list[_Staged]) -> list[_Staged]:
    """The batch read into `raw`, less the files DuckDB's reader refuses (the Python path's)."""
    try:
        _read(db, batch)
        return batch
    except duckdb.Error:
        pass
    kept = []
    for staged in batch:  # rare: find the file the reader refuses, read the others together
        try:
            _read(db, [staged])
            kept.append(staged)
        except duckdb.Error:
            continue  # a split DuckDB refuses (a quoted line break, a stray quote): Python's path
    if kept:
        _read(db, kept)
    return kept


def _curate_batch(
    db: duckdb.DuckDBPyConnection,
    work: Path,
    batch: list[_Staged],
    mapping: ColumnMapping,
    settings: ErpOrdersSettings,
) -> Iterator[tuple[str, BulkCurated]]:
    try:
        kept = _readable(db, batch)
        if kept:
            yield from _curate(db, work, kept, mapping, settings)
    finally:
        for staged in batch:
            staged.path.unlink(missing_ok=True)
        # A warm Lambda keeps the connection: the batch's tables go now, not at the next batch.
        for table in _TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")


def _curate(
    db: duckdb.DuckDBPyConnection,
    work: Path,
    batch: list[_Staged],
    mapping: ColumnMapping,
    settings: ErpOrdersSettings,
) -> Iterator[tuple[str, BulkCurated]]:
    header = list(batch[0].header)
    h = len(header)
    names = [f"c{i}" for i in range(h + EXTRA_FIELDS)]
    # Each file's first line is its header: `line` is a record's line number in its file (the
    # header is line 1), from the file's first rowid (rowid runs through each file in order).
    db.execute(
        "CREATE OR REPLACE TEMP TABLE files AS SELECT f, min(rowid) AS first, max(rowid) AS last, "
        "count(*) AS lines FROM raw GROUP BY f"
    )
    if db.execute("SELECT count(*) FROM files WHERE last - first + 1 <> lines").fetchone() != (0,):
        raise RuntimeError("DuckDB did not keep the files' lines in order")  # a bug, not the data
    # csv's DictReader puts a row's fields beyond the header in a list, joined back with ','
    extra = f"CASE WHEN c{h} IS NULL THEN NULL ELSE concat_ws(',', {', '.join(names[h:])}) END"
    own = ", ".join(names[:h])
    body = "raw.rowid > files.first"  # not the header line
    records = f"raw JOIN files USING (f) WHERE {body}"
    # Exact duplicates within a file: every raw column as text (and the extra fields); the first
    # one is kept. A 64-bit hash of the row, computed once, finds the candidates; the text decides.
    db.execute(
        "CREATE OR REPLACE TEMP TABLE hashed AS "
        f"SELECT raw.rowid AS n, hash(f, {own}, {extra}) AS h FROM {records}"
    )
    db.execute(
        "CREATE OR REPLACE TEMP TABLE dupes AS SELECT n FROM ("
        f"SELECT rowid AS n, row_number() OVER (PARTITION BY f, {own}, {extra} ORDER BY rowid) AS k FROM raw "
        "WHERE rowid IN (SELECT n FROM hashed WHERE h IN "
        "(SELECT h FROM hashed GROUP BY h HAVING count(*) > 1))"
        ") WHERE k > 1"
    )
    rows = (
        f"(SELECT raw.rowid AS n, f, raw.rowid - files.first + 1 AS line, {own}, {extra} AS extra "
        f"FROM {records} AND raw.rowid NOT IN (SELECT n FROM dupes))"
    )

    def col(name: str) -> str:
        src = mapping.get(name)
        return f"NULLIF(c{header.index(src)}, '')" if src in header else "CAST(NULL AS VARCHAR)"

    keyed = {k: f"coalesce({col(k)}, {_NULL})" for k in _FIELDS}
    zone, currency, fx = settings.zone, settings.currency, settings.fx
    convert = currency != fx.tenant_currency
    # Each cell's meaning, from the Python connector's own functions, once per distinct value.
    # Typed where the lake's column is (a time, a price): each distinct value is cast once, here.
    lookups: list[tuple[str, str, Callable[[str | None], tuple[Any, ...]], dict[str, str]]] = [
        ("lk_order", keyed["order_id"], _order, {"order_id": "VARCHAR", "cancelled": "BOOLEAN"}),
        ("lk_sku", keyed["sku"], _sku, {"sku": "VARCHAR", "product": "BOOLEAN"}),
        ("lk_qty", keyed["quantity"], _qty, {"q": "BIGINT", "q_reason": "VARCHAR", "q_detail": "VARCHAR"}),
        (
            "lk_price",
            keyed["unit_price"],
            _price,
            {
                "p": "VARCHAR",
                "pd": "DECIMAL(18,4)",
                "p4": "BOOLEAN",
                "p_reason": "VARCHAR",
                "p_detail": "VARCHAR",
            },
        ),
        (
            "lk_when",
            keyed["ordered_at"],
            lambda v: _when(v, zone),
            {"utc": "TIMESTAMP", "day": "VARCHAR", "d_detail": "VARCHAR"},
        ),
        ("lk_desc", keyed["description"], _text, {"description": "VARCHAR", "d_trim": "BOOLEAN"}),
        ("lk_country", keyed["country"], _text, {"country": "VARCHAR", "c_trim": "BOOLEAN"}),
        (
            "lk_cust",
            keyed["customer_id"],
            _customer,
            {"customer_id": "VARCHAR", "guest": "BOOLEAN", "normalised": "BOOLEAN"},
        ),
    ]
    for name, key, read, out in lookups:
        values = [v for (v,) in db.execute(f"SELECT DISTINCT {key} FROM {records}").fetchall()]
        _load(db, work, name, [(v, *read(None if v == "\x00" else v)) for v in values], out)
    # A price finer than the lake's 4 places: its rounding is left to the Python path, file by file.
    fine = {
        f
        for (f,) in db.execute(
            f"SELECT DISTINCT f FROM {records} AND {keyed['unit_price']} IN "
            "(SELECT k FROM lk_price WHERE p IS NOT NULL AND NOT p4)"
        ).fetchall()
    }
    if fine:
        batch = [s for s in batch if s.number not in fine]
        db.execute(f"DELETE FROM raw WHERE f IN ({', '.join(map(str, fine))})")
    if not batch:
        return
    joins = " ".join(f"LEFT JOIN {name} ON {name}.k = {key}" for name, key, _, _ in lookups)
    fx_join, price, no_fx, no_fx_detail = "", "pd", "", ""
    if convert:
        # The rate of a (price, local day): only for a tenant whose ERP sells in another currency.
        pairs = db.execute(
            f"SELECT DISTINCT p || '|' || day, p, day FROM {rows} r {joins} "
            "WHERE p IS NOT NULL AND day IS NOT NULL"
        ).fetchall()
        rated = [(k, *_rate(fx, currency, p, day)) for k, p, day in pairs]
        _load(db, work, "lk_fx", rated, {"fx_p": "VARCHAR", "fx_detail": "VARCHAR"})
        fx_join, price = "LEFT JOIN lk_fx ON lk_fx.k = p || '|' || day", "CAST(fx_p AS DECIMAL(18,4))"
        no_fx, no_fx_detail = "WHEN fx_p IS NULL THEN 'no_fx_rate'", "WHEN fx_p IS NULL THEN fx_detail"
    # The first failing check wins, in the order erp_orders.clean makes them. Only what the
    # Parquet, the counts and the rejects need is kept, in the files' order (rowid), so that a
    # file's rows are read back in order and its part is a range of the table.
    db.execute(
        "CREATE OR REPLACE TABLE judged AS SELECT n, f, line, extra, order_id, sku, description, q, "
        f"{price} AS price, utc, customer_id, country, cancelled, product, d_trim, c_trim, "
        "guest, normalised, "
        "CASE WHEN extra IS NOT NULL THEN 'malformed_row' WHEN order_id IS NULL THEN 'missing_order_id' "
        "WHEN sku IS NULL THEN 'missing_sku' WHEN q_reason IS NOT NULL THEN q_reason "
        "WHEN p_reason IS NOT NULL THEN p_reason WHEN d_detail IS NOT NULL THEN 'bad_date' "
        f"{no_fx} END AS reason, "
        "CASE WHEN extra IS NOT NULL THEN $$" + _MALFORMED + "$$ "
        "WHEN order_id IS NULL THEN 'the line names no order' "
        "WHEN sku IS NULL THEN 'the line names no product code' WHEN q_reason IS NOT NULL THEN q_detail "
        "WHEN p_reason IS NOT NULL THEN p_detail WHEN d_detail IS NOT NULL THEN d_detail "
        f"{no_fx_detail} END AS detail "
        f"FROM {rows} r {joins} {fx_join} ORDER BY n"
    )
    counts, reasons, rejects = _results(db, header)
    manifests = [
        _manifest(staged, counts[staged.number], reasons[staged.number], convert) for staged in batch
    ]
    parts = _parts(db, work, batch, manifests, fx.tenant_currency)
    for staged, manifest, written in zip(batch, manifests, parts, strict=True):
        yield staged.name, BulkCurated(manifest, rejects[staged.number], written)


def _results(
    db: duckdb.DuckDBPyConnection, header: list[str]
) -> tuple[dict[int, list[int]], dict[int, Counter[str]], dict[int, list[Reject]]]:
    """Per file (its number): the manifest's counts, the reasons' counts and the rejects."""
    counts = {
        f: rest
        for f, *rest in db.execute(
            "SELECT files.f, files.lines - 1, count(n), "
            "count(n) FILTER (WHERE reason IS NULL), count(n) FILTER (WHERE reason IS NOT NULL), "
            "count(n) FILTER (WHERE reason IS NULL OR reason = 'no_fx_rate'), "
            "count(n) FILTER (WHERE reason IS NULL AND cancelled), "
            "count(n) FILTER (WHERE reason IS NULL AND NOT product), "
            "count(n) FILTER (WHERE reason IS NULL AND product AND NOT cancelled AND q < 0), "
            "count(n) FILTER (WHERE reason IS NULL AND d_trim) "
            "+ count(n) FILTER (WHERE reason IS NULL AND c_trim), "
            "count(n) FILTER (WHERE reason IS NULL AND guest), "
            "count(n) FILTER (WHERE reason IS NULL AND normalised) "
            "FROM files LEFT JOIN judged USING (f) GROUP BY files.f, files.lines"
        ).fetchall()
    }
    reasons: defaultdict[int, Counter[str]] = defaultdict(Counter)
    for f, reason, n in db.execute(
        "SELECT f, reason, count(*) FROM judged WHERE reason IS NOT NULL GROUP BY f, reason"
    ).fetchall():
        reasons[f][reason] = n
    rejects: defaultdict[int, list[Reject]] = defaultdict(list)
    cells = ", ".join(f"r.c{i}" for i in range(len(header)))
    for f, line, reason, detail, extra_text, *values in db.execute(
        f"SELECT j.f, j.line, j.reason, j.detail, j.extra, {cells} "
        "FROM judged j JOIN raw r ON r.rowid = j.n WHERE j.reason IS NOT NULL ORDER BY j.n"
    ).fetchall():
        row: dict[str, str | None] = dict(zip(header, values, strict=True))
        if extra_text is not None:
            row["_extra"] = extra_text
        # the header is line 1: the first record is line 2
        rejects[f].append(Reject(line=line, reason=reason, detail=detail, row=row))
    return counts, reasons, rejects


def _parts(
    db: duckdb.DuckDBPyConnection,
    work: Path,
    batch: list[_Staged],
    manifests: list[FileManifest],
    tenant_currency: str,
) -> Iterator[dict[str, bytes]]:
    """Each file's Parquet part (none for a file without curated rows), in the batch's order."""
    currency_sql = tenant_currency.replace("'", "''")

    def part(staged: _Staged) -> dict[str, bytes]:
        # Its own cursor: the batch's files are written side by side (a COPY of one file's rows
        # runs on one thread); `judged` is in the files' order, so a file's rows come in order.
        target, quoted = work / f"part-{staged.number}.parquet", staged.name.replace("'", "''")
        db.cursor().execute(
            "COPY (SELECT order_id, sku, description, CAST(q AS INTEGER) AS quantity, "
            "price AS unit_price, CAST(price * q AS DECIMAL(18,4)) AS amount, "
            f"'{currency_sql}' AS currency, utc AS ordered_at, customer_id, "
            "country, CASE WHEN NOT product THEN 'non_product' WHEN cancelled THEN 'return' "
            "WHEN q < 0 THEN 'stock_adjustment' ELSE 'sale' END AS kind, "
            f"'{quoted}' AS source_file FROM judged WHERE f = {staged.number} AND reason IS NULL) "
            f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
        )
        body = target.read_bytes()
        target.unlink()
        return {ORDER_LINES.name: body}

    [(threads,)] = db.execute("SELECT current_setting('threads')").fetchall()
    with ThreadPoolExecutor(max_workers=max(1, int(threads))) as pool:
        yield from pool.map(lambda s, m: part(s) if m.rows_curated else {}, batch, manifests)


def _manifest(staged: _Staged, counts: Sequence[int], reasons: Counter[str], convert: bool) -> FileManifest:
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
    return FileManifest(
        file=staged.name,
        encoding=staged.encoding,
        rows_in=rows_in,
        rows_curated=curated,
        rows_quarantined=quarantined,
        duplicates_removed=rows_in - kept,
    ).count(+rules, reasons)


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
        return (None, None, None, no.reason, no.detail)
    exact = number == number.quantize(_PLACES) and number < _LARGEST
    text = format(number, "f")
    return (text, text if exact else None, exact, None, None)


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
    return (customer(v, rules), "guest_customer" in rules, "customer_id_normalised" in rules)


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
