"""SQS worker: the follow-ups of confirmed orders (FollowUpQueue). Each record succeeds or fails
alone (ReportBatchItemFailures); a failed one comes back after the visibility timeout, then goes
to FollowUpDeadLetterQueue; one that can never be parsed goes there at once."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.handlers.batch import LoggedBatchProcessor
from tandem.handlers.wiring import follow_up_worker as root
from tandem.logic.follow_ups import UnknownOrderError, handle
from tandem.models.follow_ups import FollowUpOutcome
from tandem.models.messages import OrderFollowUpRecord
from tandem.observability import logger, metrics

# A record that can never be parsed is parked in FollowUpDeadLetterQueue at once, with its reason.
processor = LoggedBatchProcessor(OrderFollowUpRecord, parking=root.poison_parking)


def record_handler(record: OrderFollowUpRecord) -> None:
    message = record.body
    logger.set_correlation_id(record.messageId)
    logger.append_keys(tenant_id=message.tenant_id, order_id=message.order_id, kind=message.kind)
    try:
        handled = handle(message, root.deps())
    except UnknownOrderError as error:
        # No such order: retrying cannot make one, so the message is consumed.
        logger.error("follow-up dropped", extra={"reason": str(error)})
        metrics.add_metric(name="FollowUpDropped", unit=MetricUnit.Count, value=1)
        return
    if handled.result is None:
        logger.info("follow-up done before; redelivery ignored")
        metrics.add_metric(name="FollowUpDuplicate", unit=MetricUnit.Count, value=1)
        return
    result = handled.result
    name = "FollowUpSent" if result.outcome is FollowUpOutcome.SENT else "FollowUpSkipped"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    logger.info(
        "follow-up done",
        extra={"outcome": result.outcome.value, "reason": result.reason, "reference": result.reference},
    )


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
