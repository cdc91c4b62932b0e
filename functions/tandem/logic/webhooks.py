"""Signed webhooks, as Stripe signs its own: verifiable by the receiver, replay-resistant.

Every call carries `Tandem-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`.
The receiver recomputes the HMAC over the timestamp and the raw body it received, compares in
constant time, and refuses a timestamp older than its tolerance (5 minutes): a captured call
cannot be replayed later, and the body cannot be changed without the secret. The README shows
the receiver's side. Used by the courier notification (tandem.logic.follow_ups) and by report
notifications (tandem.logic.report_notifications).

A secret is `whsec_` and 32 random bytes, URL-safe base64: returned once, when the endpoint is
set (PUT /settings/webhooks); the signer keeps it, since it must sign with it.
"""

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tandem.logic.errors import NotFoundError
from tandem.logic.ports import Clock, TenantWebhooks
from tandem.models.records import TenantWebhook
from tandem.models.webhooks import WebhookSettings, WebhookSettingsRequest

SIGNATURE_HEADER = "Tandem-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
# How old a signed timestamp a receiver accepts (Stripe's default tolerance).
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes, at: datetime) -> str:
    """The header's value for `body` sent at `at`."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, now: datetime, tolerance_seconds: int = TOLERANCE_SECONDS
) -> bool:
    """Whether `header` signs `body` with `secret`, no more than `tolerance_seconds` from `now`.
    Several v1 values may be given (a secret being rolled): one matching is enough."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


# ---------------------------------------------------------------- PUT /settings/webhooks
@dataclass(frozen=True)
class WebhookSettingsDeps:
    tenants: TenantWebhooks
    clock: Clock
    new_secret: Callable[[], str] = new_secret


def set_webhook(
    tenant_id: str, request: WebhookSettingsRequest, deps: WebhookSettingsDeps
) -> WebhookSettings:
    """Store the tenant's endpoint with a new secret, answered once. 404 for a tenant without a record."""
    webhook = TenantWebhook(url=request.url, secret=deps.new_secret(), set_at=deps.clock())
    if not deps.tenants.set_webhook(tenant_id, webhook):
        raise NotFoundError(f"no tenant '{tenant_id}'")
    return WebhookSettings(url=webhook.url, secret=webhook.secret, set_at=webhook.set_at)
