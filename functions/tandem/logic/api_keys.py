"""Managing API keys (`tandem keys create|list|rotate|revoke`): the rules, whatever runs them.

A key is created with its tenant and scopes; its secret is returned once and only its hash
is stored (tandem.logic.auth.new_api_key). A revoked key is inactive in the table at once;
each warm authorizer may still trust it for up to KEY_CACHE_SECONDS (tandem.logic.auth.CachedKeys).
A rotation issues a new key with the same tenant and scopes and gives the old one an
`expires_at`, `overlap` from now: both work until then, so the shop can roll the new key out,
then the old one is refused (tandem.logic.auth.authenticate checks the expiry on every request).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tandem.logic.auth import new_api_key
from tandem.logic.errors import ConflictError, InvalidRequestError, NotFoundError
from tandem.logic.ports import ApiKeyRegistry
from tandem.models.records import ApiKey, ApiKeyStatus, ApiKeySummary, Scope

DEFAULT_OVERLAP = timedelta(hours=24)
# A week: long enough for any roll-out, short enough that a forgotten old key does not live on.
MAX_OVERLAP = timedelta(days=7)


@dataclass(frozen=True)
class KeyAdminDeps:
    keys: ApiKeyRegistry
    clock: Callable[[], datetime]
    new_id: Callable[[], str]


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: the secret, shown once, and what is stored of it."""

    secret: str
    key: ApiKeySummary


def key_status(key: ApiKey, now: datetime) -> ApiKeyStatus:
    if not key.active:
        return "revoked"
    if key.expires_at is None:
        return "active"
    return "expiring" if now < key.expires_at else "expired"


def summary(key: ApiKey, now: datetime) -> ApiKeySummary:
    return ApiKeySummary(
        key_id=key.key_id,
        tenant_id=key.tenant_id,
        scopes=key.scopes,
        created_at=key.created_at,
        status=key_status(key, now),
        expires_at=key.expires_at,
    )


def _find(key_id: str, keys: Iterable[ApiKey]) -> ApiKey:
    found = [key for key in keys if key.key_id == key_id]
    if not found:
        raise NotFoundError(f"no API key {key_id!r}")
    if len(found) > 1:  # keys set by hand before ids were unique: say so, touch neither
        raise ConflictError(f"{len(found)} API keys are named {key_id!r}; revoke them by hand")
    return found[0]


def _issue(tenant_id: str, scopes: Iterable[Scope], key_id: str, deps: KeyAdminDeps) -> IssuedKey:
    scopes = frozenset(scopes)
    if not scopes:
        raise InvalidRequestError("a key needs at least one scope")
    now = deps.clock()
    secret, record = new_api_key(tenant_id, key_id, scopes, now)
    deps.keys.put(record)
    return IssuedKey(secret=secret, key=summary(record, now))


def create_key(
    tenant_id: str, scopes: Iterable[Scope], deps: KeyAdminDeps, key_id: str | None = None
) -> IssuedKey:
    """A new key of `tenant_id` with `scopes`; `key_id` names it (default: a fresh id), unique."""
    key_id = key_id or f"{tenant_id}-{deps.new_id()[-12:]}"
    if any(key.key_id == key_id for key in deps.keys.all()):
        raise ConflictError(f"an API key named {key_id!r} exists; choose another --key-id")
    return _issue(tenant_id, scopes, key_id, deps)


def list_keys(tenant_id: str | None, deps: KeyAdminDeps) -> list[ApiKeySummary]:
    """Every key (of `tenant_id` if given), oldest first: ids, scopes and status, no secrets."""
    now = deps.clock()
    chosen = [key for key in deps.keys.all() if tenant_id is None or key.tenant_id == tenant_id]
    return [summary(key, now) for key in sorted(chosen, key=lambda k: (k.tenant_id, k.created_at, k.key_id))]


def revoke_key(key_id: str, deps: KeyAdminDeps) -> ApiKeySummary:
    """The key made inactive in the table now (idempotent: a revoked key stays revoked)."""
    key = _find(key_id, deps.keys.all())
    revoked = key.model_copy(update={"active": False})
    if key.active:
        deps.keys.put(revoked)
    return summary(revoked, deps.clock())


def rotate_key(
    key_id: str, deps: KeyAdminDeps, overlap: timedelta = DEFAULT_OVERLAP
) -> tuple[IssuedKey, ApiKeySummary]:
    """A new key with the old one's tenant and scopes; the old one valid `overlap` longer.

    The new key is stored first: a crash between the two writes leaves two valid keys and no
    expiry, and running the rotation again is safe. An old key already expiring keeps the
    earlier of its expiry and the new one (a rotation never lengthens a key's life).
    """
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise InvalidRequestError(f"the overlap is 0 to {MAX_OVERLAP.days} days")
    old = _find(key_id, deps.keys.all())
    now = deps.clock()
    if not old.valid_at(now):
        raise ConflictError(f"API key {key_id!r} is {key_status(old, now)}: create a new key instead")
    issued = _issue(old.tenant_id, old.scopes, f"{old.tenant_id}-{deps.new_id()[-12:]}", deps)
    expires_at = now + overlap
    if old.expires_at is not None:
        expires_at = min(expires_at, old.expires_at)
    ending = old.model_copy(update={"expires_at": expires_at})
    deps.keys.put(ending)
    return issued, summary(ending, now)
