"""A tenant's day curated: every raw file of every source read, curated or quarantined, and a
manifest that balances and is the same bytes on a re-run."""

from __future__ import annotations

import gzip
import json
from datetime import date

import pytest

from tandem.logic.lake import ads_spend, erp_orders
from tandem.logic.lake.curation import CurationDeps, curate_day
from tests.fakes import FakeDocuments, FakeRawFiles
from tests.shared_data import SHARED_DATA

DATA = SHARED_DATA
DAY = date(2010, 12, 1)
RETAIL = DATA / "online_retail" / "by-day" / "2010-12-01.csv"
ADS = DATA / "ads" / "KAG_conversion_data.csv"
needs_data = pytest.mark.skipif(not RETAIL.is_file() or not ADS.is_file(), reason="../shared/data is absent")
CONNECTORS = {"erp_orders": erp_orders.connector("Europe/London"), "ads_spend": ads_spend.connector()}
DIRTY = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "900001,85123A,HEART,6,2010-12-01 09:00:00,2.55,17850.0,United Kingdom\n"
    "900001,85123A,HEART,lots,2010-12-01 09:00:00,2.55,17850.0,United Kingdom\n"
    "900002,85123A,HEART,1,31/12/2010 25:00,2.55,,France\n"
)


def _raw() -> FakeRawFiles:
    raw = FakeRawFiles()
    raw.add("acme", "erp_orders", DAY, RETAIL.name, RETAIL.read_bytes())
    raw.add("acme", "erp_orders", DAY, "late-entries.csv.gz", gzip.compress(DIRTY.encode("cp1252")))
    raw.add("acme", "erp_orders", DAY, "notes.xlsx", b"PK\x03\x04")
    raw.add("acme", "ads_spend", DAY, ADS.name, ADS.read_bytes())
    raw.add("zeta", "erp_orders", DAY, RETAIL.name, RETAIL.read_bytes())  # another tenant's: not read
    return raw


@needs_data
def test_a_day_of_every_source_is_curated_quarantined_and_counted() -> None:
    documents = FakeDocuments()
    day = curate_day("acme", DAY, CurationDeps(raw=_raw(), documents=documents, connectors=CONNECTORS))
    manifest = day.manifest
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
    assert len(day.rows["ads_spend"]) == 1143
    assert len(day.rows["erp_orders"]) == orders["2010-12-01.csv"].rows_curated + 1
    # The quarantine holds each refused row as it came; the manifest is where the layout says
    rejects = documents.objects["quarantine/acme/erp_orders/2010-12-01/rejects.jsonl"].decode().splitlines()
    assert sorted(json.loads(line)["reason"] for line in rejects) == ["bad_date", "bad_quantity"]
    assert json.loads(rejects[0])["file"] == "late-entries.csv.gz"
    assert "quarantine/acme/ads_spend/2010-12-01/rejects.jsonl" not in documents.objects  # nothing refused
    stored = json.loads(documents.objects["manifests/acme/2010-12-01.json"])
    assert stored["sources"]["ads_spend"][0]["rows_curated"] == 1143
    assert documents.content_types["manifests/acme/2010-12-01.json"] == "application/json"


@needs_data
def test_a_rerun_of_a_day_writes_the_same_bytes() -> None:
    first, again = FakeDocuments(), FakeDocuments()
    curate_day("acme", DAY, CurationDeps(raw=_raw(), documents=first, connectors=CONNECTORS))
    curate_day("acme", DAY, CurationDeps(raw=_raw(), documents=again, connectors=CONNECTORS))
    assert first.objects == again.objects


def test_a_day_without_files_still_has_its_manifest() -> None:
    documents = FakeDocuments()
    day = curate_day(
        "acme", DAY, CurationDeps(raw=FakeRawFiles(), documents=documents, connectors=CONNECTORS)
    )
    assert day.manifest.sources == {}
    assert json.loads(documents.objects["manifests/acme/2010-12-01.json"])["sources"] == {}
