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
        _, record = new_api_key("acme", key_id, scopes, NOW, secret=f"tdm_{key_id}")
        keys.add(record)
    reader = authenticate({"x-api-key": "tdm_reader"}, keys)
    admin = authenticate({"x-api-key": "tdm_admin"}, keys)
    require_scope(reader, "reports:read")
    require_scope(admin, "reports:write")
    with pytest.raises(ForbiddenError):
        require_scope(reader, "reports:write")
