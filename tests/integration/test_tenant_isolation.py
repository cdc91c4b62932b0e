"""One shop never sees another's data: the tenant isolation matrix, generated from /openapi.json.

Every authenticated operation the API documents is put in one of three groups, from the document
alone, so a new route is covered the day it is added:

- **a resource route** (a path parameter naming a tenant's thing: `order_id`, `sku`, `job_id`):
  tenant A's resource is made, then tenant B (a key with every scope) calls the route with A's id
  and gets 404, not 403 and not the data, while A's own call succeeds;
- **a list route** (GET, no path parameter): A's data is seeded; A's answer shows it, B's shows
  none of it (even with `?tenant_id=A` added);
- **a write route** (anything else): B's call, with a body naming A's things where it can, has an
  explicit check of its own (`WRITES`) that its effect lands in B's data, not A's.

And for every call B makes: no item of A's in any table and no object of A's in any bucket
changes, and B's answer holds nothing of A's. A route the matrix does not know how to cover
(a resource it cannot make, a body it cannot build, a write with no check) FAILS, saying what
to add here. Then: presigned URLs name one object under the tenant's prefix and expire, and a
request body naming a tenant is refused (every body model is `extra="forbid"`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import boto3
import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.directory_tables import TenantsTable
from tandem.adapters.orders_table import OrdersTable
from tandem.handlers import api
from tandem.logic.ingest import UPLOAD_URL_TTL_SECONDS
from tandem.logic.inventory import latest_key
from tandem.models.catalog import Product
from tandem.models.inventory import (
    InventoryCounts,
    InventorySettings,
    InventorySuggestions,
    InventoryWindow,
    SkuSuggestion,
)
from tandem.models.records import ALL_SCOPES, Tenant
from tandem.models.settings import ApiSettings
from tests.conftest import FakeLambdaContext
from tests.events import http_event
from tests.factories import order
from tests.integration.test_checkout import SCORE
from tests.integration.test_checkout import body as checkout_body
from tests.integration.test_report_flow import deliver
from tests.moto_stack import REGION
from tests.template_model import Resolver

A, B = "alder", "birch"  # names found nowhere else in an answer, so "A's data" is findable
EVERY_SCOPE = " ".join(sorted(ALL_SCOPES))
PERIOD = {"from": "2026-11-01", "to": "2026-11-27"}
A_EMAIL = "alder-buyer@example.com"  # on A's blocklist
B_EMAIL = "birch-buyer@example.com"  # on B's blocklist


def _document() -> dict[str, Any]:
    """/openapi.json as the API serves it (no AWS call: the document is built from the routes)."""
    response = api.handler(http_event("GET", "/openapi.json", tenant=None), FakeLambdaContext())
    assert response["statusCode"] == 200
    return dict(json.loads(response["body"]))


DOCUMENT = _document()
OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    (method.upper(), path, operation)
    for path, item in DOCUMENT["paths"].items()
    if path not in api.PUBLIC_PATHS
    for method, operation in item.items()
]


def path_parameters(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]


def collection(path: str) -> str:
    return path.strip("/").split("/")[0]


# ---------------------------------------------------------------- the world: A's data, B's tenant


@dataclass
class World:
    """A's things, made through the adapters or the API as A; `markers`: strings only A's data holds."""

    stack: Resolver
    context: Any
    ids: dict[str, str] = field(default_factory=dict)  # resource kind -> A's id
    markers: set[str] = field(default_factory=lambda: {A})
    sent: list[str] = field(default_factory=list)  # the strings the last request sent

    def call(
        self,
        method: str,
        path: str,
        *,
        tenant: str,
        route: str | None = None,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        path_parameters: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        event = http_event(
            method, path, route=route, body=body, tenant=tenant, scopes=EVERY_SCOPE,
            headers=headers, path_parameters=path_parameters,
        )  # fmt: skip
        if query:
            event["queryStringParameters"] = query
            event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
        response = api.handler(event, self.context)
        self.sent = [*(path_parameters or {}).values(), *(query or {}).values(), *_strings(body)]
        return int(response["statusCode"]), str(response["body"])

    def leaks(self, answer: str) -> list[str]:
        """A's markers in an answer, but for what the last request sent itself (a 404 may name the
        id it did not find: the caller knew it already)."""
        for sent in sorted(self.sent, key=len, reverse=True):
            answer = answer.replace(sent, "")
        return sorted(marker for marker in self.markers if marker in answer)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _dynamodb() -> Any:
    return boto3.resource("dynamodb", region_name=REGION)


def make_order(world: World, tenant: str) -> str:
    placed = order(
        datetime(2026, 11, 20, 12, tzinfo=UTC), (f"SKU-{tenant.upper()}", 2, "6.50"), tenant=tenant
    )
    placed = placed.model_copy(update={"order_id": f"inv-{tenant}-0001"})
    OrdersTable(world.stack.physical["OrdersTable"], _dynamodb()).put(placed)
    return placed.order_id


def make_product(world: World, tenant: str) -> str:
    sku = f"SKU-{tenant.upper()}"
    CatalogTable(world.stack.physical["ProductsTable"], _dynamodb()).put(
        Product(
            tenant_id=tenant,
            sku=sku,
            name=f"{tenant} secret mug",
            price=Decimal("6.50"),
            currency="GBP",
            stock=5,
        )
    )
    world.markers.add(f"{tenant} secret mug")
    return sku


def make_report(world: World, tenant: str) -> str:
    """A report job that has succeeded (its result in S3), requested through the API as `tenant`."""
    status, body = world.call(
        "POST", "/reports", tenant=tenant, body=PERIOD, headers={"Prefer": "respond-async"}
    )
    assert status == 202, body
    assert deliver(world.stack, world.context) == {"batchItemFailures": []}
    return str(json.loads(body)["job_id"])


def make_export(world: World, tenant: str) -> str:
    status, body = world.call(
        "POST", "/exports", tenant=tenant, body={"date": "2026-11-27"}, headers={"Prefer": "respond-async"}
    )
    assert status == 202, body
    return str(json.loads(body)["job_id"])


def make_suggestions(world: World, tenant: str) -> None:
    """The night's inventory document of `tenant` (what GET /inventory/suggestions reads)."""
    day = date(2026, 11, 27)
    sku = f"SKU-{tenant.upper()}"
    document = InventorySuggestions(
        tenant_id=tenant, date=day, computed_at=datetime(2026, 11, 28, 2, tzinfo=UTC),
        window=InventoryWindow(start=day - timedelta(days=27), end=day, days=28, days_read=1, lines_read=1),
        settings=InventorySettings(), z=1.64,
        counts=InventoryCounts(skus=1, below_reorder_point=1, not_in_catalogue=0),
        items=[SkuSuggestion(
            sku=sku, units_sold=2, units_returned=0, mean_daily_demand=0.07, sd_daily_demand=0.4,
            lead_time_days=7, safety_stock=1.7, reorder_point=2.2, order_up_to=3.7, stock=1,
            below_reorder_point=True, suggested_order=3,
        )],
    )  # fmt: skip
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=world.stack.physical["DataBucket"], Key=latest_key(tenant), Body=document.model_dump_json()
    )


