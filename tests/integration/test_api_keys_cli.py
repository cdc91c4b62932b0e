"""`tandem keys create|list|rotate|revoke` against the template's key table in moto, each key then
presented to the authorizer, and the authorizer's answer to the API (api.handler), as on AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tandem.handlers import api, authorizer
from tandem.handlers.wiring import authorizer as root
from tandem.logic.auth import KEY_CACHE_SECONDS, hash_api_key
from tandem_local import cli
from tandem_local.config import LocalCloud
from tandem_local.stack import Stack
from tests.events import authorizer_event, http_event
from tests.integration.test_checkout import body as order_body
from tests.moto_stack import REGION
from tests.template_model import Resolver


class Clocks:
    """The authorizer's two clocks: wall time (key expiry) and monotonic (its cache of keys)."""

    def __init__(self) -> None:
        self.wall = datetime.now(UTC)
        self.monotonic = 10_000.0

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.monotonic += seconds


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch) -> Clocks:
    clocks = Clocks()
    monkeypatch.setattr(authorizer, "now", lambda: clocks.wall)
    monkeypatch.setattr(root, "monotonic", lambda: clocks.monotonic)
    return clocks


@pytest.fixture
def tandem(stack: Resolver, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """`tandem ARGS...` on the moto stack: (exit code, stdout, stderr)."""
    deployed = Stack({"ApiKeysTable": stack.physical["ApiKeysTable"]}, {}, {}, {}, {})
    monkeypatch.setattr(cli, "_stack", lambda _cloud: deployed)
    monkeypatch.setattr(
        LocalCloud, "resource", lambda _self, service: boto3.resource(service, region_name=REGION)
    )

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def authorize(secret: str, lambda_context: Any) -> dict[str, str]:
    response = authorizer.handler(authorizer_event({"x-api-key": secret}), lambda_context)
    assert response["isAuthorized"] is True
    return dict(response["context"])


def through_api(
    secret: str, method: str, path: str, lambda_context: Any, body: dict[str, Any] | None = None
) -> int:
    """The request as API Gateway passes it on: with what the authorizer answered for the key."""
    event = http_event(method, path, body=body, headers={"Idempotency-Key": "k-0001"} if body else None)
    event["requestContext"]["authorizer"]["lambda"] = authorize(secret, lambda_context)
    return int(api.handler(event, lambda_context)["statusCode"])


def keys_listed(tandem: Any, *argv: str) -> list[dict[str, Any]]:
    code, out, _ = tandem("keys", "list", "--json", *argv)
    assert code == 0
    return list(json.loads(out))


def test_create_prints_the_secret_once_and_stores_only_its_hash(
    tandem: Any, stack: Resolver, lambda_context: Any, clocks: Clocks
) -> None:
    code, out, err = tandem(
        "keys", "create", "--tenant", "acme", "--scope", "orders:read", "--key-id", "till"
    )
    assert code == 0
    secret = out.strip()
    assert secret.startswith("tdm_")
    assert "till" in err
    assert authorize(secret, lambda_context)["tenant_id"] == "acme"

    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["ApiKeysTable"])
    [item] = table.scan()["Items"]
    assert item["key_hash"] == hash_api_key(secret)
    assert secret not in json.dumps(item, default=str)

    # A second key of that name is refused; the first is unchanged.
    code, out, err = tandem("keys", "create", "--tenant", "globex", "--key-id", "till")
    assert (code, out) == (1, "")
    assert "till" in err


def test_list_shows_each_key_without_its_secret_or_hash(tandem: Any) -> None:
    secrets = [tandem("keys", "create", "--tenant", tenant, "--key-id", f"{tenant}-1")[1].strip()
               for tenant in ("acme", "globex")]  # fmt: skip
    assert tandem("keys", "revoke", "globex-1")[0] == 0

    listed = keys_listed(tandem)
    assert [(k["key_id"], k["tenant_id"], k["status"]) for k in listed] == [
        ("acme-1", "acme", "active"),
        ("globex-1", "globex", "revoked"),
    ]
    assert set(listed[0]) == {"key_id", "tenant_id", "scopes", "created_at", "status", "expires_at"}
    assert [k["key_id"] for k in keys_listed(tandem, "--tenant", "globex")] == ["globex-1"]

    code, table_text, _ = tandem("keys", "list")
    assert code == 0
    assert "acme-1" in table_text
    assert "revoked" in table_text
    for secret in secrets:
        assert secret not in table_text
        assert hash_api_key(secret) not in table_text


