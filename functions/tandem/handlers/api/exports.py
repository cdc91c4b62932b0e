"""Table exports: every table of the deployment backed up to the data bucket as a job of the report
worker (tandem.logic.exports), its state read back here. Admin scope only: see `EXPORT_SCOPE`."""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from tandem.handlers.api.http import PreferHeader, caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import exports, report_dispatch
from tandem.logic.backups import manifest_key
from tandem.models.api import JobAccepted
from tandem.models.backups import ExportRequest, ExportView
from tandem.models.records import Job, JobId, JobStatus, Scope
from tandem.observability import logger, metrics

router = Router()
TAGS = ["exports"]

# An export holds every tenant's rows and the key table, so no right over one's own tenant's data
# (reports:*, orders:*) may start or read one: only `admin`, the deployment operator's scope.
EXPORT_SCOPE: Scope = "admin"


_STRING = {"type": "string"}
_HEADERS = {
    "Tandem-Estimate": {
        "description": (
            "the estimate and the path taken, e.g. `items=1234; limit=2000; path=inline`: the items of "
            "every table (DynamoDB's own count, refreshed about every six hours), the most the budget "
            "holds; `path=async` alone when `Prefer: respond-async` asked for a job"
        ),
        "schema": _STRING,
    },
    "Preference-Applied": {"description": "the preferences of `Prefer` honoured", "schema": _STRING},
    "Vary": {"description": "`Prefer`", "schema": _STRING},
}
_POST_RESPONSES = documented(202, JobAccepted, 401, 403, 415, 422, 503)
_POST_RESPONSES[202] = {
    **_POST_RESPONSES[202],
    "description": "Queued, and not ended within the budget: poll `Location`",
    "headers": {"Location": {"description": "GET /exports/{job_id}", "schema": _STRING}, **_HEADERS},
}
_POST_RESPONSES[200] = {
    "description": "The export's job ended while the API waited: its final state (succeeded or failed)",
    "content": {"application/json": {"model": ExportView}},
    "headers": {"Location": {"description": "GET /exports/{job_id}", "schema": _STRING}, **_HEADERS},
}


@router.post(
    "/exports",
    summary="Export every table (a backup)",
    description=(
        "Records a job that backs up every table of the deployment to "
        "`backups/{date}/{table}.jsonl.gz` in the data bucket, with `backups/{date}/manifest.json`, "
        "and queues it for the report worker. When the tables are small enough (their items, as "
        "DynamoDB counts them) for the job to end within the budget (2 s by default), the API waits "
        "for it and answers **200** with its final state; otherwise **202** at once with the job's id: "
        "poll the `Location` (GET /exports/{job_id}). `Prefer: respond-async` always gets 202 at once; "
        "`Prefer: wait=N` allows up to N seconds (at most 8). A second export of the same date "
        "rewrites it. Needs the admin scope."
    ),
    tags=TAGS,
    responses=_POST_RESPONSES,
)
def create_export(
    request: ExportRequest,
    prefer: PreferHeader = None,
) -> Response[str]:
    principal = caller(router, EXPORT_SCOPE)
    done = exports.dispatch_export(
        principal.tenant_id,
        request.day,
        report_dispatch.parse_prefer(prefer),
        root.export_dispatch(),
        logger.get_correlation_id(),
    )
    estimate = (
        f"path={done.path.value}"
        if done.items is None
        else f"items={done.items}; limit={done.limit_items}; path={done.path.value}"
    )
    status_url = f"/exports/{done.job.job_id}"
    headers = {"Tandem-Estimate": estimate, "Vary": "Prefer", "Location": status_url}
    if done.applied:
        headers["Preference-Applied"] = ", ".join(done.applied)
    logger.info(
        "export dispatched",
        extra={
            "path": done.path.value,
            "items": done.items,
            "limit_items": done.limit_items,
            "waited": done.waited,
        },
    )
    metrics.add_metric(name="ExportRequested", unit=MetricUnit.Count, value=1)
    if done.path is report_dispatch.Path.INLINE:
        metrics.add_metric(name="ExportAnsweredInline", unit=MetricUnit.Count, value=1)
        return json_response(HTTPStatus.OK, _view(done.job), headers=headers)
    metrics.add_metric(name="ExportDispatchedAsync", unit=MetricUnit.Count, value=1)
    body = JobAccepted(job_id=done.job.job_id, status=done.job.status, status_url=status_url)
    return json_response(HTTPStatus.ACCEPTED, body, headers=headers)


@router.get(
    "/exports/<job_id>",
    summary="Get an export job",
    description=(
        "The export job's state, attempts and error; once it has succeeded, the key of its manifest "
        "in the data bucket. Another tenant's job, or a report job, is not found (404). Needs the "
        "admin scope."
    ),
    tags=TAGS,
    responses=documented(200, ExportView, 401, 403, 404, 422),
)
def get_export(job_id: JobId) -> Response[str]:
    principal = caller(router, EXPORT_SCOPE)
    job = exports.export_status(principal.tenant_id, job_id, root.exports())
    return json_response(HTTPStatus.OK, _view(job))


def _view(job: Job) -> ExportView:
    day = job.params.date_from
    return ExportView(
        job_id=job.job_id,
        day=day,
        status=job.status,
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        attempts=job.attempts,
        error=job.error,
        manifest_key=manifest_key(day) if job.status is JobStatus.SUCCEEDED else None,
    )
