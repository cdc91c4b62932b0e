"""The source kinds the lake takes in, and each one's connector as a tenant configured it.

Adding a source kind: write its connector module (a row model, a default mapping, a `clean`)
and add one line to `_BUILDERS`; the intake route, the CLI, the worker and the nightly run all
take their list of sources from here.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tandem.logic.lake import ads_spend, checkout_orders, crm, erp_orders, erp_products, payment_disputes
from tandem.logic.lake.connectors import ColumnMapping, Connector
from tandem.logic.lake.fx import FxTable
from tandem.models.lake_config import LakeConfig


@dataclass(frozen=True)
class Source:
    """A source kind set up for one tenant: its connector and the tenant's column mapping."""

    name: str
    connector: Connector[Any]
    mapping: ColumnMapping


def tenant_fx(config: LakeConfig) -> FxTable:
    """The tenant's dated FX table (to its currency)."""
    return _fx(config)


def _fx(config: LakeConfig) -> FxTable:
    return FxTable(config.currency, ((r.currency, r.day, r.rate) for r in config.fx_rates))


def _erp_orders(config: LakeConfig, zone: str) -> Connector[Any]:
    return erp_orders.connector(zone, config.erp_currency, _fx(config))


_BUILDERS: dict[str, Callable[[LakeConfig, str], Connector[Any]]] = {
    "checkout": lambda config, _zone: checkout_orders.connector(_fx(config)),
    "erp_orders": _erp_orders,
    "erp_products": lambda config, _zone: erp_products.connector(config.categories),
    "crm_leads": lambda _config, _zone: crm.leads_connector(),
    "crm_deals": lambda _config, zone: crm.deals_connector(zone),
    "ads_spend": lambda config, _zone: ads_spend.connector(config.ads_channel),
    "payment_disputes": lambda _config, zone: payment_disputes.connector(zone),
}
SOURCE_NAMES: tuple[str, ...] = tuple(sorted(_BUILDERS))
# What a shop sends in (the API, the CLI, its own drops): every source but the checkout's orders,
# which only the night exports (a file sent as `checkout` would pose as Tandem's own orders).
EXPORT_SOURCES: tuple[str, ...] = tuple(name for name in SOURCE_NAMES if name != "checkout")


def sources(config: LakeConfig, default_zone: str) -> Mapping[str, Source]:
    """Every source kind, with the tenant's connector settings and column mappings."""
    zone = config.zone or default_zone
    built: dict[str, Source] = {}
    for name, build in _BUILDERS.items():
        connector = build(config, zone)
        mapping = {**connector.default_mapping, **config.mappings.get(name, {})}
        built[name] = Source(name=name, connector=connector, mapping=mapping)
    return built
