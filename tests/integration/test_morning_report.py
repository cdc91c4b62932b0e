"""The morning report under moto: ERP exports curated by the night's item steps, the tenant's day
finished, the rollups and inventory products, then the `morning_report` product queueing the job
and the report worker (its handler, fed from ReportQueue) building it and sending the e-mail
through SES (moto keeps sent mail). Figures checked against the ERP lines, computed by hand."""

import json
from datetime import date
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.directory_tables import TenantsTable
from tandem.handlers import nightly_lake, report_worker
from tandem.logic.inventory import suggestions_key
from tandem.logic.morning_report import morning_job_id
from tandem.models.catalog import Product
from tandem.models.records import Tenant
from tests.events import sqs_event
from tests.integration.conftest import receive_reports
from tests.moto_stack import REGION
from tests.template_model import Resolver

DAY = date(2026, 11, 27)  # a Friday
WEEK_BEFORE = date(2026, 11, 20)
ADDRESS = "owner@acme.example"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ERP = {
    # one order: 4 x 2.55 = 10.20
    WEEK_BEFORE: "536001,85123A,HEART,4,2026-11-20 10:00:00,2.55,17850.0,United Kingdom\n",
    # two orders with products: 3 x 2.55 = 7.65 and 1 x 3.39 (postage is not a product);
    # one return line of 1 unit, 2.55
    DAY: (
        "536003,85123A,HEART,3,2026-11-27 10:00:00,2.55,17850.0,United Kingdom\n"
        "C536004,85123A,HEART,-1,2026-11-27 11:00:00,2.55,17850.0,United Kingdom\n"
        "536005,71053,LANTERN,1,2026-11-27 12:00:00,3.39,,France\n"
        "536005,POST,POSTAGE,1,2026-11-27 12:00:00,18.00,,France\n"
    ),
}


def _s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def _sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


@pytest.fixture
def night(stack: Resolver, lambda_context: Any) -> Resolver:
    """The ERP files of both days in the lake, each day's rollup, and DAY's inventory suggestions."""
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    tenants = TenantsTable(stack.physical["TenantsTable"], dynamodb)
    tenants.put(Tenant(tenant_id="acme", name="Acme Gifts", report_email=ADDRESS))
    tenants.put(Tenant(tenant_id="bravo", name="Bravo"))  # no address
    catalog = CatalogTable(stack.physical["ProductsTable"], dynamodb)
    for sku, stock in (("85123A", 0), ("71053", 50)):
        catalog.put(
            Product(tenant_id="acme", sku=sku, name=sku, price=Decimal("2.55"), currency="GBP", stock=stock)
        )
    for day, lines in ERP.items():
        key = f"raw/acme/erp_orders/{day.isoformat()}/day.csv"
        _s3().put_object(Bucket=stack.physical["DataBucket"], Key=key, Body=HEADER + lines)
        item = {"tenant_id": "acme", "source": "erp_orders", "date": day.isoformat()}
        assert nightly_lake.handler({"step": "item", "item": item}, lambda_context)["rows_curated"] > 0
        nightly_lake.handler({"step": "finish", "tenant_id": "acme", "date": day.isoformat()}, lambda_context)
        _product(lambda_context, "rollups", "acme", day)
    _product(lambda_context, "inventory", "acme", DAY)
    return stack


def _product(context: Any, name: str, tenant: str, day: date) -> dict[str, Any]:
    step = {"step": "product", "product": name, "tenant_id": tenant, "date": day.isoformat()}
    outcome: dict[str, Any] = nightly_lake.handler(step, context)
    return outcome


def _deliver(stack: Resolver, context: Any) -> dict[str, Any]:
    event = sqs_event(receive_reports(stack), stack.attributes[("ReportQueue", "Arn")])
    return report_worker.handler(event, context)


def _report(stack: Resolver, tenant: str, day: date) -> dict[str, Any]:
    key = f"reports/{tenant}/{morning_job_id(tenant, day)}.json"
    return json.loads(_s3().get_object(Bucket=stack.physical["ReportsBucket"], Key=key)["Body"].read())


