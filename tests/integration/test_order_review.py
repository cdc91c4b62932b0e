"""POST /orders/{id}/review under moto: the verdict lands on the order, where the retraining reads it."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.handlers import api
from tests.events import http_event
from tests.integration.test_api import assert_matches_openapi
from tests.integration.test_checkout import body, checkout
from tests.moto_stack import REGION
from tests.template_model import Resolver

ROUTE = "/orders/{order_id}/review"


def review(
    lambda_context: Any, order_id: str, payload: Any, scopes: str = "admin"
) -> tuple[int, dict[str, Any]]:
    event = http_event(
        "POST",
        f"/orders/{order_id}/review",
        route=ROUTE,
        body=payload,
        scopes=scopes,
        path_parameters={"order_id": order_id},
    )
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def _item(stack: Resolver, order_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["OrdersTable"])
    item: dict[str, Any] = table.get_item(Key={"tenant_id": "acme", "order_id": order_id})["Item"]
    return item


@pytest.fixture
def order_id(stack: Resolver, shop: CatalogTable, lambda_context: Any) -> str:
    payload = body(MUG=1)
    payload["customer"]["email"] = "ada@mailinator.com"  # a disposable address: one feature present
    status, answer = checkout(lambda_context, payload)
    assert status == 201
    return str(answer["order_id"])


def test_the_order_keeps_the_scorers_features_for_the_retraining(stack: Resolver, order_id: str) -> None:
    risk = _item(stack, order_id)["risk"]
    assert risk["fraud_features"] == {"disposable_email": 1}


def test_a_review_is_recorded_once_and_a_change_of_mind_beside_it(
    stack: Resolver, order_id: str, lambda_context: Any
) -> None:
    status, answer = review(lambda_context, order_id, {"decision": "fraud", "note": "chargeback 4837"})
    assert status == 200
    assert (answer["order_id"], answer["decision"], answer["note"], answer["decisions"]) == (
        order_id,
        "fraud",
        "chargeback 4837",
        1,
    )
    assert_matches_openapi(answer, ROUTE, "post", 200, lambda_context)
    first = _item(stack, order_id)

    again = review(lambda_context, order_id, {"decision": "fraud", "note": "again"})
    assert again == (200, answer)  # the same decision: one effect, the first note and time stay
    assert _item(stack, order_id) == first

    status, changed = review(lambda_context, order_id, {"decision": "legit"})
    assert (status, changed["decision"], changed["decisions"]) == (200, "legit", 2)
    item = _item(stack, order_id)
    assert item["review_decision"] == "legit"
    assert [entry["decision"] for entry in item["reviews"]] == ["fraud", "legit"]
    assert item["status"] == "confirmed"  # nothing else of the order changed
    assert item["risk"] == first["risk"]


@pytest.mark.usefixtures("stack")
def test_an_unknown_order_is_not_found(lambda_context: Any) -> None:
    status, answer = review(lambda_context, "ord-nope", {"decision": "fraud"})
    assert (status, answer["error"]) == (404, "not_found")


@pytest.mark.parametrize(
    "payload",
    [{}, {"decision": "maybe"}, {"decision": "fraud", "note": ""}, {"decision": "fraud", "extra": 1}, "[1]"],
)
def test_a_bad_body_is_422(order_id: str, payload: Any, lambda_context: Any) -> None:
    assert review(lambda_context, order_id, payload)[0] == 422


def test_only_an_admin_key_reviews(order_id: str, lambda_context: Any) -> None:
    assert (
        review(lambda_context, order_id, {"decision": "fraud"}, scopes="orders:read orders:write")[0] == 403
    )
