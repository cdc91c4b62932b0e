"""`tandem ingest`'s work with the data bucket: raw files put under their date, then (--wait) the
worker's manifests read back until every file is in them.

Each file goes on its own: a file that cannot be dated, named or uploaded is reported and the
others still go; the exit code says whether any failed. Files go up byte for byte, as the
worker must see what the shop exported (encoding, compression and all).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tandem.logic.lake.layout import TENANT_PATTERN, RunManifest, manifest_key, raw_key
from tandem.logic.lake.sources import Source
from tandem.models.lake import FileManifest
from tandem_local.ingest import FileRefused, day_of, files_in, read

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class IngestRequest:
    tenant: str
    source: Source
    paths: Sequence[Path]
    zone: ZoneInfo  # the tenant's: where an instant's calendar day is taken
    day: date | None = None  # --date: every file under it, whatever its rows say
    wait: float | None = None  # --wait: seconds to wait for the manifests


@dataclass(frozen=True)
class Landed:
    path: Path
    day: date
    key: str
    dated: str  # how the date was chosen, for the summary
    uploaded_at: datetime | None  # the raw object's LastModified (S3's clock): only when waiting


@dataclass(frozen=True)
class Consoles:
    out: Console  # what was written and what the worker made of it
    err: Console  # progress and failures


def ingest(
    s3: S3Client,
    bucket: str,
    request: IngestRequest,
    consoles: Consoles,
    *,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Upload every file the paths name; 0 when all of them went (and, waiting, were curated), else 1."""
    if not TENANT_PATTERN.match(request.tenant):
        raise ValueError(f"not a tenant id: {request.tenant!r}")
    expanded = files_in(request.paths)
    failed = len(expanded.problems)
    for problem in expanded.problems:
        consoles.err.print(f"[red]error:[/] {escape(problem)}")
    landed = _upload_all(s3, bucket, request, expanded.files, consoles.err)
    failed += len(expanded.files) - len(landed)
    if landed and request.wait is not None:
        curated = _wait(s3, bucket, request, landed, consoles.err, sleep, clock)
        failed += _report_curated(request, landed, curated, consoles)
    elif landed:
        _report_uploaded(bucket, request, landed, consoles.out)
    total = len(expanded.files) + len(expanded.problems)
    if not total:
        consoles.err.print("[red]error:[/] no file to ingest")
    elif failed:
        consoles.err.print(f"[red]{failed} of {total} failed[/]")
    return 1 if failed or not total else 0


def _progress(console: Console, count: int) -> Progress:
    # A bar only says something when there is more than one file.
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=count < 2,
    )


def _upload_all(
    s3: S3Client, bucket: str, request: IngestRequest, files: Sequence[Path], err: Console
) -> list[Landed]:
    landed: list[Landed] = []
    taken: dict[str, Path] = {}
    with _progress(err, len(files)) as progress:
        task = progress.add_task("uploading", total=len(files))
        for path in files:
            try:
                one = _upload(s3, bucket, request, path, taken)
            except FileRefused as refused:
                progress.console.print(f"[red]error:[/] {escape(str(path))}: {escape(str(refused))}")
            else:
                landed.append(one)
                taken[one.key] = path
            progress.advance(task)
    return landed


def _upload(s3: S3Client, bucket: str, request: IngestRequest, path: Path, taken: dict[str, Path]) -> Landed:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FileRefused(f"cannot read it: {error.strerror}") from None
    # Read even when --date is given: a file the worker cannot read should not land at all.
    raw = read(path.name, data)
    day = request.day or day_of(request.source, raw, request.zone)
    try:
        key = raw_key(request.tenant, request.source.name, day, path.name)
    except ValueError as refused:  # the tenant was checked first: this is the file's name
        raise FileRefused(
            f"{refused}; rename it: letters, digits, '.', '_' and '-', starting with a letter or digit"
        ) from None
    if key in taken:  # two folders' files of the same name and date: the second would replace the first
        raise FileRefused(f"{taken[key]} already goes to {key}: rename one of them")
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=data, ServerSideEncryption="AES256")
        # S3's own clock dates the upload, so a manifest written before it is never taken for its result.
        uploaded_at = s3.head_object(Bucket=bucket, Key=key)["LastModified"] if request.wait else None
    except (BotoCoreError, ClientError) as error:
        raise FileRefused(f"upload to s3://{bucket}/{key} failed: {error}") from None
    return Landed(path, day, key, "--date" if request.day else "its rows", uploaded_at)


def _manifest(s3: S3Client, bucket: str, tenant: str, day: date) -> tuple[RunManifest, datetime] | None:
    try:
        answer = s3.get_object(Bucket=bucket, Key=manifest_key(tenant, day))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):  # not written yet
            return None
        raise
    return RunManifest.model_validate_json(answer["Body"].read()), answer["LastModified"]


