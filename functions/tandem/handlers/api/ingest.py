"""The lake's intake over the API: a shop's export file sent in, inline or by a presigned upload."""

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.metrics import MetricUnit

from tandem.handlers.api.http import caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import ingest
from tandem.logic.lake.sources import EXPORT_SOURCES
from tandem.models.ingest import IngestAccepted, IngestRequest
from tandem.observability import logger, metrics

router = Router()
TAGS = ["lake"]


@router.post(
    "/ingest/<source>",
    summary="Send a raw export file",
    description=(
        "Lands one export file of `source` in the tenant's lake as it came, under "
        "`raw/{tenant}/{source}/{date}/{file_name}`; the lake's intake takes it from there. Up to 1 MiB "
        "can come inline: `content` (text, stored as UTF-8) or `content_base64` (any bytes, e.g. a .gz), "
        "answered `stored`. Without either, the answer is `awaiting_upload` with a presigned URL: PUT the "
        "bytes to `upload.url` with exactly `upload.headers` within 15 minutes. The same file name, source "
        "and date again replaces the file. An unknown source is a 404 naming the known ones."
    ),
    tags=TAGS,
    responses=documented(202, IngestAccepted, 401, 403, 404, 415, 422),
)
def ingest_file(
    # Listed as an enum so that clients (and the fuzzer) know them; any other is a 404 naming them.
    source: Annotated[
        str, Path(description="the kind of export", json_schema_extra={"enum": list(EXPORT_SOURCES)})
    ],
    request: IngestRequest,
) -> Response[str]:
    principal = caller(router, "ingest:write")
    accepted = ingest.accept_file(principal.tenant_id, source, request, root.ingest())
    metrics.add_metric(name="RawFileAccepted", unit=MetricUnit.Count, value=1)
    logger.info("raw file accepted", extra={"key": accepted.key, "status": accepted.status})
    return json_response(HTTPStatus.ACCEPTED, accepted)
