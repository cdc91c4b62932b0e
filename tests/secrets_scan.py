"""The secrets scan: card numbers (Luhn-valid digit runs), CVCs, API keys, e-mail addresses and
webhook secrets, looked for in any string or decoded document (a table item, a queued message, a
log line). Used by tests/integration/test_secrets_at_rest.py (moto) and
tests/e2e/test_secrets_in_logs.py (the local cloud).

What a run knows of its own secrets (the API key it made, the webhook secret it set, the CVC it
paid with) is passed in as `Known`: found wherever it appears, whatever its shape, besides what
the patterns find.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from tandem.logic.auth import KEY_FORMAT

EMAILS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# 13 to 19 digits, maybe grouped by spaces or dashes, not inside a longer word or number, starting
# as a card network's numbers do (2 to 6): epoch milliseconds (1…) and ids are not cards.
DIGIT_RUNS = re.compile(r"(?<![0-9A-Za-z])[2-6](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z])")
# Domains that name messages, not mailboxes: what SES's SendEmail answers is kept as a follow-up's
# reference and logged with it, and the local cloud's SES (MiniStack) gives it as a Message-ID,
# "<uuid>@email.amazonses.com" (AWS's own MessageId has no "@"). No one's address is in it.
MESSAGE_ID_DOMAINS = {"email.amazonses.com"}
CVC_NAMES = {"cvc", "cvv", "cvc2", "cvv2", "security_code", "card_number", "pan"}
# Every secret PUT /settings/webhooks makes starts so (tandem.logic.webhooks).
WEBHOOK_SECRET_PREFIX = "whsec_"

# (table's logical id, attribute path) -> why the shop needs it kept.
KEPT: dict[tuple[str, str], str] = {
    ("OrdersTable", "customer_email"): "the buyer's address: the confirmation e-mail goes there",
    ("TenantsTable", "reply_to"): "where a buyer's answer to the confirmation goes",
    ("TenantsTable", "report_email"): "where the tenant's finished reports are announced",
    ("TenantsTable", "webhook.secret"): "it signs the courier's calls (shown once, when set)",
}


@dataclass(frozen=True)
class Known:
    """A run's own secrets: the API keys it made, the webhook secrets it set, the CVC it paid with."""

    keys: frozenset[str] = frozenset()
    webhook_secrets: frozenset[str] = frozenset()
    cvc: str | None = None

    def cvc_named(self) -> re.Pattern[str] | None:
        # In free text ("cvc=739", "CVV: 739") the CVC is found next to its name; alone, a short
        # number is found only as a whole value (a duration of 739 ms is not a CVC).
        if self.cvc is None:
            return None
        names = "|".join(sorted(CVC_NAMES | {"security code"}))
        return re.compile(rf"(?i)(?:{names})\W{{0,4}}{re.escape(self.cvc)}(?![0-9])")


def luhn(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def findings(text: str, known: Known = Known()) -> set[str]:
    """What the scan looks for in one string."""
    found: set[str] = set()
    for run in DIGIT_RUNS.findall(text):
        digits = re.sub(r"[ -]", "", run)
        if luhn(digits):
            found.add("card number")
    if KEY_FORMAT.search(text) or any(key in text for key in known.keys):
        found.add("API key")
    if any(address.split("@")[1].lower() not in MESSAGE_ID_DOMAINS for address in EMAILS.findall(text)):
        found.add("e-mail address")
    if WEBHOOK_SECRET_PREFIX in text or any(secret in text for secret in known.webhook_secrets):
        found.add("webhook secret")
    named = known.cvc_named()
    if known.cvc is not None and (text.strip() == known.cvc or (named and named.search(text))):
        found.add("CVC")
    return found


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every leaf of a decoded document; JSON inside strings decoded too."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if str(key).lower() in CVC_NAMES:
                yield f"{path}{key}", f"<a field named {key}>"
            yield from leaves(inner, f"{path}{key}.")
    elif isinstance(value, list | tuple | set):
        for inner in value:
            yield from leaves(inner, path)
    elif isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            yield from leaves(json.loads(value), path)
        except ValueError:
            yield path.rstrip("."), value
    else:
        yield path.rstrip("."), value


def scan(document: Any, known: Known = Known()) -> dict[str, set[str]]:
    """Each leaf's path and what was found in it."""
    found: dict[str, set[str]] = {}
    # A CVC arrives as text: a number (a duration, a size, a count) that equals it is no leak.
    measured = replace(known, cvc=None)
    for path, value in leaves(document):
        if str(value).startswith("<a field named"):
            hits = {"CVC or card field"}
        else:
            hits = findings(str(value), known if isinstance(value, str) else measured)
        if hits:
            found.setdefault(path, set()).update(hits)
    return found
