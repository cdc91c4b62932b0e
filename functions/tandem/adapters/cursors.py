"""Opaque page cursors: DynamoDB's LastEvaluatedKey, signed, and checked when it comes back.

A cursor is base64url (no padding) of HMAC-SHA256(secret, payload) followed by the
payload, the key as compact JSON. The signature makes any change, or a cursor made up
from scratch, a 422; the key's `tenant_id` binds it to the tenant that listed. The
secret is the deployment's (tandem.handlers.wiring derives it from its secret); never
the same bytes as a card pepper.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from tandem.logic.errors import InvalidRequestError
from tandem.models.api import CURSOR_MAX_LENGTH, CURSOR_PATTERN

_INVALID = "invalid cursor: pass back the next_cursor of the previous page"
_ALPHABET = re.compile(CURSOR_PATTERN)
_MAC_BYTES = hashlib.sha256().digest_size


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()


def encode_cursor(key: Mapping[str, Any], secret: bytes) -> str:
    if not secret:
        raise ValueError("page cursors need a secret to be signed with")
    payload = json.dumps(dict(key), default=str, separators=(",", ":"), sort_keys=True).encode()
    cursor = base64.urlsafe_b64encode(_mac(secret, payload) + payload).rstrip(b"=").decode("ascii")
    if len(cursor) > CURSOR_MAX_LENGTH:  # keys are bounded ids; this would be a bug, not an input
        raise ValueError(f"a page cursor of {len(cursor)} characters is longer than documented")
    return cursor


def decode_cursor(cursor: str, tenant_id: str, secret: bytes) -> dict[str, Any]:
    """The start key, if this API signed it for this tenant's listing; InvalidRequestError (422) otherwise."""
    if not secret:
        raise ValueError("page cursors need a secret to be checked with")
    if len(cursor) > CURSOR_MAX_LENGTH or not _ALPHABET.fullmatch(cursor):
        raise InvalidRequestError(_INVALID)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidRequestError(_INVALID) from None
    signature, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if not payload or not hmac.compare_digest(signature, _mac(secret, payload)):
        raise InvalidRequestError(_INVALID)
    try:
        value = json.loads(payload)
    except ValueError:  # signed by us, so only if the format changes; refused all the same
        value = None
    if not isinstance(value, dict) or value.get("tenant_id") != tenant_id:
        raise InvalidRequestError(_INVALID)
    return value
