"""POST /ingest/{source}'s use case and envelope: raw files landed under their raw key, inline or by URL."""

from __future__ import annotations

import base64
import gzip
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tandem.logic import ingest
from tandem.logic.errors import InvalidRequestError, NotFoundError
from tandem.logic.lake import layout
from tandem.logic.lake.sources import EXPORT_SOURCES
from tandem.models.ingest import (
    FILE_NAME_PATTERN,
    MAX_INLINE_BYTES,
    RAW_FILE_SUFFIXES,
    FileStored,
    IngestRequest,
    UploadAwaited,
)
from tests.fakes import FakeClock, FakeRawUploads

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
CSV = "InvoiceNo,StockCode,Quantity\n536365,85123A,6\n"


def deps(uploads: FakeRawUploads, now: datetime = NOW, zone: ZoneInfo = LONDON) -> ingest.IngestDeps:
    return ingest.IngestDeps(uploads=uploads, clock=FakeClock(now), zone=zone)


def envelope(**fields: object) -> IngestRequest:
    return IngestRequest.model_validate({"file_name": "orders.csv", **fields})


# --- the use case ---------------------------------------------------------------------------------


def test_inline_text_is_stored_as_utf8_under_its_raw_key() -> None:
    uploads = FakeRawUploads()
    text = CSV + "536366,22633,6,Café\n"
    answer = ingest.accept_file(
        "acme", "erp_orders", envelope(content=text, date="2026-11-27"), deps(uploads)
    )
    key = "raw/acme/erp_orders/2026-11-27/orders.csv"
    assert answer == FileStored(
        key=key, source="erp_orders", date=date(2026, 11, 27), file_name="orders.csv", status="stored"
    )
    assert uploads.objects == {key: text.encode("utf-8")}
    assert uploads.content_types == {key: "text/csv"}
    assert uploads.presigned == []


def test_inline_base64_is_stored_byte_for_byte() -> None:
    uploads = FakeRawUploads()
    packed = gzip.compress(CSV.encode("cp1252"))
    request = envelope(file_name="orders.csv.gz", content_base64=base64.b64encode(packed).decode())
    answer = ingest.accept_file("acme", "erp_orders", request, deps(uploads))
    assert uploads.objects == {answer.key: packed}
    assert uploads.content_types == {answer.key: "application/gzip"}


def test_without_content_the_answer_is_a_presigned_upload_of_15_minutes_and_nothing_is_stored() -> None:
    uploads = FakeRawUploads()
    answer = ingest.accept_file("acme", "ads_spend", envelope(file_name="spend.jsonl"), deps(uploads))
    key = "raw/acme/ads_spend/2026-11-28/spend.jsonl"
    assert isinstance(answer, UploadAwaited)
    assert (answer.key, answer.status) == (key, "awaiting_upload")
    assert uploads.presigned == [(key, "application/x-ndjson", 900)]
    assert answer.upload.method == "PUT"
    assert answer.upload.url == f"https://uploads.example/{key}?ttl=900"
    assert answer.upload.headers == {"Content-Type": "application/x-ndjson"}
    assert answer.upload.expires_at == NOW + timedelta(minutes=15)
    assert uploads.objects == {}


@pytest.mark.parametrize(
    ("now", "zone", "today"),
    [
        # 23:30 UTC is already tomorrow in Auckland (UTC+13 in November), still today in London
        (datetime(2026, 11, 28, 23, 30, tzinfo=UTC), ZoneInfo("Pacific/Auckland"), date(2026, 11, 29)),
        (datetime(2026, 11, 28, 23, 30, tzinfo=UTC), LONDON, date(2026, 11, 28)),
        # 03:00 UTC is still yesterday in New York
        (datetime(2026, 11, 28, 3, 0, tzinfo=UTC), ZoneInfo("America/New_York"), date(2026, 11, 27)),
    ],
)
def test_a_file_without_a_date_is_todays_in_the_reporting_zone(
    now: datetime, zone: ZoneInfo, today: date
) -> None:
    uploads = FakeRawUploads()
    answer = ingest.accept_file("acme", "crm_leads", envelope(content=CSV), deps(uploads, now, zone))
    assert answer.date == today
    assert answer.key == f"raw/acme/crm_leads/{today.isoformat()}/orders.csv"


def test_a_date_up_to_one_day_ahead_is_taken_and_a_later_one_refused_as_a_whole_body_error() -> None:
    uploads = FakeRawUploads()
    tomorrow = ingest.accept_file(
        "acme", "erp_orders", envelope(content=CSV, date="2026-11-29"), deps(uploads)
    )
    assert tomorrow.date == date(2026, 11, 29)
    with pytest.raises(InvalidRequestError) as refused:
        ingest.accept_file("acme", "erp_orders", envelope(content=CSV, date="2026-11-30"), deps(uploads))
    assert refused.value.code == "validation_error"
    assert [(d["loc"], d["type"], d["ctx"]) for d in refused.value.details] == [
        (["body"], "date_too_late", {"latest": "2026-11-29"})
    ]
    assert list(uploads.objects) == [tomorrow.key]


def test_an_unknown_source_is_not_found_and_the_answer_names_every_known_one() -> None:
    uploads = FakeRawUploads()
    with pytest.raises(NotFoundError) as refused:
        ingest.accept_file("acme", "erp_invoices", envelope(content=CSV), deps(uploads))
    assert all(name in refused.value.message for name in EXPORT_SOURCES)
    assert "erp_invoices" not in refused.value.message
    (detail,) = refused.value.details
    assert (detail["loc"], detail["type"], detail["ctx"]) == (
        ["path", "source"], "unknown_source", {"sources": list(EXPORT_SOURCES)},
    )  # fmt: skip
    assert (uploads.objects, uploads.presigned) == ({}, [])