def test_a_revoked_key_is_refused_within_the_cache_bound_with_the_cache_on(
    tandem: Any, lambda_context: Any, clocks: Clocks
) -> None:
    secret = tandem("keys", "create", "--tenant", "acme", "--key-id", "pos")[1].strip()
    assert authorize(secret, lambda_context)["tenant_id"] == "acme"  # the authorizer now caches it

    code, out, _ = tandem("keys", "revoke", "pos")
    assert code == 0
    assert "revoked" in out
    refused_after = None
    for second in range(int(KEY_CACHE_SECONDS) * 2):
        if "auth_error" in authorize(secret, lambda_context):
            refused_after = second
            break
        clocks.advance(1)
    assert refused_after is not None
    assert refused_after <= KEY_CACHE_SECONDS
    assert through_api(secret, "GET", "/reports", lambda_context) == 401


def test_rotation_keeps_the_old_key_for_the_overlap_then_refuses_it(
    tandem: Any, lambda_context: Any, clocks: Clocks
) -> None:
    old = tandem("keys", "create", "--tenant", "acme", "--key-id", "shop", "--scope", "reports:read")[
        1
    ].strip()
    assert authorize(old, lambda_context)["tenant_id"] == "acme"

    code, out, err = tandem("keys", "rotate", "shop", "--overlap", "2h")
    assert code == 0
    new = out.strip()
    assert new.startswith("tdm_")
    assert new != old
    assert "expiring" in err
    listed = {k["key_id"]: k for k in keys_listed(tandem)}
    assert listed["shop"]["status"] == "expiring"
    [new_id] = set(listed) - {"shop"}
    assert listed[new_id]["scopes"] == ["reports:read"]

    expires_at = datetime.fromisoformat(listed["shop"]["expires_at"])
    assert timedelta(hours=2) <= expires_at - clocks.wall < timedelta(hours=2, seconds=5)

    clocks.advance(KEY_CACHE_SECONDS)  # past the cache: the authorizer reads the expiry
    for secret in (old, new):
        assert through_api(secret, "GET", "/reports", lambda_context) == 200
    clocks.wall = expires_at - timedelta(microseconds=1)  # the overlap's last moment, the key cached
    assert through_api(old, "GET", "/reports", lambda_context) == 200
    clocks.wall = expires_at
    assert through_api(old, "GET", "/reports", lambda_context) == 401
    assert through_api(new, "GET", "/reports", lambda_context) == 200
    # (The statuses the list then shows are tests/unit/test_api_keys.py's: the CLI's clock is real.)


@pytest.mark.usefixtures("shop")
def test_scopes_hold_a_read_only_key_cannot_place_orders(
    tandem: Any, lambda_context: Any, clocks: Clocks
) -> None:
    reader = tandem("keys", "create", "--tenant", "acme", "--scope", "reports:read")[1].strip()
    buyer = tandem("keys", "create", "--tenant", "acme", "--scope", "orders:write")[1].strip()
    assert through_api(reader, "POST", "/orders", lambda_context, body=order_body()) == 403
    assert through_api(reader, "GET", "/orders/inv-1", lambda_context) == 403
    assert through_api(reader, "GET", "/reports", lambda_context) == 200
    # The same order with a key that may place it: placed.
    assert through_api(buyer, "POST", "/orders", lambda_context, body=order_body()) == 201


def test_bad_arguments_and_unknown_keys(tandem: Any) -> None:
    code, _, err = tandem("keys", "revoke", "nope")
    assert code == 1
    assert "no API key 'nope'" in err
    with pytest.raises(SystemExit):
        tandem("keys", "rotate", "nope", "--overlap", "soon")
    with pytest.raises(SystemExit):
        tandem("keys", "create", "--tenant", "Not A Tenant")
    assert keys_listed(tandem) == []


def test_the_old_command_api_key_creates_a_key_too(tandem: Any, lambda_context: Any, clocks: Clocks) -> None:
    code, out, _ = tandem("api-key", "--tenant", "acme", "--scope", "orders:read")
    assert code == 0
    assert authorize(out.strip(), lambda_context)["scopes"] == "orders:read"
