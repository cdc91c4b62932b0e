"""The nightly rollup handler with the events Scheduler and EventBridge send, under moto."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from tandem.handlers import nightly
from tandem.logic.errors import InvalidRequestError
from tandem.logic.rollups import rollup_key
from tests.events import load_event
from tests.factories import order
from tests.moto_stack import REGION
from tests.template_model import Resolver


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


def rollup(stack: Resolver, tenant: str, day: date) -> dict[str, Any]:
    s3 = boto3.client("s3", region_name=REGION)
    body = s3.get_object(Bucket=stack.physical["DataBucket"], Key=rollup_key(tenant, day))["Body"].read()
    return json.loads(body)


def test_the_scheduled_run_rolls_up_yesterday_for_every_tenant(stack: Resolver, lambda_context: Any) -> None:
    result = nightly.handler(load_event("scheduler_nightly"), lambda_context)
    day = date(2026, 11, 27)
    assert result == {"date": "2026-11-27", "written": [rollup_key("acme", day), rollup_key("bravo", day)]}
    acme = rollup(stack, "acme", day)
    assert (acme["orders"], acme["units"], acme["by_currency"]["GBP"]["revenue"]) == (2, 3, "17.25")
    assert acme["timezone"] == stack.environment("NightlyRollupFunction")["REPORTING_TIMEZONE"]
    assert rollup(stack, "bravo", day)["units"] == 4


def test_a_rerun_for_the_same_day_gives_the_same_objects(stack: Resolver, lambda_context: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    nightly.handler(load_event("scheduler_nightly"), lambda_context)
    key = rollup_key("acme", date(2026, 11, 27))
    first = s3.get_object(Bucket=stack.physical["DataBucket"], Key=key)["Body"].read()
    nightly.handler(
        load_event("eventbridge_scheduled"), lambda_context
    )  # the same moment, EventBridge's shape
    second = s3.get_object(Bucket=stack.physical["DataBucket"], Key=key)["Body"].read()
    assert second == first


def test_any_past_day_can_be_rolled_up_for_chosen_tenants(stack: Resolver, lambda_context: Any) -> None:
    result = nightly.handler({"date": "2026-11-20", "tenants": ["bravo"]}, lambda_context)
    assert result["written"] == [rollup_key("bravo", date(2026, 11, 20))]
    assert rollup(stack, "bravo", date(2026, 11, 20))["orders"] == 1


def test_a_day_that_is_not_over_is_refused(lambda_context: Any) -> None:
    with pytest.raises(InvalidRequestError):
        nightly.handler({"date": "2999-01-01"}, lambda_context)
