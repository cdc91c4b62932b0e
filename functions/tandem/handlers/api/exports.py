"""Table exports: every table of the deployment backed up to the data bucket as a job of the report
worker (tandem.logic.exports), its state read back here. Admin scope only: see `EXPORT_SCOPE`."""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from tandem.handlers.api.http import caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import exports
from tandem.logic.backups import manifest_key
from tandem.models.api import JobAccepted
from tandem.models.backups import ExportRequest, ExportView
from tandem.models.records import JobId, JobStatus, Scope
from tandem.observability import logger, metrics

router = Router()
TAGS = ["exports"]

# An export holds every tenant's rows and the key table, so no right over one's own tenant's data
# (reports:*, orders:*) may start or read one: only `admin`, the deployment operator's scope.
EXPORT_SCOPE: Scope = "admin"


@router.post(
    "/exports",
    summary="Export every table (a backup)",
    description=(
        "Records a job that backs up every table of the deployment to "
        "`backups/{date}/{table}.jsonl.gz` in the data bucket, with `backups/{date}/manifest.json`, "
        "and queues it; answers at once with the job's id. A second export of the same date "
        "rewrites it. Poll the `Location` (GET /exports/{job_id}). Needs the admin scope."
    ),
    tags=TAGS,
    responses=documented(202, JobAccepted, 401, 403, 415, 422, 503),
)
def create_export(request: ExportRequest) -> Response[str]:
    principal = caller(router, EXPORT_SCOPE)
    job = exports.request_export(
        principal.tenant_id, request.day, root.exports(), logger.get_correlation_id()
    )
    metrics.add_metric(name="ExportRequested", unit=MetricUnit.Count, value=1)
    status_url = f"/exports/{job.job_id}"
    body = JobAccepted(job_id=job.job_id, status=job.status, status_url=status_url)
    return json_response(HTTPStatus.ACCEPTED, body, headers={"Location": status_url})


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
    day = job.params.date_from
    view = ExportView(
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
    return json_response(HTTPStatus.OK, view)
