"""API keys: how a request proves which tenant it speaks for."""

import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from tandem.logic.errors import ForbiddenError, NotAuthenticatedError
from tandem.logic.ports import ApiKeyStore
from tandem.models.records import ApiKey, Principal, Scope

KEY_PREFIX = "tdm_"
# Every key this API issues matches this (new_api_key: the prefix and 43 url-safe characters;
# keys set by hand may be 16 to 128). Checked before any lookup, so a flood of made-up keys
# costs no read of the key table.
KEY_FORMAT = re.compile(r"tdm_[A-Za-z0-9_-]{16,128}")


def hash_api_key(secret: str) -> str:
    # Keys are long random strings, so a plain SHA-256 is enough (no salt or
    # slow hash needed as for passwords) and lets the store look the key up by it.
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key(
    tenant_id: str, key_id: str, scopes: Iterable[Scope], now: datetime, secret: str | None = None
) -> tuple[str, ApiKey]:
    """A fresh secret (shown once, never stored) and the record that stores its hash."""
    secret = secret or KEY_PREFIX + secrets.token_urlsafe(32)
    if not KEY_FORMAT.fullmatch(secret):
        raise ValueError(f"an API key is '{KEY_PREFIX}' and 16 to 128 letters, digits, '-' or '_'")
    record = ApiKey(
        key_hash=hash_api_key(secret),
        key_id=key_id,
        tenant_id=tenant_id,
        scopes=frozenset(scopes),
        created_at=now,
    )
    return secret, record


def extract_api_key(headers: Mapping[str, str]) -> str | None:
    """The key from `Authorization: Bearer <key>` or `x-api-key: <key>` (header names in any case)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    scheme, _, credentials = lowered.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return lowered.get("x-api-key", "").strip() or None


def authenticate(headers: Mapping[str, str], keys: ApiKeyStore, now: datetime) -> Principal:
    secret = extract_api_key(headers)
    if secret is None:
        raise NotAuthenticatedError("missing API key: send 'Authorization: Bearer <key>' or 'x-api-key'")
    if not KEY_FORMAT.fullmatch(secret):
        raise NotAuthenticatedError("unknown or revoked API key")  # not one of ours: no lookup
    record = keys.get(hash_api_key(secret))
    # An expired key (the old one of a rotation, past its overlap) gets the same answer as an
    # unknown one: the refusal says nothing about which keys exist. Checked on every request,
    # on the record the cache may hold, so a cached key stops at its expiry to the second.
    if record is None or not record.valid_at(now):
        raise NotAuthenticatedError("unknown or revoked API key")
    return Principal(tenant_id=record.tenant_id, key_id=record.key_id, scopes=record.scopes)


# How long a warm authorizer process trusts a key it found active, and how many it keeps.
# A revoked key (or a changed scope) takes effect within KEY_CACHE_SECONDS in every process.
KEY_CACHE_SECONDS = 30.0
KEY_CACHE_SIZE = 1_000


class CachedKeys:
    """An ApiKeyStore that remembers, for `ttl_seconds`, the active keys it found (by key hash).

    One lives in each warm process (the authorizer's composition root builds it once), so a
    request whose key was seen in the last `ttl_seconds` costs no read of the key table.
    Only active keys are kept: an unknown or revoked key is read again on every request,
    so a key just created works at once, and a flood of made-up keys cannot fill the
    cache. The cache holds at most `max_keys` entries and drops the least recently used.
    Expiry counts from the read, on `clock` (seconds, monotonic). A key's own `expires_at` (the
    old key of a rotation) is not the cache's business: `authenticate` checks it on every
    request, on the record the cache returns, so a cached key stops at its expiry all the same.
    """

    def __init__(
        self,
        store: ApiKeyStore,
        *,
        clock: Callable[[], float],
        ttl_seconds: float = KEY_CACHE_SECONDS,
        max_keys: int = KEY_CACHE_SIZE,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl_seconds
        self._max = max_keys
        self._found: OrderedDict[str, tuple[float, ApiKey]] = OrderedDict()  # hash -> (expires, key)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._found)

    def get(self, key_hash: str) -> ApiKey | None:
        now = self._clock()
        with self._lock:
            cached = self._found.get(key_hash)
            if cached is not None and now < cached[0]:
                self._found.move_to_end(key_hash)
                return cached[1]
            self._found.pop(key_hash, None)
        record = self._store.get(key_hash)
        if record is not None and record.active:
            with self._lock:
                self._found[key_hash] = (now + self._ttl, record)
                self._found.move_to_end(key_hash)
                while len(self._found) > self._max:
                    self._found.popitem(last=False)
        return record


def require_scope(principal: Principal, scope: Scope) -> None:
    if scope not in principal.scopes and "admin" not in principal.scopes:
        raise ForbiddenError(f"this API key lacks the '{scope}' scope")
