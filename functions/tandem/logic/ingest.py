"""Raw files sent over the API (POST /ingest/{source}): landed in the data bucket as they came.

A file goes to raw/{tenant}/{source}/{date}/{name} (tandem.logic.lake.layout.raw_key, which checks
every part), either written at once (inline bytes) or uploaded by the client to a presigned URL.
Nothing else happens here: the object's S3 event starts the lake's intake. The same name, source
and day again replaces the file (the bucket keeps the earlier version), so a resend is harmless.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from tandem.logic.errors import InvalidRequestError, NotFoundError
from tandem.logic.lake.layout import raw_key
from tandem.logic.lake.sources import EXPORT_SOURCES
from tandem.logic.ports import Clock, RawUploads
from tandem.models.ingest import FileStored, IngestRequest, UploadAwaited, UploadInstructions

# How long a presigned upload URL works. Long enough for a slow link to send a large export,
# short enough that a leaked URL soon stops writing into the tenant's lake.
UPLOAD_URL_TTL_SECONDS = 15 * 60
# A file may be dated up to this many days after today (a shop a zone ahead of the deployment's
# exports "tomorrow"); later is a typo, and a file of the far future would sit unread.
MAX_DAYS_AHEAD = 1

# The object's content type, by the file's suffix (longest first: .csv.gz before .csv). Gzip
# files are application/gzip, never Content-Encoding: gzip, which clients undo on download.
CONTENT_TYPES = (
    (".csv.gz", "application/gzip"),
    (".jsonl.gz", "application/gzip"),
    (".csv", "text/csv"),
    (".jsonl", "application/x-ndjson"),
    (".ndjson", "application/x-ndjson"),
    (".json", "application/json"),
)


class DateTooLateError(InvalidRequestError):
    """The file's date is more than MAX_DAYS_AHEAD days after today in the deployment's zone.

    Answered as the envelope's other whole-body refusals are (`validation_error`, `loc: ["body"]`):
    the schema states the date's shape, but cannot compare it with today.
    """

    code = "validation_error"


@dataclass(frozen=True)
class IngestDeps:
    uploads: RawUploads
    clock: Clock
    # The deployment's reporting zone: a file sent without a date is today's there.
    zone: ZoneInfo
    upload_ttl_seconds: int = UPLOAD_URL_TTL_SECONDS


def content_type_of(file_name: str) -> str:
    lowered = file_name.lower()
    return next(
        (kind for suffix, kind in CONTENT_TYPES if lowered.endswith(suffix)), "application/octet-stream"
    )


def accept_file(
    tenant_id: str, source: str, request: IngestRequest, deps: IngestDeps
) -> FileStored | UploadAwaited:
    """Store the inline file under its raw key, or hand out a presigned URL to upload it there."""
    _check_known(source)
    now = deps.clock()
    today = now.astimezone(deps.zone).date()
    day = request.date or today
    _check_not_too_late(day, today)
    key = raw_key(tenant_id, source, day, request.file_name)
    content_type = content_type_of(request.file_name)
    body = request.inline_body()
    if body is not None:
        deps.uploads.put(key, body, content_type)
        return FileStored(key=key, source=source, date=day, file_name=request.file_name, status="stored")
    url, headers = deps.uploads.presign_put(key, content_type, deps.upload_ttl_seconds)
    upload = UploadInstructions(
        method="PUT", url=url, headers=headers, expires_at=now + timedelta(seconds=deps.upload_ttl_seconds)
    )
    return UploadAwaited(
        key=key, source=source, date=day, file_name=request.file_name, status="awaiting_upload", upload=upload
    )


def _check_known(source: str) -> None:
    if source not in EXPORT_SOURCES:
        # The caller's source is not repeated (a path segment may hold anything); the list is.
        message = f"no such source; the sources are: {', '.join(EXPORT_SOURCES)}"
        context = {"sources": list(EXPORT_SOURCES)}
        raise NotFoundError(
            message, [{"loc": ["path", "source"], "msg": message, "type": "unknown_source", "ctx": context}]
        )


def _check_not_too_late(day: date, today: date) -> None:
    latest = today + timedelta(days=MAX_DAYS_AHEAD)
    if day > latest:
        message = f"'date' may be at most {MAX_DAYS_AHEAD} day after today ({today.isoformat()})"
        context = {"latest": latest.isoformat()}
        raise DateTooLateError(
            message, [{"loc": ["body"], "msg": message, "type": "date_too_late", "ctx": context}]
        )
