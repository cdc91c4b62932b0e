"""`payment_disputes`: the provider's disputes export curated, each rule counted, into its lake table."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

from tandem.logic.lake.connectors import curate
from tandem.logic.lake.curation import CurationDeps, curate_partition
from tandem.logic.lake.sources import EXPORT_SOURCES, SOURCE_NAMES, sources
from tandem.logic.lake.tables import SOURCE_TABLES
from tandem.models.lake_config import LakeConfig
from tests.fakes import FakeLakeObjects, FakeParquet, FakeRawFiles

DAY = date(2026, 12, 1)
EXPORT = (
    "dispute_id,order_id,kind,amount,currency,opened_at\n"
    "dp_1,ord-1,chargeback,25.00,GBP,2026-12-01T09:30:00Z\n"
    "dp_2, ord-2 ,Fraudulent,10,gbp,2026-12-01T10:30:00+01:00\n"  # trimmed, synonym, offset
    "dp_3,ord-3,inquiry,5.5,EUR,2026-07-01 12:00:00\n"  # local (London, summer time): 11:00 UTC
    "dp_4,,chargeback,1,GBP,2026-12-01\n"
    "dp_5,ord-5,refund,1,GBP,2026-12-01\n"
    "dp_6,ord-6,fraud,-3,GBP,2026-12-01\n"
    "dp_7,ord-7,fraud,3,pounds,2026-12-01\n"
    "dp_8,ord-8,fraud,3,GBP,yesterday\n"
    "dp_1,ord-1,chargeback,25.00,GBP,2026-12-01T09:30:00Z\n"  # a duplicate line
)
CONNECTOR = sources(LakeConfig(), "Europe/London")["payment_disputes"]


def test_disputes_are_cleaned_refused_and_counted() -> None:
    result = curate(CONNECTOR.connector, "disputes.csv", csv.DictReader(io.StringIO(EXPORT)))
    rows = {row.dispute_id: row for row in result.rows}
    assert set(rows) == {"dp_1", "dp_2", "dp_3"}
    assert (rows["dp_1"].kind, rows["dp_1"].amount, rows["dp_1"].opened_at) == (
        "chargeback",
        Decimal("25.00"),
        datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    )
    assert (rows["dp_2"].order_id, rows["dp_2"].kind, rows["dp_2"].currency) == ("ord-2", "fraud", "GBP")
    assert rows["dp_2"].opened_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert (rows["dp_3"].kind, rows["dp_3"].opened_at) == ("other", datetime(2026, 7, 1, 11, 0, tzinfo=UTC))
    manifest = result.manifest
    assert (manifest.rows_in, manifest.rows_curated, manifest.duplicates_removed) == (9, 3, 1)
    assert manifest.quarantined_by_reason == {
        "missing_order_id": 1,
        "bad_kind": 1,
        "negative_amount": 1,
        "bad_currency": 1,
        "bad_date": 1,
    }
    # Fraudulent → fraud, inquiry → other; an offset and a local time turned to UTC; " ord-2 " trimmed
    assert manifest.rules_applied == {"kind_normalised": 2, "time_to_utc": 2, "trimmed_text": 1}


def test_disputes_are_a_source_a_shop_sends_with_their_own_table() -> None:
    assert "payment_disputes" in SOURCE_NAMES
    assert "payment_disputes" in EXPORT_SOURCES
    assert SOURCE_TABLES["payment_disputes"] == ("payment_disputes",)


def test_a_disputes_file_becomes_its_part_of_the_lake() -> None:
    raw, objects, parquet = FakeRawFiles(), FakeLakeObjects(), FakeParquet()
    raw.add("acme", "payment_disputes", DAY, "disputes.csv", EXPORT.encode())
    deps = CurationDeps(
        raw=raw, objects=objects, parquet=parquet, sources=sources(LakeConfig(), "Europe/London")
    )
    curate_partition("acme", "payment_disputes", DAY, deps)
    key = "curated/payment_disputes/tenant=acme/date=2026-12-01/payment_disputes__disputes.csv.parquet"
    body = objects.get(key)
    assert body is not None
    stored = parquet.rows(body)
    assert [(row["dispute_id"], row["order_id"], row["kind"]) for row in stored] == [
        ("dp_1", "ord-1", "chargeback"),
        ("dp_2", "ord-2", "fraud"),
        ("dp_3", "ord-3", "other"),
    ]
    assert {row["source_file"] for row in stored} == {"disputes.csv"}