# How to make tenant A's resource that a path parameter names, by (collection, parameter).
# A new route under a known collection (GET /orders/{order_id}/history) is covered at once; a new
# kind of resource needs a line here.
RESOURCES: dict[tuple[str, str], Callable[[World, str], str]] = {
    ("orders", "order_id"): make_order,
    ("products", "sku"): make_product,
    ("reports", "job_id"): make_report,
    ("exports", "job_id"): make_export,
}
# Path parameters that name no tenant's thing: the same values for every tenant.
NOT_A_RESOURCE = {("ingest", "source"): "a kind of export file (erp_orders, …), stored under raw/{tenant}/"}


@pytest.fixture
def world(stack: Resolver, lambda_context: Any, seed: Callable[..., Any]) -> World:
    """A's order, product, succeeded report job, export job and inventory; B a tenant with nothing."""
    seed(tenants=(A, B))
    world = World(stack, lambda_context)
    for (kind, _), make in RESOURCES.items():
        world.ids[kind] = make(world, A)
    make_suggestions(world, A)
    status, _ = world.call(
        "PUT", "/fraud/blocklist", tenant=A, body={"kind": "email", "value": A_EMAIL, "reason": "x"}
    )
    assert status == 200
    world.markers |= set(world.ids.values())
    return world


# Ids of the same shapes that name nothing: B's answer about A's thing must read the same.
NOBODYS = {"orders": "inv-nobody-0001", "products": "SKU-NOBODY", "reports": "0" * 32, "exports": "1" * 32}


