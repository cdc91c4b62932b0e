"""The CRM funnel's curated rows: marketing-qualified leads (`crm_leads`) and the deals closed
with them (`crm_deals`), and what joining the two found (`FunnelJoin`).

The rows are typed and clean; what a source file held that could not be used is quarantined by
the shared loop (`tandem.logic.lake.connectors.curate`), never here.
"""

from datetime import date
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class LeadRow(BaseModel):
    """One marketing-qualified lead: someone who asked, through a landing page, to sell with us."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mql_id: str = Field(min_length=1, description="lower-case; the key deals join on")
    first_contact_date: date = Field(description="a calendar day: the source gives no time or zone")
    landing_page_id: str | None
    origin: str = Field(min_length=1, description="trimmed, lower case; 'unknown' when not given")


class DealRow(BaseModel):
    """One closed deal: a lead who became a seller. Most descriptive fields are often empty."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mql_id: str = Field(min_length=1, description="the lead this deal closed")
    seller_id: str = Field(min_length=1)
    sdr_id: str | None = Field(description="the sales development representative")
    sr_id: str | None = Field(description="the sales representative")
    won_date: AwareDatetime = Field(description="UTC")
    business_segment: str | None
    lead_type: str | None
    lead_behaviour_profile: str | None = Field(description="as given, e.g. 'cat' or 'cat, wolf'")
    has_company: bool | None = Field(description="None: not declared")
    has_gtin: bool | None = Field(description="None: not declared")
    average_stock: str | None = Field(description="a declared range, e.g. '5-20' or '200+'")
    business_type: str | None
    declared_product_catalog_size: int | None = Field(ge=0, description="None: not declared")
    declared_monthly_revenue: Decimal | None = Field(ge=0, description="None: not declared")


class FunnelJoin(BaseModel):
    """Deals joined to their leads: every deal is matched or listed, so nothing drops silently."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deals_in: int = Field(ge=0)
    matched: int = Field(ge=0)
    without_lead: tuple[str, ...] = Field(description="the mql_id of each deal whose lead is unknown")

    @property
    def balanced(self) -> bool:
        return self.deals_in == self.matched + len(self.without_lead)
