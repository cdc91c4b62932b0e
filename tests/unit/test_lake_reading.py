"""Raw files as they arrive: any encoding, gzipped or not, CSV or JSON Lines; nothing lost."""

from __future__ import annotations

import gzip

import pytest

from tandem.logic.lake import erp_orders
from tandem.logic.lake.connectors import curate
from tandem.logic.lake.reading import decode, read_records

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
LINE = "536365,85123A,CAFÉ MUG,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ((HEADER + LINE).encode("utf-8"), "utf-8-sig"),
        (b"\xef\xbb\xbf" + (HEADER + LINE).encode("utf-8"), "utf-8-sig"),  # a byte-order mark
        ((HEADER + LINE).encode("cp1252"), "cp1252"),  # a spreadsheet's export
    ],
    ids=["utf-8", "utf-8 with BOM", "windows-1252"],
)
def test_text_is_read_in_the_encoding_it_came_in(data: bytes, encoding: str) -> None:
    raw = read_records("day.csv", data)
    assert raw.encoding == encoding
    [record] = raw.records
    assert record["Description"] == "CAFÉ MUG"
    assert next(iter(record)) == "InvoiceNo"  # no byte-order mark glued to the first column


def test_bytes_no_encoding_can_read_are_read_as_latin_1_never_refused() -> None:
    text, encoding = decode(b"caf\xe9 \x81\x8d")
    assert (encoding, text[:4]) == ("latin-1", "café")


def test_a_gzipped_csv_is_the_csv() -> None:
    raw = read_records("day.csv.gz", gzip.compress((HEADER + LINE).encode()))
    assert [r["StockCode"] for r in raw.records] == ["85123A"]


def test_json_lines_with_a_broken_line_keep_it_for_quarantine() -> None:
    data = b'{"InvoiceNo": "536365", "StockCode": "85123A", "Quantity": 6}\n\nnot json\n[1, 2]\n'
    raw = read_records("day.jsonl", data)
    assert raw.records[0] == {"InvoiceNo": "536365", "StockCode": "85123A", "Quantity": "6"}
    curated = curate(erp_orders.connector(), "day.jsonl", raw.records)
    assert curated.manifest.rows_in == 3
    assert curated.manifest.quarantined_by_reason["malformed_row"] == 2
    assert curated.manifest.balanced


def test_a_csv_row_with_more_fields_than_the_header_is_quarantined_as_it_was_written() -> None:
    raw = read_records("day.csv", (HEADER + LINE + LINE.rstrip("\n") + ",surplus,fields\n").encode())
    curated = curate(erp_orders.connector(), "day.csv", raw.records)
    assert (curated.manifest.rows_curated, curated.manifest.quarantined_by_reason) == (
        1,
        {"malformed_row": 1},
    )
    assert curated.rejects[0].row["_extra"] == "surplus,fields"


def test_an_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"\.csv, \.jsonl or \.ndjson"):
        read_records("day.xlsx", b"")
