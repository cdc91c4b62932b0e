"""GET /reports under moto: the tenant's report jobs, newest first, filtered by status, paged with
signed cursors over JobsTable's `by_created_at` index (created from template.yaml)."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from tandem.adapters.jobs_table import JobsTable
from tandem.handlers import api
from tandem.models.records import Job, JobStatus, ReportKind, ReportParams
from tests.events import http_event
from tests.integration.test_api import assert_matches_openapi
from tests.integration.test_report_flow import deliver, get_report, request_report
from tests.moto_stack import REGION
from tests.template_model import Resolver

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PARAMS = ReportParams(date_from=date(2026, 11, 1), date_to=date(2026, 11, 27))
# The statuses of acme's jobs, oldest (job-00) first: a mix, so a filter skips items within a page.
STATUSES = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.QUEUED] * 4 + [JobStatus.RUNNING]


def _job(tenant: str, n: int, status: JobStatus, kind: ReportKind = ReportKind.SALES_SUMMARY) -> Job:
    # Whole seconds apart, the first at a whole second: pydantic would write T0 without a
    # fraction, the others with one, which sort wrongly as text; the adapter writes them alike.
    created = T0 + timedelta(seconds=n, microseconds=0 if n == 0 else 250_000)
    return Job(
        tenant_id=tenant,
        job_id=f"job-{n:02d}",
        params=PARAMS.model_copy(update={"kind": kind}),
        status=status,
        created_at=created,
        updated_at=created,
    )


@pytest.fixture
def jobs(stack: Resolver) -> list[Job]:
    """acme's 13 report jobs, a table export of acme's, and a job of bravo's."""
    table = JobsTable(stack.physical["JobsTable"], boto3.resource("dynamodb", region_name=REGION))
    mine = [_job("acme", n, status) for n, status in enumerate(STATUSES)]
    for job in mine:
        table.create(job)
    table.create(_job("acme", 50, JobStatus.SUCCEEDED, ReportKind.TABLE_EXPORT))
    table.create(_job("bravo", 60, JobStatus.SUCCEEDED))
    return mine


def _list(lambda_context: Any, tenant: str = "acme", **query: str) -> tuple[int, dict[str, Any]]:
    event = http_event("GET", "/reports", tenant=tenant)
    event["queryStringParameters"] = query or None
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def _all_pages(lambda_context: Any, **query: str) -> tuple[list[str], list[int]]:
    ids: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        status, page = _list(lambda_context, **query, **({"cursor": cursor} if cursor else {}))
        assert status == 200, page
        assert_matches_openapi(page, "/reports", "get", 200, lambda_context)
        ids += [item["job_id"] for item in page["items"]]
        sizes.append(len(page["items"]))
        cursor = page["next_cursor"]
        if not cursor:
            return ids, sizes


def test_the_list_is_the_tenants_report_jobs_newest_first(jobs: list[Job], lambda_context: Any) -> None:
    status, page = _list(lambda_context)
    assert status == 200
    # default limit 20 > 13: one page, no table export, no other tenant's job
    assert [item["job_id"] for item in page["items"]] == [f"job-{n:02d}" for n in reversed(range(13))]
    assert page["next_cursor"] is None
    first = page["items"][0]
    assert first["status"] == "running"
    assert first["kind"] == "sales_summary"
    assert first["params"] == {
        "from": "2026-11-01",
        "to": "2026-11-27",
        "format": "json",
        "granularity": "day",
        "filters": {},
    }
    assert first["created_at"].startswith("2026-11-30T09:00:12.25")
    assert first["progress"] == 0
    assert first["result"] is None
    assert_matches_openapi(page, "/reports", "get", 200, lambda_context)


def test_pages_follow_the_cursor_to_the_end(jobs: list[Job], lambda_context: Any) -> None:
    ids, sizes = _all_pages(lambda_context, limit="5")
    assert ids == [f"job-{n:02d}" for n in reversed(range(13))]
    assert sizes == [5, 5, 3]


