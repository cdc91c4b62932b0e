"""The night under moto: the schedule's event → the plan and a state machine execution started;
then its steps, run in the order the state machine runs them (moto stores executions but runs
none; the local cloud's e2e test runs the real state machine)."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tandem.adapters.rollups_table import RollupsTable
from tandem.handlers import nightly, nightly_lake
from tandem.logic.errors import InvalidRequestError
from tandem.logic.lake.nightly import NightFailedError
from tandem.logic.rollups import rollup_key
from tests.events import load_event
from tests.factories import order
from tests.moto_stack import REGION
from tests.template_model import Resolver

ERP = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,HEART,6,2026-11-27 08:26:00,2.55,17850.0,United Kingdom\n"
    "C536379,85123A,HEART,-1,2026-11-27 09:41:00,2.55,17850.0,United Kingdom\n"
)


@pytest.fixture(autouse=True)
def _data(seed: Callable[..., Any]) -> None:
    seed(
        tenants=("acme", "bravo"),
        orders=(
            # 27 November in London (GMT in winter: local = UTC)
            order(datetime(2026, 11, 27, 0, 5, tzinfo=UTC), ("MUG", 2, "6.50")),
            order(datetime(2026, 11, 27, 23, 55, tzinfo=UTC), ("TEA", 1, "4.25")),
            order(datetime(2026, 11, 26, 23, 59, tzinfo=UTC), ("MUG", 9, "6.50")),  # the day before
            order(datetime(2026, 11, 27, 12, tzinfo=UTC), ("TEA", 4, "4.25"), tenant="bravo"),
            order(datetime(2026, 11, 20, 12, tzinfo=UTC), ("TEA", 1, "4.25"), tenant="bravo"),
        ),
    )


def _s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def rollup(stack: Resolver, tenant: str, day: date) -> dict[str, Any]:
    body = _s3().get_object(Bucket=stack.physical["DataBucket"], Key=rollup_key(tenant, day))["Body"].read()
    return json.loads(body)


def _execution_input(stack: Resolver, execution: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return json.loads(sfn.describe_execution(executionArn=execution)["input"])


def _run_steps(plan: dict[str, Any], context: Any) -> dict[str, Any]:
    """The state machine's Items map, Tenants map and Outcome task, as its definition says."""
    items = [nightly_lake.handler({"step": "item", "item": item}, context) for item in plan["items"]]
    tenants = []
    for tenant in plan["tenants"]:
        finished = nightly_lake.handler(
            {"step": "finish", "tenant_id": tenant, "date": plan["date"]}, context
        )
        product = {"step": "product", "product": "rollups", "tenant_id": tenant, "date": plan["date"]}
        made = nightly_lake.handler(product, context)
        tenants.append(
            {"tenant_id": tenant, "finished": finished, "products": {"rollups": {"outcome": made}}}
        )
    outcome = {"step": "outcome", "date": plan["date"], "item_results": items, "finish_results": tenants}
    return nightly_lake.handler(outcome, context)


