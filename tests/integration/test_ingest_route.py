"""POST /ingest/{source} through the API handler under moto: files land in the data bucket's raw/."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit
from zoneinfo import ZoneInfo

import boto3
import pytest
import requests

from tandem.handlers import api
from tandem.logic.lake.sources import EXPORT_SOURCES
from tandem.models.ingest import BASE64_PATTERN, FILE_NAME_PATTERN, MAX_INLINE_BYTES
from tests.events import http_event
from tests.integration.test_api import assert_matches_openapi
from tests.moto_stack import REGION
from tests.template_model import Resolver

pytestmark = pytest.mark.usefixtures("stack")

CSV = "InvoiceNo,StockCode,Description,Quantity\n536365,85123A,CRÈME BRÛLÉE SET,6\n"
ROUTE = "/ingest/{source}"


def send(
    lambda_context: Any,
    body: dict[str, Any] | str,
    *,
    source: str = "erp_orders",
    scopes: str = "ingest:write",
    tenant: str | None = "acme",
) -> tuple[int, dict[str, Any]]:
    event = http_event(
        "POST", f"/ingest/{source}", route=ROUTE, body=body, scopes=scopes, tenant=tenant,
        path_parameters={"source": source},
    )  # fmt: skip
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def stored(stack: Resolver, key: str) -> dict[str, Any]:
    return boto3.client("s3", region_name=REGION).get_object(Bucket=stack.physical["DataBucket"], Key=key)


def raw_keys(stack: Resolver) -> list[str]:
    """Every key under raw/ (the data bucket holds the risk artifacts too)."""
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(
        Bucket=stack.physical["DataBucket"], Prefix="raw/"
    )
    return sorted(item["Key"] for item in listed.get("Contents", []))


def today(stack: Resolver) -> date:
    return datetime.now(ZoneInfo(stack.environment("ApiFunction")["REPORTING_TIMEZONE"])).date()


def test_inline_text_is_stored_as_utf8_under_its_raw_key(stack: Resolver, lambda_context: Any) -> None:
    status, answer = send(lambda_context, {"file_name": "orders.csv", "date": "2026-11-27", "content": CSV})
    key = "raw/acme/erp_orders/2026-11-27/orders.csv"
    assert (status, answer) == (
        202,
        {
            "key": key,
            "source": "erp_orders",
            "date": "2026-11-27",
            "file_name": "orders.csv",
            "status": "stored",
        },
    )
    assert_matches_openapi(answer, ROUTE, "post", 202, lambda_context)
    landed = stored(stack, key)
    assert landed["Body"].read() == CSV.encode("utf-8")
    assert (landed["ContentType"], landed["ServerSideEncryption"]) == ("text/csv", "AES256")


def test_inline_base64_gzip_is_stored_byte_for_byte(stack: Resolver, lambda_context: Any) -> None:
    # A spreadsheet's Windows-1252 export, gzipped: bytes that are no UTF-8 text
    packed = gzip.compress(CSV.encode("cp1252"), mtime=0)
    body = {"file_name": "orders.csv.gz", "content_base64": base64.b64encode(packed).decode()}
    status, answer = send(lambda_context, body, source="erp_products")
    assert (status, answer["status"]) == (202, "stored"), answer
    assert answer["key"] == f"raw/acme/erp_products/{today(stack).isoformat()}/orders.csv.gz"
    landed = stored(stack, answer["key"])
    assert landed["Body"].read() == packed
    assert landed["ContentType"] == "application/gzip"


def test_a_file_without_a_date_is_todays_in_the_reporting_zone(stack: Resolver, lambda_context: Any) -> None:
    before = today(stack)
    status, answer = send(lambda_context, {"file_name": "leads.jsonl", "content": '{"mql_id": "1"}\n'})
    assert status == 202
    assert answer["date"] in {before.isoformat(), today(stack).isoformat()}


def _signature_is_valid(url: str, headers: dict[str, str], secret: str) -> bool:
    """SigV4 query signing recomputed from the URL and the headers the client is told to send."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = params.pop("X-Amz-Signature")
    sent = {"host": parts.netloc, **{name.lower(): value for name, value in headers.items()}}
    signed = params["X-Amz-SignedHeaders"].split(";")
    if set(signed) != set(sent):
        return False  # the client would send headers the signature does not cover, or miss some
    canonical = "\n".join(
        [
            "PUT",
            parts.path,
            "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items())),
            "".join(f"{name}:{sent[name].strip()}\n" for name in signed),
            ";".join(signed),
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{secret}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature)


def test_without_content_the_answer_is_a_presigned_put_that_works(
    stack: Resolver, lambda_context: Any
) -> None:
    # Given a file sent without its bytes
    asked_at = datetime.now(UTC)
    status, answer = send(
        lambda_context, {"file_name": "spend.csv", "date": "2026-11-28"}, source="ads_spend"
    )
    key = "raw/acme/ads_spend/2026-11-28/spend.csv"
    # Then nothing is stored yet, and the answer says where and how to PUT the bytes
    assert (status, answer["status"], answer["key"]) == (202, "awaiting_upload", key), answer
    assert_matches_openapi(answer, ROUTE, "post", 202, lambda_context)
    assert raw_keys(stack) == []
    upload = answer["upload"]
    assert upload["method"] == "PUT"
    assert upload["headers"] == {"Content-Type": "text/csv", "x-amz-server-side-encryption": "AES256"}
    expires_at = datetime.fromisoformat(upload["expires_at"])
    assert asked_at + timedelta(minutes=15) <= expires_at <= datetime.now(UTC) + timedelta(minutes=15)

    # And the URL is the object's, signed with SigV4 for 15 minutes over exactly those headers
    url = urlsplit(upload["url"])
    params = dict(parse_qsl(url.query))
    assert url.scheme == "https"
    assert stack.physical["DataBucket"] in url.netloc + url.path
    assert url.path.endswith(f"/{key}")
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Expires"] == "900"
    assert params["X-Amz-SignedHeaders"] == "content-type;host;x-amz-server-side-encryption"
    assert params["X-Amz-Credential"].endswith(f"/{REGION}/s3/aws4_request")
    secret = boto3.Session().get_credentials().get_frozen_credentials().secret_key  # moto's fake keys
    assert _signature_is_valid(upload["url"], upload["headers"], secret)
    assert not _signature_is_valid(upload["url"], {**upload["headers"], "Content-Type": "text/plain"}, secret)

    # When the client PUTs the bytes with those headers / Then they land as sent
    put = requests.put(upload["url"], data=CSV.encode(), headers=upload["headers"], timeout=5)
    assert put.status_code == 200, put.text
    landed = stored(stack, key)
    assert landed["Body"].read() == CSV.encode()
    assert (landed["ContentType"], landed["ServerSideEncryption"]) == ("text/csv", "AES256")


def test_an_unknown_source_is_a_404_naming_the_known_ones(stack: Resolver, lambda_context: Any) -> None:
    status, answer = send(lambda_context, {"file_name": "x.csv", "content": CSV}, source="erp_invoices")
    assert (status, answer["error"]) == (404, "not_found")
    assert all(name in answer["message"] for name in EXPORT_SOURCES)
    assert answer["details"][0]["ctx"] == {"sources": list(EXPORT_SOURCES)}
    assert_matches_openapi(answer, ROUTE, "post", 404, lambda_context)
    assert raw_keys(stack) == []


@pytest.mark.parametrize(
    "name",
    [
        "../orders.csv",
        "../../bravo/erp_orders/2026-11-28/orders.csv",
        "x/../../../bravo/erp_orders/2026-11-28/orders.csv",
        "..csv",
        "orders..csv",
        ".orders.csv",
        "orders.csv/..",
        "orders.exe",
    ],
)
def test_file_names_that_could_leave_their_prefix_are_refused(
    name: str, stack: Resolver, lambda_context: Any
) -> None:
    status, answer = send(lambda_context, {"file_name": name, "content": CSV})
    assert (status, answer["error"]) == (422, "validation_error")
    assert [(d["loc"], d["type"]) for d in answer["details"]] == [(["body", "file_name"], "file_name")]
    assert ".csv.gz" in answer["details"][0]["msg"]  # the rule, suffixes included
    assert name not in json.dumps(answer)  # never the rejected input
    assert_matches_openapi(answer, ROUTE, "post", 422, lambda_context)
    assert raw_keys(stack) == []


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        ({"file_name": "orders.csv", "content": CSV, "content_base64": "YQ=="}, "value_error"),
        ({"file_name": "orders.csv", "content": CSV, "date": "2100-01-01"}, "date_too_late"),
    ],
)
def test_envelope_rules_the_schema_cannot_state_are_whole_body_422s(
    body: dict[str, Any], error_type: str, stack: Resolver, lambda_context: Any
) -> None:
    status, answer = send(lambda_context, body)
    assert (status, answer["error"]) == (422, "validation_error")
    assert [(d["loc"], d["type"]) for d in answer["details"]] == [(["body"], error_type)]
    assert raw_keys(stack) == []


