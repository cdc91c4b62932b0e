"""Webhook signatures (Stripe's scheme), checked against an independent implementation: the one a
receiver would write from the README, with openssl-like steps done by hand."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tandem.logic.webhooks import SECRET_PREFIX, new_secret, signature, verify

SECRET = "whsec_test_secret"
BODY = b'{"order_id": "ord-1", "total": "16.25"}'
AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def receiver_verifies(secret: str, header: str, body: bytes, now: float, tolerance: int = 300) -> bool:
    """What the README's snippet does, written again from the scheme."""
    fields = dict(item.split("=", 1) for item in header.split(","))
    timestamp = fields["t"]
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def test_the_header_is_the_timestamp_and_the_hmac_of_timestamp_dot_body() -> None:
    header = signature(SECRET, BODY, AT)
    timestamp = int(AT.timestamp())  # 1795858200
    assert timestamp == 1_795_858_200
    expected = hmac.new(b"whsec_test_secret", b"1795858200." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1795858200,v1={expected}"
    assert receiver_verifies(SECRET, header, BODY, now=AT.timestamp() + 10)


def test_verify_accepts_its_own_and_refuses_changed_bodies_other_secrets_and_old_timestamps() -> None:
    header = signature(SECRET, BODY, AT)
    assert verify(SECRET, header, BODY, AT + timedelta(seconds=299))
    assert not verify(SECRET, header, BODY + b" ", AT)
    assert not verify("whsec_other", header, BODY, AT)
    assert not verify(SECRET, header, BODY, AT + timedelta(seconds=301))  # a replay, later
    assert not verify(SECRET, "v1=" + header.split("v1=")[1], BODY, AT)  # no timestamp
    assert not verify(SECRET, "garbage", BODY, AT)
    # a second v1 (a secret being rolled) is fine when one matches
    assert verify(SECRET, header + ",v1=" + "0" * 64, BODY, AT)


def test_secrets_are_random_and_prefixed() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert first.startswith(SECRET_PREFIX)
    assert len(first) >= len(SECRET_PREFIX) + 43  # 32 bytes, base64


def test_the_readmes_verification_snippet_accepts_our_signatures_and_refuses_others() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("#### Signed webhooks") :]
    snippet = section[
        section.index("```python") + len("```python") : section.index("```\n", section.index("```python") + 9)
    ]
    scope: dict[str, Any] = {}
    exec(snippet, scope)  # noqa: S102 - our own README's code
    now = datetime.now(UTC)
    header = signature(SECRET, BODY, now)
    assert scope["verify"](SECRET, header, BODY)
    assert not scope["verify"](SECRET, header, BODY + b"x")
    assert not scope["verify"]("whsec_other", header, BODY)
    assert not scope["verify"](SECRET, signature(SECRET, BODY, now - timedelta(minutes=10)), BODY)
