"""Backups end to end under moto: the nightly step and POST /exports write backups/{date}/, and
`tandem restore` writes them back into the emptied tables, every item equal."""

import gzip
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import Binary

from tandem.handlers import api, nightly_lake
from tandem_local import restore
from tests.events import http_event
from tests.factories import order
from tests.integration.test_api import assert_matches_openapi
from tests.integration.test_report_flow import deliver, get_report, request_report
from tests.moto_stack import REGION
from tests.template_model import Resolver

DAY = "2026-11-30"
# template.yaml's BACKUP_TABLES: every table but the sandbox gateway's ledger.
TABLES = (
    "ApiKeysTable",
    "TenantsTable",
    "JobsTable",
    "OrdersTable",
    "ProductsTable",
    "LiveCountersTable",
    "AuditTable",
    "FraudSignalsTable",
)


def rich(n: int) -> dict[str, Any]:
    """Attributes of every kind, as Python values (the resource layer's types)."""
    return {
        "amount": Decimal("6.5000") + n,  # trailing zeros: DynamoDB keeps the number, not the text
        "tiny": Decimal("1E-30"),
        "huge": Decimal("123456789012345678901234567890.12345678"),
        "empty": "",
        "photo": Binary(bytes([0, 255, n]) + b"\n"),
        "tags": {"red", "blue", f"t{n}"},
        "sizes": {Decimal("9.5"), Decimal("10"), Decimal(-n)},
        "blobs": {Binary(b"\x01"), Binary(bytes([2, n]))},
        "flag": n % 2 == 0,
        "nothing": None,
        "meta": {"nested": [Decimal("1.10"), Binary(b"\x03"), {"x": "", "y": [n, "z"]}], "list": []},
    }


def key_value(kind: str, n: int) -> Any:
    return {"S": f"k-{n:03d}", "N": Decimal(n), "B": Binary(f"k{n}".encode())}[kind]