# ---------------------------------------------------------------- what B's calls must leave alone


def _tenant_items(tenant: str) -> dict[str, list[str]]:
    """Every table's items that name `tenant` anywhere (keys, attributes), as sorted JSON."""
    client = boto3.client("dynamodb", region_name=REGION)
    found: dict[str, list[str]] = {}
    for table in client.list_tables()["TableNames"]:
        items = [json.dumps(item, sort_keys=True, default=str) for item in _scan(client, table)]
        found[table] = sorted(item for item in items if tenant in item)
    return found


def _scan(client: Any, table: str) -> Iterator[dict[str, Any]]:
    scan: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**scan)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _objects() -> dict[str, str]:
    """Every object of every bucket: 'bucket/key' -> ETag."""
    s3 = boto3.client("s3", region_name=REGION)
    found = {}
    for bucket in (b["Name"] for b in s3.list_buckets()["Buckets"]):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                found[f"{bucket}/{item['Key']}"] = item["ETag"]
    return found


@dataclass
class Snapshot:
    items: dict[str, list[str]]
    objects: dict[str, str]

    @classmethod
    def take(cls) -> Snapshot:
        return cls(_tenant_items(A), _objects())

    def assert_a_untouched_and_new_objects_are_bs(self) -> None:
        after = Snapshot.take()
        changed = {
            t: (self.items[t], after.items.get(t)) for t in self.items if after.items.get(t) != self.items[t]
        }
        assert not changed, f"B's call changed A's items: {changed}"
        for name, etag in self.objects.items():
            if f"/{A}/" in name or f"/{A}." in name:
                assert after.objects.get(name) == etag, f"B's call changed A's object {name}"
        for name in set(after.objects) - set(self.objects):
            assert A not in name, f"B's call wrote under A's prefix: {name}"


# ---------------------------------------------------------------- how to call each route

# A valid body for each operation that takes one (B's copy names A's things where it can).
BODIES: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    ("POST", "/orders"): lambda w: checkout_body(**{w.ids["products"]: 1}),
    ("POST", "/orders/{order_id}/review"): lambda _: {"decision": "fraud", "note": "isolation matrix"},
    ("PUT", "/products/{sku}"): lambda _: {"name": "Birch mug", "price": "1.00", "currency": "GBP"},
    ("POST", "/products/{sku}/stock-adjustments"): lambda _: {"delta": -5, "reason": "damaged"},
    ("POST", "/reports"): lambda _: PERIOD,
    ("POST", "/payments/score"): lambda _: {**SCORE, "email": A_EMAIL},
    ("PUT", "/fraud/blocklist"): lambda _: {"kind": "email", "value": B_EMAIL, "reason": "matrix"},
    ("POST", "/ingest/{source}"): lambda _: {"file_name": "orders.csv", "content": "InvoiceNo\n1\n"},
    ("POST", "/exports"): lambda _: {"date": "2026-11-27"},
    ("PUT", "/settings/webhooks"): lambda _: {"url": "https://birch.example/hooks"},
}
# Query parameters an operation requires.
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/orders"): {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
}
# A path parameter's value when it names no resource.
VALUES = {"source": "erp_orders"}


