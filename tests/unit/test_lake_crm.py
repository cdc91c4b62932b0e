"""The `crm_leads` and `crm_deals` connectors on the shared Olist funnel files, as published: nothing
is dropped silently, and the counts agree with an independent reading of the files (csv module)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tandem.logic.lake import crm
from tandem.logic.lake.connectors import RowRejected, Rules, curate
from tandem.models.lake_crm import DealRow, LeadRow
from tests.shared_data import SHARED_DATA, exact_duplicates, read_rows

OLIST = SHARED_DATA / "olist"
LEADS = OLIST / "olist_marketing_qualified_leads_dataset.csv"
DEALS = OLIST / "olist_closed_deals_dataset.csv"
needs_data = pytest.mark.skipif(
    not (LEADS.is_file() and DEALS.is_file()), reason="../shared/data is not beside this clone"
)
LEADS_CONNECTOR = crm.leads_connector()
DEALS_CONNECTOR = crm.deals_connector("America/Sao_Paulo")


def _raw_lines(path: Path) -> int:
    """Data lines counted without the csv module's help (no field of these files spans lines)."""
    return len(path.read_bytes().splitlines()) - 1


@needs_data
def test_every_lead_is_curated_or_counted_and_agrees_with_an_independent_count() -> None:
    rows = read_rows(LEADS)
    curated = curate(LEADS_CONNECTOR, LEADS.name, rows)
    manifest = curated.manifest
    assert manifest.rows_in == len(rows) == _raw_lines(LEADS) == 8_000
    assert manifest.balanced, manifest
    assert manifest.duplicates_removed == exact_duplicates(rows) == 0
    # What the connector must refuse, found independently: no id, or a date that is not DD-MM-YYYY.
    expected_rejects: Counter[str] = Counter()
    for row in rows:
        if not row["mql_id"].strip():
            expected_rejects["missing_mql_id"] += 1
        elif not re.fullmatch(r"\d\d-\d\d-\d{4}", row["first_contact_date"]):
            expected_rejects["bad_date"] += 1
    assert manifest.quarantined_by_reason == dict(expected_rejects) == {}
    # The README's figures: 60 empty origins join the 1,099 the CRM already calls `unknown`.
    empty = sum(not row["origin"].strip() for row in rows)
    assert manifest.rules_applied.get("origin_unknown", 0) == empty == 60
    origins = Counter(lead.origin for lead in curated.rows)
    assert origins["unknown"] == 1_099 + 60
    assert origins["other"] == 150
    assert "" not in origins
    # Day-first: each date is rebuilt by hand from its text, and some days are beyond 12.
    by_id = {row["mql_id"]: row["first_contact_date"] for row in rows}
    for lead in curated.rows:
        day, month, year = (int(part) for part in by_id[lead.mql_id].split("-"))
        assert lead.first_contact_date == date(year, month, day)
    assert max(lead.first_contact_date.day for lead in curated.rows) > 12


@needs_data
def test_every_deal_is_curated_or_counted_and_agrees_with_an_independent_count() -> None:
    rows = read_rows(DEALS)
    curated = curate(DEALS_CONNECTOR, DEALS.name, rows)
    manifest = curated.manifest
    assert manifest.rows_in == len(rows) == _raw_lines(DEALS) == 842
    assert manifest.balanced, manifest
    assert manifest.duplicates_removed == exact_duplicates(rows) == 0
    expected_rejects: Counter[str] = Counter()
    for row in rows:
        if not row["mql_id"].strip():
            expected_rejects["missing_mql_id"] += 1
        elif not row["seller_id"].strip():
            expected_rejects["missing_seller_id"] += 1
        elif not re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row["won_date"]):
            expected_rejects["bad_date"] += 1
    assert manifest.quarantined_by_reason == dict(expected_rejects) == {}
    assert manifest.rules_applied["time_to_utc"] == 842
    sizes = sum(bool(row["declared_product_catalog_size"]) for row in rows)
    assert manifest.rules_applied["catalog_size_normalised"] == sizes == 69  # all are `100.0`-like
    # The README's sparseness, as the curated flags carry it (empty → None).
    for flag, empty in (("has_company", 779), ("has_gtin", 778)):
        given = Counter(row[flag] for row in rows)
        held = Counter(getattr(deal, flag) for deal in curated.rows)
        assert (held[None], held[True], held[False]) == (given[""], given["True"], given["False"])
        assert held[None] == empty
    # Revenue stays exact: the curated sum equals the text's, summed as decimals by hand.
    total = sum((Decimal(row["declared_monthly_revenue"]) for row in rows), Decimal(0))
    curated_total = sum((deal.declared_monthly_revenue or Decimal(0) for deal in curated.rows), Decimal(0))
    assert curated_total == total
    assert all(isinstance(deal.declared_monthly_revenue, Decimal) for deal in curated.rows)
    assert max(deal.declared_monthly_revenue or 0 for deal in curated.rows) == Decimal(50_000_000)
    assert all(deal.won_date.tzinfo is UTC for deal in curated.rows)