def scan_all(table: Any) -> list[dict[str, Any]]:
    items, kwargs = [], {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture
def tables(stack: Resolver, seed: Callable[..., Any]) -> dict[str, Any]:
    """Every backed-up table with real records (tenants, keys, orders) and 30 items of every kind
    of value keyed by the table's own key schema."""
    seed(
        tenants=("acme", "bravo"),
        keys={"tdm_" + "a" * 40: "acme"},
        orders=(
            order(datetime(2026, 11, 2, 12, tzinfo=UTC), ("MUG", 2, "6.50")),
            order(datetime(2026, 11, 20, 18, tzinfo=UTC), ("MUG", 1, "6.50"), ("TEA", 3, "4.25")),
        ),
    )
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    found = {}
    for name in TABLES:
        table = dynamodb.Table(stack.physical[name])
        types = {a["AttributeName"]: a["AttributeType"] for a in table.attribute_definitions}
        keys = [k["AttributeName"] for k in table.key_schema]
        with table.batch_writer() as batch:
            for n in range(30):
                # the sort key (if any) varies fastest: several items per partition
                item = {
                    k: key_value(types[k], n // 3 if i == 0 and len(keys) == 2 else n)
                    for i, k in enumerate(keys)
                }
                batch.put_item(Item={**rich(n), **item})
        found[name] = table
    return found


def empty(tables: dict[str, Any]) -> None:
    for table in tables.values():
        keys = [k["AttributeName"] for k in table.key_schema]
        with table.batch_writer() as batch:
            for item in scan_all(table):
                batch.delete_item(Key={k: item[k] for k in keys})


def by_key(table: Any, items: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    keys = [k["AttributeName"] for k in table.key_schema]
    return {tuple(item[k] for k in keys): item for item in items}


def run_restore(stack: Resolver, only: str | None = None) -> tuple[int, list[str]]:
    said: list[str] = []
    code = restore.restore(
        {name: stack.physical[name] for name in TABLES},
        stack.physical["DataBucket"],
        datetime.fromisoformat(DAY).date(),
        only,
        boto3.client("dynamodb", region_name=REGION),
        boto3.client("s3", region_name=REGION),
        said.append,
    )
    return code, said


def test_the_nightly_backup_restores_every_item_unchanged(
    stack: Resolver, tables: dict[str, Any], lambda_context: Any
) -> None:
    before = {name: by_key(table, scan_all(table)) for name, table in tables.items()}
    answer = nightly_lake.handler({"step": "backup", "date": DAY}, lambda_context)
    assert answer == {"date": DAY, "tables": {name: len(items) for name, items in before.items()}}

    s3 = boto3.client("s3", region_name=REGION)
    bucket = stack.physical["DataBucket"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=f"backups/{DAY}/manifest.json")["Body"].read())
    assert manifest["date"] == DAY
    for entry in manifest["tables"]:
        body = s3.get_object(Bucket=bucket, Key=f"backups/{DAY}/{entry['table']}.jsonl.gz")["Body"].read()
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        assert entry["size_bytes"] == len(body)
        assert entry["items"] == len(gzip.decompress(body).splitlines()) == len(before[entry["table"]])

    empty(tables)
    assert all(not scan_all(table) for table in tables.values())
    code, said = run_restore(stack)
    assert code == 0, said

    for name, table in tables.items():
        after = by_key(table, scan_all(table))
        assert after.keys() == before[name].keys(), name
        for key, item in before[name].items():
            assert after[key] == item, (name, key)  # Decimals, sets, binary, nested: equal
    sample = next(i for i in before["ProductsTable"].values() if "amount" in i)
    assert isinstance(sample["amount"], Decimal)
    assert isinstance(sample["sizes"], set)
    orders = tables["OrdersTable"]
    assert sum(1 for i in scan_all(orders) if i.get("total") is not None) == 2  # the seeded orders


def test_a_restore_refuses_tables_that_hold_items_and_a_broken_backup(
    stack: Resolver, tables: dict[str, Any], lambda_context: Any
) -> None:
    nightly_lake.handler({"step": "backup", "date": DAY}, lambda_context)
    code, said = run_restore(stack)
    assert code == restore.EXIT_REFUSED
    assert "refusing to restore into tables that hold items: ApiKeysTable" in said[0]

    empty({"OrdersTable": tables["OrdersTable"]})
    s3 = boto3.client("s3", region_name=REGION)
    bucket, key = stack.physical["DataBucket"], f"backups/{DAY}/OrdersTable.jsonl.gz"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=body[:-8] + b"\x00" * 8)
    code, said = run_restore(stack, "OrdersTable")
    assert code == restore.EXIT_CORRUPT
    assert "does not match the manifest" in said[0]
    assert not scan_all(tables["OrdersTable"])

    s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert run_restore(stack, "OrdersTable")[0] == 0
    assert len(scan_all(tables["OrdersTable"])) == 32

    code, said = run_restore(stack, "NoSuchTable")
    assert code == restore.EXIT_NOT_FOUND


def post_export(
    lambda_context: Any, scopes: str, body: dict[str, str], prefer: str = "respond-async"
) -> tuple[int, dict[str, Any]]:
    headers = {"Prefer": prefer} if prefer else {}
    event = http_event("POST", "/exports", body=body, scopes=scopes, headers=headers)
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def get_export(job_id: str, lambda_context: Any, scopes: str = "admin") -> tuple[int, dict[str, Any]]:
    event = http_event(
        "GET",
        f"/exports/{job_id}",
        route="/exports/{job_id}",
        scopes=scopes,
        path_parameters={"job_id": job_id},
    )
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def test_an_export_is_an_admin_job_run_by_the_report_worker(
    stack: Resolver, tables: dict[str, Any], lambda_context: Any
) -> None:
    status, refused = post_export(lambda_context, "reports:read reports:write orders:read", {"date": DAY})
    assert (status, refused["error"]) == (403, "forbidden")

    status, accepted = post_export(lambda_context, "admin", {"date": DAY})
    assert status == 202
    assert accepted["status"] == "queued"
    assert accepted["status_url"] == f"/exports/{accepted['job_id']}"
    assert get_export(accepted["job_id"], lambda_context)[1]["status"] == "queued"
    assert get_export(accepted["job_id"], lambda_context, "reports:read")[0] == 403

    deliver(stack, lambda_context)
    status, view = get_export(accepted["job_id"], lambda_context)
    assert status == 200
    assert view["status"] == "succeeded"
    assert view["date"] == DAY
    assert view["manifest_key"] == f"backups/{DAY}/manifest.json"
    assert_matches_openapi(view, "/exports/{job_id}", "get", 200, lambda_context)
    assert_matches_openapi(accepted, "/exports", "post", 202, lambda_context)
    s3 = boto3.client("s3", region_name=REGION)
    manifest = json.loads(
        s3.get_object(Bucket=stack.physical["DataBucket"], Key=view["manifest_key"])["Body"].read()
    )
    assert {t["table"]: t["items"] for t in manifest["tables"]}["TenantsTable"] == 32

    # An export is not a report, nor a report an export.
    assert get_report(accepted["job_id"], lambda_context)[0] == 404
    report_id = request_report(lambda_context)
    assert get_export(report_id, lambda_context)[0] == 404


def test_an_export_of_a_bad_date_is_refused_with_422(stack: Resolver, lambda_context: Any) -> None:
    status, body = post_export(lambda_context, "admin", {"date": "2026-13-01"})
    assert status == 422
    assert body["details"][0]["loc"] == ["body", "date"]
    status, body = post_export(lambda_context, "admin", {"day": DAY})
    assert status == 422
    assert body["details"][0]["loc"] == ["body", "day"]


def test_an_export_of_small_tables_is_waited_for_and_answered_200(
    stack: Resolver, tables: dict[str, Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The report worker runs while the API waits: here, in the API's first pause.
    def worker_runs(seconds: float) -> None:
        deliver(stack, lambda_context)

    monkeypatch.setattr("tandem.handlers.wiring.api.time.sleep", worker_runs)
    event = http_event("POST", "/exports", body={"date": DAY}, scopes="admin")
    response = api.handler(event, lambda_context)
    view = json.loads(response["body"])
    assert response["statusCode"] == 200
    assert view["status"] == "succeeded"
    assert view["manifest_key"] == f"backups/{DAY}/manifest.json"
    assert response["headers"]["Location"] == f"/exports/{view['job_id']}"
    # 32 tenants (and the rest of the seeded tables), counted from DynamoDB's metadata
    assert re.fullmatch(r"items=\d+; limit=2000; path=inline", response["headers"]["Tandem-Estimate"])
    assert_matches_openapi(view, "/exports", "post", 200, lambda_context)


def test_an_export_not_ended_within_the_budget_is_answered_202_after_it(
    stack: Resolver, tables: dict[str, Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORT_INLINE_BUDGET_SECONDS", "0.3")
    status, accepted = post_export(lambda_context, "admin", {"date": DAY}, prefer="")
    assert status == 202
    assert accepted["status"] == "queued"  # nobody ran it: the API waited 0.3 s, then answered