def _request(world: World, method: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    """What a call to the operation needs besides the path: body, required query and headers."""
    request: dict[str, Any] = {}
    if "requestBody" in operation:
        if (method, path) not in BODIES:
            pytest.fail(f"{method} {path} takes a body: add a valid one to BODIES in {__name__}")
        request["body"] = BODIES[(method, path)](world)
    required = [p for p in operation.get("parameters", []) if p.get("required") and p["in"] == "query"]
    if required:
        if (method, path) not in QUERIES:
            pytest.fail(f"{method} {path} requires {[p['name'] for p in required]}: add them to QUERIES")
        request["query"] = QUERIES[(method, path)]
    headers = {p["name"]: uuid.uuid4().hex for p in operation.get("parameters", [])
               if p.get("required") and p["in"] == "header"}  # fmt: skip
    if headers:
        request["headers"] = headers
    return request


def _resource_of(path: str, parameter: str) -> str | None:
    """The kind of A's thing the parameter names (RESOURCES' collection), None if it names none."""
    return collection(path) if (collection(path), parameter) in RESOURCES else None


def group(method: str, path: str, operation: dict[str, Any]) -> str:
    """Which part of the matrix covers the operation: resource, list, write, or unknown."""
    parameters = [(collection(path), name) for name in path_parameters(operation)]
    if any(key not in RESOURCES and key not in NOT_A_RESOURCE for key in parameters):
        return "unknown"
    if any(key in RESOURCES for key in parameters):
        return "resource"
    return "list" if method == "GET" else "write"


def operations(kind: str) -> list[Any]:
    return [
        pytest.param(method, path, operation, id=f"{method} {path}")
        for method, path, operation in OPERATIONS
        if group(method, path, operation) == kind
    ]


def _call_with_ids(
    world: World,
    method: str,
    path: str,
    operation: dict[str, Any],
    tenant: str,
    ids: dict[str, str],
    add_to_body: dict[str, Any] | None = None,
) -> tuple[int, str]:
    values = {
        name: ids.get(_resource_of(path, name) or "", VALUES.get(name, ""))
        for name in path_parameters(operation)
    }
    concrete = path
    for name, value in values.items():
        concrete = concrete.replace(f"{{{name}}}", value)
    request = _request(world, method, path, operation)
    if add_to_body:
        request["body"] = {**request["body"], **add_to_body}
    return world.call(method, concrete, tenant=tenant, route=path, path_parameters=values or None, **request)


# Resource routes where B's call with A's id acts on B's own namespace (an upsert) instead of
# answering 404: B gets its own new thing, and A's stays as it was (the snapshot checks it).
OWN_NAMESPACE = {("PUT", "/products/{sku}"): 201}


# ---------------------------------------------------------------- 1. resource routes: 404 for B


def test_every_route_is_covered() -> None:
    """A route whose path parameter the matrix cannot make a resource for fails here, and says so."""
    unknown = [
        f"{method} {path}"
        for method, path, operation in OPERATIONS
        if group(method, path, operation) == "unknown"
    ]
    assert not unknown, (
        f"{unknown}: a path parameter names something the isolation matrix cannot make. Add how to "
        f"make tenant A's one to RESOURCES, or, if it names no tenant's thing, a line to "
        f"NOT_A_RESOURCE (in {__name__})"
    )
    groups = {group(m, p, o) for m, p, o in OPERATIONS}
    assert groups == {"resource", "list", "write"}  # the matrix is not vacuous


@pytest.mark.parametrize(("method", "path", "operation"), operations("resource"))
def test_b_cannot_reach_as_resource_by_its_id(
    world: World, method: str, path: str, operation: dict[str, Any]
) -> None:
    before = Snapshot.take()
    status, body = _call_with_ids(world, method, path, operation, B, world.ids)
    assert status == OWN_NAMESPACE.get((method, path), 404), body
    assert world.leaks(body) == [], f"B's answer holds A's data: {body}"
    if status == 404:
        assert json.loads(body)["error"] == "not_found"
        # ...the same answer as for an id that names nothing: no telling A's thing exists.
        nobody = _call_with_ids(world, method, path, operation, B, NOBODYS)
        for name, value in world.ids.items():
            body = body.replace(value, NOBODYS[name])
        assert nobody == (status, body)
    before.assert_a_untouched_and_new_objects_are_bs()

    # ...while A's own call, the same request, succeeds.
    status, body = _call_with_ids(world, method, path, operation, A, world.ids)
    assert 200 <= status < 300, body


# ---------------------------------------------------------------- 2. list routes: none of A's data


@pytest.mark.parametrize(("method", "path", "operation"), operations("list"))
def test_bs_lists_show_none_of_as_data(
    world: World, method: str, path: str, operation: dict[str, Any]
) -> None:
    request = _request(world, method, path, operation)
    status, mine = world.call(method, path, tenant=A, **request)
    assert status == 200, mine
    if not world.leaks(
        mine.replace(f'"{A}"', "")
    ):  # the tenant's own id aside, A's answer must show A's things
        pytest.fail(
            f"{method} {path} shows none of A's seeded data, so the matrix cannot tell whether B sees it: "
            f"seed what it lists in the `world` fixture of {__name__}"
        )
    before = Snapshot.take()
    for query in (request.get("query"), {**(request.get("query") or {}), "tenant_id": A}):
        status, theirs = world.call(method, path, tenant=B, **{**request, "query": query})
        assert status in (200, 404, 422), theirs
        assert world.leaks(theirs) == [], f"B's answer holds A's data: {theirs}"
    before.assert_a_untouched_and_new_objects_are_bs()


# ---------------------------------------------------------------- 3. write routes: B's effect is B's


def check_checkout(world: World, status: int, body: str) -> None:
    # B orders A's SKU: refused exactly as a SKU that exists nowhere (A's stock: the snapshot).
    sku = world.ids["products"]
    assert status == 422, body
    assert [d["type"] for d in json.loads(body)["details"]] == ["unknown_product"]
    nobody = world.call("POST", "/orders", tenant=B, body=checkout_body(**{NOBODYS["products"]: 1}),
                        headers={"idempotency-key": uuid.uuid4().hex})  # fmt: skip
    assert (nobody[0], nobody[1].replace(NOBODYS["products"], "<sku>")) == (
        status,
        body.replace(sku, "<sku>"),
    )


def check_report(world: World, status: int, body: str) -> None:
    # Answered inline for this small period: B's own orders only (none), though A has one in it.
    assert status == 200, body
    assert json.loads(body)["orders"] == 0
    assert json.loads(world.call("POST", "/reports", tenant=A, body=PERIOD)[1])["orders"] == 1


def check_score(world: World, status: int, body: str) -> None:
    # A's blocklisted e-mail is not on B's list; A's own score of it blocks.
    assert status == 200, body
    assert json.loads(body)["decision"] != "block"
    _, mine = world.call("POST", "/payments/score", tenant=A, body={**SCORE, "email": A_EMAIL})
    assert json.loads(mine)["decision"] == "block"


def check_blocklist(world: World, status: int, body: str) -> None:
    # What B blocks is blocked for B only.
    assert status == 200, body
    _, mine = world.call("POST", "/payments/score", tenant=A, body={**SCORE, "email": B_EMAIL})
    _, theirs = world.call("POST", "/payments/score", tenant=B, body={**SCORE, "email": B_EMAIL})
    assert (json.loads(mine)["decision"] != "block", json.loads(theirs)["decision"]) == (True, "block")


def check_ingest(world: World, status: int, body: str) -> None:
    assert status == 202, body
    assert json.loads(body)["key"].startswith(f"raw/{B}/erp_orders/")


def check_export(world: World, status: int, body: str) -> None:
    # An export is the operator's backup of every tenant (admin scope only, README "Backups that
    # restore"): its job is B's, and A cannot read it.
    assert status == 202, body
    job_id = json.loads(body)["job_id"]
    route = "/exports/{job_id}"
    seen = world.call("GET", f"/exports/{job_id}", tenant=A, route=route, path_parameters={"job_id": job_id})
    assert seen[0] == 404


def check_webhooks(world: World, status: int, body: str) -> None:
    assert status == 200, body
    tenants = TenantsTable(world.stack.physical["TenantsTable"], _dynamodb())
    mine, theirs = tenants.get(A), tenants.get(B)
    assert mine is not None
    assert theirs is not None
    assert mine.webhook is None
    assert theirs.webhook is not None
    assert theirs.webhook.url == "https://birch.example/hooks"


# Each write route's own check of where B's call took effect (the snapshot checks A's data is
# untouched). A new write route FAILS until it has one here.
WRITES: dict[tuple[str, str], Callable[[World, int, str], None]] = {
    ("POST", "/orders"): check_checkout,
    ("POST", "/reports"): check_report,
    ("POST", "/payments/score"): check_score,
    ("PUT", "/fraud/blocklist"): check_blocklist,
    ("POST", "/ingest/{source}"): check_ingest,
    ("POST", "/exports"): check_export,
    ("PUT", "/settings/webhooks"): check_webhooks,
}


@pytest.mark.parametrize(("method", "path", "operation"), operations("write"))
def test_bs_writes_land_in_bs_data(world: World, method: str, path: str, operation: dict[str, Any]) -> None:
    if (method, path) not in WRITES:
        pytest.fail(
            f"{method} {path} is a write route the isolation matrix has no check for: add to WRITES in "
            f"{__name__} a check that B's call takes effect in B's data only"
        )
    before = Snapshot.take()
    status, body = _call_with_ids(world, method, path, operation, B, world.ids)
    assert world.leaks(body) == [], f"B's answer holds A's data: {body}"
    before.assert_a_untouched_and_new_objects_are_bs()
    WRITES[(method, path)](world, status, body)


def test_every_write_route_has_its_check() -> None:
    """Fails at once (no world to build) when a write route has no check in WRITES."""
    missing = [f"{m} {p}" for m, p, o in OPERATIONS if group(m, p, o) == "write" and (m, p) not in WRITES]
    assert not missing, (
        f"{missing}: add to WRITES in {__name__} a check that B's call takes effect in B's data only"
    )


# ---------------------------------------------------------------- the tenant comes from the authorizer


def _schema(reference: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in reference:
        name = reference["$ref"].rsplit("/", 1)[-1]
        reference = DOCUMENT["components"]["schemas"][name]
    return reference


BODY_OPERATIONS = [(m, p, o) for m, p, o in OPERATIONS if "requestBody" in o]


@pytest.mark.parametrize(
    ("method", "path", "operation"), BODY_OPERATIONS, ids=[f"{m} {p}" for m, p, _ in BODY_OPERATIONS]
)
def test_a_body_naming_a_tenant_is_refused(
    world: World, method: str, path: str, operation: dict[str, Any]
) -> None:
    schema = _schema(operation["requestBody"]["content"]["application/json"]["schema"])
    variants = [_schema(s) for s in schema.get("anyOf", schema.get("oneOf", [schema]))]
    for variant in variants:
        assert variant.get("additionalProperties") is False, (
            f"{method} {path}: its body model needs extra='forbid'"
        )
        assert "tenant_id" not in variant.get("properties", {}), (
            f"{method} {path} takes a tenant from the body"
        )
    before = Snapshot.take()
    status, body = _call_with_ids(world, method, path, operation, B, NOBODYS, {"tenant_id": A})
    assert status == 422, body
    assert [d["type"] for d in json.loads(body)["details"]] == ["extra_forbidden"]
    before.assert_a_untouched_and_new_objects_are_bs()


# ---------------------------------------------------------------- presigned URLs


def _sigv4_valid(method: str, url: str, headers: dict[str, str], now: datetime) -> bool:
    """S3's check of a presigned (query string) SigV4 URL, written from the SigV4 documentation:
    moto serves presigned URLs without checking their signature, so the test checks it itself."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = query.pop("X-Amz-Signature")
    signed = query["X-Amz-SignedHeaders"].split(";")
    lowered = {"host": parts.netloc, **{k.lower(): v.strip() for k, v in headers.items()}}
    canonical = "\n".join([
        method,
        parts.path,
        "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())),
        "".join(f"{name}:{lowered[name]}\n" for name in signed),
        ";".join(signed),
        "UNSIGNED-PAYLOAD",
    ])  # fmt: skip
    key_id, day, region, service, terminal = query["X-Amz-Credential"].split("/")
    scope = f"{day}/{region}/{service}/{terminal}"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", query["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    credentials = boto3.Session().get_credentials()
    assert credentials is not None
    assert key_id == credentials.access_key
    signing = ("AWS4" + credentials.secret_key).encode()
    for part in (day, region, service, terminal):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    in_time = now < signed_at + timedelta(seconds=int(query["X-Amz-Expires"]))
    return hmac.compare_digest(expected, signature) and in_time


def _with_key(url: str, key: str) -> str:
    parts = urlsplit(url)
    bucket_path = parts.path.split("/reports/", 1)[0]
    return urlunsplit(parts._replace(path=f"{bucket_path}/{key}"))


def test_a_report_link_is_one_object_of_the_tenant_and_expires(world: World) -> None:
    job_id = world.ids["reports"]
    b_job = make_report(world, B)
    route = "/reports/{job_id}"
    status, body = world.call(
        "GET", f"/reports/{job_id}", tenant=A, route=route, path_parameters={"job_id": job_id}
    )
    assert status == 200, body
    result = json.loads(body)["result"]
    url, now = result["url"], datetime.now(UTC)
    parts, query = urlsplit(url), dict(parse_qsl(urlsplit(url).query))

    # One object, under A's prefix: the key is in the path, no wildcard or prefix in the query.
    key = f"reports/{A}/{job_id}.json"
    assert parts.path.endswith(f"/{key}"), parts.path
    assert "prefix" not in {k.lower() for k in query}
    ttl = ApiSettings.model_fields["result_url_ttl_seconds"].default
    assert ttl == 900  # README: "a presigned S3 URL valid 15 minutes (RESULT_URL_TTL_SECONDS)"
    assert int(query["X-Amz-Expires"]) == ttl
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    stated = datetime.fromisoformat(result["expires_at"])
    assert abs((stated - (signed_at + timedelta(seconds=ttl))).total_seconds()) <= 2

    # The signature holds for that object, in its time only...
    assert _sigv4_valid("GET", url, {}, now)
    assert not _sigv4_valid("GET", url, {}, signed_at + timedelta(seconds=ttl + 1))
    # ...and for nothing else: B's report, another of A's keys, a longer life, a PUT.
    for tampered in (
        _with_key(url, f"reports/{B}/{b_job}.json"),
        _with_key(url, f"reports/{A}/other.json"),
        url.replace(f"X-Amz-Expires={ttl}", "X-Amz-Expires=604800"),
    ):
        assert tampered != url
        assert not _sigv4_valid("GET", tampered, {}, now), tampered
    assert not _sigv4_valid("PUT", url, {}, now)


def test_an_upload_link_is_one_object_under_the_callers_prefix_and_expires(world: World) -> None:
    status, body = world.call(
        "POST",
        "/ingest/erp_orders",
        tenant=B,
        route="/ingest/{source}",
        path_parameters={"source": "erp_orders"},
        body={"file_name": "big.csv", "date": "2026-11-27"},
    )
    assert status == 202, body
    accepted = json.loads(body)
    assert accepted["status"] == "awaiting_upload"
    upload, now = accepted["upload"], datetime.now(UTC)
    parts, query = urlsplit(upload["url"]), dict(parse_qsl(urlsplit(upload["url"]).query))
    assert accepted["key"] == f"raw/{B}/erp_orders/2026-11-27/big.csv"
    assert parts.path.endswith("/" + accepted["key"])
    assert int(query["X-Amz-Expires"]) == UPLOAD_URL_TTL_SECONDS == 900  # the route's "within 15 minutes"
    assert _sigv4_valid("PUT", upload["url"], upload["headers"], now)
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert not _sigv4_valid("PUT", upload["url"], upload["headers"], signed_at + timedelta(seconds=901))
    into_a = upload["url"].replace(f"/raw/{B}/", f"/raw/{A}/")
    assert into_a != upload["url"]
    assert not _sigv4_valid("PUT", into_a, upload["headers"], now)
    assert not _sigv4_valid("PUT", upload["url"], {**upload["headers"], "Content-Type": "text/html"}, now)


def test_a_tenant_record_exists_for_both(world: World) -> None:
    """The matrix's B is a real tenant (a record, a key with every scope), not a missing one."""
    tenants = TenantsTable(world.stack.physical["TenantsTable"], _dynamodb())
    assert tenants.get(B) == Tenant(tenant_id=B, name=B.title())