@needs_data
def test_deals_without_a_lead_are_counted_as_an_independent_join_counts_them() -> None:
    lead_rows, deal_rows = read_rows(LEADS), read_rows(DEALS)
    leads = curate(LEADS_CONNECTOR, LEADS.name, lead_rows).rows
    deals = curate(DEALS_CONNECTOR, DEALS.name, deal_rows).rows
    known = {row["mql_id"] for row in lead_rows}
    expected = [row["mql_id"] for row in deal_rows if row["mql_id"] not in known]
    joined = crm.deals_without_lead(deals, leads)
    assert list(joined.without_lead) == expected == []  # the README: all 842 mql_ids are leads
    assert (joined.deals_in, joined.matched) == (842, 842)
    assert joined.balanced
    # Without the first 100 leads, the deals that named them are listed, in file order.
    dropped = {row["mql_id"] for row in lead_rows[:100]}
    expected = [row["mql_id"] for row in deal_rows if row["mql_id"] in dropped]
    partial = crm.deals_without_lead(deals, leads[100:])
    assert list(partial.without_lead) == expected
    assert partial.matched == 842 - len(expected)
    assert partial.balanced


def _deal(won_date: str = "2018-02-26 19:58:54", **fields: str) -> DealRow:
    return DealRow(
        mql_id=fields.get("mql_id", "m1"), seller_id="s1", sdr_id=None, sr_id=None,
        won_date=datetime.strptime(won_date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC),
        business_segment=None, lead_type=None, lead_behaviour_profile=None, has_company=None,
        has_gtin=None, average_stock=None, business_type=None, declared_product_catalog_size=None,
        declared_monthly_revenue=None,
    )  # fmt: skip


def test_the_join_lists_each_deal_without_a_lead() -> None:
    leads = [LeadRow(mql_id="m1", first_contact_date=date(2018, 1, 1), landing_page_id=None, origin="email")]
    joined = crm.deals_without_lead([_deal(mql_id="m1"), _deal(mql_id="m2"), _deal(mql_id="m3")], leads)
    assert (joined.deals_in, joined.matched, joined.without_lead) == (3, 1, ("m2", "m3"))
    assert joined.balanced


def _lead(**fields: str | None) -> LeadRow:
    row: dict[str, str | None] = {
        "mql_id": "dac32acd4db4c29c230538b72f8dd87d", "first_contact_date": "01-02-2018",
        "landing_page_id": "88740e65d5d6b056e0cda098e1ea6313", "origin": "social",
    }  # fmt: skip
    row.update(fields)
    return crm.clean_lead(row, Rules())


