"""The Lambda authorizer with HTTP API authorizer events, keys in the moto ApiKeys table.

Each test is a new process as far as the authorizer knows: tests/conftest.py clears the
composition roots' caches, the cache of keys among them, after every test."""

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tandem.adapters.directory_tables import ApiKeysTable
from tandem.handlers import authorizer
from tandem.handlers.wiring import authorizer as root
from tandem.logic.auth import KEY_CACHE_SECONDS, hash_api_key
from tandem.models.records import ApiKey
from tests.events import authorizer_event
from tests.moto_stack import REGION
from tests.template_model import Resolver

SECRET = "tdm_acme_secret_for_tests_0123456789abcdef"


@pytest.fixture(autouse=True)
def _keys(seed: Callable[..., Any]) -> None:
    seed(keys={SECRET: "acme"})


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {SECRET}"}, {"x-api-key": SECRET}])
def test_a_known_key_is_authorized_with_its_tenant_and_scopes(
    headers: dict[str, str], lambda_context: Any
) -> None:
    response = authorizer.handler(authorizer_event(headers), lambda_context)
    assert response["isAuthorized"] is True
    assert response["context"]["tenant_id"] == "acme"
    assert set(response["context"]["scopes"].split()) >= {"reports:read", "reports:write"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "tdm_wrong"}, {"authorization": "Basic YWNtZTpzZWNyZXQ="}, {"authorization": SECRET}],
)
def test_a_missing_or_unknown_key_carries_no_principal_only_the_reason(
    headers: dict[str, str], lambda_context: Any
) -> None:
    # The API answers 401 with this reason (see test_api); no tenant travels on.
    response = authorizer.handler(authorizer_event(headers), lambda_context)
    assert response["isAuthorized"] is True
    assert set(response["context"]) == {"auth_error"}
    assert "API key" in response["context"]["auth_error"]


# ---------------------------------------------------------------- the per-process cache of keys


class _Clock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    """The monotonic clock the authorizer's root gives its cache."""
    fake = _Clock()
    monkeypatch.setattr(root, "monotonic", fake)
    return fake


def _revoke(stack: Resolver, secret: str) -> None:
    table = ApiKeysTable(stack.physical["ApiKeysTable"], boto3.resource("dynamodb", region_name=REGION))
    record = table.get(hash_api_key(secret))
    assert record is not None
    table.put(record.model_copy(update={"active": False}))


def _tenant(lambda_context: Any, secret: str) -> str | None:
    response = authorizer.handler(authorizer_event({"x-api-key": secret}), lambda_context)
    assert response["isAuthorized"] is True
    return response["context"].get("tenant_id")


def test_a_revoked_key_is_refused_once_the_processes_cache_expires(
    stack: Resolver, clock: _Clock, lambda_context: Any
) -> None:
    assert _tenant(lambda_context, SECRET) == "acme"
    _revoke(stack, SECRET)
    clock.now += KEY_CACHE_SECONDS - 1
    assert _tenant(lambda_context, SECRET) == "acme"  # this warm process still trusts it
    clock.now += 1
    assert _tenant(lambda_context, SECRET) is None  # read again: revoked


def test_the_cache_is_per_process_a_new_one_reads_the_table(stack: Resolver, lambda_context: Any) -> None:
    assert _tenant(lambda_context, SECRET) == "acme"
    _revoke(stack, SECRET)
    root.keys.cache_clear()  # what a new Lambda container starts with
    assert _tenant(lambda_context, SECRET) is None


def test_the_process_reads_a_known_key_once_and_a_refused_one_every_time(
    stack: Resolver, seed: Callable[..., Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    read = ApiKeysTable.get

    def counted(self: ApiKeysTable, key_hash: str) -> ApiKey | None:
        reads.append(key_hash)
        return read(self, key_hash)

    monkeypatch.setattr(ApiKeysTable, "get", counted)
    for _ in range(3):
        assert _tenant(lambda_context, SECRET) == "acme"
    assert reads == [hash_api_key(SECRET)]

    newcomer = "tdm_globex_key_created_later_0123456789"
    for _ in range(2):
        assert _tenant(lambda_context, newcomer) is None
    seed(keys={newcomer: "globex"})  # created after two refusals: works at once
    assert _tenant(lambda_context, newcomer) == "globex"
    assert reads == [hash_api_key(SECRET)] + [hash_api_key(newcomer)] * 3
