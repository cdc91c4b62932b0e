"""`tandem keys`' rules with fakes: create, list, revoke, rotate with an overlap, and what the
authorizer then accepts (tandem.logic.auth.authenticate, with and without its cache)."""

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from tandem.logic.api_keys import (
    DEFAULT_OVERLAP,
    KeyAdminDeps,
    create_key,
    list_keys,
    revoke_key,
    rotate_key,
)
from tandem.logic.auth import KEY_CACHE_SECONDS, CachedKeys, authenticate, hash_api_key
from tandem.logic.errors import ConflictError, InvalidRequestError, NotAuthenticatedError, NotFoundError
from tandem.models.records import Principal
from tests.fakes import FakeKeys

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    """Wall-clock time for the rules and authenticate; `monotonic` for the authorizer's cache."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - START).total_seconds()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keys() -> FakeKeys:
    return FakeKeys()


@pytest.fixture
def deps(keys: FakeKeys, clock: Clock) -> KeyAdminDeps:
    ids = count(1)
    return KeyAdminDeps(keys=keys, clock=clock, new_id=lambda: f"{next(ids):032x}")


def works(secret: str, store: FakeKeys | CachedKeys, clock: Clock) -> Principal | None:
    try:
        return authenticate({"x-api-key": secret}, store, clock())
    except NotAuthenticatedError:
        return None


def test_create_returns_the_secret_once_and_stores_only_its_hash(deps: KeyAdminDeps, keys: FakeKeys) -> None:
    issued = create_key("acme", ["orders:read", "reports:read"], deps)
    [stored] = keys.keys.values()
    assert stored.key_hash == hash_api_key(issued.secret)
    assert issued.secret not in stored.model_dump_json()
    assert (stored.tenant_id, stored.scopes) == ("acme", frozenset({"orders:read", "reports:read"}))
    assert issued.key.key_id == stored.key_id
    assert issued.key.status == "active"


def test_create_refuses_no_scope_and_a_key_id_in_use(deps: KeyAdminDeps) -> None:
    with pytest.raises(InvalidRequestError, match="scope"):
        create_key("acme", [], deps)
    create_key("acme", ["admin"], deps, key_id="till")
    with pytest.raises(ConflictError, match="till"):
        create_key("globex", ["admin"], deps, key_id="till")


def test_list_shows_ids_tenants_scopes_and_status_never_a_secret_or_hash(
    deps: KeyAdminDeps, clock: Clock
) -> None:
    first = create_key("acme", ["orders:read"], deps, key_id="a1")
    clock.advance(minutes=1)
    create_key("globex", ["admin"], deps, key_id="g1")
    clock.advance(minutes=1)
    create_key("acme", ["reports:read"], deps, key_id="a2")
    revoke_key("a2", deps)

    listed = list_keys(None, deps)
    assert [(k.tenant_id, k.key_id, k.status) for k in listed] == [
        ("acme", "a1", "active"),
        ("acme", "a2", "revoked"),
        ("globex", "g1", "active"),
    ]
    assert [k.key_id for k in list_keys("globex", deps)] == ["g1"]
    text = "".join(k.model_dump_json() for k in listed)
    assert first.secret not in text
    assert hash_api_key(first.secret) not in text
    assert "key_hash" not in text


def test_revoke_makes_the_key_inactive_in_the_table_at_once(
    deps: KeyAdminDeps, keys: FakeKeys, clock: Clock
) -> None:
    issued = create_key("acme", ["orders:read"], deps)
    assert works(issued.secret, keys, clock) is not None
    assert revoke_key(issued.key.key_id, deps).status == "revoked"
    assert keys.get(hash_api_key(issued.secret)) is not None
    assert keys.keys[hash_api_key(issued.secret)].active is False
    assert works(issued.secret, keys, clock) is None
    assert revoke_key(issued.key.key_id, deps).status == "revoked"  # again: no error, still revoked


def test_an_unknown_key_id_is_not_found(deps: KeyAdminDeps) -> None:
    with pytest.raises(NotFoundError):
        revoke_key("nope", deps)
    with pytest.raises(NotFoundError):
        rotate_key("nope", deps)


def test_a_revoked_key_fails_within_the_cache_bound_even_with_the_cache_on(
    deps: KeyAdminDeps, keys: FakeKeys, clock: Clock
) -> None:
    issued = create_key("acme", ["orders:read"], deps)
    cache = CachedKeys(keys, clock=clock.monotonic)  # the authorizer's defaults
    assert works(issued.secret, cache, clock) is not None  # now cached
    revoke_key(issued.key.key_id, deps)
    refused_after = None
    for second in range(int(KEY_CACHE_SECONDS) * 3):
        if works(issued.secret, cache, clock) is None:
            refused_after = second
            break
        clock.advance(seconds=1)
    assert refused_after is not None
    assert 0 < refused_after <= KEY_CACHE_SECONDS
    for _ in range(3):  # and it stays refused
        clock.advance(seconds=1)
        assert works(issued.secret, cache, clock) is None


def test_rotation_keeps_the_old_key_for_the_overlap_then_refuses_it(
    deps: KeyAdminDeps, keys: FakeKeys, clock: Clock
) -> None:
    old = create_key("acme", ["orders:read", "reports:write"], deps)
    issued, ending = rotate_key(old.key.key_id, deps)
    assert issued.key.key_id != old.key.key_id
    assert issued.key.scopes == old.key.scopes
    assert issued.key.tenant_id == "acme"
    assert (ending.status, ending.expires_at) == ("expiring", START + DEFAULT_OVERLAP)

    cache = CachedKeys(keys, clock=clock.monotonic)
    for store in (keys, cache):
        assert works(old.secret, store, clock) is not None
        assert works(issued.secret, store, clock) is not None
    clock.advance(hours=24, seconds=-1)
    assert works(old.secret, cache, clock) is not None  # within the overlap
    clock.advance(seconds=1)
    for store in (keys, cache):  # the cache never serves it past its expiry
        assert works(old.secret, store, clock) is None
        principal = works(issued.secret, store, clock)
        assert principal is not None
        assert principal.scopes == frozenset({"orders:read", "reports:write"})
    assert {k.key_id: k.status for k in list_keys("acme", deps)} == {
        old.key.key_id: "expired",
        issued.key.key_id: "active",
    }


def test_a_short_overlap_and_no_second_rotation_of_a_dead_key(
    deps: KeyAdminDeps, keys: FakeKeys, clock: Clock
) -> None:
    old = create_key("acme", ["orders:read"], deps)
    _, ending = rotate_key(old.key.key_id, deps, overlap=timedelta(minutes=5))
    assert ending.expires_at == START + timedelta(minutes=5)
    # A second rotation within the window never lengthens the old key's life.
    _, again = rotate_key(old.key.key_id, deps, overlap=timedelta(hours=2))
    assert again.expires_at == START + timedelta(minutes=5)
    clock.advance(minutes=5)
    assert works(old.secret, keys, clock) is None
    with pytest.raises(ConflictError, match="expired"):
        rotate_key(old.key.key_id, deps)
    with pytest.raises(InvalidRequestError, match="overlap"):
        rotate_key(create_key("acme", ["admin"], deps).key.key_id, deps, overlap=timedelta(days=8))


def test_an_immediate_rotation_stops_the_old_key(deps: KeyAdminDeps, keys: FakeKeys, clock: Clock) -> None:
    old = create_key("acme", ["orders:read"], deps)
    issued, _ = rotate_key(old.key.key_id, deps, overlap=timedelta(0))
    assert works(old.secret, keys, clock) is None
    assert works(issued.secret, keys, clock) is not None
