"""SQS batch processing shared by every worker: partial failures, each failure logged."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from tandem.observability import logger


class LoggedBatchProcessor(BatchProcessor):
    """A BatchProcessor that says why a record failed: Powertools keeps the exception but logs nothing.

    A batch whose records all fail answers with all of them in batchItemFailures
    instead of raising: the effect on the queue is the same (each is retried, then
    sent to the DLQ) and failures are counted per record, whatever the batch size.
    """

    def __init__(self, model: type[SqsRecordModel]) -> None:
        super().__init__(event_type=EventType.SQS, model=model, raise_on_entire_batch_failure=False)

    def failure_handler(self, record: Any, exception: Any) -> FailureResponse:
        message_id = getattr(record, "messageId", None) or getattr(record, "message_id", None)
        logger.error(
            "record failed; SQS will deliver it again", extra={"message_id": message_id}, exc_info=exception
        )
        return super().failure_handler(record, exception)
