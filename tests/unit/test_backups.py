"""Backups of the tables and their restore, with in-memory tables and objects."""

import gzip
import hashlib
import json
from datetime import date
from typing import Any

import pytest

from tandem.logic import backups
from tandem.logic.backups import BackupCorruptError, BackupDeps, RestoreRefusedError
from tandem.logic.errors import NotFoundError
from tandem.models.backups import BackupManifest
from tests.fakes import FakeBackupObjects, FakeBackupTables, FakeClock

DAY = date(2026, 11, 30)

# Every kind of value DynamoDB holds, written as the low-level client gives them.
RICH = {
    "tenant_id": {"S": "acme"},
    "sku": {"S": "MUG"},
    "price": {"N": "6.5000"},  # the decimal text as stored: trailing zeros kept
    "tiny": {"N": "0.000000000000000000000000000000001"},
    "huge": {"N": "12345678901234567890123456789012345678"},
    "empty": {"S": ""},
    "photo": {"B": b"\x00\xffbinary\n"},
    "tags": {"SS": ["red", "blue", ""]},
    "sizes": {"NS": ["10", "9.5", "-1"]},
    "blobs": {"BS": [b"\x01", b"\x00\x02"]},
    "active": {"BOOL": True},
    "gone": {"NULL": True},
    "meta": {"M": {"nested": {"L": [{"N": "1.10"}, {"B": b"\x03"}, {"M": {"x": {"S": ""}}}]}}},
}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """An item with its sets as sets (a set has no order), to compare items as DynamoDB would."""

    def value(v: dict[str, Any]) -> Any:
        ((tag, inner),) = v.items()
        if tag in ("SS", "NS", "BS"):
            return tag, frozenset(inner)
        if tag == "M":
            return tag, {k: value(x) for k, x in inner.items()}
        if tag == "L":
            return tag, [value(x) for x in inner]
        return tag, inner

    return {k: value(v) for k, v in item.items()}


def order_item(tenant: str, created: str) -> dict[str, Any]:
    return {"tenant_id": {"S": tenant}, "created": {"N": created}, "total": {"N": "1.00"}}


@pytest.fixture
def tables() -> FakeBackupTables:
    fake = FakeBackupTables({"ProductsTable": ("tenant_id", "sku"), "OrdersTable": ("tenant_id", "created")})
    fake.items["ProductsTable"] = [RICH, {"tenant_id": {"S": "acme"}, "sku": {"S": "TEA"}}]
    fake.items["OrdersTable"] = [order_item("bravo", "2"), order_item("acme", "10"), order_item("acme", "9")]
    return fake


@pytest.fixture
def deps(tables: FakeBackupTables) -> BackupDeps:
    return BackupDeps(tables=tables, objects=FakeBackupObjects(), clock=FakeClock())


def lines_of(objects: FakeBackupObjects, key: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(objects.objects[key]).splitlines()]


def test_a_backup_writes_each_table_and_a_manifest_that_describes_the_objects(deps: BackupDeps) -> None:
    manifest = backups.run_backup(DAY, deps)
    objects = deps.objects
    assert isinstance(objects, FakeBackupObjects)
    assert sorted(objects.objects) == [
        "backups/2026-11-30/OrdersTable.jsonl.gz",
        "backups/2026-11-30/ProductsTable.jsonl.gz",
        "backups/2026-11-30/manifest.json",
    ]
    stored = json.loads(objects.objects["backups/2026-11-30/manifest.json"])
    assert stored["date"] == "2026-11-30"
    assert stored["created_at"] == "2026-11-28T09:30:00Z"
    by_table = {entry["table"]: entry for entry in stored["tables"]}
    assert {name: entry["items"] for name, entry in by_table.items()} == {
        "ProductsTable": 2,
        "OrdersTable": 3,
    }
    for entry in by_table.values():
        body = objects.objects[entry["key"]]
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        assert entry["size_bytes"] == len(body)
    assert manifest == BackupManifest.model_validate(stored)


def test_items_are_kept_in_dynamodbs_typed_json_and_sorted_by_key_value(deps: BackupDeps) -> None:
    backups.run_backup(DAY, deps)
    assert isinstance(deps.objects, FakeBackupObjects)
    orders = lines_of(deps.objects, "backups/2026-11-30/OrdersTable.jsonl.gz")
    # by partition key, then by the sort key's number (9 before 10, which text order would swap)
    assert [(o["Item"]["tenant_id"]["S"], o["Item"]["created"]["N"]) for o in orders] == [
        ("acme", "9"),
        ("acme", "10"),
        ("bravo", "2"),
    ]
    first = lines_of(deps.objects, "backups/2026-11-30/ProductsTable.jsonl.gz")[0]["Item"]
    assert first["price"] == {"N": "6.5000"}
    assert first["photo"] == {"B": "AP9iaW5hcnkK"}  # base64 of b"\x00\xffbinary\n"
    assert first["tags"] == {"SS": ["", "blue", "red"]}
    assert first["sizes"] == {"NS": ["-1", "9.5", "10"]}
    assert first["blobs"] == {"BS": ["AAI=", "AQ=="]}
    assert first["meta"]["M"]["nested"]["L"][1] == {"B": "Aw=="}


