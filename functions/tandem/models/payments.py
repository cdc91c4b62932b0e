"""Payments: card details, what may be kept of a card, requests and their outcome, money in minor units.

Card data rules (PCI DSS in spirit):

- the card number (PAN) and the CVC live only in `CardDetails`, as `SecretStr`: its
  repr, str and dumps show `**********`, and the text of a ValidationError does not
  quote the input (`hide_input_in_errors`), so neither reaches a log by accident.
  `ValidationError.errors()` does still carry each input (pydantic's design): at the
  edge use `errors(include_input=False)`, as handlers/http.py's details already do;
- `CardSummary` (brand, last four digits, a keyed fingerprint) is the only card data
  that may be stored or logged.

Expiry is checked in two steps on purpose. The model checks the form ("MM/YY", month
01 to 12), which needs no clock; whether the card has expired depends on "now", so
`tandem.logic.payments.validate_card(card, now)` checks it against an injected clock.
Validating against the wall clock inside the model would make a model valid today and
invalid tomorrow, and tests would depend on the date they run.
"""

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from tandem.models.records import CurrencyCode

# ISO 4217 minor-unit exponents that differ from the usual 2. Funds codes and units of
# account (CLF, UYW…) are left out: nobody pays with them.
_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW"}
    | {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
_THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})

_CARD_NUMBER_SEPARATORS = str.maketrans("", "", " -")

Last4 = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
Fingerprint = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class AmountPrecisionError(ValueError):
    """The amount has more decimal places than the currency's minor unit allows (e.g. 10.001 EUR)."""


def currency_exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has: JPY 0, EUR 2, BHD 3."""
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha() or not currency.isupper():
        raise ValueError("currency must be an ISO 4217 code of three capital letters")
    if currency in _ZERO_DECIMAL:
        return 0
    if currency in _THREE_DECIMAL:
        return 3
    return 2


def to_minor_units(amount: Decimal | int, currency: str) -> int:
    """10.50 EUR → 1050, 500 JPY → 500, 1.234 BHD → 1234.

    Exact integer arithmetic on the Decimal's digits (no context rounding, whatever the
    size). Trailing zeros beyond the exponent are fine (10.000 EUR → 1000); a non-zero
    digit beyond it is refused rather than rounded: 10.001 EUR is a bug upstream, and
    rounding would charge an amount nobody asked for.
    """
    if isinstance(amount, bool | float) or not isinstance(amount, Decimal | int):
        raise TypeError("amounts are Decimal or int, never float")
    exponent = currency_exponent(currency)
    value = Decimal(amount)
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    sign, digits, value_exponent = value.as_tuple()
    if not isinstance(value_exponent, int):  # NaN and infinities, refused above; narrows the type
        raise ValueError("amount must be a finite number")
    coefficient = int("".join(map(str, digits)))
    shift = value_exponent + exponent
    # `scale: int`: mypy types int ** int as Any (a negative power would give a float).
    scale: int = 10 ** abs(shift)
    if shift >= 0:
        minor = coefficient * scale
    else:
        minor, remainder = divmod(coefficient, scale)
        if remainder:
            raise AmountPrecisionError(f"{currency} amounts have at most {exponent} decimal places")
    return -minor if sign else minor


def from_minor_units(amount_minor: int, currency: str) -> Decimal:
    """1050 EUR → Decimal('10.50'), 500 JPY → Decimal('500'), 1234 BHD → Decimal('1.234')."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError("minor units are an int")
    # Built from its string, so the Decimal is exact and carries the currency's places.
    return Decimal(f"{amount_minor}E-{currency_exponent(currency)}")


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every card number carries in its last digit."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


