"""The catalogue: the shop's own tools set product details over the API, and move stock only by
adjustments with a reason, kept as a ledger; stock is held (tests/holds.py) for all lines or none."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tandem.adapters.catalog_table import CatalogTable
from tandem.handlers import api
from tandem.logic.errors import ConflictError, OutOfStockError, RetryLaterError
from tandem.models.catalog import Product, ProductUpdate, StockAdjustment, StockReason
from tests.events import http_event
from tests.holds import Holds
from tests.integration.test_api import assert_matches_openapi
from tests.moto_stack import REGION
from tests.template_model import Resolver

ADMIN = "admin orders:read"


def call(event: dict[str, Any], lambda_context: Any) -> tuple[int, Any]:
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def put(
    sku: str, body: dict[str, Any], lambda_context: Any, scopes: str = ADMIN, tenant: str = "acme"
) -> Any:
    event = http_event(
        "PUT", f"/products/{sku}", route="/products/{sku}", body=body, scopes=scopes, tenant=tenant,
        path_parameters={"sku": sku},
    )  # fmt: skip
    return call(event, lambda_context)


def get(sku: str, lambda_context: Any, tenant: str = "acme") -> Any:
    event = http_event(
        "GET", f"/products/{sku}", route="/products/{sku}", scopes="orders:read", tenant=tenant,
        path_parameters={"sku": sku},
    )  # fmt: skip
    return call(event, lambda_context)


def adjust(
    sku: str,
    body: dict[str, Any],
    lambda_context: Any,
    key: str | None = "key-1",
    scopes: str = ADMIN,
    tenant: str = "acme",
) -> Any:
    event = http_event(
        "POST", f"/products/{sku}/stock-adjustments", route="/products/{sku}/stock-adjustments", body=body,
        scopes=scopes, tenant=tenant, path_parameters={"sku": sku},
        headers={"idempotency-key": key} if key is not None else {},
    )  # fmt: skip
    return call(event, lambda_context)


def ledger(sku: str, lambda_context: Any, scopes: str = ADMIN, tenant: str = "acme", **query: str) -> Any:
    event = http_event(
        "GET", f"/products/{sku}/stock-adjustments", route="/products/{sku}/stock-adjustments",
        scopes=scopes, tenant=tenant, path_parameters={"sku": sku},
    )  # fmt: skip
    event["queryStringParameters"] = query or None
    return call(event, lambda_context)


def on_hand(catalog: CatalogTable, sku: str) -> int:
    product = catalog.get("acme", sku)
    assert product is not None
    return product.stock


MUG = {"name": "Enamel mug", "price": "6.50", "currency": "GBP", "category": "kitchen"}
RESTOCK = {"delta": 10, "reason": "restock", "note": "delivery 4471"}


# ---------------------------------------------------------------- product details


@pytest.mark.usefixtures("stack")
def test_an_admin_key_creates_a_product_with_no_stock_and_any_reader_sees_it(lambda_context: Any) -> None:
    status, product = put("MUG-1", MUG, lambda_context)
    assert (status, product["price"], product["stock"], product["tenant_id"]) == (201, "6.50", 0, "acme")
    assert get("MUG-1", lambda_context) == (200, product)


def test_an_edit_changes_the_details_and_keeps_the_stock_exactly(
    shop: CatalogTable, holds: Holds, lambda_context: Any
) -> None:
    # Given MUG with 5 in stock, of which a checkout holds 2
    held = holds.hold("acme", {"MUG": 2})
    # When the shop edits it (a new price, no category any more, no longer sold)
    edit = {"name": "Mug", "price": "7.00", "currency": "GBP", "active": False}
    status, product = put("MUG", edit, lambda_context)
    # Then the details are the edit's and the stock is what the checkout left
    assert status == 200
    assert {k: product[k] for k in ("name", "price", "stock", "active")} == {
        "name": "Mug", "price": "7.00", "stock": 3, "active": False,
    }  # fmt: skip
    assert "category" not in product or product["category"] is None
    # and a release after the edit gives back exactly what was taken, on top of nothing else
    holds.release(held)
    assert on_hand(shop, "MUG") == 5


@pytest.mark.usefixtures("shop")
def test_a_stock_field_on_an_edit_is_refused_and_says_where_stock_changes(lambda_context: Any) -> None:
    status, body = put("MUG", {**MUG, "stock": 40}, lambda_context)
    assert (status, body["error"]) == (422, "validation_error")
    assert [(d["loc"], d["type"]) for d in body["details"]] == [(["body", "stock"], "stock_not_settable")]
    assert "/stock-adjustments" in body["details"][0]["msg"]
    assert "40" not in json.dumps(body)  # the rejected input is never echoed
    assert get("MUG", lambda_context)[1]["stock"] == 5  # and nothing was written
    assert get("MUG", lambda_context)[1]["name"] == "MUG"


@pytest.mark.usefixtures("stack")
def test_without_the_admin_scope_a_key_cannot_set_prices_or_move_stock(lambda_context: Any) -> None:
    put("MUG-1", MUG, lambda_context)
    weak = "orders:read orders:write"
    for status, body in (
        put("MUG-1", MUG, lambda_context, scopes=weak),
        adjust("MUG-1", RESTOCK, lambda_context, scopes=weak),
        ledger("MUG-1", lambda_context, scopes=weak),
    ):
        assert (status, body["error"]) == (403, "forbidden")
    assert get("MUG-1", lambda_context)[1]["stock"] == 0


@pytest.mark.usefixtures("stack")
def test_products_are_tenant_scoped_and_unknown_ones_404(lambda_context: Any) -> None:
    put("MUG-1", MUG, lambda_context, tenant="bravo")
    status, body = get("MUG-1", lambda_context)
    assert (status, body["error"]) == (404, "not_found")


@pytest.mark.usefixtures("stack")
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "-1"}, "price"),
        ({"price": 6.5}, "price"),
        ({"currency": "pounds"}, "currency"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_products_are_refused_field_by_field(
    change: dict[str, Any], field: str, lambda_context: Any
) -> None:
    status, body = put("MUG-1", {**MUG, **change}, lambda_context)
    assert status == 422
    assert body["details"][0]["loc"] == ["body", field]


@pytest.mark.usefixtures("stack")
def test_the_catalogue_pages_with_an_opaque_cursor_and_never_lists_ledger_entries(
    lambda_context: Any,
) -> None:
    for n in range(5):
        put(f"SKU-{n}", MUG, lambda_context)
        adjust(f"SKU-{n}", RESTOCK, lambda_context, key=f"k{n}")
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        event = http_event("GET", "/products", scopes="orders:read")
        event["queryStringParameters"] = query
        status, page = call(event, lambda_context)
        assert status == 200
        seen += [p["sku"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"SKU-{n}" for n in range(5)]
    event = http_event("GET", "/products", scopes="orders:read")
    event["queryStringParameters"] = {"cursor": "not-a-cursor"}
    assert call(event, lambda_context)[0] == 422


# ---------------------------------------------------------------- stock adjustments and the ledger


@pytest.mark.usefixtures("shop")
def test_an_adjustment_moves_the_stock_and_is_kept_in_the_ledger(lambda_context: Any) -> None:
    # Given MUG with 5 in stock
    # When the shop receives 10 and then finds 2 broken
    status, first = adjust("MUG", RESTOCK, lambda_context, key="delivery-4471")
    assert status == 201, first
    broken = {"delta": -2, "reason": "damaged"}
    status, second = adjust("MUG", broken, lambda_context, key="breakage-1")
    assert status == 201, second
    # Then each answer is its entry and the stock after it
    assert (first["stock"], second["stock"]) == (15, 13)
    assert {k: first["adjustment"][k] for k in ("sku", "delta", "reason", "note", "by")} == {
        "sku": "MUG", "delta": 10, "reason": "restock", "note": "delivery 4471", "by": "acme-key",
    }  # fmt: skip
    assert second["adjustment"]["note"] is None
    assert get("MUG", lambda_context)[1]["stock"] == 13
    # and the ledger lists both, newest first
    status, page = ledger("MUG", lambda_context)
    assert status == 200
    assert page == {"items": [second["adjustment"], first["adjustment"]], "next_cursor": None}


@pytest.mark.usefixtures("shop")
def test_a_replayed_adjustment_changes_nothing_and_answers_the_first_result(lambda_context: Any) -> None:
    status, first = adjust("MUG", RESTOCK, lambda_context, key="delivery-4471")
    assert (status, first["stock"]) == (201, 15)
    # A retry of the same +10 (the first answer was lost) adds nothing and gets the same entry
    status, again = adjust("MUG", RESTOCK, lambda_context, key="delivery-4471")
    assert (status, again) == (201, first)
    assert get("MUG", lambda_context)[1]["stock"] == 15
    assert [e["adjustment_id"] for e in ledger("MUG", lambda_context)[1]["items"]] == [
        first["adjustment"]["adjustment_id"]
    ]
    # The same key for another change is refused, and changes nothing either
    status, body = adjust("MUG", {**RESTOCK, "delta": 11}, lambda_context, key="delivery-4471")
    assert (status, body["error"]) == (422, "idempotency_key_reused")
    assert get("MUG", lambda_context)[1]["stock"] == 15
    # The same key on another SKU is that SKU's own adjustment
    status, tea = adjust("TEA", RESTOCK, lambda_context, key="delivery-4471")
    assert (status, tea["stock"]) == (201, 12)
    assert tea["adjustment"]["adjustment_id"] != first["adjustment"]["adjustment_id"]


@pytest.mark.usefixtures("shop")
def test_removing_more_than_is_on_hand_is_a_409_saying_what_is_there(lambda_context: Any) -> None:
    # Given MUG with 5 in stock
    status, body = adjust("MUG", {"delta": -6, "reason": "count_correction"}, lambda_context, key="count-1")
    # Then nothing is removed, and the answer says what is there
    assert (status, body["error"]) == (409, "out_of_stock")
    assert body["details"] == [
        {
            "loc": ["body", "delta"],
            "msg": "6 to remove, 5 on hand",
            "type": "stock_below_zero",
            "ctx": {"sku": "MUG", "delta": -6, "stock": 5},
        }
    ]
    assert get("MUG", lambda_context)[1]["stock"] == 5
    assert ledger("MUG", lambda_context)[1]["items"] == []
    # and the refused key kept nothing: once the units are there, the same request goes through
    adjust("MUG", RESTOCK, lambda_context, key="delivery-4471")
    status, body = adjust("MUG", {"delta": -6, "reason": "count_correction"}, lambda_context, key="count-1")
    assert (status, body["stock"]) == (201, 9)
    # Removing exactly what is on hand leaves 0
    status, body = adjust("MUG", {"delta": -9, "reason": "damaged"}, lambda_context, key="flood")
    assert (status, body["stock"]) == (201, 0)


@pytest.mark.usefixtures("shop")
def test_an_unknown_or_another_tenants_sku_is_a_404(lambda_context: Any) -> None:
    for status, body in (
        adjust("NOPE", RESTOCK, lambda_context),
        ledger("NOPE", lambda_context),
        adjust("MUG", RESTOCK, lambda_context, tenant="bravo"),
        ledger("MUG", lambda_context, tenant="bravo"),
    ):
        assert (status, body["error"]) == (404, "not_found")
    status, body = ledger("TEA", lambda_context)  # known, never adjusted: an empty ledger
    assert (status, body) == (200, {"items": [], "next_cursor": None})


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({"delta": 0, "reason": "restock"}, ["body", "delta"], "delta_zero"),
        ({"delta": 1_000_001, "reason": "restock"}, ["body", "delta"], "less_than_equal"),
        ({"delta": "3", "reason": "restock"}, ["body", "delta"], "int_type"),
        ({"delta": 2.5, "reason": "restock"}, ["body", "delta"], "int_type"),
        ({"delta": 3, "reason": "found"}, ["body", "reason"], "enum"),
        ({"delta": 3}, ["body", "reason"], "missing"),
        ({"delta": -3, "reason": "restock"}, ["body"], "delta_sign"),
        ({"delta": 3, "reason": "damaged"}, ["body"], "delta_sign"),
        ({"delta": 3, "reason": "other"}, ["body"], "note_required"),
        ({"delta": 3, "reason": "restock", "note": "x" * 501}, ["body", "note"], "string_too_long"),
        ({"delta": 3, "reason": "restock", "stock": 9}, ["body", "stock"], "extra_forbidden"),
    ],
)
def test_invalid_adjustments_are_refused_and_change_nothing(
    body: dict[str, Any], loc: list[str], kind: str, lambda_context: Any
) -> None:
    status, answer = adjust("MUG", body, lambda_context)
    assert (status, answer["error"]) == (422, "validation_error"), answer
    assert [(d["loc"], d["type"]) for d in answer["details"]] == [(loc, kind)]
    assert get("MUG", lambda_context)[1]["stock"] == 5


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize("key", [None, "", "with space", "k" * 256])
def test_an_adjustment_needs_a_well_formed_idempotency_key(key: str | None, lambda_context: Any) -> None:
    status, answer = adjust("MUG", RESTOCK, lambda_context, key=key)
    assert (status, answer["error"]) == (422, "validation_error")
    assert [d["loc"] for d in answer["details"]] == [["header", "idempotency-key"]]
    assert get("MUG", lambda_context)[1]["stock"] == 5


@pytest.mark.usefixtures("shop")
def test_the_ledger_pages_newest_first_with_a_cursor_bound_to_its_sku(lambda_context: Any) -> None:
    for n in range(5):
        assert adjust("MUG", {"delta": n + 1, "reason": "restock"}, lambda_context, key=f"d{n}")[0] == 201
    adjust("TEA", RESTOCK, lambda_context, key="t")
    deltas: list[int] = []
    cursor = None
    while True:
        status, page = ledger("MUG", lambda_context, limit="2", **({"cursor": cursor} if cursor else {}))
        assert status == 200
        deltas += [e["delta"] for e in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert deltas == [5, 4, 3, 2, 1]
    # A cursor of MUG's ledger is refused on TEA's, and a made-up one anywhere
    first_cursor = ledger("MUG", lambda_context, limit="2")[1]["next_cursor"]
    assert ledger("TEA", lambda_context, cursor=first_cursor)[0] == 422
    assert ledger("MUG", lambda_context, cursor="bm90LWEtY3Vyc29y")[0] == 422
    assert ledger("MUG", lambda_context, tenant="bravo", cursor=first_cursor)[0] == 422


# ---------------------------------------------------------------- the table itself


def _catalog(stack: Resolver) -> CatalogTable:
    table = CatalogTable(stack.physical["ProductsTable"], boto3.resource("dynamodb", region_name=REGION))
    for sku, stock in (("A", 5), ("B", 1)):
        table.put(
            Product(tenant_id="acme", sku=sku, name=sku, price=Decimal("1.00"), currency="GBP", stock=stock)
        )
    return table


def test_seeding_never_overwrites_a_product(stack: Resolver, holds: Holds) -> None:
    catalog = _catalog(stack)
    holds.hold("acme", {"A": 2})
    with pytest.raises(ConflictError):
        catalog.put(Product(tenant_id="acme", sku="A", name="A", price=Decimal(1), currency="GBP", stock=50))
    assert on_hand(catalog, "A") == 3


def test_stock_is_held_for_all_lines_or_none(stack: Resolver, holds: Holds) -> None:
    catalog = _catalog(stack)
    held = holds.hold("acme", {"A": 2, "B": 1})
    with pytest.raises(OutOfStockError) as shortage:
        holds.hold("acme", {"A": 2, "B": 1})  # B is gone: A must stay untouched
    assert [d["ctx"] for d in shortage.value.details] == [{"sku": "B", "requested": 1, "available": 0}]
    assert (on_hand(catalog, "A"), on_hand(catalog, "B")) == (3, 0)
    holds.release(held)
    assert (on_hand(catalog, "A"), on_hand(catalog, "B")) == (5, 1)


def test_an_inactive_or_unknown_product_cannot_be_held(stack: Resolver, holds: Holds) -> None:
    catalog = _catalog(stack)
    unsold = ProductUpdate.model_validate({"name": "A", "price": "1.00", "currency": "GBP", "active": False})
    catalog.save("acme", "A", unsold)
    with pytest.raises(OutOfStockError) as shortage:
        holds.hold("acme", {"A": 1, "NOPE": 1})
    assert {d["ctx"]["sku"]: d["ctx"]["available"] for d in shortage.value.details} == {"A": 0, "NOPE": 0}


@pytest.mark.usefixtures("shop")
def test_every_answer_is_the_shape_the_document_gives(lambda_context: Any) -> None:
    adjustments = "/products/{sku}/stock-adjustments"
    answers = [
        (put("NEW", MUG, lambda_context), "/products/{sku}", "put"),
        (put("NEW", MUG, lambda_context), "/products/{sku}", "put"),
        (put("NEW", {**MUG, "stock": 1}, lambda_context), "/products/{sku}", "put"),
        (adjust("MUG", RESTOCK, lambda_context), adjustments, "post"),
        (adjust("MUG", {"delta": -99, "reason": "damaged"}, lambda_context, key="k2"), adjustments, "post"),
        (adjust("MUG", {"delta": 0, "reason": "damaged"}, lambda_context, key="k3"), adjustments, "post"),
        (adjust("NOPE", RESTOCK, lambda_context), adjustments, "post"),
        (ledger("MUG", lambda_context, limit="1"), adjustments, "get"),
        (ledger("NOPE", lambda_context), adjustments, "get"),
    ]
    assert [status for (status, _), _, _ in answers] == [201, 200, 422, 201, 409, 422, 404, 200, 404]
    for (status, body), path, method in answers:
        assert_matches_openapi(body, path, method, status, lambda_context)


@pytest.mark.usefixtures("shop")
def test_a_replay_answers_the_first_entry_even_when_the_units_are_gone_since(
    holds: Holds, lambda_context: Any
) -> None:
    # Given 3 of MUG's 5 written off, then the last 2 taken by a checkout
    status, first = adjust("MUG", {"delta": -3, "reason": "damaged"}, lambda_context, key="flood")
    assert (status, first["stock"]) == (201, 2)
    holds.hold("acme", {"MUG": 2})
    # When the write-off is retried: it is the same write-off, not a new one that would not fit
    status, again = adjust("MUG", {"delta": -3, "reason": "damaged"}, lambda_context, key="flood")
    assert (status, again["adjustment"], again["stock"]) == (201, first["adjustment"], 0)


def _entry(delta: int) -> StockAdjustment:
    return StockAdjustment(
        adjustment_id="a1", sku="A", delta=delta, reason=StockReason.COUNT_CORRECTION,
        at=datetime(2026, 12, 2, 9, 30, tzinfo=UTC), by="acme-key",
    )  # fmt: skip


def test_a_conflicting_transaction_is_tried_again_then_answered_with_a_503(
    stack: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = _catalog(stack)
    client = catalog._table.meta.client
    transact = client.transact_write_items
    conflicts = [1, 1]  # DynamoDB cancels a transaction that meets another on an item

    def sometimes_conflicting(**kwargs: Any) -> Any:
        if conflicts and conflicts.pop():
            reasons = [{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}]
            error = {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons}
            raise ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]
        return transact(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", sometimes_conflicting)
    assert catalog.adjust_stock("acme", _entry(+3)) == _entry(+3)
    assert on_hand(catalog, "A") == 8
    conflicts.extend([1] * 10)
    with pytest.raises(RetryLaterError):
        catalog.adjust_stock("acme", _entry(+3).model_copy(update={"adjustment_id": "a2"}))
    assert on_hand(catalog, "A") == 8
