"""The lake's keys, its quarantine lines and its run manifest."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tandem.logic.lake import erp_orders
from tandem.logic.lake.connectors import curate
from tandem.logic.lake.layout import RunManifest, manifest_key, quarantine_key, raw_key, rejects_jsonl

DAY = date(2010, 12, 1)


def test_keys_follow_the_documented_layout() -> None:
    assert (
        raw_key("acme", "erp_orders", DAY, "2010-12-01.csv")
        == "raw/acme/erp_orders/2010-12-01/2010-12-01.csv"
    )
    assert quarantine_key("acme", "crm_leads", DAY) == "quarantine/acme/crm_leads/2010-12-01/rejects.jsonl"
    assert manifest_key("acme", DAY) == "manifests/acme/2010-12-01.json"


@pytest.mark.parametrize(
    ("tenant", "source", "name"),
    [
        ("../acme", "erp_orders", "a.csv"),
        ("acme", "erp/orders", "a.csv"),
        ("acme", "erp_orders", "../../secrets.csv"),
        ("acme", "erp_orders", "sub/dir.csv"),
        ("Acme", "erp_orders", "a.csv"),
        ("acme", "erp_orders", ""),
    ],
)
def test_a_part_that_could_leave_its_prefix_is_refused(tenant: str, source: str, name: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        raw_key(tenant, source, DAY, name)


def _curated() -> object:
    good = {
        "InvoiceNo": "536365", "StockCode": "85123A", "Description": "Heart", "Quantity": "6",
        "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": "2.55", "CustomerID": "", "Country": "EIRE",
    }  # fmt: skip
    return curate(erp_orders.connector(), "2010-12-01.csv", [good, {**good, "Quantity": "lots"}, good])


def test_a_reject_line_keeps_the_row_as_it_came_with_its_file_line_and_reason() -> None:
    curated = _curated()
    [line] = rejects_jsonl("2010-12-01.csv", curated.rejects).decode().splitlines()  # type: ignore[attr-defined]
    reject = json.loads(line)
    assert (reject["file"], reject["line"], reject["reason"]) == ("2010-12-01.csv", 3, "bad_quantity")
    assert reject["row"]["Quantity"] == "lots"
    assert reject["row"]["Description"] == "Heart"


def test_the_run_manifest_is_stable_bytes_and_balanced() -> None:
    manifest = _curated().manifest  # type: ignore[attr-defined]
    other = manifest.model_copy(update={"file": "2010-12-00.csv"})
    first = RunManifest(tenant_id="acme", date=DAY, sources={"erp_orders": [manifest, other]})
    again = RunManifest(tenant_id="acme", date=DAY, sources={"erp_orders": [other, manifest]})
    assert first.to_json() == again.to_json()  # a re-run writes the same manifest
    assert first.balanced
    document = json.loads(first.to_json())
    [earlier, day] = document["sources"]["erp_orders"]
    assert earlier["file"] == "2010-12-00.csv"
    assert (day["rows_in"], day["rows_curated"], day["rows_quarantined"], day["duplicates_removed"]) == (
        3,
        1,
        1,
        1,
    )
    assert day["quarantined_by_reason"] == {"bad_quantity": 1}