def test_the_night_queues_the_report_and_the_worker_mails_its_figures(
    night: Resolver, lambda_context: Any
) -> None:
    outcome = _product(lambda_context, "morning_report", "acme", DAY)
    job_id = morning_job_id("acme", DAY)
    assert outcome["counts"] == {
        "job_id": job_id,
        "queued": True,
        "job_status": "queued",
        "email": "to_report_email",
    }
    assert _deliver(night, lambda_context) == {"batchItemFailures": []}

    (mail,) = _sent()
    assert mail.source == "reports@tandem.example"  # the template's default sender, verified
    assert mail.destinations == {"ToAddresses": [ADDRESS]}
    # revenue 7.65 + 3.39 = 11.04 in 2 orders, against 10.20 in 1: +8.2 % (0.84 / 10.20), +100 %
    assert mail.subject == "Acme Gifts: Fri 2026-11-27: £11.04, 2 orders"
    for line in (
        "Revenue: £11.04 (+8.2% vs Fri 2026-11-20)",
        "Orders: 2 (+100.0% vs Fri 2026-11-20)",
        "Same weekday last week (Fri 2026-11-20): £10.20, 1 orders",
        "  1. 85123A: £7.65, 3 units, 1 orders",
        "  2. 71053: £3.39, 1 units, 1 orders",
        "Returns: 1 lines, 1 units, £2.55",
    ):
        assert line in mail.body, line
    # 85123A has none on hand, so it is below any reorder point; 71053 (50) is not flagged
    suggestions = json.loads(
        _s3().get_object(Bucket=night.physical["DataBucket"], Key=suggestions_key("acme", DAY))["Body"].read()
    )
    heart = next(item for item in suggestions["items"] if item["sku"] == "85123A")
    assert f"  85123A: stock 0, reorder point {heart['reorder_point']:g}" in mail.body
    assert "  71053: stock" not in mail.body

    stored = _report(night, "acme", DAY)
    assert (stored["day"]["revenue"], stored["day"]["orders"]) == ("11.04", 2)
    assert stored["change"] == {"revenue_pct": "8.2", "orders_pct": "100.0"}
    assert stored["email"]["sent"] is True
    assert stored["email"]["to"] == ADDRESS


def test_the_same_night_run_twice_sends_one_email(night: Resolver, lambda_context: Any) -> None:
    _product(lambda_context, "morning_report", "acme", DAY)
    _deliver(night, lambda_context)
    again = _product(lambda_context, "morning_report", "acme", DAY)
    assert (again["counts"]["queued"], again["counts"]["job_status"]) == (False, "succeeded")
    assert receive_reports(night) == []
    assert len(_sent()) == 1


def test_a_tenant_without_an_address_gets_its_report_and_no_email(
    night: Resolver, lambda_context: Any
) -> None:
    outcome = _product(lambda_context, "morning_report", "bravo", DAY)
    assert outcome["counts"]["email"] == "no_report_email"
    assert _deliver(night, lambda_context) == {"batchItemFailures": []}
    assert _sent() == []
    stored = _report(night, "bravo", DAY)
    assert (stored["day"]["has_data"], stored["email"]["sent"], stored["email"]["to"]) == (False, False, None)


def test_a_message_ses_refuses_is_noted_in_the_report_and_not_retried(
    night: Resolver, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sender itself unverified: SES refuses the message (MessageRejected), whatever the retries.
    monkeypatch.setenv("REPORT_SENDER_EMAIL", "nobody@unverified.example")
    _product(lambda_context, "morning_report", "acme", DAY)
    assert _deliver(night, lambda_context) == {"batchItemFailures": []}
    assert _sent() == []
    stored = _report(night, "acme", DAY)
    assert stored["email"]["sent"] is False
    assert stored["email"]["note"].startswith("refused by the mail service: MessageRejected")
