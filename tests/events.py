"""Real-shaped Lambda events, loaded from tests/events/ and changed only where a test needs it."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parent / "events"


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def load_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(_load(name))


def http_event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    body: str | bytes | dict[str, Any] | None = None,
    tenant: str | None = "acme",
    scopes: str = "reports:read reports:write",
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event as API Gateway delivers it after our authorizer.

    `tenant=None` leaves the authorizer context out, as on a public route.
    """
    event = load_event("http_api_request")
    route_key = f"{method} {route or path}"
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    if tenant is None:
        event["requestContext"].pop("authorizer")
    else:
        event["requestContext"]["authorizer"]["lambda"] = {
            "tenant_id": tenant,
            "key_id": f"{tenant}-key",
            "scopes": scopes,
        }
    event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
    if isinstance(body, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    elif isinstance(body, dict):
        event["body"] = json.dumps(body)
    else:
        event["body"] = body
        if body is None:
            event.pop("body")
    if path_parameters:
        event["pathParameters"] = path_parameters
    return event


def authorizer_event(headers: dict[str, str]) -> dict[str, Any]:
    event = load_event("http_api_authorizer")
    event["headers"] = {"host": event["headers"]["host"], **{k.lower(): v for k, v in headers.items()}}
    return event


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS poller builds from messages as ReceiveMessage returns them."""
    template = load_event("sqs_report_requested")["Records"][0]
    records = []
    for message in messages:
        record = copy.deepcopy(template)
        record.update(
            messageId=message["MessageId"],
            receiptHandle=message["ReceiptHandle"],
            body=message["Body"],
            md5OfBody=hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
            eventSourceARN=queue_arn,
        )
        record["attributes"].update(message.get("Attributes", {}))
        record["messageAttributes"] = {
            name: {
                "stringValue": value["StringValue"],
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        }
        records.append(record)
    return {"Records": records}
