"""Report jobs: requested here, run by the report worker, read back here with a download link."""

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit

from tandem.handlers.api.http import PreferHeader, caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import report_dispatch, reports
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
from tandem.models.reports import SalesSummary
from tandem.observability import logger, metrics

router = Router()
TAGS = ["reports"]


# The headers of POST /reports' answers, as the OpenAPI document states them.
_STRING = {"type": "string"}
_ESTIMATE = {
    "description": (
        "the estimate and the path taken, e.g. `rows=1234; limit=5000; path=inline`: `rows` orders in "
        "the period (counted no further than past `limit`, the most the inline budget holds); "
        "`path=async` alone when `Prefer: respond-async` asked for a job and nothing was estimated; "
        "`path=async; reason=worker_only` for what only the report worker makes (the lake's kinds, "
        "`xlsx` and `pdf`)"
    ),
    "schema": _STRING,
}
_APPLIED = {
    "description": "the preferences of `Prefer` that were honoured (RFC 7240): `respond-async`, `wait=N`",
    "schema": _STRING,
}
_VARY = {"description": "`Prefer`: the same request may be answered inline or with a job", "schema": _STRING}
_POST_RESPONSES = {
    **documented(202, JobAccepted, 401, 403, 415, 422, 503),
    200: {
        "description": "Answered inline: the sales summary, the same document a job would store",
        "content": {"application/json": {"model": SalesSummary}},
        "headers": {"Tandem-Estimate": _ESTIMATE, "Preference-Applied": _APPLIED, "Vary": _VARY},
    },
}
_POST_RESPONSES[202] = {
    **_POST_RESPONSES[202],
    "description": "Queued as a job: poll `Location`",
    "headers": {
        "Location": {"description": "the job: GET /reports/{job_id}", "schema": _STRING},
        "Tandem-Estimate": _ESTIMATE,
        "Preference-Applied": _APPLIED,
        "Vary": _VARY,
    },
}


@router.post(
    "/reports",
    summary="Request a report",
    description=(
        "Estimates the work (the orders in the period, counted) and answers **200** with the sales "
        "summary itself when it is small enough to finish well within a second, or records a job, "
        "queues it for the report worker and answers **202** with the job's id: poll the `Location` "
        "(GET /reports/{job_id}) until it has succeeded, then download the result. `Prefer: "
        "respond-async` always gets a job; `Prefer: wait=N` allows up to N seconds for an inline "
        "answer (at most 8), then a job. `Tandem-Estimate` says what was estimated and which path "
        "was taken, `Preference-Applied` which preferences were honoured; other preferences are "
        "ignored. A 503 (`enqueue_failed`) means the job could not be queued: it is marked failed, "
        "request it again."
    ),
    tags=TAGS,
    responses=_POST_RESPONSES,
)
def create_report(
    request: ReportRequest,
    prefer: PreferHeader = None,
) -> Response[str]:
    principal = caller(router, "reports:write")
    preferences = report_dispatch.parse_prefer(prefer)
    done = report_dispatch.dispatch_report(
        principal.tenant_id,
        request.to_params(),
        preferences,
        root.report_dispatch(),
        logger.get_correlation_id(),
    )
    headers = {"Tandem-Estimate": _estimate(done), "Vary": "Prefer"}
    if done.applied:
        headers["Preference-Applied"] = ", ".join(done.applied)
    logger.info(
        "report dispatched",
        extra={
            "path": done.path.value,
            "rows": done.rows,
            "limit_rows": done.limit_rows,
            "budget_seconds": done.budget_seconds,
            "preferences_applied": list(done.applied),
            "overran": done.overran,
            "estimate_seconds": done.estimate_seconds,
        },
    )
    if done.overran:
        metrics.add_metric(name="ReportInlineOverran", unit=MetricUnit.Count, value=1)
    if done.summary is not None:
        metrics.add_metric(name="ReportDispatchedInline", unit=MetricUnit.Count, value=1)
        return json_response(HTTPStatus.OK, done.summary, headers=headers)
    assert done.job is not None  # an async dispatch always has its job
    metrics.add_metric(name="ReportDispatchedAsync", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ReportRequested", unit=MetricUnit.Count, value=1)
    status_url = f"/reports/{done.job.job_id}"
    body = JobAccepted(job_id=done.job.job_id, status=done.job.status, status_url=status_url)
    return json_response(HTTPStatus.ACCEPTED, body, headers={**headers, "Location": status_url})


def _estimate(done: report_dispatch.Dispatch) -> str:
    if done.reason is not None:
        return f"path={done.path.value}; reason={done.reason}"
    if done.rows is None:
        return f"path={done.path.value}"
    return f"rows={done.rows}; limit={done.limit_rows}; path={done.path.value}"


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
        params={
            "from": job.params.date_from.isoformat(),
            "to": job.params.date_to.isoformat(),
            "format": job.params.format.value,
            "granularity": job.params.granularity.value,
            "filters": job.params.filters.model_dump(exclude_none=True),
        },
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
        notified=job.notified,
    )
