"""`make run`'s demo data: tenant `demo`, an all-scopes key, a catalogue, months of orders, over HTTP."""

from __future__ import annotations

from datetime import date

import pytest

from tandem.adapters.directory_tables import TenantsTable
from tandem.models.records import ALL_SCOPES
from tandem_local import demo
from tests.e2e.conftest import Running, wait_until


def test_the_demo_tenant_can_use_its_key_on_the_api(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_DEMO_API_KEY", "tdm_demo_key_for_the_e2e_test_0123456789")
    report, key, generated = demo.seed(running.cloud, running.stack, today=date(2026, 11, 28))
    assert (key, generated) == ("tdm_demo_key_for_the_e2e_test_0123456789", False)
    assert report.orders > 1_000
    assert report.products > 50
    assert report.first_day is not None
    assert report.last_day is not None
    assert (report.last_day - report.first_day).days >= 60  # a few months

    stored = running.cloud.resource("dynamodb").Table(running.stack.physical["ApiKeysTable"]).scan()["Items"]
    assert [set(item["scopes"]) for item in stored] == [set(ALL_SCOPES)]

    # The morning report has somewhere to go: the demo's address, verified in the emulator's SES
    tenant = TenantsTable(running.stack.physical["TenantsTable"], running.cloud.resource("dynamodb")).get(
        "demo"
    )
    assert tenant is not None
    assert tenant.report_email == demo.DEMO_REPORT_EMAIL
    verified = running.cloud.client("ses").get_identity_verification_attributes(
        Identities=[demo.DEMO_REPORT_EMAIL]
    )["VerificationAttributes"]
    assert verified[demo.DEMO_REPORT_EMAIL]["VerificationStatus"] == "Success"

    # The key opens the async path; the last demo day is reported on.
    period = {"from": str(report.last_day), "to": str(report.last_day)}
    created = running.call("POST", "/reports", key=key, json=period, headers={"Prefer": "respond-async"})
    assert created.status_code == 202
    wait_until(
        lambda: running.call("GET", created.json()["status_url"], key=key).json()["status"] == "succeeded",
        60,
        what="the demo report to succeed",
    )
    # Not how many attempts it took (test_async's subject): the e2e worker's timeout is 3 s
    # (E2E_PARAMETERS), and a cold worker on a busy machine can spend them before it starts.
