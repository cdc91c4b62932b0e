"""The Lambda authorizer with HTTP API authorizer events, keys in the moto ApiKeys table."""

from collections.abc import Callable
from typing import Any

import pytest

from tandem.handlers import authorizer
from tests.events import authorizer_event

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