def test_the_same_data_gives_the_same_bytes_whatever_the_scan_order(
    deps: BackupDeps, tables: FakeBackupTables
) -> None:
    first = backups.run_backup(DAY, deps)
    assert isinstance(deps.objects, FakeBackupObjects)
    before = dict(deps.objects.objects)
    tables.items["OrdersTable"].reverse()
    tables.items["ProductsTable"].reverse()
    second = backups.run_backup(DAY, deps)
    assert [(t.table, t.sha256, t.size_bytes) for t in first.tables] == [
        (t.table, t.sha256, t.size_bytes) for t in second.tables
    ]
    assert {k: v for k, v in deps.objects.objects.items() if k.endswith(".gz")} == {
        k: v for k, v in before.items() if k.endswith(".gz")
    }


def test_a_restore_into_empty_tables_gives_back_every_item_unchanged(
    deps: BackupDeps, tables: FakeBackupTables
) -> None:
    original = {name: [plain(i) for i in items] for name, items in tables.items.items()}
    backups.run_backup(DAY, deps)
    for name in tables.items:
        tables.items[name] = []
    restored = backups.restore_backup(DAY, None, deps)
    assert {r.table: r.items for r in restored} == {"ProductsTable": 2, "OrdersTable": 3}
    for name, items in tables.items.items():
        keys = tables.keys[name]
        by_key = {tuple(i[k] for k in keys): i for i in original[name]}
        assert len(items) == len(by_key)
        for item in map(plain, items):
            assert item == by_key[tuple(item[k] for k in keys)]
    product = next(i for i in tables.items["ProductsTable"] if i["sku"] == {"S": "MUG"})
    assert product["photo"] == {"B": b"\x00\xffbinary\n"}
    assert product["empty"] == {"S": ""}
    assert product["huge"] == {"N": "12345678901234567890123456789012345678"}


def test_a_restore_of_one_table_leaves_the_others_alone(deps: BackupDeps, tables: FakeBackupTables) -> None:
    backups.run_backup(DAY, deps)
    tables.items["OrdersTable"] = []
    restored = backups.restore_backup(DAY, "OrdersTable", deps)
    assert [(r.table, r.items) for r in restored] == [("OrdersTable", 3)]
    assert len(tables.items["ProductsTable"]) == 2


def test_a_restore_into_a_table_that_holds_items_is_refused_and_writes_nothing(
    deps: BackupDeps, tables: FakeBackupTables
) -> None:
    backups.run_backup(DAY, deps)
    tables.items["OrdersTable"] = []  # empty; ProductsTable still holds its 2 items
    with pytest.raises(RestoreRefusedError, match="ProductsTable"):
        backups.restore_backup(DAY, None, deps)
    assert tables.items["OrdersTable"] == []


def test_a_backup_that_does_not_match_its_manifest_is_refused_before_any_write(
    deps: BackupDeps, tables: FakeBackupTables
) -> None:
    backups.run_backup(DAY, deps)
    assert isinstance(deps.objects, FakeBackupObjects)
    key = "backups/2026-11-30/ProductsTable.jsonl.gz"
    body = deps.objects.objects[key]
    deps.objects.objects[key] = body[:-1] + bytes([body[-1] ^ 1])
    for name in tables.items:
        tables.items[name] = []
    with pytest.raises(BackupCorruptError, match="does not match the manifest"):
        backups.restore_backup(DAY, None, deps)
    assert tables.items == {"ProductsTable": [], "OrdersTable": []}


def test_a_missing_backup_or_table_is_not_found(deps: BackupDeps) -> None:
    with pytest.raises(NotFoundError, match="no backup of 2026-11-30"):
        backups.restore_backup(DAY, None, deps)
    backups.run_backup(DAY, deps)
    with pytest.raises(NotFoundError, match="no table 'AuditTable'"):
        backups.restore_backup(DAY, "AuditTable", deps)


def test_typed_values_survive_an_encode_and_decode() -> None:
    assert plain(backups.decode_item(backups.encode_item(RICH))) == plain(RICH)
    assert (
        backups.encode_item({"b": {"N": "1"}, "a": {"S": "é"}})
        == '{"Item":{"a":{"S":"é"},"b":{"N":"1"}}}\n'.encode()
    )
