"""Lake rows → Parquet bytes, written by DuckDB (the analytics layer; never imported by the API).

Rows go to DuckDB as a CSV in /tmp read back with the table's explicit schema: no pandas or
pyarrow in the layer, and an explicit schema is both fast and exact (DECIMAL stays DECIMAL).
NULL is an unquoted empty field and every text is quoted, so an empty text stays a text and a
text that looks like a number stays a text. Same rows in, same bytes out (row order kept).
"""

import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb

from tandem.adapters.duckdb_erp_orders import curate_erp_orders
from tandem.logic.lake.connectors import ColumnMapping, Connector
from tandem.logic.lake.tables import Table
from tandem.logic.ports import BulkCurated

# The CSV as written by _cell: quoted texts, NULL as an unquoted empty field, ISO dates and times.
_COPY = (
    "COPY (SELECT * FROM read_csv('{source}', columns={{{columns}}}, header=true, auto_detect=false, "
    "quote='\"', escape='\"', nullstr='', allow_quoted_nulls=false, "
    "timestampformat='%Y-%m-%d %H:%M:%S.%f', dateformat='%Y-%m-%d')) "
    "TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
)


class DuckDbParquet:
    def __init__(
        self,
        work_dir: str = "/tmp/tandem-lake",  # noqa: S108 - Lambda's only writable place
        memory_limit: str = "1GB",
        threads: int = 2,
    ) -> None:
        self._work_dir = Path(work_dir)
        self._memory_limit = memory_limit
        self._threads = threads

    @cached_property
    def _db(self) -> duckdb.DuckDBPyConnection:
        self._work_dir.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(
            config={
                "memory_limit": self._memory_limit,
                "threads": self._threads,
                "temp_directory": str(self._work_dir / "spill"),
                # offline: an unknown path or function must fail, not try a download
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
        )

    def encode(self, table: Table, rows: Sequence[Sequence[object]]) -> bytes:
        db = self._db  # made first: it makes the work folder
        with tempfile.TemporaryDirectory(dir=self._work_dir) as work:
            source, target = Path(work) / "rows.csv", Path(work) / "rows.parquet"
            with source.open("w", encoding="utf-8", newline="") as out:
                out.write(",".join(table.column_names) + "\n")
                out.writelines(",".join(map(_cell, row)) + "\n" for row in rows)
            columns = ", ".join(f"'{c.name}': '{c.sql_type}'" for c in table.columns)
            # Only our own names and a private temporary folder enter the SQL, never a value.
            db.execute(_COPY.format(source=source, columns=columns, target=target))
            return target.read_bytes()

    def curate_files(
        self,
        connector: Connector[Any],
        names: Sequence[str],
        read: Callable[[str], bytes],
        mapping: ColumnMapping,
    ) -> Iterator[tuple[str, BulkCurated]]:
        """Raw files curated in SQL where a connector has a SQL implementation (erp_orders:
        tandem.adapters.duckdb_erp_orders), each given as its batch completes; the files it
        declines are not given (the Python connector takes them)."""
        return curate_erp_orders(self._db, self._work_dir, connector, names, read, mapping)

    def curate_file(
        self, connector: Connector[Any], file: str, data: bytes, mapping: ColumnMapping
    ) -> BulkCurated | None:
        """One file through curate_files: None when declined."""
        return dict(self.curate_files(connector, [file], lambda _: data, mapping)).get(file)

    def decode(self, table: Table, body: bytes) -> list[tuple[object, ...]]:
        """The file's rows in the table's column order; a column the file lacks (an older
        schema) reads as NULL, a column it has beyond the table's is left out."""
        db = self._db
        with tempfile.TemporaryDirectory(dir=self._work_dir) as work:
            source = Path(work) / "part.parquet"
            source.write_bytes(body)
            present = {
                row[0]
                for row in db.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(source)]).fetchall()
            }
            columns = ", ".join(
                f'"{c.name}"' if c.name in present else f'CAST(NULL AS {c.sql_type}) AS "{c.name}"'
                for c in table.columns
            )
            # Only the table's own column names and types enter the SQL; the path is a parameter.
            return db.execute(f"SELECT {columns} FROM read_parquet(?)", [str(source)]).fetchall()  # noqa: S608


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # the lake's times are UTC; a TIMESTAMP column (no zone) holds them as such
        return (value.astimezone(UTC) if value.tzinfo else value).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
