"""The night's products: what each tenant's finished day is turned into by the next morning
(the dashboard's rollups, inventory suggestions, the retrained fraud model, the morning report).

Each product is a function of (tenant, day) that reads what the night made (the lake, the day's
manifest) and writes its own output, idempotently: a re-run for a date replaces that date's
output. It answers its counts (what it read and wrote). The nightly state machine runs each one
as its own state, after the tenant's day is finished, catching a product's failure so that the
others still run (the outcome step parks it on NightlyFailureQueue).

`run_product` times the product and records its outcome as a part of the day's manifest
(`manifests/{tenant}/{date}/_product-{name}.json`), so `manifests/{tenant}/{date}.json` shows
every product with its counts and timing.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from tandem.logic.lake.curation import JSON, PRODUCT_PART, assemble_manifest, part_key_of
from tandem.logic.ports import LakeObjects
from tandem.models.lake import ProductOutcome

Counts = Mapping[str, int | float | str | bool | None]
# A product: (tenant, day) → its counts. Built in the composition root with its own adapters.
NightProduct = Callable[[str, date], Counts]


class UnknownProductError(LookupError):
    """The state machine named a product this deployment does not have (template and code differ)."""


@dataclass(frozen=True)
class ProductDeps:
    products: Mapping[str, NightProduct]
    objects: LakeObjects  # where the day's manifest and its parts are


def run_product(name: str, tenant_id: str, day: date, deps: ProductDeps) -> ProductOutcome:
    product = deps.products.get(name)
    if product is None:
        raise UnknownProductError(f"no night product named {name!r} (known: {sorted(deps.products)})")
    started = time.perf_counter()
    counts = dict(product(tenant_id, day))
    outcome = ProductOutcome(product=name, counts=counts, seconds=round(time.perf_counter() - started, 3))
    key = part_key_of(tenant_id, day, f"{PRODUCT_PART}{name}")
    deps.objects.put(key, outcome.model_dump_json(indent=2).encode(), JSON)
    assemble_manifest(tenant_id, day, deps.objects)
    return outcome
