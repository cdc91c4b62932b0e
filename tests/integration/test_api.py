"""The HTTP API handler with HTTP API events, under moto."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tandem.handlers import api
from tests.events import http_event
from tests.integration.conftest import receive_reports
from tests.template_model import Resolver

pytestmark = pytest.mark.usefixtures("stack")


def call(event: dict[str, Any], lambda_context: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def assert_matches_openapi(
    body: dict[str, Any], path: str, method: str, status: int, lambda_context: Any
) -> None:
    """The body validates against the schema /openapi.json documents for this answer."""
    _, document, _ = call(http_event("GET", "/openapi.json", tenant=None), lambda_context)
    content = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    Draft202012Validator({**document, **content["schema"]}).validate(body)


def test_health_is_public(stack: Resolver, lambda_context: Any) -> None:
    status, body, _ = call(http_event("GET", "/health", tenant=None), lambda_context)
    service = stack.environment("ApiFunction")["POWERTOOLS_SERVICE_NAME"]
    assert (status, body) == (200, {"status": "ok", "service": service})


def test_create_report_answers_202_and_enqueues_one_typed_message(
    stack: Resolver, lambda_context: Any
) -> None:
    # The async path asked for: the period is small enough to be answered inline otherwise.
    event = http_event(
        "POST",
        "/reports",
        body={"from": "2026-11-01", "to": "2026-11-27"},
        headers={"Prefer": "respond-async"},
    )
    status, body, headers = call(event, lambda_context)
    assert status == 202
    assert body["status"] == "queued"
    assert headers["Location"] == body["status_url"] == f"/reports/{body['job_id']}"
    assert_matches_openapi(body, "/reports", "post", 202, lambda_context)

    received = receive_reports(stack)
    assert len(received) == 1
    assert json.loads(received[0]["Body"]) == {
        "type": "report.requested",
        "version": 1,
        "tenant_id": "acme",
        "job_id": body["job_id"],
        "params": {
            "kind": "sales_summary",
            "date_from": "2026-11-01",
            "date_to": "2026-11-27",
            "format": "json",
            "granularity": "day",
            "filters": {"channel": None, "country": None, "category": None},
        },
    }
    correlation = received[0]["MessageAttributes"]["correlation_id"]["StringValue"]
    assert correlation == event["requestContext"]["requestId"] == headers["x-correlation-id"]


def test_a_callers_correlation_id_is_carried_through(stack: Resolver, lambda_context: Any) -> None:
    event = http_event(
        "POST",
        "/reports",
        body={"from": "2026-11-01", "to": "2026-11-02"},
        headers={"X-Correlation-Id": "shop-42", "Prefer": "respond-async"},
    )
    _, _, headers = call(event, lambda_context)
    message = receive_reports(stack)[0]
    assert (
        headers["x-correlation-id"]
        == message["MessageAttributes"]["correlation_id"]["StringValue"]
        == "shop-42"
    )


@pytest.mark.parametrize(
    ("body", "loc", "error_type"),
    [
        ({"from": "2026-11-01"}, ["body", "to"], "missing"),
        ({"from": "2026-13-01", "to": "2026-11-02"}, ["body", "from"], "date_pattern_mismatch"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, ["body"], "value_error"),
        (
            {"from": "2026-11-01", "to": "2026-11-02", "tenant_id": "bravo"},
            ["body", "tenant_id"],
            "extra_forbidden",
        ),
    ],
)
def test_invalid_bodies_answer_422_with_field_details_as_documented(
    body: dict[str, str], loc: list[str], error_type: str, lambda_context: Any
) -> None:
    status, answer, _ = call(http_event("POST", "/reports", body=body), lambda_context)
    assert status == 422
    assert answer["error"] == "validation_error"
    assert [(d["loc"], d["type"]) for d in answer["details"]] == [(loc, error_type)]
    assert_matches_openapi(answer, "/reports", "post", 422, lambda_context)


@pytest.mark.parametrize(
    ("raw", "status", "error"),
    [
        ("{not json", 422, "validation_error"),
        ("", 422, "validation_error"),
        ("[1, 2]", 422, "validation_error"),
        (b'{"from": "\xff\xfe"}', 400, "bad_request"),
    ],
)
def test_bodies_that_are_not_json_or_not_utf8_never_give_500(
    raw: str | bytes, status: int, error: str, lambda_context: Any
) -> None:
    answer_status, answer, _ = call(http_event("POST", "/reports", body=raw), lambda_context)
    assert (answer_status, answer["error"]) == (status, error)


def test_a_request_the_authorizer_found_no_key_for_gets_401_with_the_reason(lambda_context: Any) -> None:
    event = http_event("GET", "/reports/x", route="/reports/{job_id}", path_parameters={"job_id": "x"})
    event["requestContext"]["authorizer"]["lambda"] = {"auth_error": "unknown or revoked API key"}
    status, body, _ = call(event, lambda_context)
    assert (status, body["error"], body["message"]) == (401, "unauthorized", "unknown or revoked API key")
    assert_matches_openapi(body, "/reports/{job_id}", "get", 401, lambda_context)


def test_public_paths_are_exactly_the_templates_unauthenticated_routes() -> None:
    from tests.template_model import functions

    events = functions()["ApiFunction"]["Properties"]["Events"].values()
    public = {
        e["Properties"]["Path"] for e in events if e["Properties"].get("Auth") == {"Authorizer": "NONE"}
    }
    assert public == api.PUBLIC_PATHS


def test_an_anonymous_caller_learns_nothing_about_the_body_it_sent(lambda_context: Any) -> None:
    # Given an invalid body and no API key, then the answer is 401, not the field errors
    event = http_event("POST", "/reports", body={"from": "yesterday"})
    event["requestContext"]["authorizer"]["lambda"] = {"auth_error": "missing API key"}
    status, body, _ = call(event, lambda_context)
    assert (status, body["error"], body["details"]) == (401, "unauthorized", [])


def test_a_body_that_is_not_declared_json_gets_415(lambda_context: Any) -> None:
    event = http_event(
        "POST",
        "/reports",
        body='{"from": "2026-11-01", "to": "2026-11-02"}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    status, body, _ = call(event, lambda_context)
    assert (status, body["error"]) == (415, "unsupported_media_type")
    assert "application/json" in body["message"]
    assert_matches_openapi(body, "/reports", "post", 415, lambda_context)


def test_without_an_authorizer_context_the_api_answers_401(lambda_context: Any) -> None:
    status, body, _ = call(
        http_event("POST", "/reports", body={"from": "2026-11-01", "to": "2026-11-02"}, tenant=None),
        lambda_context,
    )
    assert status == 401
    assert body["error"] == "unauthorized"


def test_a_key_without_the_scope_gets_403(lambda_context: Any) -> None:
    event = http_event(
        "POST", "/reports", body={"from": "2026-11-01", "to": "2026-11-02"}, scopes="reports:read"
    )
    status, body, _ = call(event, lambda_context)
    assert (status, body["error"]) == (403, "forbidden")
    assert_matches_openapi(body, "/reports", "post", 403, lambda_context)


def test_unknown_route_answers_404_json(lambda_context: Any) -> None:
    status, body, _ = call(http_event("GET", "/nowhere"), lambda_context)
    assert (status, body["error"]) == (404, "not_found")


def test_an_unexpected_error_answers_500_without_internals(
    monkeypatch: pytest.MonkeyPatch, lambda_context: Any, logged: Callable[[], list[dict[str, Any]]]
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("connection string postgres://secret@db")

    monkeypatch.setattr(api.reports.report_dispatch, "dispatch_report", explode)
    status, body, _ = call(
        http_event("POST", "/reports", body={"from": "2026-11-01", "to": "2026-11-02"}), lambda_context
    )
    assert status == 500
    assert body == {"error": "internal_error", "message": "internal error; it has been logged", "details": []}
    assert "secret" in json.dumps(logged())  # the log keeps what the response hides


def test_openapi_document_describes_every_route_of_the_template(lambda_context: Any) -> None:
    from tests.template_model import functions

    status, document, _ = call(http_event("GET", "/openapi.json", tenant=None), lambda_context)
    assert status == 200
    routes = {
        (event["Properties"]["Method"].lower(), event["Properties"]["Path"])
        for event in functions()["ApiFunction"]["Properties"]["Events"].values()
    }
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert documented == {(method, path) for method, path in routes if path not in api.UNDOCUMENTED_PATHS}


def test_openapi_document_reads_as_documentation_and_names_only_errors_the_api_gives(
    lambda_context: Any,
) -> None:
    status, document, _ = call(http_event("GET", "/openapi.json", tenant=None), lambda_context)
    assert status == 200
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            assert len(operation.get("description", "")) > 20, where
            assert operation.get("tags"), where
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorBody"
                    }, (where, code)
    assert not {"HTTPValidationError", "ValidationError", "ResponseValidationError"} & set(
        document["components"]["schemas"]
    )
