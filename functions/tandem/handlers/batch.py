"""SQS batch processing shared by every worker: partial failures, each failure logged; a message
that can never be parsed parked in the queue's DLQ at once; a claim check's body fetched first."""

import sys
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse, SuccessResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import ValidationError

from tandem.adapters.queue import CLAIM_CHECK_ATTRIBUTE
from tandem.logic.ports import ClaimChecks, PoisonParking
from tandem.observability import logger, metrics


class LoggedBatchProcessor(BatchProcessor):
    """A BatchProcessor that says why a record failed: Powertools keeps the exception but logs nothing.

    A batch whose records all fail answers with all of them in batchItemFailures
    instead of raising: the effect on the queue is the same (each is retried, then
    sent to the DLQ) and failures are counted per record, whatever the batch size.
    """

    def __init__(
        self,
        model: type[SqsRecordModel],
        parking: Callable[[], PoisonParking] | None = None,
        claims: Callable[[], ClaimChecks] | None = None,
    ) -> None:
        super().__init__(event_type=EventType.SQS, model=model, raise_on_entire_batch_failure=False)
        # Built on first use (the worker's composition root), never at import.
        self._parking = parking
        self._claims = claims
        self._model = model

    def _process_record(self, record: dict[str, Any]) -> SuccessResponse | FailureResponse:
        """A claim check's body is fetched first (SqsQueue.send stored it in S3).

        A record that does not parse is poison: every receive fails it the same way. With a
        parking place it goes there at once (park_poison) and counts as processed; without
        one, or if parking fails, it fails as usual and SQS dead-letters it after its receives.
        What is parked is the message as received (a claim check stays a reference)."""
        received = record
        reference = claim_reference(record)
        if reference is not None and self._claims is not None:
            try:
                body = self._claims().get(reference)
            except Exception:  # S3 unavailable: this record alone is retried
                return self.failure_handler(
                    record=self._to_batch_type(record=record, event_type=self.event_type),
                    exception=sys.exc_info(),
                )
            if body is None:
                reason = f"claim check {reference} not found (expired or deleted)"
                if self._parking is not None and park_poison(received, reason, self._parking()):
                    return self.success_handler(record=record, result=None)
            else:
                record = {**record, "body": body}
        if self._parking is not None:
            try:
                self._model.model_validate(record)
            except ValidationError as error:
                if park_poison(received, poison_reason(self._model, error), self._parking()):
                    return self.success_handler(record=received, result=None)
        result: SuccessResponse | FailureResponse = super()._process_record(record)
        return result

    def failure_handler(self, record: Any, exception: Any) -> FailureResponse:
        message_id = getattr(record, "messageId", None) or getattr(record, "message_id", None)
        logger.error(
            "record failed; SQS will deliver it again", extra={"message_id": message_id}, exc_info=exception
        )
        return super().failure_handler(record, exception)


def poison_reason(model: type[SqsRecordModel], error: ValidationError) -> str:
    """Why a record cannot be parsed: where and which rule, never the input (it may be personal)."""
    problems = [
        f"{'.'.join(str(part) for part in problem['loc']) or 'record'}: {problem['msg']}"
        for problem in error.errors(include_input=False, include_url=False, include_context=False)[:3]
    ]
    more = f" (+{error.error_count() - 3} more)" if error.error_count() > 3 else ""
    return f"unparseable as {model.__name__}: " + "; ".join(problems) + more


def park_poison(record: dict[str, Any], reason: str, parking: PoisonParking) -> bool:
    """Send a record's original body and string attributes to the queue's DLQ with the reason;
    True once it is there (the record may then be reported processed), False if parking failed.

    A worker that dies between parking and reporting leaves the message to be delivered and
    parked again: a duplicate in the DLQ, never a loss."""
    attributes = {
        name: str(value.get("stringValue"))
        for name, value in (record.get("messageAttributes") or {}).items()
        if isinstance(value, dict) and value.get("stringValue") is not None
    }
    message_id = record.get("messageId")
    try:
        parking.park(str(record.get("body", "")), reason, attributes)
    except Exception:
        logger.exception(
            "poison message could not be parked; SQS will retry it", extra={"message_id": message_id}
        )
        return False
    logger.error("poison message parked in the DLQ", extra={"message_id": message_id, "reason": reason})
    metrics.add_metric(name="PoisonMessageParked", unit=MetricUnit.Count, value=1)
    return True


def claim_reference(record: dict[str, Any]) -> str | None:
    """The stored body's reference if the record is a claim check (adapters/queue.py)."""
    attribute = (record.get("messageAttributes") or {}).get(CLAIM_CHECK_ATTRIBUTE)
    value = attribute.get("stringValue") if isinstance(attribute, dict) else None
    return str(value) if value else None
