"""Property-based fuzzing of the API against the OpenAPI document it serves, on the local cloud.

Schemathesis reads `/openapi.json` from the running API, generates requests for every
operation (valid ones and, as negative cases, invalid ones) and checks each answer:
no 5xx, only documented status codes and content types, every body matching its
documented schema, and no request that is valid per the document refused as invalid.

Bounded and reproducible: a fixed number of examples per operation, a fixed seed,
derandomized generation, no example database. Reproduce a failure with the curl
command schemathesis prints, or run this module alone:

    .venv/bin/pytest tests/e2e/test_fuzz.py -q
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Running

# Per operation and mode (10 examples each, 20 operations), plus the coverage phase's boundary
# values of every valid input: what `make test` runs (it keeps the suite under 15 minutes on two
# cores). `make fuzz` (TANDEM_FUZZ_FULL=1) runs deeper: 100 examples, and the coverage phase's
# invalid requests too (unexpected methods such as TRACE, undeclared content types, each field
# broken in turn).
FULL = os.environ.get("TANDEM_FUZZ_FULL") == "1"
MAX_EXAMPLES = 100 if FULL else 10
SEED = 20261202

# A request that is valid per the document may still be refused by a rule the document
# cannot express as a schema: a business rule (an SKU that is not in this tenant's catalogue,
# a zero total, a reused Idempotency-Key), or a rule across fields (`to` not before `from`, at
# most 366 days, a card or a token). Those are fine. A 422 about one field (`validation_error`
# at ["body", "price"], say) means a validator enforces a constraint the schema does not state.
BUSINESS_422_ERRORS = frozenset({"idempotency_key_reused"})
BUSINESS_422_DETAIL_TYPES = frozenset(
    {"unknown_product", "currency_mismatch", "zero_total", "amount_precision", "invalid_period"}
)
WHOLE_REQUEST_LOCS = (["body"], ["query"])

# What a valid request may get besides a 2xx: the documented refusals that are not about its
# shape. 402 declined card, 403 blocked by risk rules, 404 unknown id, 409 out of stock.
ACCEPTED_FOR_VALID_DATA = ["2xx", "402", "403", "404", "409"]


def _allowed_refusal(response: Response) -> bool:
    if response.status_code != 422:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    if body.get("error") in BUSINESS_422_ERRORS:
        return True
    details = [d for d in body.get("details") or [] if isinstance(d, dict)]
    if not details:
        return False
    if body.get("error") == "invalid_request":
        return all(d.get("type") in BUSINESS_422_DETAIL_TYPES for d in details)
    return all(d.get("loc") in WHOLE_REQUEST_LOCS for d in details)


@schemathesis.check
def valid_data_is_accepted(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """positive_data_acceptance, but for the refusals the document cannot state as a schema."""
    if _allowed_refusal(response):
        return None
    # A page cursor is valid only if the API issued it (it is signed): the schema can give its
    # alphabet and length, not its signature, so a generated one is rightly refused.
    if (case.query or {}).get("cursor"):
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    valid_data_is_accepted,
]


@pytest.fixture
def api_schema(request: pytest.FixtureRequest, running: Running) -> Any:
    # schemathesis 4.32's fixture loader reads and renames `item._nodeid`, which pytest 9.2
    # dropped (it keeps `_id`): give it one to read (the per-operation labels come from subtests).
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    key = running.tenant_with_key("acme")
    # One product, so that listings answer with items whose schema is checked too.
    product = {"name": "Mug", "price": "12.50", "currency": "GBP"}
    assert running.call("PUT", "/products/MUG", key=key, json=product).status_code == 201
    restock = {"delta": 1000, "reason": "restock"}
    headers = {"idempotency-key": "fuzz-restock"}
    assert running.call("POST", "/products/MUG/stock-adjustments", key=key, json=restock, headers=headers).ok
    document = running.call("GET", "/openapi.json").json()
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": running.api,
            "headers": {"x-api-key": key},
            "request-timeout": 30,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            # The coverage phase is not bounded by max-examples: it sends every boundary case.
            "phases": {"coverage": {"generation": {"mode": "all" if FULL else "positive"}}},
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_FOR_VALID_DATA}},
        }
    )
    return schemathesis.openapi.from_dict(document, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_api_conforms_to_its_openapi_document(case: Case[Any]) -> None:
    case.call_and_validate(checks=CHECKS)
