"""Hostile and odd inputs are refused by the models and logic with a clear error, never a crash (issue 7)."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from tandem.adapters.cursors import decode_cursor, encode_cursor
from tandem.adapters.orders_table import sortable_time
from tandem.logic import checkout, reports
from tandem.logic.errors import InvalidRequestError, RetryLaterError
from tandem.logic.fingerprints import card_fingerprint
from tandem.logic.orders import validate_period
from tandem.logic.payments import PaymentDeclinedError, validate_card
from tandem.models.api import CURSOR_MAX_LENGTH, REPORT_DATE_PATTERN, ReportRequest
from tandem.models.catalog import PRICE_PATTERN, Product, ProductUpdate
from tandem.models.checkout import (
    AMOUNT_PATTERN,
    EMAIL_PATTERN,
    BlocklistEntry,
    CardBlock,
    CheckoutRequest,
    Email,
    IpBlock,
    ScoreRequest,
)
from tandem.models.payments import (
    CARD_NUMBER_PATTERN,
    CVC_PATTERN,
    EXPIRY_PATTERN,
    CardDetails,
    DeclineCode,
)
from tandem.models.records import JobId, JobStatus, OrderId, ReportParams, Sku
from tests.fakes import FakeClock, FakeDocuments, FakeJobs, FakeOrders, FakeQueue

SECRET = b"k" * 32
PEPPER = b"p" * 32
FULL_WIDTH = "\uff14\uff12"  # "42" in full-width digits: str.isdigit() says yes

# --- 1 and 7: path ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sku", ["85123A", "85123a", "POST", "DCGS0004", "DCGSSGIRL", "gift_0001_40", "MUG-1", "C2", "m", "A" * 64]
)
def test_every_stock_code_of_the_demo_data_is_a_valid_sku(sku: str) -> None:
    assert TypeAdapter(Sku).validate_python(sku) == sku


@pytest.mark.parametrize(
    "sku", ["A" * 65, "A" * 2000, "", "a/b", "BANK CHARGES", "x\n", "x\x00", "é", "-x", "%2F", "a?b"]
)
def test_a_sku_too_long_or_not_printable_ascii_is_refused(sku: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Sku).validate_python(sku)


def test_order_ids_of_the_demo_data_and_the_checkout_are_valid_and_long_ones_refused() -> None:
    for order_id in ("inv-536365", "inv-C536379", "syn-20261101-001", "ord-000001", "0" * 32):
        assert TypeAdapter(OrderId).validate_python(order_id) == order_id
    with pytest.raises(ValidationError):
        TypeAdapter(OrderId).validate_python("o" * 1025)


def test_job_ids_are_exactly_what_the_api_generates() -> None:
    assert TypeAdapter(JobId).validate_python("0123456789abcdef0123456789abcdef")
    for job_id in ("job-1", "0123456789ABCDEF0123456789ABCDEF", "a" * 33, "x" * 2000):
        with pytest.raises(ValidationError):
            TypeAdapter(JobId).validate_python(job_id)


# --- 3: a checkout worth nothing ---------------------------------------------------------------


def _checkout_request(*skus: str) -> CheckoutRequest:
    return CheckoutRequest.model_validate(
        {
            "items": [{"sku": sku, "quantity": 1} for sku in skus],
            "customer": {"email": "ada@example.com", "name": "Ada", "country": "GB"},
            "shipping_address": {"line1": "1 Road", "city": "London", "postal_code": "N1", "country": "GB"},
            "payment": {"token": "tok_visa"},
            "currency": "GBP",
        }
    )


def test_a_checkout_totalling_zero_is_refused_naming_the_free_lines() -> None:
    free = Product(tenant_id="acme", sku="FREE", name="Free", price=Decimal(0), currency="GBP", stock=5)
    lines = checkout.price(_checkout_request("FREE"), {"FREE": free})
    with pytest.raises(InvalidRequestError) as refused:
        checkout.amount_in_minor_units(lines, "GBP")
    assert "total is 0" in refused.value.message
    assert refused.value.details == [
        {"loc": ["body", "items", 0, "sku"], "msg": "FREE: priced 0", "type": "zero_total"}
    ]


# --- 4: a period out of range ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_from", "date_to", "why"),
    [
        ("0001-01-01T00:00:00+01:00", "2026-01-01T00:00:00Z", "between the years"),
        ("2026-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00", "between the years"),
        ("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z", "before 'to'"),
        ("2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", "before 'to'"),
        ("2026-11-01T00:00:00", "2026-11-02T00:00:00Z", "time zone"),
    ],
)
def test_validate_period_refuses_what_cannot_be_a_period(date_from: str, date_to: str, why: str) -> None:
    with pytest.raises(InvalidRequestError, match=why):
        validate_period(datetime.fromisoformat(date_from), datetime.fromisoformat(date_to))


def test_validate_period_gives_the_period_in_utc() -> None:
    start, end = validate_period(
        datetime.fromisoformat("2026-11-01T01:00:00+01:00"), datetime.fromisoformat("2026-11-02T00:00:00Z")
    )
    assert (start, end) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))


def test_stored_times_sort_as_text_even_before_the_year_1000() -> None:
    moments = [
        datetime(5, 1, 1, tzinfo=UTC),
        datetime(999, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    ]
    assert sortable_time(moments[0]) == "0005-01-01T00:00:00.000000Z"
    assert sorted(map(sortable_time, moments)) == list(map(sortable_time, moments))


# --- 5: signed cursors -------------------------------------------------------------------------

KEY = {"tenant_id": "acme", "sku": "MUG-1"}


def test_a_cursor_comes_back_as_the_key_it_was_made_of() -> None:
    cursor = encode_cursor(KEY, SECRET)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert len(cursor) <= CURSOR_MAX_LENGTH
    assert decode_cursor(cursor, "acme", SECRET) == KEY


def _flip(cursor: str, at: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[at] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "forged",
    [
        base64.urlsafe_b64encode(b'{"tenant_id":"acme"}').decode(),  # the forgery: unsigned
        base64.urlsafe_b64encode(b'{"tenant_id":"acme"}').decode().rstrip("="),
        _flip(encode_cursor(KEY, SECRET), 0),  # signature changed
        _flip(encode_cursor(KEY, SECRET), 40),  # key changed
        encode_cursor(KEY, b"another deployment's secret!!!!"),
        encode_cursor({"tenant_id": "bravo", "sku": "MUG-1"}, SECRET),  # another tenant's
        encode_cursor(KEY, SECRET)[:-3],
        "not a cursor",
        "A" * (CURSOR_MAX_LENGTH + 1),
        "",
        "=",
        "é",
    ],
)
def test_any_cursor_this_api_did_not_sign_for_this_tenant_is_refused(forged: str) -> None:
    with pytest.raises(InvalidRequestError, match="invalid cursor"):
        decode_cursor(forged, "acme", SECRET)


def test_cursors_cannot_be_made_or_read_without_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        encode_cursor(KEY, b"")
    with pytest.raises(ValueError, match="secret"):
        decode_cursor(encode_cursor(KEY, SECRET), "acme", b"")


# --- 6: blocklist entries ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        {"kind": "card", "value": FULL_WIDTH * 8, "reason": "x"},  # full-width digits
        {"kind": "card", "value": "4242 4242 4242 424é", "reason": "x"},
        {"kind": "card", "value": "4242  4242 4242 4242", "reason": "x"},  # two spaces in a row
        {"kind": "card", "value": "42424242424", "reason": "x"},  # 11 digits
        {"kind": "email", "value": "not-an-address", "reason": "x"},
        {"kind": "ip", "value": "999.1.1.1", "reason": "x"},
        {"kind": "ip", "value": "4242424242424242", "reason": "x"},
        {"kind": "phone", "value": "+44", "reason": "x"},
    ],
)
def test_a_blocklist_value_not_of_its_kind_is_refused(entry: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        BlocklistEntry.model_validate(entry)


def test_a_blocklist_entry_is_read_by_its_kind() -> None:
    card = BlocklistEntry.model_validate({"kind": "card", "value": "4242 4242 4242 4242", "reason": "fraud"})
    ip = BlocklistEntry.model_validate({"kind": "ip", "value": "2001:DB8::1", "reason": "bots"})
    assert isinstance(card.root, CardBlock)
    assert (card.kind, card.value, card.reason) == ("card", "4242 4242 4242 4242", "fraud")
    assert isinstance(ip.root, IpBlock)
    assert ip.value == "2001:db8::1"
    assert "4242" not in repr(card)


def test_a_spaced_card_number_has_the_fingerprint_of_its_digits() -> None:
    spaced = BlocklistEntry.model_validate({"kind": "card", "value": "4242 4242 4242 4242", "reason": "x"})
    assert card_fingerprint(spaced.value, PEPPER) == card_fingerprint("4242424242424242", PEPPER)


# --- 8: report dates and deterministic worker errors -------------------------------------------


@pytest.mark.parametrize(
    "days",
    [
        {"from": "9999-12-30", "to": "9999-12-31"},
        {"from": "1999-12-31", "to": "2000-01-01"},
        {"from": "2101-01-01", "to": "2101-01-02"},
        {"from": 20261101, "to": "2026-11-02"},  # a JSON number is not a day
        {"from": "2026-11-01T00:00:00", "to": "2026-11-02"},
        {"from": "2026-02-30", "to": "2026-03-01"},
    ],
)
def test_report_days_outside_the_documented_form_are_refused(days: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ReportRequest.model_validate(days)


def test_report_days_at_the_documented_bounds_are_accepted() -> None:
    assert ReportRequest.model_validate({"from": "2000-01-01", "to": "2000-12-31"}).date_from == date(
        2000, 1, 1
    )
    assert ReportRequest.model_validate({"from": "2100-01-01", "to": "2100-12-31"}).date_to == date(
        2100, 12, 31
    )
    assert re.fullmatch(REPORT_DATE_PATTERN, "2100-12-31")


def _report_world(orders: FakeOrders, params: ReportParams) -> tuple[Any, reports.ReportWorkerDeps]:
    jobs, queue, clock = FakeJobs(), FakeQueue(), FakeClock()
    api = reports.ReportDeps(
        jobs=jobs,
        queue=queue,
        documents=FakeDocuments(),
        link_ttl_seconds=60,
        clock=clock,
        new_id=lambda: "a" * 32,
    )
    reports.request_report("acme", params, api, correlation_id=None)
    worker = reports.ReportWorkerDeps(
        jobs=jobs, orders=orders, documents=FakeDocuments(), max_attempts=5, zone=ZoneInfo("UTC"), clock=clock
    )
    return queue.sent[-1][0], worker


def test_a_report_that_cannot_be_computed_fails_at_once_and_its_message_is_consumed() -> None:
    # A job recorded before the bounds existed: its last day + 1 overflows datetime.
    message, deps = _report_world(
        FakeOrders(), ReportParams(date_from=date(9999, 12, 30), date_to=date(9999, 12, 31))
    )
    job = reports.run_report(message, 1, deps)  # returns: the message is consumed, not retried
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
    assert job.error is not None
    assert job.error.startswith("the report cannot be computed: OverflowError")


def test_a_stored_order_that_no_longer_validates_fails_the_job_at_once() -> None:
    params = ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 2))
    failing = FakeOrders(fail_with=ValueError("stored order ord-1 is invalid"))
    message, deps = _report_world(failing, params)
    assert reports.run_report(message, 1, deps).status is JobStatus.FAILED


def test_a_transient_worker_error_is_still_retried() -> None:
    params = ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 2))
    message, deps = _report_world(FakeOrders(fail_with=RetryLaterError("throttled")), params)
    with pytest.raises(RetryLaterError):
        reports.run_report(message, 1, deps)
    assert deps.jobs.get("acme", "a" * 32).status is JobStatus.QUEUED  # type: ignore[union-attr]


# --- 9: what the schema states is what the validators accept -----------------------------------


def _accepted(validate: Any, value: object) -> bool:
    try:
        validate(value)
    except ValidationError:
        return False
    return True


def _card(**fields: str) -> CardDetails:
    return CardDetails.model_validate(
        {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123", **fields}
    )


@pytest.mark.parametrize(
    ("field", "pattern", "samples"),
    [
        (
            "card_number",
            CARD_NUMBER_PATTERN,
            ["4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", " 4242424242424242 ",
             "4242424242424241", "424242424242", "4242424242424242424", "42424242424", "42424242424242424242",
             "4242  4242 4242 4242", "4242 -4242", "-4242424242424242", "4242424242424242\n", FULL_WIDTH * 8],
        ),
        (
            "expiry",
            EXPIRY_PATTERN,
            ["12/30", " 07 / 29 ", "01/00", "13/30", "00/30", "1/30", "12/2030", "1230", "12-30", "12/30\n"],
        ),
        ("cvc", CVC_PATTERN, ["123", "1234", " 123 ", "12", "12345", "12a", "", "123\n", FULL_WIDTH[:1] * 3]),
    ],
)  # fmt: skip
def test_card_details_accept_exactly_what_their_documented_pattern_matches(
    field: str, pattern: str, samples: list[str]
) -> None:
    for sample in samples:
        assert _accepted(lambda value: _card(**{field: value}), sample) is bool(
            re.fullmatch(pattern, sample)
        ), sample


def test_a_card_number_failing_its_check_digit_is_a_declined_payment_not_a_bad_request() -> None:
    card = _card(card_number="4242424242424241")  # the form is valid: the schema cannot state Luhn
    with pytest.raises(PaymentDeclinedError) as declined:
        validate_card(card, datetime(2026, 11, 28, tzinfo=UTC))
    assert declined.value.decline_code is DeclineCode.INVALID_CARD


def _score_amount(amount: object) -> None:
    ScoreRequest.model_validate(
        {
            "amount": amount,
            "currency": "GBP",
            "email": "a@b.co",
            "payment_token": "tok",
            "shipping_country": "GB",
        }
    )


@pytest.mark.parametrize(
    ("pattern", "validate", "samples"),
    [
        (
            PRICE_PATTERN,
            lambda price: ProductUpdate(name="a", price=price, currency="GBP"),
            ["0", "6.50", "99999999.9999", "0.0001", "100000000", "-1", "06.5", "1.23456", "1.", ".5", "1e3",
             " 1", "1\n", "NaN", "Infinity", 6.5, 6],
        ),
        (
            AMOUNT_PATTERN,
            _score_amount,
            ["25.50", "0.01", "0.0001", "9999999999.9999", "0", "0.00", "0.00001", "-1", "01", "1e2",
             "10000000000", 25.5, 25],
        ),
    ],
)  # fmt: skip
def test_money_is_accepted_exactly_as_its_documented_pattern_says(
    pattern: str, validate: Any, samples: list[object]
) -> None:
    for sample in samples:
        expected = isinstance(sample, str) and bool(re.fullmatch(pattern, sample))
        assert _accepted(validate, sample) is expected, sample


# --- an e-mail address: the schema and the validator agree on what "\s" is ------------------------


@pytest.mark.parametrize(
    "address",
    ["ada@example.com", "a.b+tag@mail.example.co.uk"],
)
def test_an_ordinary_address_is_accepted(address: str) -> None:
    assert TypeAdapter(Email).validate_python(address) == address


@pytest.mark.parametrize(
    "separator",
    [" ", "\t", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000", "\ufeff"],
    ids=lambda c: f"U+{ord(c):04X}",
)
def test_an_address_with_a_space_of_any_regex_dialect_is_refused_by_both(separator: str) -> None:
    # Python's \s has \x1c-\x1f and \x85, JSON Schema's (ECMA-262) \ufeff: the fuzzer generates from
    # the schema's dialect, the validator checks in its own; both must refuse the same addresses.
    address = f"ada{separator}x@example.com"
    assert not re.fullmatch(EMAIL_PATTERN, address)
    with pytest.raises(ValidationError):
        TypeAdapter(Email).validate_python(address)
