"""Payments: card checks, what may be kept of a card, the sandbox gateway's test mode, minor units."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from tandem.adapters.sandbox_gateway import SandboxGateway
from tandem.logic.errors import ConflictError, NotFoundError, RetryLaterError
from tandem.logic.payments import (
    GatewayUnavailableError,
    PaymentDeclinedError,
    authorize_payment,
    card_expired,
    summarize_card,
    validate_card,
)
from tandem.models.payments import (
    AmountPrecisionError,
    Authorization,
    AuthorizationStatus,
    CardBrand,
    CardDetails,
    DeclineCode,
    PaymentRequest,
    card_brand,
    currency_exponent,
    from_minor_units,
    luhn_valid,
    to_minor_units,
)

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
PEPPER = b"tandem-test-pepper-0123456789"
VISA = "4242424242424242"


def card(number: str = VISA, expiry: str = "12/30", cvc: str = "123") -> CardDetails:
    return CardDetails(card_number=number, expiry=expiry, cvc=cvc)


def request(
    number: str = VISA, amount_minor: int = 1999, reference: str = "order-1", cvc: str = "123"
) -> PaymentRequest:
    return PaymentRequest(
        amount_minor=amount_minor, currency="EUR", reference=reference, card=card(number, cvc=cvc)
    )


def gateway(sleep: Callable[[float], None] | None = None, timeout_seconds: float = 0.0) -> SandboxGateway:
    return SandboxGateway(
        PEPPER, timeout_seconds=timeout_seconds, clock=lambda: NOW, sleep=sleep or (lambda _: None)
    )


# --- card numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        (VISA, True),
        ("4242424242424241", False),
        ("5555555555554444", True),
        ("378282246310005", True),
        ("79927398713", True),  # the textbook example
        ("79927398710", False),
        ("42424242424242a2", False),
        ("", False),
    ],
)
def test_luhn_valid_accepts_only_a_correct_check_digit(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize("typed", ["4242 4242 4242 4242", "4242-4242-4242-4242", " 4242424242424242 "])
def test_card_details_accepts_spaces_and_dashes_and_keeps_digits_only(typed: str) -> None:
    # Given a number typed with separators / When it is validated
    details = card(typed)
    # Then only its digits are kept
    assert details.card_number.get_secret_value() == VISA


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("4242 4242 4242 424x", "only digits"),
        ("4242.4242.4242.4242", "only digits"),
        ("42424242424", "12 to 19"),  # 11 digits
        ("4" + "0" * 18 + "00", "12 to 19"),  # 21 digits
    ],
)
def test_card_details_refuses_invalid_numbers_without_quoting_them(number: str, why: str) -> None:
    # When an invalid number is validated
    with pytest.raises(ValidationError) as raised:
        card(number)
    # Then the error says why, and its text never quotes the number
    assert why in str(raised.value)
    assert number not in str(raised.value)
    assert number.replace(" ", "") not in str(raised.value)


@pytest.mark.parametrize("expiry", ["13/30", "00/30", "1/30", "12/2030", "1230", "ab/cd", "12-30"])
def test_card_details_refuses_a_malformed_expiry(expiry: str) -> None:
    with pytest.raises(ValidationError, match="expiry"):
        card(expiry=expiry)


@pytest.mark.parametrize("cvc", ["12", "12345", "12a", ""])
def test_card_details_refuses_a_cvc_not_of_3_or_4_digits(cvc: str) -> None:
    with pytest.raises(ValidationError, match="cvc"):
        card(cvc=cvc)


def test_card_details_reads_expiry_month_and_year() -> None:
    details = card(expiry=" 07 / 29 ")
    assert (details.expiry, details.expiry_month, details.expiry_year) == ("07/29", 7, 2029)


@pytest.mark.parametrize(
    ("expiry", "expired"),
    [("10/26", True), ("11/26", False), ("12/26", False), ("01/27", False), ("12/25", True)],
)
def test_card_expired_counts_the_whole_expiry_month_as_valid(expiry: str, expired: bool) -> None:
    # Given "now" is 28 November 2026 / Then a card expiring 11/26 is good to the month's end
    assert card_expired(card(expiry=expiry), NOW) is expired


def test_card_expired_compares_in_utc() -> None:
    # Given 1 December 00:30 in Paris, which is still 30 November in UTC
    paris_winter = timezone(timedelta(hours=1))
    now = datetime(2026, 12, 1, 0, 30, tzinfo=paris_winter)
    # Then a card expiring 11/26 has not expired yet
    assert card_expired(card(expiry="11/26"), now) is False


def test_card_expired_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        card_expired(card(), datetime(2026, 11, 28))  # noqa: DTZ001


def test_validate_card_declines_a_past_expiry() -> None:
    with pytest.raises(PaymentDeclinedError) as raised:
        validate_card(card(expiry="10/26"), NOW)
    assert raised.value.decline_code is DeclineCode.EXPIRED_CARD
    assert raised.value.code == "payment_declined"


@pytest.mark.parametrize(
    ("number", "cvc", "valid"),
    [
        (VISA, "123", True),
        (VISA, "1234", False),
        ("378282246310005", "1234", True),
        ("378282246310005", "123", False),
    ],
)
def test_validate_card_wants_the_cvc_length_of_the_brand(number: str, cvc: str, valid: bool) -> None:
    details = card(number, cvc=cvc)
    if valid:
        validate_card(details, NOW)
    else:
        with pytest.raises(PaymentDeclinedError) as raised:
            validate_card(details, NOW)
        assert raised.value.decline_code is DeclineCode.INCORRECT_CVC


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        (VISA, CardBrand.VISA),
        ("5555555555554444", CardBrand.MASTERCARD),
        ("2223003122003222", CardBrand.MASTERCARD),  # the 2-series range
        ("378282246310005", CardBrand.AMEX),
        ("371449635398431", CardBrand.AMEX),
        ("6011111111111117", CardBrand.DISCOVER),
        ("6445644564456445", CardBrand.DISCOVER),
        ("6221260000000000", CardBrand.DISCOVER),
        ("3530111333300000", CardBrand.UNKNOWN),  # JCB: not one we name
        ("2720999999999999", CardBrand.MASTERCARD),
        ("2721000000000000", CardBrand.UNKNOWN),
    ],
)
def test_card_brand_detects_the_brand_from_the_leading_digits(number: str, brand: CardBrand) -> None:
    assert card_brand(number) is brand


def test_summarize_card_keeps_brand_last4_and_a_keyed_fingerprint() -> None:
    # When a card is summarised with two different peppers
    summary = summarize_card(card(), PEPPER)
    other_deployment = summarize_card(card(), b"another-pepper-of-enough-bytes")
    # Then brand and last four are kept, and the fingerprint depends on the pepper
    assert (summary.brand, summary.last4) == (CardBrand.VISA, "4242")
    assert summary.fingerprint == summarize_card(card(expiry="01/31", cvc="999"), PEPPER).fingerprint
    assert summary.fingerprint != other_deployment.fingerprint
    assert VISA not in summary.model_dump_json()


def test_summarize_card_and_the_sandbox_refuse_a_short_pepper() -> None:
    with pytest.raises(ValueError, match="pepper"):
        summarize_card(card(), b"short")
    with pytest.raises(ValueError, match="pepper"):
        SandboxGateway(b"short")


# --- requests and results ---------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [0, -5, 19.99, "1999", True])
def test_payment_request_wants_a_positive_integer_amount(amount: object) -> None:
    with pytest.raises(ValidationError, match="amount_minor"):
        PaymentRequest.model_validate(
            {"amount_minor": amount, "currency": "EUR", "reference": "order-1", "token": "tok_visa"}
        )


@pytest.mark.parametrize(
    "method", [{}, {"token": "tok_visa", "card": {"card_number": VISA, "expiry": "12/30", "cvc": "123"}}]
)
def test_payment_request_wants_exactly_one_of_card_or_token(method: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="either card or token"):
        PaymentRequest.model_validate({"amount_minor": 100, "currency": "EUR", "reference": "r", **method})


def test_payment_request_wants_an_iso_currency() -> None:
    with pytest.raises(ValidationError, match="currency"):
        PaymentRequest(amount_minor=100, currency="eur", reference="r", token="tok_visa")


def test_authorization_has_a_decline_code_if_and_only_if_declined() -> None:
    with pytest.raises(ValidationError, match="decline code"):
        Authorization(
            authorization_id="a",
            status=AuthorizationStatus.APPROVED,
            decline_code=DeclineCode.STOLEN_CARD,
            amount_minor=1,
            currency="EUR",
            reference="r",
        )
    with pytest.raises(ValidationError, match="decline code"):
        Authorization(
            authorization_id="a",
            status=AuthorizationStatus.DECLINED,
            amount_minor=1,
            currency="EUR",
            reference="r",
        )


def test_card_data_never_shows_in_repr_str_or_dumps() -> None:
    # Given a card, a request carrying it and the gateway's answer
    number, spaced, cvc = "5555555555554444", "5555 5555 5555 4444", "737"
    details = card(spaced, cvc=cvc)
    payment = request(spaced, amount_minor=2500, reference="order-9", cvc=cvc)
    answer = gateway().authorize(payment, "key-1")
    # When each is rendered in every way a log or a store would render it
    renderings = {
        f"{type(value).__name__}.{how}": text
        for value in (details, payment, answer)
        for how, text in (
            ("repr", repr(value)),
            ("str", str(value)),
            ("format", f"{value}"),
            ("model_dump", str(value.model_dump())),
            ("model_dump_json", value.model_dump_json()),
            ("model_dump_python_json", str(value.model_dump(mode="json"))),
        )
    }
    # Then neither the number nor the CVC appears anywhere; the last four may
    for where, text in renderings.items():
        assert number not in text, where
        assert spaced not in text, where
        if not where.startswith("Authorization"):  # random ids could contain any three digits
            assert cvc not in text, where
    assert answer.card is not None
    assert answer.card.last4 == "4444"


def test_validation_error_text_never_quotes_card_number_or_cvc() -> None:
    # Given a request whose card has a valid number but a bad expiry and a 5-digit CVC
    body = {
        "amount_minor": 100,
        "currency": "EUR",
        "reference": "r",
        "card": {"card_number": VISA, "expiry": "13/30", "cvc": "98765", "pin": VISA},
    }
    # When it is validated
    with pytest.raises(ValidationError) as raised:
        PaymentRequest.model_validate(body)
    # Then the error's text and its input-free details quote neither
    error = raised.value
    for text in (str(error), error.json(include_input=False), str(error.errors(include_input=False))):
        assert VISA not in text
        assert "98765" not in text


# --- money ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("10.50"), "EUR", 1050),
        (Decimal("10.5"), "EUR", 1050),
        (Decimal("10.000"), "EUR", 1000),  # trailing zeros are not precision
        (Decimal("0.01"), "USD", 1),
        (Decimal("500"), "JPY", 500),
        (Decimal("1E+3"), "KRW", 1000),
        (Decimal("1.234"), "BHD", 1234),
        (Decimal("12.5"), "KWD", 12500),
        (Decimal("7.001"), "TND", 7001),
        (Decimal("-2.50"), "GBP", -250),
        (42, "EUR", 4200),
        (Decimal("123456789012345678901234567890.12"), "EUR", 12345678901234567890123456789012),
    ],
)
def test_to_minor_units_scales_by_the_currency_exponent(amount: Decimal, currency: str, minor: int) -> None:
    assert to_minor_units(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        (Decimal("10.001"), "EUR"),
        (Decimal("1.5"), "JPY"),
        (Decimal("1.2345"), "BHD"),
        (Decimal("0.001"), "USD"),
    ],
)
def test_to_minor_units_refuses_more_precision_than_the_currency_has(amount: Decimal, currency: str) -> None:
    with pytest.raises(AmountPrecisionError, match=currency):
        to_minor_units(amount, currency)


@pytest.mark.parametrize("amount", [10.5, True, "10.50", Decimal("NaN"), Decimal("Infinity")])
def test_to_minor_units_refuses_floats_and_non_numbers(amount: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        to_minor_units(amount, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [
        (1050, "EUR", "10.50"),
        (500, "JPY", "500"),
        (1234, "BHD", "1.234"),
        (-1, "USD", "-0.01"),
        (0, "OMR", "0.000"),
    ],
)
def test_from_minor_units_gives_an_exact_decimal_with_the_currency_places(
    minor: int, currency: str, amount: str
) -> None:
    converted = from_minor_units(minor, currency)
    assert str(converted) == amount
    assert to_minor_units(converted, currency) == minor


@pytest.mark.parametrize("currency", ["eur", "EU", "EURO", "E1R", "ÉUR"])
def test_currency_exponent_refuses_codes_that_are_not_iso_shaped(currency: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        currency_exponent(currency)


# --- the sandbox gateway ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        (VISA, CardBrand.VISA),
        ("5555555555554444", CardBrand.MASTERCARD),
        ("378282246310005", CardBrand.AMEX),
        ("6011111111111117", CardBrand.DISCOVER),
        ("4000056655665556", CardBrand.VISA),  # any other Luhn-valid number
    ],
)
def test_sandbox_approves_the_documented_approving_cards(number: str, brand: CardBrand) -> None:
    # Given the sandbox / When an approving test card is authorised
    sandbox = gateway()
    cvc = "1234" if brand is CardBrand.AMEX else "123"
    answer = sandbox.authorize(request(number, cvc=cvc), "key-1")
    # Then it is approved, charged once, and only the summary is kept
    assert answer.status is AuthorizationStatus.APPROVED
    assert answer.decline_code is None
    assert answer.card is not None
    assert (answer.card.brand, answer.card.last4) == (brand, number[-4:])
    assert sandbox.charge_count == 1


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("4000000000009995", DeclineCode.INSUFFICIENT_FUNDS),
        ("4000000000009979", DeclineCode.STOLEN_CARD),
        ("4000000000000002", DeclineCode.DO_NOT_HONOR),
    ],
)
def test_sandbox_declines_the_documented_declining_cards(number: str, code: DeclineCode) -> None:
    sandbox = gateway()
    answer = sandbox.authorize(request(number), "key-1")
    assert answer.status is AuthorizationStatus.DECLINED
    assert answer.decline_code is code
    assert sandbox.charge_count == 0


def test_sandbox_declines_an_expired_card_as_a_provider_would() -> None:
    sandbox = gateway()
    payment = PaymentRequest(amount_minor=100, currency="EUR", reference="r", card=card(expiry="01/26"))
    assert sandbox.authorize(payment, "key-1").decline_code is DeclineCode.EXPIRED_CARD


def test_sandbox_gateway_error_card_raises_a_retryable_error_and_records_nothing() -> None:
    sandbox = gateway()
    with pytest.raises(GatewayUnavailableError) as raised:
        sandbox.authorize(request("4000000000000119"), "key-1")
    assert isinstance(raised.value, RetryLaterError)
    assert raised.value.code == "gateway_unavailable"
    assert sandbox.charge_count == 0


def test_sandbox_timeout_card_charges_waits_the_configured_delay_then_raises() -> None:
    # Given a sandbox whose timeout lasts 2.5 s (on a fake sleep)
    slept: list[float] = []
    sandbox = gateway(sleep=slept.append, timeout_seconds=2.5)
    # When the timeout card is authorised / Then it waits, then reports the gateway unavailable
    with pytest.raises(GatewayUnavailableError, match="in time"):
        sandbox.authorize(request("4000000000003220"), "key-1")
    assert slept == [2.5]
    # having charged the card, as a real timeout may have: the answer is lost, not the charge
    [charge] = sandbox.charges
    assert sandbox.find("key-1") == charge
    # and only a retry with the same key learns it, without a second charge
    assert sandbox.authorize(request("4000000000003220"), "key-1") == charge
    assert sandbox.charge_count == 1
    assert sandbox.open_authorizations() == (charge,)
    sandbox.void(charge.authorization_id)
    assert sandbox.open_authorizations() == ()


def test_sandbox_timeout_defaults_to_no_wait() -> None:
    sandbox = SandboxGateway(PEPPER)
    with pytest.raises(GatewayUnavailableError):
        sandbox.authorize(request("4000000000003220"), "key-1")


@pytest.mark.parametrize(
    ("token", "status", "code", "last4"),
    [
        ("tok_visa", AuthorizationStatus.APPROVED, None, "4242"),
        ("tok_mastercard", AuthorizationStatus.APPROVED, None, "4444"),
        ("tok_insufficient_funds", AuthorizationStatus.DECLINED, DeclineCode.INSUFFICIENT_FUNDS, "9995"),
        ("tok_stolen_card", AuthorizationStatus.DECLINED, DeclineCode.STOLEN_CARD, "9979"),
        ("tok_unheard_of", AuthorizationStatus.DECLINED, DeclineCode.INVALID_CARD, None),
    ],
)
def test_sandbox_tokens_behave_as_their_test_cards(
    token: str, status: AuthorizationStatus, code: DeclineCode | None, last4: str | None
) -> None:
    payment = PaymentRequest(amount_minor=100, currency="EUR", reference="r", token=token)
    answer = gateway().authorize(payment, "key-1")
    assert (answer.status, answer.decline_code) == (status, code)
    assert (answer.card.last4 if answer.card else None) == last4


@pytest.mark.parametrize("token", ["tok_gateway_error", "tok_timeout"])
def test_sandbox_failing_tokens_raise_gateway_unavailable(token: str) -> None:
    payment = PaymentRequest(amount_minor=100, currency="EUR", reference="r", token=token)
    with pytest.raises(GatewayUnavailableError):
        gateway().authorize(payment, "key-1")


def test_sandbox_replays_an_idempotency_key_and_charges_once() -> None:
    # Given an authorised payment
    sandbox = gateway()
    first = sandbox.authorize(request(), "checkout-42")
    # When the same request comes again with the same key (a client retry)
    replays = [sandbox.authorize(request(), "checkout-42") for _ in range(3)]
    # Then every answer is the first one and the card was charged once
    assert all(replay == first for replay in replays)
    assert sandbox.charge_count == 1
    # And a new key is a new charge
    assert sandbox.authorize(request(), "checkout-43").authorization_id != first.authorization_id
    assert sandbox.charge_count == 2


def test_sandbox_replays_a_decline_too() -> None:
    sandbox = gateway()
    first = sandbox.authorize(request("4000000000009995"), "k")
    assert sandbox.authorize(request("4000000000009995"), "k") == first


@pytest.mark.parametrize(
    "changed",
    [
        request(amount_minor=2000),
        request(reference="order-2"),
        request("5555555555554444"),
        PaymentRequest(amount_minor=1999, currency="EUR", reference="order-1", token="tok_visa"),
    ],
)
def test_sandbox_refuses_a_reused_key_for_a_different_payment(changed: PaymentRequest) -> None:
    sandbox = gateway()
    sandbox.authorize(request(), "checkout-42")
    with pytest.raises(ConflictError, match="idempotency key"):
        sandbox.authorize(changed, "checkout-42")
    assert sandbox.charge_count == 1


def test_sandbox_processes_a_retry_after_a_gateway_error_afresh() -> None:
    # Given a key whose first attempt met a gateway error
    sandbox = gateway()
    with pytest.raises(GatewayUnavailableError):
        sandbox.authorize(request("4000000000000119"), "k")
    # When the same key is used again / Then nothing was recorded, so it is processed again
    with pytest.raises(GatewayUnavailableError):
        sandbox.authorize(request("4000000000000119"), "k")
    assert sandbox.charge_count == 0


def test_sandbox_charges_once_when_one_key_races_in_many_threads() -> None:
    # Given 16 threads sending the same checkout at once
    sandbox = gateway()
    start = threading.Barrier(16)
    answers: list[Authorization] = []

    def checkout() -> None:
        start.wait()
        answers.append(sandbox.authorize(request(), "checkout-race"))

    threads = [threading.Thread(target=checkout) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one charge, one answer
    assert sandbox.charge_count == 1
    assert len({answer.authorization_id for answer in answers}) == 1
    assert len(answers) == 16


def test_sandbox_counts_every_charge_from_concurrent_distinct_checkouts() -> None:
    sandbox = gateway()
    payments = [(request(reference=f"order-{n}"), f"key-{n}") for n in range(50)]
    threads = [threading.Thread(target=sandbox.authorize, args=payment) for payment in payments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sandbox.charge_count == 50
    assert len({charge.authorization_id for charge in sandbox.charges}) == 50


def test_sandbox_void_records_once_and_refuses_unknown_or_declined() -> None:
    # Given one approved and one declined authorization
    sandbox = gateway()
    approved = sandbox.authorize(request(), "k1")
    declined = sandbox.authorize(request("4000000000009979"), "k2")
    # When the approved one is voided twice (a compensation retried)
    sandbox.void(approved.authorization_id)
    sandbox.void(approved.authorization_id)
    # Then one void is recorded
    assert sandbox.voids == (approved.authorization_id,)
    assert sandbox.get(approved.authorization_id) == approved
    with pytest.raises(NotFoundError):
        sandbox.void("auth_unknown")
    with pytest.raises(ConflictError):
        sandbox.void(declined.authorization_id)


def test_sandbox_keeps_and_logs_no_card_number_or_cvc(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the log captured
    from tandem.observability import logger

    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    sandbox = gateway()
    # When cards are authorised and declined
    sandbox.authorize(request("5555555555554444", cvc="737"), "k1")
    sandbox.authorize(request("4000000000009995", cvc="737"), "k2")
    # Then the log says what happened with brand and last four, and neither number appears in log or state
    log = stream.getvalue()
    assert '"last4":"4444"' in log.replace(" ", "")
    assert '"decline_code":"insufficient_funds"' in log.replace(" ", "")
    state = repr(vars(sandbox))
    for secret in ("5555555555554444", "4000000000009995"):
        assert secret not in log
        assert secret not in state


# --- authorize_payment: the use case -----------------------------------------------------------------


class RecordingGateway:
    def __init__(self) -> None:
        self.calls: list[tuple[PaymentRequest, str]] = []
        self._inner = gateway()

    def authorize(self, request: PaymentRequest, idempotency_key: str) -> Authorization:
        self.calls.append((request, idempotency_key))
        return self._inner.authorize(request, idempotency_key)

    def void(self, authorization_id: str) -> None:
        self._inner.void(authorization_id)


def test_authorize_payment_returns_an_approval() -> None:
    answer = authorize_payment(RecordingGateway(), request(), "k1", NOW)
    assert answer.approved


def test_authorize_payment_raises_the_decline_with_its_code() -> None:
    with pytest.raises(PaymentDeclinedError) as raised:
        authorize_payment(RecordingGateway(), request("4000000000009995"), "k1", NOW)
    assert raised.value.decline_code is DeclineCode.INSUFFICIENT_FUNDS
    assert raised.value.message == "the card has insufficient funds"


def test_authorize_payment_tells_a_stolen_card_only_that_it_was_declined() -> None:
    with pytest.raises(PaymentDeclinedError) as raised:
        authorize_payment(RecordingGateway(), request("4000000000009979"), "k1", NOW)
    assert raised.value.decline_code is DeclineCode.STOLEN_CARD
    assert "stolen" not in raised.value.message


def test_authorize_payment_never_sends_an_expired_card_to_the_gateway() -> None:
    # Given an expired card / When it is paid with
    recording = RecordingGateway()
    payment = PaymentRequest(amount_minor=100, currency="EUR", reference="r", card=card(expiry="10/26"))
    with pytest.raises(PaymentDeclinedError):
        authorize_payment(recording, payment, "k1", NOW)
    # Then the gateway was never asked
    assert recording.calls == []


def test_authorize_payment_lets_gateway_unavailable_through_for_a_retry() -> None:
    with pytest.raises(GatewayUnavailableError):
        authorize_payment(RecordingGateway(), request("4000000000000119"), "k1", NOW)


def test_authorize_payment_wants_an_idempotency_key() -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        authorize_payment(RecordingGateway(), request(), " ", NOW)
