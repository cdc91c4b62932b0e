"""What the fuzzer found: requests valid per /openapi.json answered as the document says, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tandem.adapters.catalog_table import CatalogTable
from tests.events import http_event
from tests.integration.test_checkout import body, checkout, stock
from tests.integration.test_hostile_inputs import ALL, call

pytestmark = pytest.mark.usefixtures("stack")


@pytest.mark.parametrize("content_type", ["text/plain", "application/merge-patch+json", "application/xml"])
def test_a_body_not_sent_as_application_json_is_a_415(content_type: str, lambda_context: Any) -> None:
    event = http_event(
        "POST",
        "/reports",
        body='{"from": "2026-11-01", "to": "2026-11-02"}',
        headers={"content-type": content_type},
    )
    status, answer = call(event, lambda_context)
    assert (status, answer["error"]) == (415, "unsupported_media_type")


def test_an_anonymous_body_of_another_type_is_a_401_first(lambda_context: Any) -> None:
    event = http_event("POST", "/reports", body="x", tenant=None, headers={"content-type": "text/plain"})
    assert call(event, lambda_context)[0] == 401


def test_one_sku_listed_twice_is_one_line_with_the_quantities_added(
    shop: CatalogTable, lambda_context: Any
) -> None:
    # Given a cart listing MUG twice (JSON Schema cannot forbid it)
    payload = body()
    payload["items"] = [
        {"sku": "MUG", "quantity": 1},
        {"sku": "TEA", "quantity": 1},
        {"sku": "MUG", "quantity": 2},
    ]
    # When it is checked out / Then one MUG line of 3 is sold
    status, answer = checkout(lambda_context, payload)
    assert status == 201, answer
    assert answer["total"] == "22.75"  # 3 x 6.50 + 3.25
    assert stock(shop) == {"MUG": 2, "TEA": 1}


def test_an_empty_or_reversed_period_is_a_422_about_the_query(lambda_context: Any) -> None:
    event = http_event("GET", "/orders", scopes=ALL)
    event["queryStringParameters"] = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    status, answer = call(event, lambda_context)
    assert status == 422
    assert [(d["loc"], d["type"]) for d in answer["details"]] == [(["query"], "invalid_period")]


def test_an_amount_finer_than_its_currency_is_a_422_naming_the_rule(lambda_context: Any) -> None:
    score = {"amount": "10.005", "currency": "GBP", "email": "ada@example.com", "payment_token": "tok_1",
             "shipping_country": "GB"}  # fmt: skip
    status, answer = call(http_event("POST", "/payments/score", body=score, scopes=ALL), lambda_context)
    assert status == 422, answer
    assert [(d["loc"], d["type"]) for d in answer["details"]] == [(["body", "amount"], "amount_precision")]
    assert "GBP" in json.dumps(answer)