def _wait(
    s3: S3Client,
    bucket: str,
    request: IngestRequest,
    landed: Sequence[Landed],
    err: Console,
    sleep: Callable[[float], object],
    clock: Callable[[], float],
) -> dict[str, FileManifest]:
    """Each landed file's entry in its date's manifest (by raw key), as far as found within --wait."""
    deadline = clock() + (request.wait or 0)
    found: dict[str, FileManifest] = {}
    err.print(f"waiting up to {request.wait:g} s for the worker's manifests …")
    with _progress(err, len(landed)) as progress:
        task = progress.add_task("curated", total=len(landed))
        while True:
            pending = [one for one in landed if one.key not in found]
            for day in sorted({one.day for one in pending}):
                written = _manifest(s3, bucket, request.tenant, day)
                if written is None:
                    continue
                manifest, modified = written
                entries = {entry.file: entry for entry in manifest.sources.get(request.source.name, [])}
                for one in pending:
                    fresh = one.uploaded_at is None or modified >= one.uploaded_at
                    if one.day == day and one.path.name in entries and fresh:
                        found[one.key] = entries[one.path.name]
            progress.update(task, completed=len(found))
            left = deadline - clock()
            if len(found) == len(landed) or left <= 0:
                return found
            sleep(min(POLL_SECONDS, left))


def _quarantined(entry: FileManifest) -> str:
    if entry.error:
        return f"unreadable: {entry.error}"
    reasons = ", ".join(f"{reason} {count}" for reason, count in entry.quarantined_by_reason.items())
    return f"{entry.rows_quarantined} ({reasons})" if reasons else str(entry.rows_quarantined)


def _report_curated(
    request: IngestRequest,
    landed: Sequence[Landed],
    curated: dict[str, FileManifest],
    consoles: Consoles,
) -> int:
    """The worker's counts per file; returns how many files failed there (unreadable, or not curated)."""
    table = Table(title=f"{request.tenant} / {request.source.name}: what the worker made of each file")
    table.add_column("file", no_wrap=True)
    table.add_column("date", no_wrap=True)
    for column in ("rows in", "curated"):
        table.add_column(column, justify="right")
    table.add_column("quarantined (by reason)")
    table.add_column("duplicates removed", justify="right")
    failed = 0
    totals = FileManifest(file="all")
    for one in landed:
        entry = curated.get(one.key)
        if entry is None:
            failed += 1
            consoles.err.print(
                f"[red]error:[/] {escape(str(one.path))}: not in {manifest_key(request.tenant, one.day)} "
                f"after {request.wait:g} s; it stays uploaded (see `tandem logs` for the worker)"
            )
            continue
        failed += entry.error is not None
        table.add_row(escape(one.path.name), str(one.day), *_counts(entry))
        totals = _plus(totals, entry)
    if table.row_count > 1:  # a sum is worth a line when there is something to add up
        table.add_section()
        table.add_row("all", "", *_counts(totals))
    if table.row_count:
        consoles.out.print(table)
    return failed


def _counts(entry: FileManifest) -> tuple[str, str, str, str]:
    return (
        str(entry.rows_in),
        str(entry.rows_curated),
        escape(_quarantined(entry)),
        str(entry.duplicates_removed),
    )


def _plus(total: FileManifest, entry: FileManifest) -> FileManifest:
    reasons = Counter(total.quarantined_by_reason)
    reasons.update(entry.quarantined_by_reason)
    return total.model_copy(
        update={
            "rows_in": total.rows_in + entry.rows_in,
            "rows_curated": total.rows_curated + entry.rows_curated,
            "rows_quarantined": total.rows_quarantined + entry.rows_quarantined,
            "quarantined_by_reason": dict(sorted(reasons.items())),
            "duplicates_removed": total.duplicates_removed + entry.duplicates_removed,
        }
    )


def _report_uploaded(bucket: str, request: IngestRequest, landed: Sequence[Landed], out: Console) -> None:
    out.print(f"uploaded {len(landed)} file{'s' * (len(landed) != 1)} to s3://{bucket}/")
    for one in landed:
        out.print(f"  {escape(one.key)}  [dim](date from {one.dated})[/]")
    days = sorted({one.day for one in landed})
    first, last = (manifest_key(request.tenant, day) for day in (days[0], days[-1]))
    out.print(
        "The worker curates each file as it lands and counts it in its date's manifest ("
        + (first if first == last else f"{first} … {last}")
        + "). To see one:"
    )
    out.print(f"  tandem aws s3 cp s3://{bucket}/{first} -")
    out.print("With --wait SECONDS, tandem ingest waits for those counts and prints them.", markup=False)
