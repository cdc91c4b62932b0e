"""The night's tables of a tenant's day: orders, returns linked to their sales (across days), and
customers merged across the ERP, the checkout and the CRM; what does not join is counted."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from tandem.logic.lake.curation import CurationDeps, assemble_day, curate_partition
from tandem.logic.lake.derive import customer_key, derive_day
from tandem.logic.lake.sources import sources
from tandem.logic.lake.tables import AD_SPEND_DAILY, CUSTOMERS, ORDERS, RETURNS, night_key
from tandem.models.lake_config import LakeConfig
from tests.fakes import FakeLakeObjects, FakeParquet, FakeRawFiles
from tests.shared_data import SHARED_DATA, read_rows

DAY = date(2011, 1, 10)
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
EARLIER = HEADER + "536001,85123A,HEART,6,2011-01-07 10:00:00,2.55,17850.0,United Kingdom\n"
TODAY = HEADER + (
    "536500,85123A,HEART,2,2011-01-10 09:00:00,2.55,12345.0,France\n"
    "536500,99999Z,MYSTERY,1,2011-01-10 09:00:00,5.00,12345.0,France\n"
    "536500,POST,POSTAGE,1,2011-01-10 09:00:00,18.00,12345.0,France\n"
    "C536501,85123A,HEART,-1,2011-01-10 11:00:00,2.55,17850.0,United Kingdom\n"  # the 7th's sale
    "C536502,71053,LANTERN,-1,2011-01-10 12:00:00,3.39,17850.0,United Kingdom\n"  # never sold
    "536503,85123A,HEART,1,2011-01-10 13:00:00,2.55,,United Kingdom\n"  # a guest
)
CATALOGUE = "product_id,product_category_name\n85123A,casa\n71053,casa\n"
LEADS = (
    "mql_id,first_contact_date,landing_page_id,origin\n"
    "12345,2011-01-10,lp1,organic_search\n"  # also an ERP customer: merged
    "abc,2011-01-10,lp2,\n"
)


def _lake() -> tuple[CurationDeps, FakeLakeObjects]:
    raw, objects = FakeRawFiles(), FakeLakeObjects()
    raw.add("acme", "erp_orders", date(2011, 1, 7), "day.csv", EARLIER.encode())
    raw.add("acme", "erp_orders", DAY, "day.csv", TODAY.encode())
    raw.add("acme", "erp_products", date(2011, 1, 1), "catalogue.csv", CATALOGUE.encode())
    raw.add("acme", "crm_leads", DAY, "leads.csv", LEADS.encode())
    setup = sources(LakeConfig(), "UTC")
    deps = CurationDeps(raw=raw, objects=objects, parquet=FakeParquet(), sources=setup)
    for source, day in (
        ("erp_orders", date(2011, 1, 7)),
        ("erp_orders", DAY),
        ("erp_products", date(2011, 1, 1)),
        ("crm_leads", DAY),
    ):
        curate_partition("acme", source, day, deps)
    return deps, objects


def _table(objects: FakeLakeObjects, name: str) -> list[dict[str, object]]:
    return FakeParquet.rows(objects.objects[night_key(name, "acme", DAY)])


def test_orders_keep_product_sales_and_other_lines_apart_and_flag_unknown_skus() -> None:
    deps, objects = _lake()
    joins = derive_day("acme", DAY, deps)
    orders = {row["order_id"]: row for row in _table(objects, ORDERS.name)}
    assert sorted(orders) == ["536500", "536503"]  # returns are not orders
    first = orders["536500"]
    assert (first["lines"], first["units"]) == (2, 3)
    assert Decimal(str(first["revenue"])) == Decimal("2.55") * 2 + Decimal("5.00")
    assert Decimal(str(first["non_product_amount"])) == Decimal("18.00")
    assert (first["unknown_skus"], first["customer_key"]) == (1, "12345")
    assert orders["536503"]["customer_key"] is None
    assert (joins.catalogue_date, joins.unknown_skus, joins.unknown_sku_examples) == (
        date(2011, 1, 1),
        1,
        ["99999Z"],
    )
    assert (joins.product_lines, joins.unknown_sku_lines) == (3, 1)


def test_returns_are_linked_to_an_earlier_days_sale_or_counted_unlinked() -> None:
    deps, objects = _lake()
    joins = derive_day("acme", DAY, deps)
    returns = {row["sku"]: row for row in _table(objects, RETURNS.name)}
    assert (returns["85123A"]["original_order_id"], returns["85123A"]["original_date"]) == (
        "536001",
        "2011-01-07",
    )
    assert returns["71053"]["original_order_id"] is None
    assert (joins.returns, joins.returns_linked) == (2, 1)


def test_customers_are_merged_across_the_erp_and_the_crm_by_a_normalised_key() -> None:
    deps, objects = _lake()
    joins = derive_day("acme", DAY, deps)
    customers = {row["customer_key"]: row for row in _table(objects, CUSTOMERS.name)}
    assert sorted(customers) == ["12345", "abc"]  # the returns' customer bought nothing that day
    merged = customers["12345"]
    assert (merged["sources"], merged["orders"], merged["crm_lead"]) == ("crm_leads,erp_orders", 1, True)
    assert merged["source_ids"] == "crm_leads:12345, erp_orders:12345"
    assert customers["abc"]["first_order_at"] is None
    assert (joins.customers, joins.customers_merged) == (2, 1)
    assert customer_key(" 17850.0 ") == "17850"
    assert customer_key("Ann@Example.COM") == "ann@example.com"
    assert customer_key("  ") is None


def test_the_nights_joins_are_in_the_days_manifest_and_a_rerun_is_identical() -> None:
    deps, objects = _lake()
    derive_day("acme", DAY, deps)
    manifest = assemble_day("acme", DAY, deps)
    assert manifest.night is not None
    assert manifest.night.returns_linked == 1
    stored = json.loads(objects.objects["manifests/acme/2011-01-10.json"])
    assert stored["night"]["unknown_skus"] == 1
    assert sorted(stored["sources"]) == ["crm_leads", "erp_orders"]
    before = dict(objects.objects)
    derive_day("acme", DAY, deps)
    assemble_day("acme", DAY, deps)
    assert objects.objects == before


def test_a_day_without_a_catalogue_says_so_instead_of_counting_every_sku_unknown() -> None:
    deps, objects = _lake()
    for key in objects.keys("curated/products/"):
        objects.delete(key)
    joins = derive_day("acme", DAY, deps)
    assert (joins.catalogue_date, joins.unknown_skus, joins.unknown_sku_examples) == (None, None, [])


ADS = SHARED_DATA / "ads" / "KAG_conversion_data.csv"


@pytest.mark.skipif(not ADS.is_file(), reason="../shared/data is absent")
def test_ad_spend_is_aligned_on_reporting_day_and_channel() -> None:
    raw, objects = FakeRawFiles(), FakeLakeObjects()
    raw.add("acme", "ads_spend", DAY, ADS.name, ADS.read_bytes())
    deps = CurationDeps(raw=raw, objects=objects, parquet=FakeParquet(), sources=sources(LakeConfig(), "UTC"))
    curate_partition("acme", "ads_spend", DAY, deps)
    joins = derive_day("acme", DAY, deps)
    daily = _table(objects, AD_SPEND_DAILY.name)
    # Independently, with the csv module: the export's days, spend (to the cent) and clicks
    rows = read_rows(ADS)
    cent = Decimal("0.01")
    assert joins.ad_spend_days == len({row["Date"] for row in rows}) == len(daily)
    assert {row["channel"] for row in daily} == {"facebook"}
    assert sum(Decimal(str(row["spent"])) for row in daily) == sum(
        Decimal(r["Spent"]).quantize(cent) for r in rows
    )
    assert sum(int(str(row["clicks"])) for row in daily) == sum(int(r["Clicks"]) for r in rows)
    assert sum(int(str(row["ads"])) for row in daily) == len({(r["Date"], r["ad_id"]) for r in rows})
