"""`ads_spend`: an ad platform's report of each ad's delivery, spend and conversions for a day.

The default mapping is Facebook's export as published on Kaggle ("KAG_conversion_data":
`Date`, `ad_id`, `xyz_campaign_id`, `fb_campaign_id`, `age`, `gender`, `interest`, `Impressions`,
`Clicks`, `Spent`, `Total_Conversion`, `Approved_Conversion`); a tenant whose export names them
otherwise passes its own mapping. The channel (`facebook`) is the connector's, not the file's.
The rules, each named (as counted in the manifest):

- `trimmed_text`: blanks around an id, a band or a code removed;
- `spend_rounded_to_cents`: the export writes spend as a float (`1.429999948` for 1.43); it is read
  as a Decimal from its text (never through a float) and rounded half-up to cents;
- `number_normalised`: a float-formatted whole count (`7350.0`, a spreadsheet's re-save) read as `7350`;
- `conversions_without_clicks`: conversions reported by an ad with no click (view-through
  attribution, real in this data): kept, and counted so that a click-based rate can leave them out.

Dates are day-first (`31-08-2023`, `31/08/2023`) or ISO (`2023-08-31`), never month-first: a date
whose day is ≤ 12 cannot be told apart otherwise, and the export's README states day-first.

Refused (quarantine reason codes): `missing_ad_id`, `missing_campaign_id`, `bad_date`,
`bad_number` (a count that is not a whole number), `negative_number`, `bad_spend` (not a decimal),
`negative_spend`, `bad_gender` (not M/F/male/female), `clicks_exceed_impressions` and
`approved_exceed_conversions` (figures that cannot both be true).
"""

from decimal import ROUND_HALF_UP, Decimal

from tandem.logic.lake.connectors import Connector, RowRejected, Rules
from tandem.logic.lake.values import amount, calendar_day, count_of, trimmed
from tandem.models.lake_ads import AdSpendRow, Gender

DEFAULT_MAPPING = {
    "day": "Date",
    "ad_id": "ad_id",
    "campaign_id": "xyz_campaign_id",
    "ad_set_id": "fb_campaign_id",
    "age_band": "age",
    "gender": "gender",
    "interest": "interest",
    "impressions": "Impressions",
    "clicks": "Clicks",
    "spent": "Spent",
    "conversions": "Total_Conversion",
    "approved_conversions": "Approved_Conversion",
}
CENT = Decimal("0.01")
_DATE_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d")
_GENDERS: dict[str, Gender] = {"m": "M", "male": "M", "f": "F", "female": "F"}


def connector(channel: str = "facebook") -> Connector[AdSpendRow]:
    """The connector for one ad platform's exports."""
    return Connector(
        name="ads_spend",
        row_model=AdSpendRow,
        default_mapping=DEFAULT_MAPPING,
        clean=lambda row, rules: clean(row, rules, channel),
    )


def clean(row: dict[str, str | None], rules: Rules, channel: str) -> AdSpendRow:
    ad_id = trimmed(row.get("ad_id"), rules)
    if not ad_id:
        raise RowRejected("missing_ad_id", "the row names no ad")
    campaign_id = trimmed(row.get("campaign_id"), rules)
    if not campaign_id:
        raise RowRejected("missing_campaign_id", "the row names no campaign")
    day = calendar_day(row.get("day"), _DATE_FORMATS)
    impressions, clicks = (
        count_of("impressions", row.get("impressions"), rules),
        count_of("clicks", row.get("clicks"), rules),
    )
    conversions = count_of("conversions", row.get("conversions"), rules)
    approved = count_of("approved_conversions", row.get("approved_conversions"), rules)
    if clicks > impressions:
        raise RowRejected("clicks_exceed_impressions", f"{clicks} clicks on {impressions} impressions")
    if approved > conversions:
        raise RowRejected("approved_exceed_conversions", f"{approved} approved of {conversions}")
    if conversions and not clicks:
        rules.applied("conversions_without_clicks")
    return AdSpendRow(
        ad_id=ad_id,
        campaign_id=campaign_id,
        ad_set_id=trimmed(row.get("ad_set_id"), rules),
        day=day,
        channel=channel,
        impressions=impressions,
        clicks=clicks,
        spent=_spent(row.get("spent"), rules),
        conversions=conversions,
        approved_conversions=approved,
        age_band=trimmed(row.get("age_band"), rules),
        gender=_gender(row.get("gender")),
        interest=trimmed(row.get("interest"), rules),
    )


def _spent(value: str | None, rules: Rules) -> Decimal:
    spent = amount(value, "spent", bad="bad_spend", negative="negative_spend")
    cents = spent.quantize(CENT, rounding=ROUND_HALF_UP)
    if cents != spent:
        rules.applied("spend_rounded_to_cents")
    return cents


def _gender(value: str | None) -> Gender | None:
    text = (value or "").strip().lower()
    if not text:
        return None
    if text not in _GENDERS:
        raise RowRejected("bad_gender", f"{value!r} is not M or F")
    return _GENDERS[text]
