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

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from tandem.logic.lake.connectors import Connector, RowRejected, Rules
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
_WHOLE = re.compile(r"^[+-]?\d+(\.0*)?$")
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
    ad_id = _trimmed(row.get("ad_id"), rules)
    if not ad_id:
        raise RowRejected("missing_ad_id", "the row names no ad")
    campaign_id = _trimmed(row.get("campaign_id"), rules)
    if not campaign_id:
        raise RowRejected("missing_campaign_id", "the row names no campaign")
    day = _day(row.get("day"))
    impressions, clicks = _count("impressions", row, rules), _count("clicks", row, rules)
    conversions = _count("conversions", row, rules)
    approved = _count("approved_conversions", row, rules)
    if clicks > impressions:
        raise RowRejected("clicks_exceed_impressions", f"{clicks} clicks on {impressions} impressions")
    if approved > conversions:
        raise RowRejected("approved_exceed_conversions", f"{approved} approved of {conversions}")
    if conversions and not clicks:
        rules.applied("conversions_without_clicks")
    return AdSpendRow(
        ad_id=ad_id,
        campaign_id=campaign_id,
        ad_set_id=_trimmed(row.get("ad_set_id"), rules),
        day=day,
        channel=channel,
        impressions=impressions,
        clicks=clicks,
        spent=_spent(row.get("spent"), rules),
        conversions=conversions,
        approved_conversions=approved,
        age_band=_trimmed(row.get("age_band"), rules),
        gender=_gender(row.get("gender")),
        interest=_trimmed(row.get("interest"), rules),
    )


def _trimmed(value: str | None, rules: Rules) -> str | None:
    if value is None:
        return None
    tidy = value.strip()
    if tidy != value:
        rules.applied("trimmed_text")
    return tidy or None


def _day(value: str | None) -> dt.date:
    text = (value or "").strip()
    for pattern in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a calendar day, no time
        except ValueError:
            continue
    raise RowRejected("bad_date", f"{text!r} is not a day-first or ISO date")


def _count(name: str, row: dict[str, str | None], rules: Rules) -> int:
    """A count the report must give: a missing one is refused, never read as 0."""
    text = (row.get(name) or "").strip()
    if not _WHOLE.match(text):
        raise RowRejected("bad_number", f"{name} {text!r} is not a whole number")
    if "." in text:
        rules.applied("number_normalised")
    number = int(text.split(".")[0])
    if number < 0:
        raise RowRejected("negative_number", f"{name} is {number}")
    return number


def _spent(value: str | None, rules: Rules) -> Decimal:
    text = (value or "").strip()
    try:
        spent = Decimal(text)
    except InvalidOperation:
        raise RowRejected("bad_spend", f"{text!r} is not a decimal") from None
    if not spent.is_finite():
        raise RowRejected("bad_spend", f"{text!r} is not a decimal")
    if spent < 0:
        raise RowRejected("negative_spend", f"spent {text}")
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
