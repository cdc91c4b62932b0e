"""The orders table's stream (and its redriven dead letters): each confirmed order's effects, once.

Two event sources, one function (template.yaml, OrderEventsFunction):
- the stream: a batch of records, each applied, retried or parked on its own
  (tandem.logic.order_events.consume_changes); what cannot even be parked is answered in
  batchItemFailures, by sequence number;
- OrderEventsRedriveQueue: parked events and Lambda's records of failed stream batches, moved
  back from OrderEventsDeadLetterQueue; each SQS record succeeds or fails alone.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.adapters.order_stream import order_change
from tandem.handlers.batch import LoggedBatchProcessor
from tandem.handlers.wiring import order_events as root
from tandem.logic.order_events import Outcome, consume_changes, reapply, replay_batch
from tandem.models.order_events import ParkedOrderEvent, RedrivenOrderEventRecord
from tandem.observability import logger, metrics

# Each outcome, as the metric it is counted under.
METRICS = {
    Outcome.APPLIED: "OrderEffectsApplied",
    Outcome.SKIPPED: "OrderEventsSkipped",
    Outcome.IGNORED: "OrderEventsIgnored",
    Outcome.PARKED: "OrderEventsParked",
    Outcome.FAILED: "OrderEventsFailed",
}

processor = LoggedBatchProcessor(RedrivenOrderEventRecord)


def redriven_record(record: RedrivenOrderEventRecord) -> None:
    message = record.body
    if isinstance(message, ParkedOrderEvent):
        logger.append_keys(tenant_id=message.tenant_id, order_id=message.order_id)
        outcomes = [reapply(message, root.deps())]
    else:
        outcomes = replay_batch(message.DDBStreamBatchInfo, root.deps())
    for outcome in outcomes:
        metrics.add_metric(name=METRICS[outcome], unit=MetricUnit.Count, value=1)
    logger.info("redriven order event applied", extra={"outcomes": [o.value for o in outcomes]})


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    records = event.get("Records", [])
    if records and records[0].get("eventSource") == "aws:sqs":
        return process_partial_response(
            event=event, record_handler=redriven_record, processor=processor, context=context
        )
    changes = [order_change(record) for record in records]
    report = consume_changes(changes, root.deps(), lambda: context.get_remaining_time_in_millis() / 1000)
    for outcome, count in report.counts.items():
        if count:
            metrics.add_metric(name=METRICS[outcome], unit=MetricUnit.Count, value=count)
    logger.info("order events consumed", extra={o.value: n for o, n in report.counts.items() if n})
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in report.failed]}