def _clean_deal(rules: Rules | None = None, /, **fields: str | None) -> DealRow:
    row: dict[str, str | None] = {
        "mql_id": "5420aad7fec3549a85876ba1c529bd84", "seller_id": "2c43fb513632d29b3b58df74816f1b06",
        "sdr_id": "a8387c01a09e99ce014107505b92388c", "sr_id": "4ef15afb4b2723d8f3d81e51ec7afefe",
        "won_date": "2018-02-26 19:58:54", "business_segment": "pet", "lead_type": "online_medium",
        "lead_behaviour_profile": "cat", "has_company": None, "has_gtin": None, "average_stock": None,
        "business_type": "reseller", "declared_product_catalog_size": None,
        "declared_monthly_revenue": "0.0",
    }  # fmt: skip
    row.update(fields)
    return crm.clean_deal(row, Rules() if rules is None else rules, ZoneInfo("America/Sao_Paulo"))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"mql_id": None}, "missing_mql_id"),
        ({"mql_id": "   "}, "missing_mql_id"),
        ({"first_contact_date": None}, "bad_date"),
        ({"first_contact_date": "31-02-2018"}, "bad_date"),
        ({"first_contact_date": "02/13/2018"}, "bad_date"),  # month-first is never guessed
        ({"first_contact_date": "soon"}, "bad_date"),
    ],
)
def test_an_unusable_lead_is_refused_with_its_reason(fields: dict[str, str | None], reason: str) -> None:
    with pytest.raises(RowRejected) as refused:
        _lead(**fields)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"mql_id": None}, "missing_mql_id"),
        ({"seller_id": " "}, "missing_seller_id"),
        ({"won_date": None}, "bad_date"),
        ({"won_date": "02/26/2018 19:58"}, "bad_date"),  # month-first is never guessed
        ({"has_company": "maybe"}, "bad_boolean"),
        ({"has_gtin": "2"}, "bad_boolean"),
        ({"declared_product_catalog_size": "many"}, "bad_number"),
        ({"declared_product_catalog_size": "12.5"}, "bad_number"),
        ({"declared_product_catalog_size": "-3"}, "bad_number"),
        ({"declared_monthly_revenue": "R$ 1000"}, "bad_number"),
        ({"declared_monthly_revenue": "-1.0"}, "bad_number"),
        ({"declared_monthly_revenue": "Infinity"}, "bad_number"),
    ],
)
def test_an_unusable_deal_is_refused_with_its_reason(fields: dict[str, str | None], reason: str) -> None:
    with pytest.raises(RowRejected) as refused:
        _clean_deal(**fields)
    assert refused.value.reason == reason


def test_lead_dates_are_day_first_or_iso() -> None:
    assert _lead().first_contact_date == date(2018, 2, 1)
    assert _lead(first_contact_date="20-10-2017").first_contact_date == date(2017, 10, 20)
    assert _lead(first_contact_date="2018-02-01").first_contact_date == date(2018, 2, 1)
    assert _lead(first_contact_date="01/02/2018").first_contact_date == date(2018, 2, 1)


def test_origins_are_normalised_and_a_missing_one_is_unknown() -> None:
    rules = Rules()
    assert crm.clean_lead(
        {"mql_id": "a", "first_contact_date": "01-02-2018", "origin": None}, rules
    ).origin == ("unknown")
    assert crm.clean_lead(
        {"mql_id": "b", "first_contact_date": "01-02-2018", "origin": " Paid_Search "}, rules
    ).origin == ("paid_search")
    assert crm.clean_lead(
        {"mql_id": "c", "first_contact_date": "01-02-2018", "origin": "email"}, rules
    ).origin == ("email")
    assert rules == Counter({"origin_unknown": 1, "origin_normalised": 1})


def test_ids_are_trimmed_and_lower_cased_so_the_join_still_holds() -> None:
    rules = Rules()
    deal = _clean_deal(rules, mql_id=" 5420AAD7FEC3549A85876BA1C529BD84", sdr_id=None)
    assert (deal.mql_id, deal.sdr_id) == ("5420aad7fec3549a85876ba1c529bd84", None)
    assert rules["id_normalised"] == 1
    lead = _lead(mql_id="5420aad7fec3549a85876ba1c529bd84")
    assert crm.deals_without_lead([deal], [lead]).without_lead == ()


