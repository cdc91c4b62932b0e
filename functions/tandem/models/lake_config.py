"""A tenant's lake configuration: how its exports are read (configuration, not code).

Kept as `config/{tenant}/lake.json` in the data bucket; a tenant without one gets the defaults
(the exports in `../shared/data` read as published, times in the deployment's zone).
"""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from tandem.models.inventory import InventorySettings


class FxRate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    day: date
    rate: Decimal = Field(gt=0, description="units of the tenant's currency per unit of `currency`")


class LakeConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    zone: str | None = Field(
        default=None, description="IANA zone of the exports' local times; None: the deployment's"
    )
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$", description="the tenant's currency")
    erp_currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$", description="the ERP export's prices")
    ads_channel: str = Field(default="facebook", min_length=1, max_length=32)
    # The ad exports give no currency: the ad account's, converted with fx_rates by the lake's reports.
    ads_currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="the ad account's currency; None: the tenant's"
    )
    # source → {canonical field → the export's column}: a tenant whose export says `InvoiceNo`
    # maps it onto `order_id` here; a source without an entry uses its connector's default mapping.
    mappings: dict[str, dict[str, str]] = Field(default_factory=dict)
    # The catalogue's category names → English (Olist's translation table, as the tenant gives it).
    categories: dict[str, str] = Field(default_factory=dict)
    fx_rates: tuple[FxRate, ...] = ()
    # source → the dashboard's name for its channel ({"erp_orders": "store", "checkout": "web"});
    # a source without an entry is its own channel.
    channels: dict[str, str] = Field(default_factory=dict)
    # The night's inventory suggestions: window, lead times, service level (tandem.logic.inventory).
    inventory: InventorySettings = Field(default_factory=InventorySettings)
