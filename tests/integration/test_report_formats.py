"""A report in each binary format through the worker under moto: the object at
reports/{tenant}/{job}.{ext} with its content type, downloaded by its presigned URL under its name."""

import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import openpyxl
import pytest
import requests

from tests.factories import order
from tests.integration.test_report_flow import deliver, get_report, request_report
from tests.moto_stack import REGION
from tests.template_model import Resolver

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def orders(seed: Callable[..., Any]) -> None:
    seed(
        orders=(
            order(datetime(2026, 11, 2, 12, tzinfo=UTC), ("MUG", 2, "6.50")),
            order(datetime(2026, 11, 20, 18, tzinfo=UTC), ("MUG", 1, "6.50"), ("TEA", 3, "4.25")),
        )
    )


@pytest.mark.usefixtures("orders")
def test_an_xlsx_sales_summary_is_written_by_the_worker_and_downloaded_by_name(
    stack: Resolver, lambda_context: Any
) -> None:
    job_id = request_report(lambda_context, body={"from": "2026-11-01", "to": "2026-11-27", "format": "xlsx"})
    assert deliver(stack, lambda_context) == {"batchItemFailures": []}

    s3 = boto3.client("s3", region_name=REGION)
    stored = s3.get_object(Bucket=stack.physical["ReportsBucket"], Key=f"reports/acme/{job_id}.xlsx")
    assert stored["ContentType"] == XLSX
    name = "sales_summary-2026-11-01-2026-11-27.xlsx"
    assert stored["ContentDisposition"] == f'attachment; filename="{name}"'
    body = stored["Body"].read()
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["Summary", "Sales by day", "Top products"]
    assert [[c.value for c in row] for row in book["Top products"].iter_rows(min_row=2)] == [
        ["MUG", 3, 19.5],
        ["TEA", 3, 12.75],
    ]

    status, job = get_report(job_id, lambda_context)
    assert (status, job["status"], job["result_bytes"]) == (200, "succeeded", len(body))
    url = job["result"]["url"]
    # The name and the 15 minutes are signed into the URL.
    query = parse_qs(urlsplit(url).query)
    assert query["response-content-disposition"] == [f'attachment; filename="{name}"']
    assert query.get("X-Amz-Expires", query.get("Expires")) is not None
    if "X-Amz-Expires" in query:
        assert query["X-Amz-Expires"] == ["900"]
    downloaded = requests.get(url, timeout=5)
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Type"] == XLSX
    assert downloaded.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert downloaded.content == body


@pytest.mark.usefixtures("orders")
def test_a_pdf_and_a_csv_are_stored_with_their_types(stack: Resolver, lambda_context: Any) -> None:
    jobs = {
        fmt: request_report(lambda_context, body={"from": "2026-11-01", "to": "2026-11-27", "format": fmt})
        for fmt in ("pdf", "csv")
    }
    assert deliver(stack, lambda_context) == {"batchItemFailures": []}
    s3 = boto3.client("s3", region_name=REGION)
    bucket = stack.physical["ReportsBucket"]
    pdf = s3.get_object(Bucket=bucket, Key=f"reports/acme/{jobs['pdf']}.pdf")
    assert pdf["ContentType"] == "application/pdf"
    assert pdf["Body"].read().startswith(b"%PDF-")
    csv = s3.get_object(Bucket=bucket, Key=f"reports/acme/{jobs['csv']}.csv")
    assert csv["ContentType"] == "text/csv; charset=utf-8"
    assert csv["Body"].read().decode().splitlines()[:3] == [
        "day,orders,units,revenue_gbp",
        "2026-11-01,0,0,0.00",
        "2026-11-02,1,2,13.00",
    ]
