"""The `erp_products` and `ads_spend` connectors on the shared Olist catalogue and Facebook ads
files, as published: nothing is dropped silently, and the counts agree with an independent reading
of the files (csv module). Each refusal and each rule is then tested on its own."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest

from tandem.logic.lake import ads_spend, erp_products
from tandem.logic.lake.connectors import RowRejected, Rules, curate
from tandem.models.lake_ads import AdSpendRow
from tandem.models.lake_products import ProductRow
from tests.shared_data import SHARED_DATA, exact_duplicates, read_rows

DATA = SHARED_DATA
PRODUCTS = DATA / "olist" / "olist_products_dataset.csv"
TRANSLATION = DATA / "olist" / "product_category_name_translation.csv"
ADS = DATA / "ads" / "KAG_conversion_data.csv"
needs_data = pytest.mark.skipif(
    not (PRODUCTS.is_file() and TRANSLATION.is_file() and ADS.is_file()),
    reason="../shared/data is not beside this clone",
)


def _english() -> dict[str, str]:
    # utf-8-sig strips the BOM, so this reading does not share the connector's BOM handling
    return {
        r["product_category_name"]: r["product_category_name_english"]
        for r in read_rows(TRANSLATION, "utf-8-sig")
    }


@needs_data
def test_the_translation_table_is_read_despite_its_bom() -> None:
    naive = read_rows(TRANSLATION)  # the BOM stays on the first column's name
    assert "\ufeffproduct_category_name" in naive[0]
    table = erp_products.translation(naive)
    assert table == _english()
    assert len(table) == 71
    assert table["beleza_saude"] == "health_beauty"


@needs_data
def test_every_product_is_curated_and_agrees_with_an_independent_count() -> None:
    rows, english = read_rows(PRODUCTS), _english()
    curated = curate(
        erp_products.connector(erp_products.translation(read_rows(TRANSLATION))), PRODUCTS.name, rows
    )
    manifest = curated.manifest
    assert manifest.rows_in == len(rows) == 32_951
    assert manifest.balanced, manifest
    assert manifest.duplicates_removed == exact_duplicates(rows) == 0
    # The published file holds no row the connector must refuse; the refusals are tested below.
    assert manifest.rows_quarantined == 0
    assert manifest.rows_curated == 32_951

    category = Counter(
        "none"
        if not r["product_category_name"]
        else "known"
        if r["product_category_name"] in english
        else "unknown"
        for r in rows
    )
    listing = ("product_name_lenght", "product_description_lenght", "product_photos_qty")
    sizes = ("product_weight_g", "product_length_cm", "product_height_cm", "product_width_cm")
    expected = {
        "category_translated": category["known"],
        "category_untranslated": category["unknown"],
        "no_category": category["none"],
        "no_listing_details": sum(any(not r[c] for c in listing) for r in rows),
        "no_dimensions": sum(any(not r[c] for c in sizes) for r in rows),
        "zero_weight_as_unknown": sum(r["product_weight_g"] == "0" for r in rows),
    }
    assert manifest.rules_applied == {name: n for name, n in expected.items() if n}
    # The figures the data's README states
    assert (category["none"], category["unknown"], expected["no_dimensions"]) == (610, 13, 2)
    assert expected["zero_weight_as_unknown"] == 4
    untranslated = {r.category for r in curated.rows if r.category and r.category not in english.values()}
    assert untranslated == {"pc_gamer", "portateis_cozinha_e_preparadores_de_alimentos"}
    assert sum(r.weight_g or 0 for r in curated.rows) == sum(int(r["product_weight_g"] or 0) for r in rows)


PRODUCT: dict[str, str | None] = {
    "sku": "p1", "category": "perfumaria", "name_length": "40", "description_length": "287", "photos": "1",
    "weight_g": "225", "length_cm": "16", "height_cm": "10", "width_cm": "14",
}  # fmt: skip


def _product(categories: dict[str, str] | None = None, **fields: str | None) -> ProductRow:
    return erp_products.clean({**PRODUCT, **fields}, Rules(), categories or {"perfumaria": "perfumery"})


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"sku": None}, "missing_sku"),
        ({"sku": "   "}, "missing_sku"),
        ({"weight_g": "225g"}, "bad_number"),
        ({"photos": "1.5"}, "bad_number"),
        ({"length_cm": "NaN"}, "bad_number"),
        ({"height_cm": "-3"}, "negative_number"),
    ],
)
def test_an_unusable_product_is_refused_with_its_reason(fields: dict[str, str | None], reason: str) -> None:
    with pytest.raises(RowRejected) as refused:
        _product(**fields)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("fields", "rule", "check"),
    [
        ({}, "category_translated", lambda p: p.category == "perfumery"),
        ({"category": "pc_gamer"}, "category_untranslated", lambda p: p.category == "pc_gamer"),
        ({"category": None}, "no_category", lambda p: p.category is None),
        ({"photos": None}, "no_listing_details", lambda p: p.photos is None and p.name_length == 40),
        ({"width_cm": None}, "no_dimensions", lambda p: p.width_cm is None and p.weight_g == 225),
        ({"weight_g": "0"}, "zero_weight_as_unknown", lambda p: p.weight_g is None),
        ({"name_length": "40.0"}, "number_normalised", lambda p: p.name_length == 40),
        ({"sku": " abc "}, "trimmed_text", lambda p: p.sku == "abc"),
    ],
)
def test_each_product_rule_is_applied_and_counted(
    fields: dict[str, str | None], rule: str, check: Callable[[ProductRow], bool]
) -> None:
    rules = Rules()
    product = erp_products.clean({**PRODUCT, **fields}, rules, {"perfumaria": "perfumery"})
    assert rules[rule] == 1, rules
    assert check(product)


def test_products_without_a_translation_keep_their_names() -> None:
    assert _product(categories={"x": "y"}).category == "perfumaria"


def test_a_refused_product_lands_in_quarantine_and_the_file_still_balances() -> None:
    good = {"product_id": "p1", "product_category_name": "perfumaria", "product_weight_g": "225"}
    rows = [good, {**good, "product_id": ""}, {**good, "product_id": "p2", "product_weight_g": "heavy"}, good]
    curated = curate(erp_products.connector({"perfumaria": "perfumery"}), "products.csv", rows)
    assert (curated.manifest.rows_in, curated.manifest.rows_curated, curated.manifest.duplicates_removed) == (
        4,
        1,
        1,
    )
    assert curated.manifest.quarantined_by_reason == {"bad_number": 1, "missing_sku": 1}
    assert [(r.line, r.reason) for r in curated.rejects] == [(3, "missing_sku"), (4, "bad_number")]
    assert curated.manifest.balanced


def test_a_tenants_own_product_columns_map_by_configuration() -> None:
    mapping = {"sku": "SKU", "category": "Family", "weight_g": "Grams"}
    [product] = curate(
        erp_products.connector({"cuisine": "kitchen"}),
        "catalogue.csv",
        [{"SKU": "A-1", "Family": "cuisine", "Grams": "250"}],
        mapping,
    ).rows
    assert (product.sku, product.category, product.weight_g, product.photos) == ("A-1", "kitchen", 250, None)


# --- ads_spend on the real file ----------------------------------------------------------------

CONNECTOR = ads_spend.connector()
AD: dict[str, str | None] = {
    "day": "31-08-2023", "ad_id": "708746", "campaign_id": "916", "ad_set_id": "103916",
    "age_band": "30-34", "gender": "M", "interest": "15", "impressions": "7350", "clicks": "1",
    "spent": "1.429999948", "conversions": "2", "approved_conversions": "1",
}  # fmt: skip


@needs_data
def test_every_ad_is_curated_and_agrees_with_an_independent_count() -> None:
    rows = read_rows(ADS)
    curated = curate(CONNECTOR, ADS.name, rows)
    manifest = curated.manifest
    assert manifest.rows_in == len(rows) == 1_143
    assert manifest.balanced, manifest
    assert manifest.duplicates_removed == exact_duplicates(rows) == 0
    assert manifest.rows_quarantined == 0  # refusals are tested below

    rounded = sum(Decimal(r["Spent"]) != round(Decimal(r["Spent"]), 2) for r in rows)
    without_clicks = sum(r["Clicks"] == "0" and r["Total_Conversion"] != "0" for r in rows)
    assert without_clicks == 204  # as the data's README states
    assert manifest.rules_applied == {
        "conversions_without_clicks": without_clicks,
        "spend_rounded_to_cents": rounded,
    }

    ads: list[AdSpendRow] = curated.rows
    assert {a.campaign_id for a in ads} == {"916", "936", "1178"}
    assert {a.channel for a in ads} == {"facebook"}
    # day-first: 31 distinct days of August 2023, and `31-08-2023` read as the 31st
    days = {a.day for a in ads}
    assert days == {dt.date(2023, 8, d) for d in range(1, 32)}
    assert ads[0].day == dt.date(2023, 8, 31)
    assert all(isinstance(a.spent, Decimal) and a.spent == a.spent.quantize(Decimal("0.01")) for a in ads)
    assert sum(a.clicks for a in ads) == sum(int(r["Clicks"]) for r in rows)
    assert sum(a.approved_conversions for a in ads) == sum(int(r["Approved_Conversion"]) for r in rows)
    assert Counter(a.gender for a in ads) == Counter(r["gender"] for r in rows)
    assert Counter(a.age_band for a in ads) == Counter(r["age"] for r in rows)
    assert ads[0].spent == Decimal("1.43")  # `1.429999948`


def _ad(**fields: str | None) -> AdSpendRow:
    return ads_spend.clean({**AD, **fields}, Rules(), "facebook")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ad_id": None}, "missing_ad_id"),
        ({"campaign_id": " "}, "missing_campaign_id"),
        ({"day": None}, "bad_date"),
        ({"day": "08-31-2023"}, "bad_date"),  # month-first is never guessed
        ({"day": "31-08-23"}, "bad_date"),
        ({"impressions": None}, "bad_number"),  # a missing count is not 0
        ({"clicks": "1.5"}, "bad_number"),
        ({"conversions": "-1"}, "negative_number"),
        ({"spent": "$1.43"}, "bad_spend"),
        ({"spent": None}, "bad_spend"),
        ({"spent": "Infinity"}, "bad_spend"),
        ({"spent": "-0.5"}, "negative_spend"),
        ({"gender": "X"}, "bad_gender"),
        ({"impressions": "3", "clicks": "4"}, "clicks_exceed_impressions"),
        ({"conversions": "1", "approved_conversions": "2"}, "approved_exceed_conversions"),
    ],
)
def test_an_unusable_ad_row_is_refused_with_its_reason(fields: dict[str, str | None], reason: str) -> None:
    with pytest.raises(RowRejected) as refused:
        _ad(**fields)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("fields", "rule", "check"),
    [
        ({}, "spend_rounded_to_cents", lambda a: a.spent == Decimal("1.43")),
        ({"spent": "0.125"}, "spend_rounded_to_cents", lambda a: a.spent == Decimal("0.13")),  # half-up
        ({"clicks": "0", "spent": "0"}, "conversions_without_clicks", lambda a: a.conversions == 2),
        ({"impressions": "7350.0", "spent": "2"}, "number_normalised", lambda a: a.impressions == 7350),
        ({"interest": " 15 ", "spent": "2"}, "trimmed_text", lambda a: a.interest == "15"),
    ],
)
def test_each_ad_rule_is_applied_and_counted(
    fields: dict[str, str | None], rule: str, check: Callable[[AdSpendRow], bool]
) -> None:
    rules = Rules()
    ad = ads_spend.clean({**AD, **fields}, rules, "facebook")
    assert rules[rule] == 1, rules
    assert check(ad)


def test_ad_dates_and_genders_are_read_in_their_usual_forms() -> None:
    assert _ad(day="01/08/2023").day == dt.date(2023, 8, 1)
    assert _ad(day="2023-08-01").day == dt.date(2023, 8, 1)
    assert _ad(day="05-08-2023").day == dt.date(2023, 8, 5)  # day ≤ 12: still day-first
    assert (_ad(gender="female").gender, _ad(gender="m").gender, _ad(gender=None).gender) == ("F", "M", None)
    assert _ad(spent="12").spent == Decimal("12.00")


@needs_data
def test_dirt_in_the_real_ads_file_is_quarantined_and_counted_independently() -> None:
    rows = read_rows(ADS)
    dirty = [dict(r) for r in rows]
    for i in range(0, len(dirty), 100):
        dirty[i]["Spent"] = "n/a"
    for i in range(1, len(dirty), 250):
        dirty[i]["Date"] = "2023/08/31"
    dirty += rows[:7]  # a re-sent head: copies of the first rows, of which rows 0 and 1 were since dirtied
    curated = curate(CONNECTOR, ADS.name, dirty)
    expected = Counter(
        "bad_spend" if r["Spent"] == "n/a" else "bad_date"
        for r in dirty
        if r["Spent"] == "n/a" or r["Date"] == "2023/08/31"
    )
    # the clean copies of the 2 dirtied rows are no duplicates: they are curated
    assert curated.manifest.duplicates_removed == exact_duplicates(dirty) == 5
    assert curated.manifest.quarantined_by_reason == dict(sorted(expected.items()))
    assert curated.manifest.rows_curated == len(dirty) - 5 - sum(expected.values()) == 1_128
    assert expected == {"bad_spend": 12, "bad_date": 5}
    assert curated.manifest.balanced


def test_a_tenants_own_ad_columns_map_by_configuration() -> None:
    mapping = {
        **ads_spend.DEFAULT_MAPPING,
        "day": "Day",
        "ad_id": "Ad",
        "spent": "Cost",
        "campaign_id": "Campaign",
    }
    row = {
        "Day": "2024-03-01", "Ad": "a-1", "Campaign": "spring", "fb_campaign_id": "", "age": "", "gender": "",
        "interest": "", "Impressions": "100", "Clicks": "5", "Cost": "3.50", "Total_Conversion": "1",
        "Approved_Conversion": "0",
    }  # fmt: skip
    [ad] = curate(ads_spend.connector("instagram"), "ads.csv", [row], mapping).rows
    assert (ad.ad_id, ad.campaign_id, ad.day, ad.spent, ad.channel, ad.ad_set_id) == (
        "a-1", "spring", dt.date(2024, 3, 1), Decimal("3.50"), "instagram", None,
    )  # fmt: skip
