"""POST /reports under moto: the estimate (a COUNT query), inline 200 or 202 + job, `Prefer` honoured."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tandem.adapters.orders_table import OrdersTable
from tandem.handlers import api
from tandem.models.records import OrderStatus
from tests.events import http_event
from tests.factories import order
from tests.integration.conftest import receive_reports
from tests.integration.test_api import assert_matches_openapi
from tests.integration.test_report_flow import deliver
from tests.moto_stack import REGION
from tests.template_model import Resolver

PERIOD = {"from": "2026-11-01", "to": "2026-11-27"}
IN_PERIOD = [
    order(datetime(2026, 11, 2, 12, tzinfo=UTC), ("MUG", 2, "6.50")),
    order(datetime(2026, 11, 20, 18, tzinfo=UTC), ("MUG", 1, "6.50"), ("TEA", 3, "4.25")),
    order(datetime(2026, 11, 21, 8, tzinfo=UTC), ("TEA", 1, "4.25"), status=OrderStatus.DECLINED),
]
OUTSIDE = [
    order(datetime(2026, 11, 28, 9, tzinfo=UTC), ("TEA", 10, "4.25")),  # after the period
    order(datetime(2026, 11, 5, 9, tzinfo=UTC), ("TEA", 1, "4.25"), tenant="bravo"),  # another tenant
]


@pytest.fixture
def orders(seed: Callable[..., Any]) -> None:
    seed(orders=tuple(IN_PERIOD + OUTSIDE))


def post(lambda_context: Any, prefer: str | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"Prefer": prefer} if prefer is not None else {}
    response = api.handler(http_event("POST", "/reports", body=PERIOD, headers=headers), lambda_context)
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def expected_summary() -> dict[str, Any]:
    """The acme period's figures, worked out by hand from IN_PERIOD (confirmed orders only)."""
    return {
        "orders": 2,
        "units": 6,  # 2 + (1 + 3)
        "GBP": {"orders": 2, "units": 6, "revenue": "32.25", "average_order_value": "16.12"},
        "excluded": {"declined": 1},
    }


@pytest.mark.usefixtures("orders")
def test_a_small_period_is_answered_inline_with_the_summary(stack: Resolver, lambda_context: Any) -> None:
    status, body, headers = post(lambda_context)
    assert status == 200
    expected = expected_summary()
    assert (body["orders"], body["units"]) == (expected["orders"], expected["units"])
    assert body["by_currency"]["GBP"] == expected["GBP"]
    assert body["excluded_orders"] == expected["excluded"]
    assert len(body["by_day"]) == 27
    # 3 orders of acme lie in the period (the declined one is counted: the worker reads it too).
    assert headers["Tandem-Estimate"] == "rows=3; limit=5000; path=inline"
    assert "Preference-Applied" not in headers
    assert headers["Vary"] == "Prefer"
    assert_matches_openapi(body, "/reports", "post", 200, lambda_context)
    assert receive_reports(stack) == []  # no job queued


@pytest.mark.usefixtures("orders")
def test_the_decision_is_logged_and_counted(
    lambda_context: Any, logged: Callable[[], list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    post(lambda_context, "wait=" + "9" * 5000)
    [line] = [entry for entry in logged() if entry["message"] == "report dispatched"]
    assert (line["path"], line["rows"], line["limit_rows"], line["preferences_applied"]) == (
        "inline",
        3,
        80_000,  # 5,000 rows in 0.5 s, for the capped 8 s
        ["wait=8"],
    )
    assert line["estimate_seconds"] >= 0
    assert '"ReportDispatchedInline":[1.0]' in capsys.readouterr().out.replace(" ", "")


@pytest.mark.usefixtures("orders")
def test_a_period_past_the_threshold_is_a_job(
    stack: Resolver, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORT_INLINE_MAX_ROWS", "2")
    status, body, headers = post(lambda_context)
    assert status == 202
    assert headers["Location"] == body["status_url"]
    assert headers["Tandem-Estimate"] == "rows=3; limit=2; path=async"
    assert_matches_openapi(body, "/reports", "post", 202, lambda_context)
    assert len(receive_reports(stack)) == 1


@pytest.mark.usefixtures("orders")
def test_respond_async_gets_a_job_even_when_small(stack: Resolver, lambda_context: Any) -> None:
    status, body, headers = post(lambda_context, "respond-async")
    assert status == 202
    assert headers["Preference-Applied"] == "respond-async"
    assert headers["Tandem-Estimate"] == "path=async"  # nothing estimated: it would change nothing
    assert [json.loads(m["Body"])["job_id"] for m in receive_reports(stack)] == [body["job_id"]]


@pytest.mark.usefixtures("orders")
def test_wait_raises_the_budget_and_is_applied(
    stack: Resolver, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2 rows in the default 0.5 s: 3 rows fit 1 s (4 rows), not 0 s (0 rows).
    monkeypatch.setenv("REPORT_INLINE_MAX_ROWS", "2")
    status, _, headers = post(lambda_context, "wait=1")
    assert (status, headers["Preference-Applied"]) == (200, "wait=1")
    assert headers["Tandem-Estimate"] == "rows=3; limit=4; path=inline"

    status, _, headers = post(lambda_context, "wait=0")
    assert (status, headers["Preference-Applied"]) == (202, "wait=0")
    assert headers["Tandem-Estimate"] == "rows=3; limit=0; path=async"


@pytest.mark.usefixtures("orders")
@pytest.mark.parametrize("prefer", ["wait=soon", "wait=-1", "handling=lenient", ";;,", "respond-async=yes"])
def test_a_malformed_or_unknown_preference_is_ignored(
    stack: Resolver, lambda_context: Any, prefer: str
) -> None:
    status, _, headers = post(lambda_context, prefer)
    assert status == 200
    assert "Preference-Applied" not in headers


@pytest.mark.usefixtures("orders")
def test_the_inline_answer_equals_the_document_the_worker_stores(
    stack: Resolver, lambda_context: Any
) -> None:
    _, inline, _ = post(lambda_context)
    status, accepted, _ = post(lambda_context, "respond-async")
    assert status == 202
    assert deliver(stack, lambda_context) == {"batchItemFailures": []}
    s3 = boto3.client("s3", region_name=REGION)
    key = f"reports/acme/{accepted['job_id']}.json"
    stored = json.loads(s3.get_object(Bucket=stack.physical["ReportsBucket"], Key=key)["Body"].read())
    assert inline == stored


def test_the_count_stops_once_past_the_limit_and_is_exact_below_it(stack: Resolver) -> None:
    table = OrdersTable(stack.physical["OrdersTable"], boto3.resource("dynamodb", region_name=REGION))
    start = datetime(2026, 10, 1, tzinfo=UTC)
    table.put_many(order(start + timedelta(minutes=n), ("MUG", 1, "6.50")) for n in range(30))
    end = start + timedelta(days=1)
    assert table.count_between("acme", start, end, at_most=100) == 30
    assert table.count_between("acme", start, start + timedelta(minutes=10), at_most=100) == 10
    assert table.count_between("bravo", start, end, at_most=100) == 0
    # Past the limit the count may stop early but never says "within": more than `at_most`.
    assert table.count_between("acme", start, end, at_most=5) > 5
