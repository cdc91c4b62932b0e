"""Report jobs: requested here, run by the report worker, read back here with a download link."""

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit

from tandem.handlers.api.http import caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import reports
from tandem.models.api import (
    CURSOR_DESCRIPTION,
    JobAccepted,
    JobPage,
    JobResult,
    JobView,
    PageCursor,
    ReportRequest,
)
from tandem.models.records import Job, JobId, JobStatus
from tandem.observability import logger, metrics

router = Router()
TAGS = ["reports"]


@router.post(
    "/reports",
    summary="Request a report",
    description=(
        "Records a report job and queues it for the report worker; answers at once with the job's id. "
        "Poll the `Location` (GET /reports/{job_id}) until it has succeeded, then download the result. "
        "A 503 (`enqueue_failed`) means the job could not be queued: it is marked failed, request it again."
    ),
    tags=TAGS,
    responses=documented(202, JobAccepted, 401, 403, 415, 422, 503),
)
def create_report(request: ReportRequest) -> Response[str]:
    principal = caller(router, "reports:write")
    job = reports.request_report(
        principal.tenant_id, request.to_params(), root.reports(), logger.get_correlation_id()
    )
    metrics.add_metric(name="ReportRequested", unit=MetricUnit.Count, value=1)
    status_url = f"/reports/{job.job_id}"
    body = JobAccepted(job_id=job.job_id, status=job.status, status_url=status_url)
    return json_response(HTTPStatus.ACCEPTED, body, headers={"Location": status_url})


@router.get(
    "/reports/<job_id>",
    summary="Get a report job",
    description=(
        "The job's state, attempts and error; once it has succeeded, a presigned download link that "
        "expires (`result.expires_at`). Another tenant's job is not found (404)."
    ),
    tags=TAGS,
    responses=documented(200, JobView, 401, 403, 404, 422),
)
def get_report(job_id: JobId) -> Response[str]:
    principal = caller(router, "reports:read")
    job, link = reports.report_status(principal.tenant_id, job_id, root.reports())
    result = JobResult(url=link[0], expires_at=link[1]) if link else None
    return json_response(HTTPStatus.OK, _job_view(job, result))


@router.get(
    "/reports",
    summary="List report jobs",
    description=(
        "The caller's report jobs, newest first, a page at a time, optionally of one `status`. "
        "Pass `next_cursor` back as `cursor` for the next page. Download links are at GET /reports/{job_id}."
    ),
    tags=TAGS,
    responses=documented(200, JobPage, 401, 403, 422),
)
def list_reports(
    status: Annotated[JobStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[PageCursor | None, Query(description=CURSOR_DESCRIPTION)] = None,
) -> Response[str]:
    principal = caller(router, "reports:read")
    query = reports.ReportQuery(status=status, limit=limit, cursor=cursor)
    jobs, next_cursor = reports.list_reports(principal.tenant_id, query, root.report_listing())
    items = [_job_view(job, None) for job in jobs]
    return json_response(HTTPStatus.OK, JobPage(items=items, next_cursor=next_cursor))


def _job_view(job: Job, result: JobResult | None) -> JobView:
    return JobView(
        job_id=job.job_id,
        kind=job.params.kind,
        params={"from": job.params.date_from.isoformat(), "to": job.params.date_to.isoformat()},
        status=job.status,
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        attempts=job.attempts,
        error=job.error,
        result=result,
        progress=job.progress,
        failure_reason=job.failure_reason,
        result_bytes=job.result_bytes,
        duration_seconds=job.duration_seconds,
    )
