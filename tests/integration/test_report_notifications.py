"""A report job announced through the worker under moto: a signed webhook to a local endpoint, an SES
e-mail; an endpoint that is down retried, the report still succeeded, the outcome on the job."""

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import requests
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tandem.adapters.directory_tables import TenantsTable
from tandem.models.records import Tenant, TenantWebhook
from tests.factories import order
from tests.integration.test_follow_ups import Courier
from tests.integration.test_report_flow import deliver, get_report, request_report
from tests.moto_stack import REGION
from tests.template_model import Resolver

SECRET = "whsec_reports-integration"
OWNER = "owner@acme.example"


@pytest.fixture
def endpoint() -> Iterator[Courier]:
    receiver = Courier()
    yield receiver
    receiver.close()


@pytest.fixture
def tenant(stack: Resolver, endpoint: Courier, seed: Any) -> None:
    seed(orders=(order(datetime(2026, 11, 2, 12, tzinfo=UTC), ("MUG", 2, "6.50")),))
    tenants = TenantsTable(stack.physical["TenantsTable"], boto3.resource("dynamodb", region_name=REGION))
    webhook = TenantWebhook(url=endpoint.url, secret=SECRET, set_at=datetime(2026, 11, 28, tzinfo=UTC))
    tenants.put(Tenant(tenant_id="acme", name="Acme Gifts", report_email=OWNER, webhook=webhook))


def _mails_to(address: str) -> list[Any]:
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return [m for m in sent if address in json.dumps(getattr(m, "destinations", {}))]


def _verify(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    """The receiver's side, from the documented scheme alone (hmac and hashlib directly)."""
    parts = dict(field.split("=", 1) for field in header.split(","))
    if abs(time.time() - int(parts["t"])) > tolerance:
        return False
    digest = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(digest, parts["v1"])


@pytest.mark.usefixtures("tenant")
def test_a_succeeded_report_is_posted_signed_and_mailed_with_its_link(
    stack: Resolver, endpoint: Courier, lambda_context: Any
) -> None:
    job_id = request_report(lambda_context)
    assert deliver(stack, lambda_context) == {"batchItemFailures": []}

    [(headers, body)] = endpoint.calls
    assert _verify(headers["Tandem-Signature"], body, SECRET)
    assert not _verify(headers["Tandem-Signature"], body + b" ", SECRET)  # the body cannot change
    event = json.loads(body)
    assert (event["id"], event["type"], event["data"]["job_id"]) == (
        f"{job_id}:report.ready",
        "report.ready",
        job_id,
    )
    # The link downloads the very document the job stored.
    downloaded = requests.get(event["data"]["result"]["url"], timeout=10).json()
    assert downloaded["orders"] == 1
    assert downloaded["by_currency"]["GBP"]["revenue"] == "13.00"

    assert len(_mails_to(OWNER)) == 1
    status, job = get_report(job_id, lambda_context)
    assert (status, job["status"], job["notified"]) == (
        200,
        "succeeded",
        {"webhook": "delivered", "email": "sent"},
    )


@pytest.mark.usefixtures("tenant")
def test_a_down_endpoint_is_retried_and_the_report_still_succeeds(
    stack: Resolver, endpoint: Courier, lambda_context: Any
) -> None:
    endpoint.status = 503
    job_id = request_report(lambda_context)
    message = boto3.client("sqs", region_name=REGION)
    assert deliver(stack, lambda_context) == {"batchItemFailures": []}  # the message is consumed

    assert len(endpoint.calls) == 4  # the first call and 3 retries, 0.5, 1 and 2 s apart
    assert len({json.loads(body)["id"] for _, body in endpoint.calls}) == 1  # one event, retried
    _, job = get_report(job_id, lambda_context)
    assert job["status"] == "succeeded"
    assert job["notified"] == {"webhook": "failed: the endpoint answered 503 (4 attempts)", "email": "sent"}
    assert job["result"]["url"]
    # Nothing left to redeliver: no second announcement comes.
    left = message.receive_message(QueueUrl=stack.physical["ReportQueue"]).get("Messages", [])
    assert left == []
