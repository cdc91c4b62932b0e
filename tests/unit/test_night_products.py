"""The night's products: each one run for a tenant's day, timed, recorded in the day's manifest;
a product's failure caught by the state machine is parked with its reason."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tandem.logic.lake.layout import manifest_key
from tandem.logic.lake.nightly import NightFailedError, night_outcome
from tandem.logic.lake.products import ProductDeps, UnknownProductError, run_product
from tandem.models.nightly import NightFailure, OutcomeStep
from tests.fakes import FakeLakeObjects, FakeQueue

DAY = date(2026, 7, 14)


def test_a_product_runs_and_shows_in_the_days_manifest_with_its_counts_and_time() -> None:
    objects, made = FakeLakeObjects(), []

    def stock(tenant_id: str, day: date) -> dict[str, int]:
        made.append((tenant_id, day))
        return {"skus": 3, "below_reorder_point": 1}

    deps = ProductDeps(products={"inventory": stock}, objects=objects)
    outcome = run_product("inventory", "acme", DAY, deps)
    assert made == [("acme", DAY)]
    assert outcome.counts == {"skus": 3, "below_reorder_point": 1}
    manifest = json.loads(objects.objects[manifest_key("acme", DAY)])
    assert manifest["products"]["inventory"]["counts"] == {"skus": 3, "below_reorder_point": 1}
    assert manifest["products"]["inventory"]["seconds"] >= 0
    # a re-run replaces the product's part: one entry, the latest counts
    deps = ProductDeps(products={"inventory": lambda _t, _d: {"skus": 4}}, objects=objects)
    run_product("inventory", "acme", DAY, deps)
    manifest = json.loads(objects.objects[manifest_key("acme", DAY)])
    assert manifest["products"]["inventory"]["counts"] == {"skus": 4}


def test_an_unknown_product_is_an_error_that_names_the_known_ones() -> None:
    deps = ProductDeps(products={"rollups": lambda _t, _d: {}}, objects=FakeLakeObjects())
    with pytest.raises(UnknownProductError, match="'rollups'"):
        run_product("nope", "acme", DAY, deps)


def test_a_failed_product_is_parked_and_fails_the_run_the_others_not() -> None:
    queue = FakeQueue()
    outcome = OutcomeStep.model_validate(
        {
            "step": "outcome",
            "date": DAY.isoformat(),
            "finish_results": [
                {
                    "tenant_id": "acme",
                    "products": {
                        "rollups": {"product": "rollups", "counts": {"days": 1}, "seconds": 0.1},
                        "inventory": {"Error": "Runtime.HandlerError", "Cause": "no stock table"},
                    },
                },
                {"tenant_id": "globex", "products": {"rollups": {"product": "rollups", "seconds": 0.2}}},
            ],
        }
    )
    with pytest.raises(NightFailedError, match="acme/inventory"):
        night_outcome(outcome, queue)
    [(failure, _)] = queue.sent
    assert isinstance(failure, NightFailure)
    assert (failure.tenant_id, failure.product, failure.source, failure.cause) == (
        "acme",
        "inventory",
        None,
        "no stock table",
    )
