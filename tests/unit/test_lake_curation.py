"""Raw files → the curated lake, per (tenant, source, date): every raw file read, curated or
quarantined, written as its tables' parts, and counted in a manifest that balances and is the
same bytes on a re-run."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

import pytest

from tandem.logic.lake.connectors import ColumnMapping, Connector
from tandem.logic.lake.curation import (
    CurationDeps,
    PartitionChanged,
    assemble_day,
    curate_day,
    curate_partition,
)
from tandem.logic.lake.sources import sources
from tandem.logic.ports import BulkCurated
from tandem.models.lake import FileManifest
from tandem.models.lake_config import LakeConfig
from tests.fakes import FakeLakeObjects, FakeParquet, FakeRawFiles
from tests.shared_data import SHARED_DATA, read_rows

DAY = date(2010, 12, 1)
RETAIL = SHARED_DATA / "online_retail" / "by-day" / "2010-12-01.csv"
ADS = SHARED_DATA / "ads" / "KAG_conversion_data.csv"
needs_data = pytest.mark.skipif(not RETAIL.is_file() or not ADS.is_file(), reason="../shared/data is absent")
SOURCES = sources(LakeConfig(), "Europe/London")
DIRTY = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "900001,85123A,HEART,6,2010-12-01 09:00:00,2.55,17850.0,United Kingdom\n"
    "900001,85123A,HEART,lots,2010-12-01 09:00:00,2.55,17850.0,United Kingdom\n"
    "900002,85123A,HEART,1,31/12/2010 25:00,2.55,,France\n"
)
LINES = "curated/order_lines/tenant=acme/date=2010-12-01/"


def _raw() -> FakeRawFiles:
    raw = FakeRawFiles()
    raw.add("acme", "erp_orders", DAY, RETAIL.name, RETAIL.read_bytes())
    raw.add("acme", "erp_orders", DAY, "late-entries.csv.gz", gzip.compress(DIRTY.encode("cp1252")))
    raw.add("acme", "erp_orders", DAY, "notes.xlsx", b"PK\x03\x04")
    raw.add("acme", "ads_spend", DAY, ADS.name, ADS.read_bytes())
    raw.add("zeta", "erp_orders", DAY, RETAIL.name, RETAIL.read_bytes())  # another tenant's: not read
    return raw


def _deps(raw: FakeRawFiles, objects: FakeLakeObjects | None = None) -> CurationDeps:
    return CurationDeps(raw=raw, objects=objects or FakeLakeObjects(), parquet=FakeParquet(), sources=SOURCES)


@needs_data
def test_a_day_of_every_source_is_curated_quarantined_and_counted() -> None:
    objects = FakeLakeObjects()
    manifest = curate_day("acme", DAY, _deps(_raw(), objects))
    assert manifest.balanced
    orders = {m.file: m for m in manifest.sources["erp_orders"]}
    assert set(orders) == {"2010-12-01.csv", "late-entries.csv.gz", "notes.xlsx"}
    assert (orders["2010-12-01.csv"].rows_in, orders["2010-12-01.csv"].encoding) == (3108, "utf-8-sig")
    late = orders["late-entries.csv.gz"]
    assert (late.rows_in, late.rows_curated, late.encoding) == (3, 1, "utf-8-sig")
    assert late.quarantined_by_reason == {"bad_date": 1, "bad_quantity": 1}
    assert orders["notes.xlsx"].error is not None
    assert orders["notes.xlsx"].rows_in == 0
    [ads] = manifest.sources["ads_spend"]
    assert (ads.rows_in, ads.rows_curated) == (1143, 1143)
    # Each file's rows are in its own parts: sales and returns apart, counted independently
    source_rows = read_rows(RETAIL)
    # a return: a cancellation ("C" invoice) of a product (5 digits, up to 2 letters), duplicates once
    returns = len(
        {
            tuple(sorted(r.items()))
            for r in source_rows
            if r["InvoiceNo"].startswith("C") and re.fullmatch(r"\d{5}[A-Za-z]{0,2}", r["StockCode"])
        }
    )
    part = FakeParquet.rows(objects.objects[f"{LINES}erp_orders__2010-12-01.csv.parquet"])
    assert sum(1 for row in part if row["kind"] == "return") == returns
    assert len(part) == orders["2010-12-01.csv"].rows_curated
    assert {row["source_file"] for row in part} == {"2010-12-01.csv"}
    [late_row] = FakeParquet.rows(objects.objects[f"{LINES}erp_orders__late-entries.csv.gz.parquet"])
    assert (late_row["order_id"], late_row["customer_id"], late_row["quantity"]) == ("900001", "17850", 6)
    assert (
        len(
            FakeParquet.rows(
                objects.objects[
                    "curated/ad_spend/tenant=acme/date=2010-12-01/ads_spend__KAG_conversion_data.csv.parquet"
                ]
            )
        )
        == 1143
    )
    assert not any("tenant=zeta" in key for key in objects.objects)
    # The quarantine holds each refused row as it came; the manifest is where the layout says
    rejects = objects.objects["quarantine/acme/erp_orders/2010-12-01/rejects.jsonl"].decode().splitlines()
    assert sorted(json.loads(line)["reason"] for line in rejects) == ["bad_date", "bad_quantity"]
    assert json.loads(rejects[0])["file"] == "late-entries.csv.gz"
    assert "quarantine/acme/ads_spend/2010-12-01/rejects.jsonl" not in objects.objects  # nothing refused
    stored = json.loads(objects.objects["manifests/acme/2010-12-01.json"])
    assert stored["sources"]["ads_spend"][0]["rows_curated"] == 1143
    assert objects.content_types["manifests/acme/2010-12-01.json"] == "application/json"


@needs_data
def test_a_rerun_of_a_day_writes_the_same_bytes() -> None:
    first, again = FakeLakeObjects(), FakeLakeObjects()
    curate_day("acme", DAY, _deps(_raw(), first))
    curate_day("acme", DAY, _deps(_raw(), again))
    curate_day("acme", DAY, _deps(_raw(), again))
    assert first.objects == again.objects


def test_a_file_gone_takes_its_parts_and_rejects_with_it() -> None:
    raw, objects = FakeRawFiles(), FakeLakeObjects()
    raw.add("acme", "erp_orders", DAY, "a.csv", DIRTY.encode())
    raw.add("acme", "erp_orders", DAY, "b.csv", DIRTY.encode())
    curate_day("acme", DAY, _deps(raw, objects))
    assert objects.keys(LINES) == [f"{LINES}erp_orders__a.csv.parquet", f"{LINES}erp_orders__b.csv.parquet"]
    del raw.files[("acme", "erp_orders", DAY, "b.csv")]
    manifest = curate_day("acme", DAY, _deps(raw, objects))
    assert objects.keys(LINES) == [f"{LINES}erp_orders__a.csv.parquet"]
    assert [m.file for m in manifest.sources["erp_orders"]] == ["a.csv"]
    del raw.files[("acme", "erp_orders", DAY, "a.csv")]
    manifest = curate_day("acme", DAY, _deps(raw, objects))
    assert manifest.sources == {}
    assert objects.keys("curated/") == []
    assert objects.keys("quarantine/") == []


def test_a_day_without_files_still_has_its_manifest() -> None:
    objects = FakeLakeObjects()
    manifest = curate_day("acme", DAY, _deps(FakeRawFiles(), objects))
    assert manifest.sources == {}
    assert json.loads(objects.objects["manifests/acme/2010-12-01.json"])["sources"] == {}


class _LandingRaw(FakeRawFiles):
    """Raw files where another file lands while the first listing is being curated."""

    def __init__(self, landings: int) -> None:
        super().__init__()
        self.landings = landings
        self.listed = 0

    def names(self, tenant_id: str, source: str, day: date) -> list[str]:
        names = super().names(tenant_id, source, day)
        self.listed += 1
        if self.listed % 2 == 1 and self.landings:
            self.landings -= 1
            self.add(tenant_id, source, day, f"late-{self.landings}.csv", DIRTY.encode())
        return names


def test_a_file_landing_meanwhile_is_curated_in_the_next_round() -> None:
    raw, objects = _LandingRaw(landings=2), FakeLakeObjects()
    raw.add("acme", "erp_orders", DAY, "a.csv", DIRTY.encode())
    files = curate_partition("acme", "erp_orders", DAY, _deps(raw, objects))
    assert [m.file for m in files] == ["a.csv", "late-0.csv", "late-1.csv"]
    assert len(objects.keys(LINES)) == 3


def test_files_that_never_stop_landing_leave_the_message_to_be_retried() -> None:
    raw = _LandingRaw(landings=100)
    with pytest.raises(PartitionChanged):
        curate_partition("acme", "erp_orders", DAY, _deps(raw))


def test_the_days_manifest_gathers_every_sources_part() -> None:
    raw, objects = FakeRawFiles(), FakeLakeObjects()
    raw.add("acme", "erp_orders", DAY, "a.csv", DIRTY.encode())
    raw.add("acme", "crm_leads", DAY, "leads.csv", b"mql_id,first_contact_date,landing_page_id,origin\n")
    deps = _deps(raw, objects)
    curate_partition("acme", "erp_orders", DAY, deps)
    curate_partition("acme", "crm_leads", DAY, deps)
    manifest = assemble_day("acme", DAY, deps)
    assert sorted(manifest.sources) == ["crm_leads", "erp_orders"]
    assert manifest.sources["crm_leads"][0].rows_in == 0


class _Bulk:
    """A BulkCurator that takes the files named `sql-*` (as the SQL path takes what it can)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def curate_files(
        self,
        connector: Connector[Any],
        names: Sequence[str],
        read: Callable[[str], bytes],
        mapping: ColumnMapping,
    ) -> Iterator[tuple[str, BulkCurated]]:
        del connector, mapping  # what the SQL would use; this stand-in goes by the name
        for file in names:
            self.asked.append(file)
            if file.startswith("sql-"):
                assert read(file)  # the bulk path reads the files it takes itself
                manifest = FileManifest(file=file, rows_in=1, rows_curated=1)
                yield (
                    file,
                    BulkCurated(manifest=manifest, rejects=[], parts={"order_lines": b"PAR1 from SQL"}),
                )


def test_a_file_the_bulk_path_takes_is_its_and_the_others_go_through_python() -> None:
    raw, objects, bulk = FakeRawFiles(), FakeLakeObjects(), _Bulk()
    raw.add("acme", "erp_orders", DAY, "sql-a.csv", DIRTY.encode())
    raw.add("acme", "erp_orders", DAY, "b.csv", DIRTY.encode())
    deps = CurationDeps(raw=raw, objects=objects, parquet=FakeParquet(), sources=SOURCES, bulk=bulk)
    files = {m.file: m for m in curate_partition("acme", "erp_orders", DAY, deps)}
    assert bulk.asked == ["b.csv", "sql-a.csv"]
    assert objects.objects[f"{LINES}erp_orders__sql-a.csv.parquet"] == b"PAR1 from SQL"
    assert files["sql-a.csv"].rows_curated == 1
    assert files["b.csv"].rows_in == 3  # the Python connector's count of the dirty file
    assert FakeParquet.rows(objects.objects[f"{LINES}erp_orders__b.csv.parquet"])