@pytest.mark.parametrize("wanted", ["succeeded", "failed", "queued", "running"])
def test_a_status_filter_gives_full_pages_of_that_status(
    wanted: str, jobs: list[Job], lambda_context: Any
) -> None:
    expected = [job.job_id for job in reversed(jobs) if job.status.value == wanted]
    ids, sizes = _all_pages(lambda_context, status=wanted, limit="2")
    assert ids == expected
    assert all(size == 2 for size in sizes[:-1])  # the filter never leaves a page short but the last


def test_another_tenant_sees_only_its_own_and_cannot_use_my_cursor(
    jobs: list[Job], lambda_context: Any
) -> None:
    status, page = _list(lambda_context, tenant="bravo")
    assert (status, [item["job_id"] for item in page["items"]]) == (200, ["job-60"])
    _, mine = _list(lambda_context, limit="2")
    status, body = _list(lambda_context, tenant="bravo", cursor=mine["next_cursor"])
    assert (status, body["error"]) == (422, "invalid_request")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "lost"}, "status"),
        ({"cursor": "bad cursor!"}, "cursor"),
    ],
)
def test_bad_parameters_are_a_422_naming_the_parameter(
    query: dict[str, str], field: str, jobs: list[Job], lambda_context: Any
) -> None:
    status, body = _list(lambda_context, **query)
    assert status == 422
    assert body["error"] == "validation_error"
    assert body["details"][0]["loc"] == ["query", field]


def test_a_forged_cursor_is_a_422(jobs: list[Job], lambda_context: Any) -> None:
    _, page = _list(lambda_context, limit="2")
    forged = page["next_cursor"][:-2] + ("AA" if not page["next_cursor"].endswith("AA") else "BB")
    status, body = _list(lambda_context, cursor=forged)
    assert (status, body["error"]) == (422, "invalid_request")


def test_the_list_needs_the_read_scope(jobs: list[Job], lambda_context: Any) -> None:
    event = http_event("GET", "/reports", scopes="orders:read")
    assert api.handler(event, lambda_context)["statusCode"] == 403


def test_a_finished_job_shows_its_progress_size_and_duration(stack: Resolver, lambda_context: Any) -> None:
    job_id = request_report(lambda_context)
    _, queued = get_report(job_id, lambda_context)
    assert (queued["status"], queued["progress"], queued["result_bytes"]) == ("queued", 0, None)

    assert deliver(stack, lambda_context) == {"batchItemFailures": []}

    status, job = get_report(job_id, lambda_context)
    assert status == 200
    stored = boto3.client("s3", region_name=REGION).get_object(
        Bucket=stack.physical["ReportsBucket"], Key=f"reports/acme/{job_id}.json"
    )
    assert (job["status"], job["progress"], job["attempts"]) == ("succeeded", 100, 1)
    assert job["result_bytes"] == stored["ContentLength"] == len(stored["Body"].read())
    started = datetime.fromisoformat(job["started_at"])
    finished = datetime.fromisoformat(job["finished_at"])
    assert job["duration_seconds"] == pytest.approx((finished - started).total_seconds(), abs=0.001)
    assert (job["error"], job["failure_reason"]) == (None, None)
    assert_matches_openapi(job, "/reports/{job_id}", "get", 200, lambda_context)
    _, page = _list(lambda_context)
    listed = page["items"][0]
    assert listed == {**job, "result": None}


def test_a_report_that_cannot_be_queued_is_a_503_and_a_failed_job(
    stack: Resolver, lambda_context: Any
) -> None:
    # The queue is gone: every send fails as SQS answers it (QueueDoesNotExist).
    boto3.client("sqs", region_name=REGION).delete_queue(QueueUrl=stack.physical["ReportQueue"])
    event = http_event(
        "POST",
        "/reports",
        body={"from": "2026-11-01", "to": "2026-11-27"},
        headers={"Prefer": "respond-async"},
    )
    response = api.handler(event, lambda_context)
    body = json.loads(response["body"])
    assert response["statusCode"] == 503
    assert body["error"] == "enqueue_failed"
    assert_matches_openapi(body, "/reports", "post", 503, lambda_context)
    job_id = body["details"][0]["ctx"]["job_id"]
    status, job = get_report(job_id, lambda_context)
    assert (status, job["status"], job["failure_reason"]) == (200, "failed", "enqueue_failed")
    _, page = _list(lambda_context, status="failed")
    assert [item["job_id"] for item in page["items"]] == [job_id]
