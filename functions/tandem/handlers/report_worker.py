"""SQS worker: runs report jobs. Each record succeeds or fails alone (ReportBatchItemFailures)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.handlers.batch import LoggedBatchProcessor
from tandem.handlers.wiring import report_worker as root
from tandem.logic.errors import PermanentJobError
from tandem.logic.reports import run_report
from tandem.models.messages import CORRELATION_ID_ATTRIBUTE, ReportRequestedRecord
from tandem.models.records import JobStatus
from tandem.observability import logger, metrics

# A message that can never be parsed goes straight to the DLQ with its reason.
# A message over SQS's limit arrives as a claim check: its body is fetched from S3 first.
processor = LoggedBatchProcessor(ReportRequestedRecord, parking=root.poison_parking, claims=root.claim_checks)


def record_handler(record: ReportRequestedRecord) -> None:
    message = record.body
    attribute = record.messageAttributes.get(CORRELATION_ID_ATTRIBUTE)
    logger.set_correlation_id(attribute.stringValue if attribute else record.messageId)
    logger.append_keys(tenant_id=message.tenant_id, job_id=message.job_id)
    try:
        job = run_report(message, int(record.attributes.ApproximateReceiveCount), root.deps())
    except PermanentJobError as error:
        # Nothing to run (no such job): retrying cannot help, so the message is consumed.
        logger.error("message dropped", extra={"reason": error.message})
        metrics.add_metric(name="ReportMessageDropped", unit=MetricUnit.Count, value=1)
        return
    outcome = "ReportSucceeded" if job.status is JobStatus.SUCCEEDED else "ReportFailed"
    metrics.add_metric(name=outcome, unit=MetricUnit.Count, value=1)
    logger.info("report job finished", extra={"status": job.status.value, "attempts": job.attempts})


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