def test_the_tenant_comes_from_the_key_never_the_body(stack: Resolver, lambda_context: Any) -> None:
    status, answer = send(
        lambda_context, {"file_name": "o.csv", "content": CSV, "tenant_id": "acme"}, tenant="bravo"
    )
    assert (status, answer["details"][0]["loc"]) == (422, ["body", "tenant_id"])
    status, answer = send(lambda_context, {"file_name": "o.csv", "content": CSV}, tenant="bravo")
    assert status == 202
    assert answer["key"].startswith("raw/bravo/erp_orders/")


@pytest.mark.parametrize("scopes", ["reports:read reports:write orders:read orders:write", ""])
def test_a_key_without_the_ingest_scope_gets_403(scopes: str, stack: Resolver, lambda_context: Any) -> None:
    status, answer = send(lambda_context, {"file_name": "orders.csv", "content": CSV}, scopes=scopes)
    assert (status, answer["error"]) == (403, "forbidden")
    assert "ingest:write" in answer["message"]
    assert_matches_openapi(answer, ROUTE, "post", 403, lambda_context)
    assert raw_keys(stack) == []


def test_an_admin_key_may_send_files(lambda_context: Any) -> None:
    assert send(lambda_context, {"file_name": "orders.csv", "content": CSV}, scopes="admin")[0] == 202


def test_without_a_key_the_answer_is_401_before_the_body_is_read(lambda_context: Any) -> None:
    status, answer = send(lambda_context, {"file_name": "../x"}, tenant=None)
    assert (status, answer["error"], answer["details"]) == (401, "unauthorized", [])


def test_the_document_lists_the_sources_and_states_the_envelopes_constraints(lambda_context: Any) -> None:
    response = api.handler(http_event("GET", "/openapi.json", tenant=None), lambda_context)
    document = json.loads(response["body"])
    (parameter,) = document["paths"][ROUTE]["post"]["parameters"]
    assert parameter["schema"]["enum"] == list(EXPORT_SOURCES)
    fields = document["components"]["schemas"]["IngestRequest"]["properties"]
    assert (fields["file_name"]["maxLength"], fields["file_name"]["pattern"]) == (200, FILE_NAME_PATTERN)
    assert fields["content"]["anyOf"][0]["maxLength"] == MAX_INLINE_BYTES
    assert fields["content_base64"]["anyOf"][0]["pattern"] == BASE64_PATTERN
    assert "pattern" in fields["date"]["anyOf"][0]
