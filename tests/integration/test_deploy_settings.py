"""Settings a real deploy must not run with: refused when first needed, saying what to fix."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.sanctions_list import DEFAULT_KEY as SANCTIONS_KEY
from tandem.adapters.sandbox_gateway import SandboxGateway
from tandem.handlers.wiring import ConfigurationError, payments
from tandem.handlers.wiring import api as root
from tests.integration.test_checkout import body, checkout, stock
from tests.moto_stack import REGION
from tests.template_model import Resolver


def _set_pepper(stack: Resolver, value: str) -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.put_secret_value(SecretId=stack.physical["CardPepperSecret"], SecretString=value)


def test_the_pepper_comes_from_secrets_manager_not_the_environment(
    stack: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the deployed function's environment / Then it names the secret, never the pepper
    environment = stack.environment("ApiFunction")
    assert "CARD_PEPPER" not in environment
    assert environment["CARD_PEPPER_SECRET_ARN"] == stack.physical["CardPepperSecret"]
    # And the pepper the checkout keys fingerprints with is the secret's (random) value
    secret = boto3.client("secretsmanager", region_name=REGION).get_secret_value(
        SecretId=stack.physical["CardPepperSecret"]
    )["SecretString"]
    assert root.pepper() == secret.encode()
    assert len(secret) >= 32


def test_the_published_dev_pepper_is_refused_outside_dev(
    stack: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_pepper(stack, payments.PUBLISHED_DEV_PEPPER)
    monkeypatch.setenv("STAGE", "prod")
    with pytest.raises(ConfigurationError, match="published development pepper"):
        root.pepper()


def test_the_published_dev_pepper_still_runs_in_dev(stack: Resolver) -> None:
    _set_pepper(stack, payments.PUBLISHED_DEV_PEPPER)
    assert root.pepper() == payments.PUBLISHED_DEV_PEPPER.encode()


def test_a_short_pepper_is_refused(stack: Resolver) -> None:
    _set_pepper(stack, "too-short")
    with pytest.raises(ConfigurationError, match="at least 32"):
        root.pepper()


def test_the_sandbox_gateway_runs_in_dev(stack: Resolver) -> None:
    assert isinstance(root.payment_gateway(), SandboxGateway)


def test_the_sandbox_gateway_refuses_to_start_outside_dev(
    stack: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAGE", "prod")
    with pytest.raises(
        ConfigurationError, match=r"sandbox gateway .* refused in stage 'prod'.*stripe_gateway"
    ):
        root.payment_gateway()


def test_a_provider_without_an_adapter_is_named(stack: Resolver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_GATEWAY", "adyen")
    with pytest.raises(ConfigurationError, match=r"tandem\.adapters\.adyen_gateway"):
        root.payment_gateway()


def test_a_misconfigured_checkout_answers_500_without_charging(
    stack: Resolver, shop: CatalogTable, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a production stage still wired to the sandbox
    monkeypatch.setenv("STAGE", "prod")
    # When a buyer checks out / Then nothing is sold and the error says nothing of the setting
    status, answer = checkout(lambda_context, body())
    assert (status, answer["error"]) == (500, "internal_error")
    assert stock(shop) == {"MUG": 5, "TEA": 2}


def test_without_a_sanctions_list_checkout_fails_closed_with_503(
    stack: Resolver, shop: CatalogTable, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no sanctions list published
    boto3.client("s3", region_name=REGION).delete_object(
        Bucket=stack.physical["DataBucket"], Key=SANCTIONS_KEY
    )
    # When a buyer checks out
    status, answer = checkout(lambda_context, body(), key="k-1")
    # Then nothing is charged or kept, the buyer is told to retry, and the alarm's metric counts it
    assert (status, answer["error"]) == (503, "screening_unavailable")
    assert stock(shop) == {"MUG": 5, "TEA": 2}
    assert root.checkout().gateway.charges == ()  # type: ignore[attr-defined]
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m["ScreeningUnavailable"] for m in emitted if "ScreeningUnavailable" in m] == [[1.0]]
