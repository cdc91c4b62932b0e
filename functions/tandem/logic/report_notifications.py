"""Report jobs announced when they end: a signed webhook and an e-mail to the tenant.

When a sales-summary job has succeeded, or failed for good (a report that cannot be computed, or its
last delivery failing), the report worker tells the tenant (`notify_job`), on every channel it has:
- **webhook**: a POST to the endpoint of PUT /settings/webhooks, signed with the tenant's secret as
  the courier notification is (tandem.logic.webhooks): `{"id": "<job_id>:report.ready",
  "type": "report.ready" | "report.failed", "created", "data": {job_id, kind, status, params,
  result: {url, expires_at} | null, failure_reason, error}}`. `id` (also `Tandem-Event-Id`) lets the
  receiver drop a second call;
- **e-mail**: through the Mailer port (SES) to the tenant's `report_email`, with the link.

A failed notification never fails the report: each channel is tried a few times with exponential
backoff inside the worker's run (`attempts`, `first_backoff_seconds`, doubling), then its outcome is
recorded on the job (`notified: {"webhook": "delivered" | "failed: …" | "skipped: …", "email": …}`)
and the job keeps its status. Why retries in the worker, not a queue: the report's message is the
only thing that carries the job, and it must be consumed once the report is done; a second queue
with its own DLQ for one call buys little for a small shop, and the webhook's `id` plus GET
/reports/{job_id} cover a receiver that was down for longer (README: the worst case's seconds).

Idempotent per channel: each channel's outcome is saved on the job (a save conditional on its
version) as soon as that channel is done, before the next is tried; a redelivered message that
finds the job ended tries only the channels with no outcome yet. A worker that dies between a
channel's call and the save of its outcome repeats that one channel on the redelivery: at least
once, with the same event id, in a window as narrow as one DynamoDB write (the chaos suite,
tests/integration/test_chaos_jobs.py, attributes every repeat it sees to a kill in that window).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from html import escape

from pydantic import BaseModel

from tandem.logic.morning_report import MailRejectedError
from tandem.logic.ports import Clock, DocumentStore, Mailer, Sleep, TenantProfiles, WebhookSender
from tandem.logic.report_formats import result_download_name
from tandem.logic.webhooks import SIGNATURE_HEADER, signature
from tandem.models.records import LAKE_REPORT_KINDS, Job, JobStatus, ReportKind, Tenant

READY_EVENT = "report.ready"
FAILED_EVENT = "report.failed"
DELIVERED = "delivered"
SENT = "sent"


@dataclass(frozen=True)
class NotifyDeps:
    tenants: TenantProfiles
    webhooks: WebhookSender
    mailer: Mailer
    documents: DocumentStore  # the result's presigned link
    clock: Clock
    sleep: Sleep
    # A link in a message outlives the 15 minutes of GET /reports/{id}: it is read later; it still
    # ends with the credentials that signed it (the worker's role session).
    link_ttl_seconds: int = 3600
    # Worst case per webhook: 4 calls of 3 s and 0.5 + 1 + 2 s apart = 15.5 s, inside the worker's 60 s.
    attempts: int = 4
    first_backoff_seconds: float = 0.5
    webhook_timeout_seconds: float = 3.0


class NotificationPayload(BaseModel):
    id: str
    type: str
    created: int
    data: dict[str, object]


# The kinds POST /reports accepts.
ANNOUNCED_KINDS = frozenset({ReportKind.SALES_SUMMARY, *LAKE_REPORT_KINDS})


# The channels, in the order they are tried (the webhook first: a program waits on it).
CHANNELS = ("webhook", "email")


def pending_channels(job: Job) -> list[str]:
    """The channels with no outcome recorded on the job yet."""
    done = job.notified or {}
    return [channel for channel in CHANNELS if channel not in done]


def should_notify(job: Job) -> bool:
    """A report the tenant asked for (every kind POST /reports accepts) that has ended and has a
    channel not yet announced on (the morning report mails itself; a table export is an operator's
    backup)."""
    return job.params.kind in ANNOUNCED_KINDS and job.status.is_final and bool(pending_channels(job))


def notify_job(
    job: Job, deps: NotifyDeps, record: Callable[[dict[str, str]], None] | None = None
) -> dict[str, str]:
    """Announce the ended job on each channel not yet announced on; the outcomes, old and new.

    A channel's failure is its outcome, never an exception. `record` is called with the outcomes so
    far after each channel, before the next is tried (the caller saves them on the job): what it
    raises stops the announcement there and reaches the caller."""
    tenant = deps.tenants.get(job.tenant_id)
    link = _link(job, deps)
    calls = {"webhook": _webhook, "email": _email}
    outcomes = dict(job.notified or {})
    for channel in pending_channels(job):
        outcomes[channel] = calls[channel](job, tenant, link, deps)
        if record is not None:
            record(dict(outcomes))
    return outcomes


def event_type(job: Job) -> str:
    return READY_EVENT if job.status is JobStatus.SUCCEEDED else FAILED_EVENT


def payload(job: Job, link: tuple[str, str] | None, created: int) -> bytes:
    kind = event_type(job)
    data: dict[str, object] = {
        "job_id": job.job_id,
        "kind": job.params.kind.value,
        "status": job.status.value,
        "params": {"from": job.params.date_from.isoformat(), "to": job.params.date_to.isoformat()},
        "result": {"url": link[0], "expires_at": link[1]} if link else None,
        "failure_reason": job.failure_reason.value if job.failure_reason else None,
        "error": job.error,
    }
    return (
        NotificationPayload(id=f"{job.job_id}:{kind}", type=kind, created=created, data=data)
        .model_dump_json()
        .encode()
    )


def _link(job: Job, deps: NotifyDeps) -> tuple[str, str] | None:
    if job.status is not JobStatus.SUCCEEDED or job.result_key is None:
        return None
    url = deps.documents.link(job.result_key, deps.link_ttl_seconds, result_download_name(job))
    expires = deps.clock() + timedelta(seconds=deps.link_ttl_seconds)
    return url, expires.isoformat()


class _NotDelivered(Exception):
    """The endpoint answered, but not with 2xx."""


def _retried(attempt: Callable[[], str], deps: NotifyDeps) -> str:
    """`attempt` until it succeeds, `deps.attempts` times at most, backing off exponentially."""
    reason = ""
    for number in range(deps.attempts):
        if number:
            deps.sleep(deps.first_backoff_seconds * 2 ** (number - 1))
        try:
            return attempt()
        except MailRejectedError as error:
            # Refused for what it is (an unverified address): the same message is refused again.
            return f"failed: refused by the mail service: {error}"[:300]
        except Exception as error:  # any failure of the call is retried, then recorded
            reason = str(error) if isinstance(error, _NotDelivered) else type(error).__name__
    return f"failed: {reason} ({deps.attempts} attempts)"


def _webhook(job: Job, tenant: Tenant | None, link: tuple[str, str] | None, deps: NotifyDeps) -> str:
    if tenant is None or tenant.webhook is None:
        return "skipped: no endpoint (PUT /settings/webhooks)"
    webhook = tenant.webhook

    def call() -> str:
        # Signed afresh on each attempt: the receiver refuses timestamps older than 5 minutes.
        now = deps.clock()
        body = payload(job, link, int(now.timestamp()))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(webhook.secret, body, now),
            "Tandem-Event-Id": f"{job.job_id}:{event_type(job)}",
        }
        status = deps.webhooks.post(webhook.url, body, headers, deps.webhook_timeout_seconds)
        if not 200 <= status < 300:
            raise _NotDelivered(f"the endpoint answered {status}")
        return DELIVERED

    return _retried(call, deps)


def _email(job: Job, tenant: Tenant | None, link: tuple[str, str] | None, deps: NotifyDeps) -> str:
    if tenant is None or tenant.report_email is None:
        return "skipped: no report_email"
    address = tenant.report_email
    subject, text, html = render_email(job, tenant.name, link)

    def send() -> str:
        deps.mailer.send(address, subject, text, html)
        return SENT

    return _retried(send, deps)


# What an e-mail calls each kind it announces.
_REPORT_NAMES = {
    ReportKind.SALES_SUMMARY: "sales summary",
    ReportKind.PRODUCT_PERFORMANCE: "product performance report",
    ReportKind.CUSTOMER_COHORTS: "customer cohorts report",
    ReportKind.MARKETING_ROAS: "marketing ROAS report",
}


def render_email(job: Job, shop: str, link: tuple[str, str] | None) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the announcement."""
    period = f"{job.params.date_from.isoformat()} to {job.params.date_to.isoformat()}"
    report = _REPORT_NAMES.get(job.params.kind, "report")
    if link is not None:
        subject = f"{shop}: your {report} ({period}) is ready"
        lines = [
            f"The {report} of {shop} for {period} is ready.",
            f"Download it (the link works until {link[1]}): {link[0]}",
            f"Later, ask GET /reports/{job.job_id} for a fresh link.",
        ]
    else:
        subject = f"{shop}: your {report} ({period}) could not be made"
        lines = [
            f"The {report} of {shop} for {period} failed: {job.error or 'no reason given'}.",
            f"Job {job.job_id}; request it again with POST /reports.",
        ]
    text = "\n".join(lines) + "\n"
    html = (
        "<!DOCTYPE html><html><body>" + "".join(f"<p>{escape(line)}</p>" for line in lines) + "</body></html>"
    )
    return subject, text, html
