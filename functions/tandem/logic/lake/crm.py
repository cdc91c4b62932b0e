"""`crm_leads` and `crm_deals`: the sales funnel from a CRM, leads and the deals closed with them.

The default mappings are Olist's "Marketing Funnel" exports (`olist_marketing_qualified_leads_dataset`
and `olist_closed_deals_dataset`), whose columns already carry the canonical names; a tenant whose
CRM names them otherwise passes its own mapping. The rules, each named (as counted in the manifest):

- `id_normalised`: an id (mql, landing page, seller, sdr, sr) trimmed and made lower case, so that
  deals still join to leads when one export upper-cases its hex ids;
- `trimmed_text`: blanks around a descriptive field removed, inner runs of blanks made one;
- `origin_normalised`: a lead's origin trimmed and made lower case (`Social ` → `social`);
- `origin_unknown`: a lead with no origin gets `unknown`, the value the CRM itself uses for it;
- `time_to_utc`: a deal's won time (local to the tenant's zone) turned into UTC;
- `catalog_size_normalised`: a float-formatted count (`100.0`) written as the integer it is.

Dates: a lead's first contact is day-first (`01-02-2018` is 1 February: the shared copy was re-saved
by Excel) or ISO (`2018-02-01`, Kaggle's original); a won time is ISO (`2018-02-26 19:58:54`) or
day-first. Month-first is never guessed: 3,058 leads have a day ≤ 12, so a guess would be silent.

Refused (quarantine reason codes): `missing_mql_id`, `missing_seller_id`, `bad_date`,
`bad_boolean` (a flag that is not true/false), `bad_number` (a catalog size that is not a whole
number ≥ 0, or a revenue that is not a decimal ≥ 0).
"""

import re
from collections.abc import Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo

from tandem.logic.lake.connectors import Connector, RowRejected, Rules
from tandem.logic.lake.values import amount, calendar_day, local_and_utc, trimmed
from tandem.models.lake_crm import DealRow, FunnelJoin, LeadRow

LEADS_MAPPING = {name: name for name in ("mql_id", "first_contact_date", "landing_page_id", "origin")}
DEALS_MAPPING = {name: name for name in DealRow.model_fields}
UNKNOWN_ORIGIN = "unknown"
# Olist's CRM is Brazilian and its export carries no zone: São Paulo time is the assumption, and a
# tenant whose CRM exports another zone says so when it builds the connector.
DEFAULT_ZONE = "America/Sao_Paulo"

_BLANKS = re.compile(r"\s+")
_DAY_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d")
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
)
# What CRMs write for a yes/no field; anything else is refused rather than guessed.
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0", "sim"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0", "não", "nao"})


def leads_connector() -> Connector[LeadRow]:
    return Connector(name="crm_leads", row_model=LeadRow, default_mapping=LEADS_MAPPING, clean=clean_lead)


def deals_connector(zone: str = DEFAULT_ZONE) -> Connector[DealRow]:
    """The connector for a tenant whose CRM exports its won times in `zone`."""
    tz = ZoneInfo(zone)
    return Connector(
        name="crm_deals",
        row_model=DealRow,
        default_mapping=DEALS_MAPPING,
        clean=lambda row, rules: clean_deal(row, rules, tz),
    )


def clean_lead(row: dict[str, str | None], rules: Rules) -> LeadRow:
    mql_id = _id(row.get("mql_id"), rules)
    if not mql_id:
        raise RowRejected("missing_mql_id", "the lead has no mql_id")
    return LeadRow(
        mql_id=mql_id,
        first_contact_date=calendar_day(row.get("first_contact_date"), _DAY_FORMATS),
        landing_page_id=_id(row.get("landing_page_id"), rules),
        origin=_origin(row.get("origin"), rules),
    )


def clean_deal(row: dict[str, str | None], rules: Rules, zone: ZoneInfo) -> DealRow:
    mql_id = _id(row.get("mql_id"), rules)
    if not mql_id:
        raise RowRejected("missing_mql_id", "the deal names no lead")
    seller_id = _id(row.get("seller_id"), rules)
    if not seller_id:
        raise RowRejected("missing_seller_id", "a closed deal without the seller it made")
    won_date = local_and_utc(row.get("won_date"), _TIME_FORMATS, zone)[1]
    rules.applied("time_to_utc")
    return DealRow(
        mql_id=mql_id,
        seller_id=seller_id,
        sdr_id=_id(row.get("sdr_id"), rules),
        sr_id=_id(row.get("sr_id"), rules),
        won_date=won_date,
        business_segment=trimmed(row.get("business_segment"), rules),
        lead_type=trimmed(row.get("lead_type"), rules),
        lead_behaviour_profile=trimmed(row.get("lead_behaviour_profile"), rules),
        has_company=_flag("has_company", row.get("has_company")),
        has_gtin=_flag("has_gtin", row.get("has_gtin")),
        average_stock=trimmed(row.get("average_stock"), rules),
        business_type=trimmed(row.get("business_type"), rules),
        declared_product_catalog_size=_count(row.get("declared_product_catalog_size"), rules),
        declared_monthly_revenue=_revenue(row.get("declared_monthly_revenue")),
    )


def deals_without_lead(deals: Iterable[DealRow], leads: Iterable[LeadRow]) -> FunnelJoin:
    """The funnel's join: which deals have a lead. A deal without one is listed, not dropped."""
    known = {lead.mql_id for lead in leads}
    deals_in, missing = 0, []
    for deal in deals:
        deals_in += 1
        if deal.mql_id not in known:
            missing.append(deal.mql_id)
    return FunnelJoin(deals_in=deals_in, matched=deals_in - len(missing), without_lead=tuple(missing))


def _id(value: str | None, rules: Rules) -> str | None:
    if value is None:
        return None
    tidy = value.strip().lower()
    if tidy != value:
        rules.applied("id_normalised")
    return tidy or None


def _origin(value: str | None, rules: Rules) -> str:
    tidy = _BLANKS.sub(" ", value or "").strip().lower()
    if not tidy:
        rules.applied("origin_unknown")
        return UNKNOWN_ORIGIN
    if tidy != value:
        rules.applied("origin_normalised")
    return tidy


def _flag(name: str, value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowRejected("bad_boolean", f"{name} {value!r} is neither true nor false")


def _count(value: str | None, rules: Rules) -> int | None:
    if value is None or not value.strip():
        return None
    number = amount(value, "declared_product_catalog_size")
    if number != number.to_integral_value():
        raise RowRejected("bad_number", f"declared_product_catalog_size {value!r} is not a whole number")
    if value.strip() != str(int(number)):
        rules.applied("catalog_size_normalised")
    return int(number)


def _revenue(value: str | None) -> Decimal | None:
    # Parsed from the text, never through float: 50,000,000.0 and cents must stay exact.
    if value is None or not value.strip():
        return None
    return amount(value, "declared_monthly_revenue")
