"""The synchronous path over real HTTP: health, authentication, tenant isolation, validation."""

from __future__ import annotations

from tandem.handlers.api import UNDOCUMENTED_PATHS
from tests.e2e.conftest import Running
from tests.template_model import functions

PERIOD = {"from": "2026-11-01", "to": "2026-11-27"}


def test_health_answers_on_the_stable_url(running: Running) -> None:
    answer = running.call("GET", "/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_openapi_document_is_served(running: Running) -> None:
    document = running.call("GET", "/openapi.json").json()
    routes = {e["Properties"]["Path"] for e in functions()["ApiFunction"]["Properties"]["Events"].values()}
    assert set(document["paths"]) == routes - UNDOCUMENTED_PATHS


def test_missing_or_unknown_key_gets_401_with_a_json_error(running: Running) -> None:
    running.tenant_with_key("acme")
    for headers in ({}, {"x-api-key": "tdm_nobody"}, {"authorization": "Bearer tdm_nobody"}):
        answer = running.call("POST", "/reports", json=PERIOD, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["error"] == "unauthorized"


def test_a_tenant_cannot_read_another_tenants_job(running: Running) -> None:
    acme, bravo = running.tenant_with_key("acme"), running.tenant_with_key("bravo")
    created = running.call("POST", "/reports", key=acme, json=PERIOD, headers={"Prefer": "respond-async"})
    assert created.status_code == 202
    status_url = created.headers["location"]
    assert running.call("GET", status_url, key=acme).status_code == 200
    other = running.call("GET", status_url, key=bravo)
    assert (other.status_code, other.json()["error"]) == (404, "not_found")


def test_invalid_and_undecodable_bodies_get_4xx_json_never_500(running: Running) -> None:
    key = running.tenant_with_key("acme")
    invalid = running.call("POST", "/reports", key=key, json={"from": "2026-11-05", "to": "2026-11-01"})
    assert invalid.status_code == 422
    assert invalid.json()["details"][0]["loc"] == ["body"]
    not_json = running.call(
        "POST", "/reports", key=key, data=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    not_utf8 = running.call("POST", "/reports", key=key, data=b'{"from": "\xff"}')
    assert not_utf8.status_code in (400, 422)
    assert "Traceback" not in not_utf8.text


def test_a_method_no_route_takes_gets_api_gateways_json_404(running: Running) -> None:
    # API Gateway routes (method, path) pairs and answers anything else with its JSON 404,
    # whatever the method; the proxy on :3000 must not answer with http.server's 501 page.
    for method in ("TRACE", "FROBNICATE", "DELETE"):
        answer = running.call(method, "/health")
        assert answer.status_code == 404, (method, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/json"), method
        assert answer.json() == {"message": "Not Found"}, method