def test_the_scheduled_night_rolls_up_yesterday_from_the_lake(stack: Resolver, lambda_context: Any) -> None:
    _s3().put_object(
        Bucket=stack.physical["DataBucket"], Key="raw/acme/erp_orders/2026-11-27/day.csv", Body=ERP.encode()
    )
    started = nightly.handler(load_event("scheduler_nightly"), lambda_context)
    assert (started["date"], started["tenants"], started["items"]) == ("2026-11-27", ["acme", "bravo"], 3)
    plan = _execution_input(stack, started["execution"])
    assert [(i["tenant_id"], i["source"]) for i in plan["items"]] == [
        ("acme", "checkout"),
        ("acme", "erp_orders"),
        ("bravo", "checkout"),
    ]
    assert _run_steps(plan, lambda_context) == {"date": "2026-11-27", "items": 3}

    day = date(2026, 11, 27)
    acme = rollup(stack, "acme", day)
    # the checkout's 2 orders (3 units, 17.25) and the ERP's sale (6 units at 2.55; not its return)
    assert (acme["orders"], acme["units"], acme["by_currency"]["GBP"]["revenue"]) == (3, 9, "32.55")
    assert acme["timezone"] == stack.environment("NightlyLakeFunction")["REPORTING_TIMEZONE"]
    assert rollup(stack, "bravo", day)["units"] == 4
    manifest = json.loads(
        _s3()
        .get_object(Bucket=stack.physical["DataBucket"], Key="manifests/acme/2026-11-27.json")["Body"]
        .read()
    )
    assert sorted(manifest["sources"]) == ["checkout", "erp_orders"]
    # the dashboard's rollup of the day, a product of the night, in the manifest and the table
    assert manifest["products"]["rollups"]["counts"]["orders"] == 3
    [dashboard] = RollupsTable(
        stack.physical["RollupsTable"], boto3.resource("dynamodb", region_name=REGION)
    ).days("acme", day, day)
    assert (dashboard.orders, dashboard.revenue_tenant) == (3, Decimal("32.55"))
    assert sum(cell.units for cell in dashboard.cells) == 9


def test_the_same_firing_retried_starts_no_second_run_and_a_rerun_writes_the_same_bytes(
    stack: Resolver, lambda_context: Any
) -> None:
    first = nightly.handler(load_event("scheduler_nightly"), lambda_context)
    assert nightly.handler(load_event("scheduler_nightly"), lambda_context)["execution"] == first["execution"]
    plan = _execution_input(stack, first["execution"])
    _run_steps(plan, lambda_context)
    key = rollup_key("acme", date(2026, 11, 27))
    before = _s3().get_object(Bucket=stack.physical["DataBucket"], Key=key)["Body"].read()
    # EventBridge's shape of the same moment: an operator's re-run is another run, same result
    again = nightly.handler(load_event("eventbridge_scheduled"), lambda_context)
    _run_steps(_execution_input(stack, again["execution"]), lambda_context)
    assert _s3().get_object(Bucket=stack.physical["DataBucket"], Key=key)["Body"].read() == before


def test_any_past_day_can_be_run_for_chosen_tenants(stack: Resolver, lambda_context: Any) -> None:
    started = nightly.handler({"date": "2026-11-20", "tenants": ["bravo"]}, lambda_context)
    assert "rerun" in started["execution"]
    _run_steps(_execution_input(stack, started["execution"]), lambda_context)
    assert rollup(stack, "bravo", date(2026, 11, 20))["orders"] == 1


def test_a_day_that_is_not_over_is_refused(lambda_context: Any) -> None:
    with pytest.raises(InvalidRequestError):
        nightly.handler({"date": "2999-01-01"}, lambda_context)


def test_a_failed_step_is_parked_with_its_reason_and_fails_the_run(
    stack: Resolver, lambda_context: Any
) -> None:
    outcome = {
        "step": "outcome",
        "date": "2026-11-27",
        "item_results": [
            {
                "failed": True,
                "item": {"tenant_id": "acme", "source": "erp_orders", "date": "2026-11-27"},
                "error": {"Error": "Runtime.HandlerError", "Cause": "broken gzip"},
            }
        ],
        "finish_results": [],
    }
    with pytest.raises(NightFailedError):
        nightly_lake.handler(outcome, lambda_context)
    sqs = boto3.client("sqs", region_name=REGION)
    [message] = sqs.receive_message(QueueUrl=stack.physical["NightlyFailureQueue"])["Messages"]
    assert json.loads(message["Body"]) == {
        "kind": "nightly_failure",
        "date": "2026-11-27",
        "tenant_id": "acme",
        "source": "erp_orders",
        "error": "Runtime.HandlerError",
        "cause": "broken gzip",
        "product": None,
        "step": None,
    }
