"""Compliance checks made synchronously before a payment is authorised.

Three rules, one decision (`check`):

- **sanctions**: the customer's name against the sanctions lists → `block`;
- **AML threshold**: one payment at or above the currency's limit → `flag`;
- **structuring**: payments by one customer within the window (24 h) that are each
  under the limit but together reach it → `flag`.

A flag lets the order proceed and asks the caller to record the decision for review;
a block stops it. Every rule that fires is reported, and block wins over flag.

Name matching (`SanctionsIndex.match`) works on normalised tokens, so accents, case,
punctuation and word order do not matter ("García Márquez, Gabriel" is "Gabriel
GARCIA MARQUEZ"). A customer matches a listed name or alias when either

1. **exact**: both have the same set of tokens; or
2. **subset**: the listed name has at least two tokens and all of them are in the
   customer's name (a middle name or a second surname does not hide a match).

A listed name of a single token ("Chapo") matches only a customer name that is that
one token: subset matching on one common token would block every "Ali" or "Maria".
A customer name that is only part of a listed name ("Gabriel Marquez" against
"Gabriel Garcia Marquez") does not match. Scripts are not transliterated: a name
listed in Cyrillic matches only a customer name written in Cyrillic.
"""

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from tandem.models.records import CurrencyCode

# Apostrophes join: "O'Brien" is one token, "obrien", as most lists write it. Escaped:
# the typographic ones look like the ASCII one.
_APOSTROPHES = str.maketrans("", "", "'`\u2018\u2019\u02bc\u00b4")
# Letters that NFKD does not split into a base letter and a mark (\u0131: the dotless i).
_UNDECOMPOSED = str.maketrans(
    {
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "ħ": "h",
        "\u0131": "i",
        "ŧ": "t",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
    }
)


def normalize_name(name: str) -> str:
    """Casefolded, without accents or punctuation, single-spaced.

    "Zoë O'Brien-Ångström" → "zoe obrien angstrom".
    """
    folded = unicodedata.normalize("NFKD", name.translate(_APOSTROPHES).casefold()).translate(_UNDECOMPOSED)
    # NFKD splits "é" into "e" and a combining accent, dropped here; other non-alphanumerics separate words.
    kept = ((char if char.isalnum() else " ") for char in folded if not unicodedata.combining(char))
    return " ".join("".join(kept).split())


def name_tokens(name: str) -> tuple[str, ...]:
    """The distinct words of the normalised name, sorted: word order stops mattering."""
    return tuple(sorted(set(normalize_name(name).split())))


class SanctionsEntry(BaseModel):
    """One listed person or organisation, as the sanctions file has it (tandem.adapters.sanctions_list)."""

    # The file's keys are "id" and "list"; other fields a list carries (dates of birth…) are ignored.
    model_config = ConfigDict(frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True)

    entry_id: str = Field(validation_alias="id", min_length=1)
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    source_list: str = Field(validation_alias="list", min_length=1, description="UN, EU, OFAC…")


class SanctionsMatch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    source_list: str
    listed_name: str
    rule: Literal["exact", "subset"]


class SanctionsIndex:
    """Listed names and aliases, indexed by their token sets, for matching in microseconds per payment."""

    def __init__(self, entries: Iterable[SanctionsEntry] = ()) -> None:
        self._entries = tuple(entries)
        keyed = [
            (frozenset(name_tokens(listed)), listed, entry)
            for entry in self._entries
            for listed in (entry.name, *entry.aliases)
        ]
        keyed = [item for item in keyed if item[0]]  # a name of punctuation only matches nothing
        self._exact: dict[frozenset[str], list[tuple[str, SanctionsEntry]]] = defaultdict(list)
        for tokens, listed, entry in keyed:
            self._exact[tokens].append((listed, entry))
        # Subset matching looks up each multi-token name under its rarest token only:
        # a customer called "Mohammed …" then checks the few names anchored on
        # "mohammed", not every listed name that contains it.
        frequency = Counter(token for tokens, _, _ in keyed for token in tokens)
        self._anchored: dict[str, list[tuple[frozenset[str], str, SanctionsEntry]]] = defaultdict(list)
        for tokens, listed, entry in keyed:
            if len(tokens) >= 2:
                anchor = min(tokens, key=lambda token: (frequency[token], token))
                self._anchored[anchor].append((tokens, listed, entry))

    @classmethod
    def from_names(cls, names: Iterable[str], source_list: str = "custom") -> "SanctionsIndex":
        return cls(
            SanctionsEntry(entry_id=f"{source_list}-{number}", name=name, source_list=source_list)
            for number, name in enumerate(names, start=1)
        )

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, customer_name: str) -> SanctionsMatch | None:
        tokens = frozenset(name_tokens(customer_name))
        if not tokens:
            return None
        for listed, entry in self._exact.get(tokens, ()):
            return _match(entry, listed, "exact")
        for token in sorted(tokens):  # sorted: the same name always reports the same entry
            for listed_tokens, listed, entry in self._anchored.get(token, ()):
                if listed_tokens <= tokens:
                    return _match(entry, listed, "subset")
        return None


def _match(entry: SanctionsEntry, listed: str, rule: Literal["exact", "subset"]) -> SanctionsMatch:
    return SanctionsMatch(
        entry_id=entry.entry_id, source_list=entry.source_list, listed_name=listed, rule=rule
    )