class CardBrand(StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    UNKNOWN = "unknown"


def _in_range(digits: str, low: int, high: int) -> bool:
    width = len(str(low))
    return len(digits) >= width and low <= int(digits[:width]) <= high


def card_brand(digits: str) -> CardBrand:
    """The brand from the issuer identification number (the leading digits)."""
    if digits.startswith(("34", "37")):
        return CardBrand.AMEX
    if digits.startswith("4"):
        return CardBrand.VISA
    if _in_range(digits, 51, 55) or _in_range(digits, 2221, 2720):
        return CardBrand.MASTERCARD
    if (
        digits.startswith(("6011", "65"))
        or _in_range(digits, 644, 649)
        or _in_range(digits, 622126, 622925)  # UnionPay cards co-branded with Discover
    ):
        return CardBrand.DISCOVER
    return CardBrand.UNKNOWN


# What the schema says card details may look like; the validators below accept exactly these
# texts (checked with fullmatch, so "$" cannot pass a trailing newline, as in JSON Schema).
# A card number: 12 to 19 digits, a single space or dash allowed between two, blanks around.
CARD_NUMBER_PATTERN = r"^ *(?:[0-9][ -]?){11,18}[0-9] *$"
EXPIRY_PATTERN = r"^ *(?:0[1-9]|1[0-2]) */ *[0-9]{2} *$"
CVC_PATTERN = r"^ *[0-9]{3,4} *$"
_CARD_NUMBER = re.compile(CARD_NUMBER_PATTERN)
_EXPIRY = re.compile(EXPIRY_PATTERN)
_CVC = re.compile(CVC_PATTERN)


def card_digits(value: str) -> str:
    """A card number as typed ("4242 4242-4242 4242") → its digits; ValueError if it is not one.

    The one normalisation of card numbers: the checkout, the blocklist and the
    fingerprint all see the same digits. The messages never quote the number:
    they end up in API error details.
    """
    digits = value.translate(_CARD_NUMBER_SEPARATORS)
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("card number must contain only digits, spaces and dashes")
    if not 12 <= len(digits) <= 19:
        raise ValueError("card number must have 12 to 19 digits")
    if not _CARD_NUMBER.fullmatch(value):
        raise ValueError("card number may have one space or dash between two digits, no more")
    return digits


# A card number as typed, for bodies that keep it as text (the blocklist): the same pattern.
CardNumberText = Annotated[str, StringConstraints(pattern=CARD_NUMBER_PATTERN)]


def _secret_text(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class CardDetails(BaseModel):
    """A card as the customer typed it. Only ever passed to the payment gateway; never stored or logged.

    `card_number` is kept as digits only (spaces and dashes are accepted on input);
    read it with `card_number.get_secret_value()`, in the gateway adapter and nowhere else.
    The schema states each field's pattern, and the validators accept exactly that. The
    Luhn check digit is not a form JSON Schema can state: a number that fails it is a
    payment declined as `invalid_card` (402, tandem.logic.payments.validate_card), as a
    card provider would answer, not a malformed request.
    """

    # hide_input_in_errors: a ValidationError's text would otherwise quote the card number.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    card_number: SecretStr = Field(
        description="12 to 19 digits; one space or dash may separate two digits",
        json_schema_extra={"pattern": CARD_NUMBER_PATTERN, "examples": ["4242 4242 4242 4242"]},
    )
    expiry: str = Field(
        repr=False, description="MM/YY", json_schema_extra={"pattern": EXPIRY_PATTERN, "examples": ["12/30"]}
    )
    cvc: SecretStr = Field(description="3 or 4 digits", json_schema_extra={"pattern": CVC_PATTERN})

    @field_validator("card_number", mode="before")
    @classmethod
    def _card_number(cls, value: Any) -> Any:
        value = _secret_text(value)
        if not isinstance(value, str):
            return value  # SecretStr's own validation refuses it with a type error
        return card_digits(value)  # the check digit is the payment's business: see the docstring

    @field_validator("expiry", mode="before")
    @classmethod
    def _expiry(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if not _EXPIRY.fullmatch(value):
            raise ValueError("expiry must be MM/YY, the month 01 to 12")
        month, _, year = value.replace(" ", "").partition("/")
        return f"{month}/{year}"

    @field_validator("cvc", mode="before")
    @classmethod
    def _cvc(cls, value: Any) -> Any:
        value = _secret_text(value)
        if not isinstance(value, str):
            return value
        if not _CVC.fullmatch(value):
            raise ValueError("cvc must have 3 or 4 digits")
        return value.strip(" ")

    @property
    def expiry_month(self) -> int:
        return int(self.expiry[:2])

    @property
    def expiry_year(self) -> int:
        # Two-digit card years are always this century: cards live a few years.
        return 2000 + int(self.expiry[3:])


class CardSummary(BaseModel):
    """The only card data that may be stored or logged.

    `fingerprint` is HMAC-SHA256(pepper, card number) in hex, the pepper being a
    per-deployment secret (see tandem.logic.payments.card_fingerprint): it tells
    "the same card again" (fraud rules, saved-card dedup) without keeping the number.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    brand: CardBrand
    last4: Last4
    fingerprint: Fingerprint


class AuthorizationStatus(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"


class DeclineCode(StrEnum):
    INSUFFICIENT_FUNDS = "insufficient_funds"
    STOLEN_CARD = "stolen_card"
    DO_NOT_HONOR = "do_not_honor"
    INVALID_CARD = "invalid_card"
    EXPIRED_CARD = "expired_card"
    INCORRECT_CVC = "incorrect_cvc"


PaymentToken = Annotated[str, StringConstraints(min_length=1, max_length=255)]
PaymentReference = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class PaymentRequest(BaseModel):
    """What to charge and how: a card or a provider's payment token, exactly one.

    `amount_minor` is strict: 10.5 or "1050" are refused rather than coerced, so a
    float can never sneak into a charge.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    amount_minor: int = Field(gt=0, strict=True)
    currency: CurrencyCode
    reference: PaymentReference = Field(description="the merchant's id for this payment, e.g. the order id")
    card: CardDetails | None = None
    token: PaymentToken | None = None

    @model_validator(mode="after")
    def _one_payment_method(self) -> Self:
        if (self.card is None) == (self.token is None):
            raise ValueError("give either card or token, not both and not neither")
        return self


class Authorization(BaseModel):
    """The gateway's answer. `card` is None when the payment used a token the gateway could not resolve."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    authorization_id: str
    status: AuthorizationStatus
    decline_code: DeclineCode | None = None
    amount_minor: int = Field(gt=0, strict=True)
    currency: CurrencyCode
    reference: PaymentReference
    card: CardSummary | None = None

    @model_validator(mode="after")
    def _decline_code_iff_declined(self) -> Self:
        if (self.status is AuthorizationStatus.DECLINED) != (self.decline_code is not None):
            raise ValueError("a declined authorization has a decline code, an approved one has none")
        return self

    @property
    def approved(self) -> bool:
        return self.status is AuthorizationStatus.APPROVED