def test_every_known_source_takes_files() -> None:
    uploads = FakeRawUploads()
    for source in EXPORT_SOURCES:
        ingest.accept_file("acme", source, envelope(content=CSV), deps(uploads))
    assert sorted(uploads.objects) == [f"raw/acme/{s}/2026-11-28/orders.csv" for s in sorted(EXPORT_SOURCES)]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.csv", "text/csv"),
        ("a.csv.gz", "application/gzip"),
        ("a.jsonl", "application/x-ndjson"),
        ("a.jsonl.gz", "application/gzip"),
        ("a.ndjson", "application/x-ndjson"),
        ("a.json", "application/json"),
        ("archive.gz.csv", "text/csv"),
    ],
)
def test_the_content_type_follows_the_suffix(name: str, content_type: str) -> None:
    assert ingest.content_type_of(name) == content_type


def test_every_accepted_suffix_has_a_content_type() -> None:
    assert all(
        ingest.content_type_of(f"a{suffix}") != "application/octet-stream" for suffix in RAW_FILE_SUFFIXES
    )


# --- the envelope ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../orders.csv",
        "../../other-tenant/erp_orders/2026-11-28/x.csv",
        "a/../../b.csv",
        "erp_orders/x.csv",
        "..csv",
        "a..csv",
        "a.csv/..",
        ".hidden.csv",
        "-dash.csv",
        "orders.csv.",
        "orders",
        "orders.txt",
        "orders.xlsx",
        "orders.ndjson.gz",
        "orders.csv.zip",
        "or ders.csv",
        "orders%2F.csv",
        "orders\\x.csv",
        "orders.csv\n",
        "ørders.csv",
        "a" * 197 + ".csv",
        "",
    ],
)
def test_file_names_that_could_climb_out_or_that_the_lake_does_not_read_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        envelope(file_name=name, content=CSV)
    (error,) = refused.value.errors()
    assert (error["loc"], error["type"]) == (("file_name",), "file_name")
    # The message says the whole rule, suffixes included, and never repeats the name
    assert all(suffix in error["msg"] for suffix in RAW_FILE_SUFFIXES)
    assert len(name) < 4 or name not in error["msg"]


def test_the_longest_name_the_lake_keeps_is_taken() -> None:
    assert envelope(file_name="a" * 196 + ".csv", content=CSV).file_name.endswith(".csv")


_LAKE_NAMES = st.from_regex(layout.FILE_NAME_PATTERN, fullmatch=True)
# Names the lake keeps, half of them given one of the suffixes (few random names end in one).
_NAMES = st.one_of(
    _LAKE_NAMES,
    st.tuples(_LAKE_NAMES, st.sampled_from(RAW_FILE_SUFFIXES)).map(lambda pair: pair[0][:190] + pair[1]),
)


@given(_NAMES)
def test_the_envelope_takes_exactly_the_lake_names_without_dot_dot_that_end_in_a_known_suffix(
    name: str,
) -> None:
    expected = ".." not in name and name.endswith(RAW_FILE_SUFFIXES)
    assert bool(re.fullmatch(FILE_NAME_PATTERN, name)) == expected


@given(st.from_regex(FILE_NAME_PATTERN, fullmatch=True).filter(lambda name: len(name) <= 200))
def test_every_name_the_envelope_takes_makes_a_raw_key(name: str) -> None:
    request = envelope(file_name=name, content="x")
    assert layout.raw_key("acme", "erp_orders", date(2026, 11, 28), request.file_name).endswith(f"/{name}")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"content": "a", "content_base64": "YQ=="}, "not both"),
        ({"content": ""}, "at least 1 character"),
        ({"content_base64": "not base64!"}, "should match pattern"),
        ({"content_base64": "YQ=a"}, "should match pattern"),
        ({"content": "\ud800"}, "valid string"),
        ({"date": "1999-12-31"}, "years 2000 to 2100"),
        ({"date": "2026-02-30"}, "valid date"),
        ({"date": "28/11/2026"}, "years 2000 to 2100"),
        ({"tenant_id": "bravo"}, "Extra inputs are not permitted"),
        ({"key": "raw/bravo/erp_orders/2026-11-28/x.csv"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_envelopes_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        envelope(**fields)


def test_the_earliest_date_is_2000_01_01() -> None:
    assert envelope(date="2000-01-01").date == date(2000, 1, 1)


def test_inline_files_are_at_most_1_mib_decoded_counted_in_bytes() -> None:
    assert len(envelope(content="x" * MAX_INLINE_BYTES).inline_body() or b"") == MAX_INLINE_BYTES
    # 'é' is two bytes in UTF-8: within the schema's length in characters, over the limit in bytes
    with pytest.raises(ValidationError, match="at most 1048576 bytes"):
        envelope(content="é" * (MAX_INLINE_BYTES // 2 + 1))
    exact = base64.b64encode(b"\0" * MAX_INLINE_BYTES).decode()
    assert len(envelope(content_base64=exact).inline_body() or b"") == MAX_INLINE_BYTES
    # The longest base64 the schema allows without padding decodes to 2 bytes too many
    over = base64.b64encode(b"\0" * (MAX_INLINE_BYTES + 2)).decode()
    with pytest.raises(ValidationError, match="at most 1048576 bytes"):
        envelope(content_base64=over)


def test_no_content_means_an_upload() -> None:
    assert envelope().inline_body() is None
    assert envelope(content=None, content_base64=None).inline_body() is None