class SanctionsSource(Protocol):
    def load(self) -> SanctionsIndex:
        """The current list; implementations cache it (it changes daily at most, payments every second)."""
        ...


class ComplianceOutcome(StrEnum):
    ALLOW = "allow"
    FLAG = "flag"
    BLOCK = "block"


class ReasonCode(StrEnum):
    AML_THRESHOLD = "aml_threshold"
    STRUCTURING = "structuring"
    SANCTIONS_MATCH = "sanctions_match"


# Told to the merchant: what happened and what follows, never the list entry or the limit.
_REASONS: dict[ReasonCode, str] = {
    ReasonCode.SANCTIONS_MATCH: (
        "the customer's name matches an entry on a sanctions list; the payment is blocked pending review"
    ),
    ReasonCode.AML_THRESHOLD: (
        "the amount reaches the anti-money-laundering reporting threshold; the payment is recorded for review"
    ),
    ReasonCode.STRUCTURING: (
        "this customer's recent payments together reach the reporting threshold;"
        " the payment is recorded for review"
    ),
}


def _default_aml_limits() -> dict[str, int]:
    return {"EUR": 1_000_000, "GBP": 1_000_000, "USD": 1_000_000, "CHF": 1_000_000}


class CompliancePolicy(BaseModel):
    """The thresholds, per deployment.

    `aml_limit_minor` gives the limit per currency in minor units (1_000_000 = 10,000.00);
    any other currency falls back to `default_aml_limit_minor`. The fallback of
    1,000,000 minor units errs on the side of flagging: it is 1,000,000 JPY or KRW,
    1,000.000 BHD or KWD, all worth less than 10,000 EUR. Set explicit limits for
    the currencies a deployment takes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    aml_limit_minor: dict[CurrencyCode, PositiveInt] = Field(default_factory=_default_aml_limits)
    default_aml_limit_minor: PositiveInt = 1_000_000
    # The caller sums the customer's earlier payments over this window (see window_start).
    structuring_window: timedelta = timedelta(hours=24)
    # Counting this payment: 2 means "this one and at least one before it".
    structuring_min_payments: int = Field(default=2, ge=2)

    def aml_limit_for(self, currency: str) -> int:
        return self.aml_limit_minor.get(currency, self.default_aml_limit_minor)

    def window_start(self, now: datetime) -> datetime:
        """Payments made at or after this moment count towards structuring."""
        return now - self.structuring_window


class ComplianceDecision(BaseModel):
    """What `check` decided and why. Flagged and blocked decisions are to be recorded by the caller.

    `reasons` are for people (no internals); the sanctions fields name the list
    entry for the compliance record and must not be shown to the customer.
    The customer's name is left out on purpose: `customer_key` identifies them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: ComplianceOutcome
    reason_codes: tuple[ReasonCode, ...] = ()
    reasons: tuple[str, ...] = ()
    customer_key: str
    amount_minor: int
    currency: CurrencyCode
    sanctions_entry_id: str | None = None
    sanctions_list: str | None = None

    @property
    def blocked(self) -> bool:
        return self.outcome is ComplianceOutcome.BLOCK

    @property
    def flags(self) -> tuple[str, ...]:
        """Every rule that fired, as plain codes (a block's included): what an order and the audit keep."""
        return tuple(code.value for code in self.reason_codes)

    @property
    def must_record(self) -> bool:
        return self.outcome is not ComplianceOutcome.ALLOW


def check(
    *,
    amount_minor: int,
    currency: str,
    customer_key: str,
    customer_name: str,
    recent_24h_total_minor: int,
    recent_24h_count: int,
    sanctions: SanctionsIndex,
    policy: CompliancePolicy | None = None,
) -> ComplianceDecision:
    """Decide allow, flag or block for one payment.

    Keyword-only: three of the arguments are amounts or counts, easy to swap.
    `recent_24h_total_minor` and `recent_24h_count` describe this customer's earlier
    payments in the same currency since `policy.window_start(now)`, this one excluded.
    Without a policy, CompliancePolicy's defaults apply.
    """
    policy = policy or CompliancePolicy()
    if amount_minor <= 0 or recent_24h_total_minor < 0 or recent_24h_count < 0:
        raise ValueError("the amount must be positive, recent totals and counts not negative")
    limit = policy.aml_limit_for(currency)
    codes: list[ReasonCode] = []
    listed = sanctions.match(customer_name)
    if listed is not None:
        codes.append(ReasonCode.SANCTIONS_MATCH)
    if amount_minor >= limit:
        codes.append(ReasonCode.AML_THRESHOLD)
    elif (
        recent_24h_count + 1 >= policy.structuring_min_payments
        and recent_24h_total_minor + amount_minor >= limit
    ):
        # Only a payment under the limit on its own can be structuring: one at or
        # above it is already flagged for the amount itself.
        codes.append(ReasonCode.STRUCTURING)
    if listed is not None:
        outcome = ComplianceOutcome.BLOCK
    else:
        outcome = ComplianceOutcome.FLAG if codes else ComplianceOutcome.ALLOW
    return ComplianceDecision(
        outcome=outcome,
        reason_codes=tuple(codes),
        reasons=tuple(_REASONS[code] for code in codes),
        customer_key=customer_key,
        amount_minor=amount_minor,
        currency=currency,
        sanctions_entry_id=listed.entry_id if listed else None,
        sanctions_list=listed.source_list if listed else None,
    )
