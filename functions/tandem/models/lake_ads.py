"""The lake's ad spend rows: one ad's delivery, spend and conversions (the `ads_spend` connector)."""

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Gender = Literal["M", "F"]


class AdSpendRow(BaseModel):
    """One ad's figures for its reporting day, curated. Money is Decimal, never float."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ad_id: str = Field(min_length=1)
    campaign_id: str = Field(min_length=1, description="the advertiser's campaign")
    ad_set_id: str | None = Field(description="the ad platform's own campaign id (an ad set)")
    day: dt.date = Field(description="the reporting day, as the export states it (no time, no zone)")
    channel: str = Field(min_length=1, description="the ad platform: `facebook`, …")
    impressions: int = Field(ge=0)
    clicks: int = Field(ge=0)
    spent: Decimal = Field(ge=0, description="in the ad account's currency, rounded to cents")
    conversions: int = Field(ge=0)
    approved_conversions: int = Field(ge=0)
    age_band: str | None = Field(description="`30-34`, `65+`, …")
    gender: Gender | None
    interest: str | None = Field(description="the platform's opaque interest code")
