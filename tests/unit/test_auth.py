from datetime import UTC, datetime

import pytest

from tandem.logic.auth import (
    KEY_CACHE_SECONDS,
    KEY_CACHE_SIZE,
    CachedKeys,
    authenticate,
    extract_api_key,
    hash_api_key,
    new_api_key,
    require_scope,
)
from tandem.logic.errors import ForbiddenError, NotAuthenticatedError
from tandem.models.records import ApiKey
from tests.fakes import FakeKeys

NOW = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"authorization": "Bearer tdm_abc"}, "tdm_abc"),
        ({"Authorization": "bearer   tdm_abc  "}, "tdm_abc"),
        ({"x-api-key": "tdm_abc"}, "tdm_abc"),
        ({"X-Api-Key": " tdm_abc "}, "tdm_abc"),
        ({"authorization": "Basic dXNlcjpwYXNz", "x-api-key": "tdm_abc"}, "tdm_abc"),
        ({"authorization": "Bearer "}, None),
        ({}, None),
    ],
)
def test_extract_api_key_reads_bearer_or_x_api_key(headers: dict[str, str], expected: str | None) -> None:
    assert extract_api_key(headers) == expected


def test_new_api_key_stores_only_the_hash() -> None:
    secret, record = new_api_key("acme", "k1", ["reports:read"], NOW)
    assert secret.startswith("tdm_")
    assert len(secret) > 40
    assert record.key_hash == hash_api_key(secret)
    assert secret not in record.model_dump_json()


def test_authenticate_maps_a_known_key_to_its_tenant_and_scopes() -> None:
    keys = FakeKeys()
    secret, record = new_api_key("acme", "k1", ["reports:read"], NOW)
    keys.add(record)
    principal = authenticate({"x-api-key": secret}, keys, NOW)
    assert principal.tenant_id == "acme"
    assert principal.scopes == frozenset({"reports:read"})


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "tdm_unknown"}])
def test_authenticate_refuses_missing_or_unknown_keys(headers: dict[str, str]) -> None:
    with pytest.raises(NotAuthenticatedError):
        authenticate(headers, FakeKeys(), NOW)


def test_authenticate_refuses_a_revoked_key() -> None:
    keys = FakeKeys()
    secret, record = new_api_key("acme", "k1", ["reports:read"], NOW)
    keys.add(record.model_copy(update={"active": False}))
    with pytest.raises(NotAuthenticatedError):
        authenticate({"authorization": f"Bearer {secret}"}, keys, NOW)


def test_require_scope_accepts_the_scope_or_admin_and_refuses_others() -> None:
    keys = FakeKeys()
    for key_id, scopes in (("reader", ["reports:read"]), ("admin", ["admin"])):
        _, record = new_api_key("acme", key_id, scopes, NOW, secret=f"tdm_{key_id}_0123456789abcdef")
        keys.add(record)
    reader = authenticate({"x-api-key": "tdm_reader_0123456789abcdef"}, keys, NOW)
    admin = authenticate({"x-api-key": "tdm_admin_0123456789abcdef"}, keys, NOW)
    require_scope(reader, "reports:read")
    require_scope(admin, "reports:write")
    with pytest.raises(ForbiddenError):
        require_scope(reader, "reports:write")


class _CountingKeys:
    def __init__(self) -> None:
        self.reads = 0

    def get(self, key_hash: str) -> None:  # noqa: ARG002 - the ApiKeyStore port's signature
        self.reads += 1


@pytest.mark.parametrize(
    "secret",
    ["tdm_short", "not-a-tandem-key-at-all-0123456789", "tdm_" + "a" * 129, "tdm_spaces are not allowed"],
)
def test_authenticate_refuses_a_malformed_key_without_reading_the_store(secret: str) -> None:
    keys = _CountingKeys()
    with pytest.raises(NotAuthenticatedError, match="unknown or revoked"):
        authenticate({"x-api-key": secret}, keys, NOW)
    assert keys.reads == 0


def test_authenticate_looks_up_a_well_formed_key() -> None:
    keys = _CountingKeys()
    with pytest.raises(NotAuthenticatedError):
        authenticate({"x-api-key": new_api_key("acme", "k", ["orders:read"], NOW)[0]}, keys, NOW)
    assert keys.reads == 1


def test_new_api_key_refuses_a_secret_the_authorizer_would_refuse() -> None:
    with pytest.raises(ValueError, match="16 to 128"):
        new_api_key("acme", "k", ["orders:read"], NOW, secret="my-own-key")


