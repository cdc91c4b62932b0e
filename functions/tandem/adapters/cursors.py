"""Opaque page cursors: DynamoDB's LastEvaluatedKey, encoded, and checked when it comes back."""

import base64
import json
from collections.abc import Mapping
from typing import Any

from tandem.logic.errors import InvalidRequestError

_INVALID = "invalid cursor: pass back the next_cursor of the previous page"


def encode_cursor(key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(dict(key), default=str).encode()).decode()


def decode_cursor(cursor: str, tenant_id: str) -> dict[str, Any]:
    """The start key, if it is one and belongs to this tenant's listing (a forged one is refused)."""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:  # also json.JSONDecodeError and binascii.Error
        value = None
    if not isinstance(value, dict) or value.get("tenant_id") != tenant_id:
        raise InvalidRequestError(_INVALID)
    return value
