from datetime import UTC, datetime

import pytest

from tandem.logic.auth import authenticate, extract_api_key, hash_api_key, new_api_key, require_scope
from tandem.logic.errors import ForbiddenError, NotAuthenticatedError
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
    principal = authenticate({"x-api-key": secret}, keys)
    assert principal.tenant_id == "acme"
    assert principal.scopes == frozenset({"reports:read"})


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "tdm_unknown"}])
def test_authenticate_refuses_missing_or_unknown_keys(headers: dict[str, str]) -> None:
    with pytest.raises(NotAuthenticatedError):
        authenticate(headers, FakeKeys())


def test_authenticate_refuses_a_revoked_key() -> None:
    keys = FakeKeys()
    secret, record = new_api_key("acme", "k1", ["reports:read"], NOW)
    keys.add(record.model_copy(update={"active": False}))
    with pytest.raises(NotAuthenticatedError):
        authenticate({"authorization": f"Bearer {secret}"}, keys)


def test_require_scope_accepts_the_scope_or_admin_and_refuses_others() -> None:
    keys = FakeKeys()
    for key_id, scopes in (("reader", ["reports:read"]), ("admin", ["admin"])):
        _, record = new_api_key("acme", key_id, scopes, NOW, secret=f"tdm_{key_id}_0123456789abcdef")
        keys.add(record)
    reader = authenticate({"x-api-key": "tdm_reader_0123456789abcdef"}, keys)
    admin = authenticate({"x-api-key": "tdm_admin_0123456789abcdef"}, keys)
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
        authenticate({"x-api-key": secret}, keys)
    assert keys.reads == 0


def test_authenticate_looks_up_a_well_formed_key() -> None:
    keys = _CountingKeys()
    with pytest.raises(NotAuthenticatedError):
        authenticate({"x-api-key": new_api_key("acme", "k", ["orders:read"], NOW)[0]}, keys)
    assert keys.reads == 1


def test_new_api_key_refuses_a_secret_the_authorizer_would_refuse() -> None:
    with pytest.raises(ValueError, match="16 to 128"):
        new_api_key("acme", "k", ["orders:read"], NOW, secret="my-own-key")