def test_won_times_in_the_tenants_zone_become_utc() -> None:
    rules = Rules()
    # São Paulo's summer time ended on 18 February 2018: the 26th is UTC-3.
    assert _clean_deal(rules).won_date == datetime(2018, 2, 26, 22, 58, 54, tzinfo=UTC)
    assert _clean_deal(won_date="26/02/2018 19:58").won_date == datetime(2018, 2, 26, 22, 58, tzinfo=UTC)
    in_utc = crm.clean_deal(
        {"mql_id": "m", "seller_id": "s", "won_date": "2018-02-26 19:58:54"}, Rules(), ZoneInfo("UTC")
    )
    assert in_utc.won_date == datetime(2018, 2, 26, 19, 58, 54, tzinfo=UTC)
    assert rules == Counter({"time_to_utc": 1})


def test_flags_numbers_and_text_are_typed_and_each_change_is_counted() -> None:
    rules = Rules()
    deal = _clean_deal(
        rules, has_company="True", has_gtin="false", declared_product_catalog_size="100.0",
        declared_monthly_revenue="50000000.0", business_segment="  home_decor ", average_stock="5-20",
    )  # fmt: skip
    assert (deal.has_company, deal.has_gtin) == (True, False)
    assert deal.declared_product_catalog_size == 100
    assert deal.declared_monthly_revenue == Decimal("50000000.0")
    assert isinstance(deal.declared_monthly_revenue, Decimal)
    assert (deal.business_segment, deal.average_stock) == ("home_decor", "5-20")
    assert rules == Counter({"time_to_utc": 1, "catalog_size_normalised": 1, "trimmed_text": 1})
    empty = _clean_deal(declared_monthly_revenue=None, has_company=" ")
    assert (empty.has_company, empty.has_gtin, empty.declared_monthly_revenue) == (None, None, None)
    assert _clean_deal(declared_product_catalog_size="40").declared_product_catalog_size == 40


def test_a_refused_row_lands_in_quarantine_with_its_content_and_the_file_still_balances() -> None:
    good = {"mql_id": "a1", "first_contact_date": "01-02-2018", "landing_page_id": "p", "origin": "email"}
    rows = [good, {**good, "mql_id": ""}, {**good, "mql_id": "b2", "first_contact_date": "2018/31/01"}, good]
    curated = curate(LEADS_CONNECTOR, "leads.csv", rows)
    assert (curated.manifest.rows_in, curated.manifest.rows_curated) == (4, 1)
    assert curated.manifest.duplicates_removed == 1
    assert curated.manifest.quarantined_by_reason == {"bad_date": 1, "missing_mql_id": 1}
    assert [(r.line, r.reason, r.row["mql_id"]) for r in curated.rejects] == [
        (3, "missing_mql_id", ""),
        (4, "bad_date", "b2"),
    ]
    assert curated.manifest.balanced


def test_a_tenants_own_column_names_map_by_configuration() -> None:
    lead_mapping = {
        **crm.LEADS_MAPPING,
        "mql_id": "Lead ID",
        "first_contact_date": "First contact",
        "origin": "Source",
    }
    exported = {"Lead ID": "L-9", "First contact": "31-12-2017", "Source": "Referral"}
    [lead] = curate(LEADS_CONNECTOR, "leads.csv", [exported], lead_mapping).rows
    assert (lead.mql_id, lead.first_contact_date, lead.landing_page_id, lead.origin) == (
        "l-9", date(2017, 12, 31), None, "referral",
    )  # fmt: skip
    deal_mapping = {
        **crm.DEALS_MAPPING,
        "mql_id": "Lead",
        "seller_id": "Account",
        "won_date": "Closed",
        "declared_monthly_revenue": "MRR",
    }
    won = {"Lead": "L-9", "Account": "A-1", "Closed": "2018-06-01 12:00:00", "MRR": "1234.56"}
    [deal] = curate(DEALS_CONNECTOR, "deals.csv", [won], deal_mapping).rows
    assert (deal.mql_id, deal.seller_id, deal.declared_monthly_revenue) == ("l-9", "a-1", Decimal("1234.56"))
    assert crm.deals_without_lead([deal], [lead]).without_lead == ()
