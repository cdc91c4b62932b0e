"""LakeQuery with DuckDB (the analytics layer): a report's SQL over the Parquet parts it needs.

The parts of the partitions asked for are copied (DOWNLOADS at a time) from the lake (LakeObjects:
the data bucket) into a folder of their own under /tmp, laid out as their keys
(`curated/{table}/tenant=…/date=…/…`, so DuckDB reads `tenant` and `date` from the folders), and
each table becomes a view of its parts in a fresh in-memory database. Nothing outlives the query:
the folder and the database go with it, so a warm Lambda keeps no tenant's rows. Values come in as
bound parameters; the only text written into SQL is a table's name from tandem.logic.lake.tables
and the paths of the copied parts, quoted.
"""

import re
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from tandem.logic.lake.tables import TABLES, curated_prefix
from tandem.logic.ports import LakeObjects, LakeStatement

_DATE = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")
# Parts fetched at once: a year of daily parts is hundreds of small GETs, each mostly waiting.
DOWNLOADS = 8


class DuckDbLakeQuery:
    def __init__(
        self,
        objects: LakeObjects,
        work_dir: str = "/tmp/tandem-reports",  # noqa: S108 - Lambda's only writable place
        memory_limit: str = "1GB",
        threads: int = 2,
    ) -> None:
        self._objects = objects
        self._work_dir = Path(work_dir)
        self._memory_limit = memory_limit
        self._threads = threads

    def _parts(self, tenant_id: str, table: str) -> dict[date, list[str]]:
        prefix = curated_prefix(table, tenant_id, date(2000, 1, 1)).split("/date=")[0] + "/"
        found: dict[date, list[str]] = {}
        for key in self._objects.keys(prefix):
            if match := _DATE.search(key):
                found.setdefault(date.fromisoformat(match.group(1)), []).append(key)
        return found

    def partition_dates(self, tenant_id: str, table: str) -> list[date]:
        return sorted(self._parts(tenant_id, table))

    def query(
        self, tenant_id: str, reads: Mapping[str, Sequence[date]], statements: Sequence[LakeStatement]
    ) -> list[list[tuple[Any, ...]]]:
        self._work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self._work_dir) as work:
            db = duckdb.connect(
                config={
                    "memory_limit": self._memory_limit,
                    "threads": self._threads,
                    "temp_directory": str(Path(work) / "spill"),
                    # offline: an unknown function must fail, not try a download
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                }
            )
            try:
                for table, days in reads.items():
                    self._view(db, Path(work), tenant_id, table, set(days))
                return [db.execute(sql, dict(parameters)).fetchall() for sql, parameters in statements]
            finally:
                db.close()

    def _view(
        self, db: duckdb.DuckDBPyConnection, work: Path, tenant_id: str, table: str, days: set[date]
    ) -> None:
        if table not in TABLES:
            raise ValueError(f"not a lake table: {table!r}")
        wanted = [
            key for day, keys in sorted(self._parts(tenant_id, table).items()) if day in days for key in keys
        ]

        def fetch(key: str) -> str | None:
            body = self._objects.get(key)
            if body is None:  # deleted since the listing (a night re-run): not part of the read
                return None
            path = work / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            return str(path)

        with ThreadPoolExecutor(max_workers=DOWNLOADS) as pool:
            files = [file for file in pool.map(fetch, wanted) if file is not None]
        if files:
            listed = ", ".join("'" + file.replace("'", "''") + "'" for file in files)
            db.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "  # noqa: S608 - our table name and paths
                "hive_types = {'tenant': VARCHAR, 'date': DATE}, filename = true)"
            )
            return
        columns = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in TABLES[table].columns)
        db.execute(
            f"CREATE VIEW {table} AS SELECT {columns}, CAST(NULL AS VARCHAR) AS tenant, "
            'CAST(NULL AS DATE) AS "date", CAST(NULL AS VARCHAR) AS filename WHERE false'
        )
