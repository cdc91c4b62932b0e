"""SQS worker: a raw file landed in (or left) the data bucket → its partition of the lake curated.

S3 → SQS → here. Each record succeeds or fails alone (ReportBatchItemFailures): a transient
failure returns to the queue and, after its receives, to IngestDeadLetterQueue. A key that
cannot be curated (outside the layout, an unknown source) is logged and consumed: retrying
cannot help.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.handlers.batch import LoggedBatchProcessor
from tandem.handlers.wiring import ingest_worker as root
from tandem.logic.errors import PermanentJobError
from tandem.logic.lake.intake import file_landed
from tandem.models.messages import RawFileLandedRecord
from tandem.observability import logger, metrics

# A message that can never be parsed goes straight to the DLQ with its reason.
processor = LoggedBatchProcessor(RawFileLandedRecord, parking=root.poison_parking)


def record_handler(record: RawFileLandedRecord) -> None:
    if not record.body.Records:  # s3:TestEvent, sent once when the notification is set up
        logger.info("S3 test event ignored", extra={"event": record.body.Event})
        return
    for event in record.body.Records:
        try:
            manifest = file_landed(event.s3.object.key, root.deps())
        except PermanentJobError as error:
            logger.error("raw file not curated", extra={"key": event.s3.object.key, "reason": error.message})
            metrics.add_metric(name="RawFileRefused", unit=MetricUnit.Count, value=1)
            continue
        files = sum(len(files) for files in manifest.sources.values())
        metrics.add_metric(name="RawFileCurated", unit=MetricUnit.Count, value=1)
        logger.info(
            "partition curated",
            extra={"key": event.s3.object.key, "event": event.eventName, "files_of_day": files},
        )


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