# ---------------------------------------------------------------- the authorizer's cache of keys


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class _Table:
    """An ApiKeyStore whose reads are counted, and whose keys can be revoked."""

    def __init__(self, *records: ApiKey) -> None:
        self.records = {record.key_hash: record for record in records}
        self.reads: list[str] = []

    def get(self, key_hash: str) -> ApiKey | None:
        self.reads.append(key_hash)
        return self.records.get(key_hash)

    def revoke(self, key_hash: str) -> None:
        self.records[key_hash] = self.records[key_hash].model_copy(update={"active": False})


def _keys(count: int) -> list[tuple[str, ApiKey]]:
    return [new_api_key("acme", f"k{i}", ["orders:read"], NOW) for i in range(count)]


def test_the_cache_reads_a_known_key_once_per_ttl() -> None:
    [(secret, record)] = _keys(1)
    table, clock = _Table(record), _Clock()
    cache = CachedKeys(table, clock=clock, ttl_seconds=30)
    for _ in range(5):
        assert authenticate({"x-api-key": secret}, cache, NOW).key_id == "k0"
    assert len(table.reads) == 1
    clock.now += 29.9
    authenticate({"x-api-key": secret}, cache, NOW)
    assert len(table.reads) == 1
    clock.now += 0.1  # 30 s after the read: read again
    authenticate({"x-api-key": secret}, cache, NOW)
    assert len(table.reads) == 2


def test_a_revoked_key_works_until_the_ttl_then_stops() -> None:
    [(secret, record)] = _keys(1)
    table, clock = _Table(record), _Clock()
    cache = CachedKeys(table, clock=clock, ttl_seconds=30)
    authenticate({"x-api-key": secret}, cache, NOW)
    table.revoke(record.key_hash)
    clock.now += 29
    assert (
        authenticate({"x-api-key": secret}, cache, NOW).tenant_id == "acme"
    )  # within the TTL: still trusted
    clock.now += 1
    with pytest.raises(NotAuthenticatedError, match="unknown or revoked"):
        authenticate({"x-api-key": secret}, cache, NOW)
    # ...and a revoked key is not cached: every later request reads it again, and is refused.
    for _ in range(3):
        with pytest.raises(NotAuthenticatedError):
            authenticate({"x-api-key": secret}, cache, NOW)
    assert len(table.reads) == 5
    assert len(cache) == 0


def test_unknown_keys_are_not_cached_so_a_new_key_works_at_once() -> None:
    [(secret, record)] = _keys(1)
    table, clock = _Table(), _Clock()
    cache = CachedKeys(table, clock=clock, ttl_seconds=30)
    for _ in range(3):
        with pytest.raises(NotAuthenticatedError):
            authenticate({"x-api-key": secret}, cache, NOW)
    assert len(table.reads) == 3
    assert len(cache) == 0
    table.records[record.key_hash] = record  # the key is created
    assert authenticate({"x-api-key": secret}, cache, NOW).key_id == record.key_id


def test_the_cache_is_bounded_and_drops_the_least_recently_used_key() -> None:
    keys = _keys(4)
    table, clock = _Table(*(record for _, record in keys)), _Clock()
    cache = CachedKeys(table, clock=clock, ttl_seconds=30, max_keys=3)
    (first, _), (second, _), (third, _), (fourth, _) = keys
    for secret in (first, second, third, first, fourth):  # `second` is the least recently used
        authenticate({"x-api-key": secret}, cache, NOW)
    assert len(cache) == 3
    reads = len(table.reads)
    for secret in (first, third, fourth):
        authenticate({"x-api-key": secret}, cache, NOW)
    assert len(table.reads) == reads  # all three still cached
    authenticate({"x-api-key": second}, cache, NOW)
    assert len(table.reads) == reads + 1  # dropped, read again
    assert len(cache) == 3


def test_a_malformed_key_reaches_neither_the_cache_nor_the_table() -> None:
    table = _Table()
    cache = CachedKeys(table, clock=_Clock())
    with pytest.raises(NotAuthenticatedError):
        authenticate({"x-api-key": "tdm_short"}, cache, NOW)
    assert table.reads == []
    assert len(cache) == 0


def test_the_default_ttl_and_size() -> None:
    # The authorizer's docstring and bench/README.md quote these: change them together.
    assert KEY_CACHE_SECONDS == 30
    assert KEY_CACHE_SIZE == 1_000
