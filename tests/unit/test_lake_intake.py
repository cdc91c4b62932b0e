"""A raw file's key → its partition curated with the tenant's configuration; the lake's tables,
their parts' keys, and the source registry."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from tandem.logic.errors import PermanentJobError
from tandem.logic.lake.intake import IntakeDeps, config_key, file_landed, tenant_config
from tandem.logic.lake.layout import parse_raw_key
from tandem.logic.lake.sources import SOURCE_NAMES, sources
from tandem.logic.lake.tables import SOURCE_TABLES, TABLES, part_key, split
from tandem.models.lake import LineKind, OrderLineRow
from tandem.models.lake_config import LakeConfig
from tests.fakes import FakeLakeObjects, FakeParquet, FakeRawFiles

DAY = date(2011, 1, 5)
EXPORT = (
    "Invoice,Code,Text,Qty,When,Price,Client,Land\n"
    "A-1,85123A,Heart,2,05/01/2011 10:00,1.50,12.0,Germany\n"
    "A-1,85123A,Heart,2,05/01/2011 10:00,1.50,12.0,Germany\n"
)
MAPPING = {
    "order_id": "Invoice",
    "sku": "Code",
    "description": "Text",
    "quantity": "Qty",
    "ordered_at": "When",
    "unit_price": "Price",
    "customer_id": "Client",
    "country": "Land",
}


def _deps(objects: FakeLakeObjects, raw: FakeRawFiles) -> IntakeDeps:
    return IntakeDeps(raw=raw, objects=objects, parquet=FakeParquet(), zone="Europe/London")


def test_a_tenants_own_column_names_and_zone_come_from_its_configuration() -> None:
    raw, objects = FakeRawFiles(), FakeLakeObjects()
    raw.add("acme", "erp_orders", DAY, "export.csv", EXPORT.encode())
    config = {
        "zone": "Europe/Berlin",
        "currency": "EUR",
        "erp_currency": "EUR",
        "mappings": {"erp_orders": MAPPING},
    }
    objects.put(config_key("acme"), json.dumps(config).encode(), "application/json")
    manifest = file_landed("raw/acme/erp_orders/2011-01-05/export.csv", _deps(objects, raw))
    [counts] = manifest.sources["erp_orders"]
    assert (counts.rows_in, counts.rows_curated, counts.duplicates_removed) == (2, 1, 1)
    [line] = FakeParquet.rows(
        objects.objects["curated/order_lines/tenant=acme/date=2011-01-05/erp_orders__export.csv.parquet"]
    )
    # 10:00 in Berlin in winter is 09:00 UTC; the day-first date read as 5 January
    assert (line["ordered_at"], line["currency"], line["customer_id"]) == (
        "2011-01-05 09:00:00+00:00",
        "EUR",
        "12",
    )


def test_an_s3_event_key_is_url_decoded() -> None:
    raw, objects = FakeRawFiles(), FakeLakeObjects()
    raw.add("acme", "erp_orders", DAY, "a_b.csv", EXPORT.encode())
    # as moto writes it (AWS leaves the slashes, and encodes what a file name may not hold)
    manifest = file_landed("raw%2Facme%2Ferp_orders%2F2011-01-05%2Fa_b.csv", _deps(objects, raw))
    assert [m.file for m in manifest.sources["erp_orders"]] == ["a_b.csv"]


@pytest.mark.parametrize(
    "key",
    [
        "raw/acme/erp_orders/2011-01-05/nested/a.csv",
        "raw/acme/erp_orders/20110105/a.csv",
        "raw/acme/erp_orders/2011-01-05/",
        "raw/ACME/erp_orders/2011-01-05/a.csv",
        "raw/acme/erp_orders/2011-01-05/..",
        "curated/order_lines/tenant=acme/date=2011-01-05/a.parquet",
    ],
)
def test_a_key_outside_the_layout_is_refused_for_good(key: str) -> None:
    assert parse_raw_key(key) is None
    with pytest.raises(PermanentJobError, match="not a raw file's key"):
        file_landed(key, _deps(FakeLakeObjects(), FakeRawFiles()))


def test_a_source_without_a_connector_is_refused_for_good() -> None:
    with pytest.raises(PermanentJobError, match="no connector for source 'pos_tickets'"):
        file_landed("raw/acme/pos_tickets/2011-01-05/a.csv", _deps(FakeLakeObjects(), FakeRawFiles()))


def test_a_broken_configuration_fails_the_file_saying_where() -> None:
    objects = FakeLakeObjects()
    objects.put(config_key("acme"), b'{"currency": "pounds"}', "application/json")
    with pytest.raises(PermanentJobError, match=r"config/acme/lake\.json"):
        tenant_config("acme", objects)
    assert tenant_config("bravo", objects) == LakeConfig()


def test_every_source_has_its_connector_tables_and_default_mapping() -> None:
    built = sources(LakeConfig(), "Europe/London")
    assert tuple(sorted(built)) == SOURCE_NAMES == tuple(sorted(SOURCE_TABLES))
    for name, source in built.items():
        assert source.connector.name == name
        assert set(source.mapping) >= set(source.connector.default_mapping)
        assert all(table in TABLES for table in SOURCE_TABLES[name])


def test_a_mapping_overrides_only_the_columns_it_names() -> None:
    built = sources(LakeConfig(mappings={"erp_orders": {"order_id": "Invoice"}}), "UTC")["erp_orders"]
    assert built.mapping["order_id"] == "Invoice"
    assert built.mapping["sku"] == "StockCode"


def test_order_lines_keep_sales_and_returns_with_their_kind_and_amounts() -> None:
    def line(quantity: int, kind: LineKind) -> OrderLineRow:
        return OrderLineRow(
            order_id="1", sku="85123A", description=None, quantity=quantity, unit_price=Decimal("2.50"),
            currency="GBP", ordered_at="2011-01-05T09:00:00Z", customer_id=None, country="France", kind=kind,
        )  # fmt: skip

    tables = split("erp_orders", "f.csv", [line(2, LineKind.SALE), line(-1, LineKind.RETURN)])
    sale, returned = (
        dict(zip(TABLES["order_lines"].column_names, row, strict=True)) for row in tables["order_lines"]
    )
    assert (sale["amount"], sale["kind"], sale["source_file"]) == (Decimal("5.00"), "sale", "f.csv")
    assert (returned["amount"], returned["kind"]) == (Decimal("-2.50"), "return")
    assert split("erp_orders", "f.csv", []) == {"order_lines": []}


@pytest.mark.parametrize(
    ("source", "file"), [("erp_orders", "../x.csv"), ("Erp", "x.csv"), ("erp_orders", "a/b")]
)
def test_a_part_key_cannot_climb_out_of_its_partition(source: str, file: str) -> None:
    with pytest.raises(ValueError, match="not a source and file"):
        part_key("order_lines", "acme", DAY, source, file)


def test_glue_types_follow_the_sql_types() -> None:
    types = {c.sql_type: c.athena_type for table in TABLES.values() for c in table.columns}
    assert types == {
        "VARCHAR": "string",
        "INTEGER": "int",
        "BIGINT": "bigint",
        "BOOLEAN": "boolean",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "DECIMAL(18,4)": "decimal(18,4)",
    }
