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
from typing import Literal

from tandem.models.compliance import (
    ComplianceDecision,
    ComplianceOutcome,
    CompliancePolicy,
    ReasonCode,
    SanctionsEntry,
    SanctionsMatch,
)

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
