"""What the orders stream's consumer leaves in OrderEventsDeadLetterQueue, and reads back on a redrive.

Two kinds of message wait there:

- `ParkedOrderEvent`: a confirmed order whose effects (follow-ups, counters, histories) failed
  every in-process retry; OrderEventsFunction parks it itself and goes on with its batch.
- `StreamBatchFailure`: Lambda's own record of a stream batch that failed every attempt (the
  function timed out or crashed), sent by the event source's OnFailure destination. It names
  the shard and sequence numbers only: the records are read from the stream again (24 hours).

Redriven into OrderEventsRedriveQueue, both come back to OrderEventsFunction, which applies
what is still to be applied (the order's `effects_applied_at` says what is).
"""

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, Json

from tandem.models.records import OrderId, TenantId


class ParkedOrderEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["order.effects_parked"] = "order.effects_parked"
    version: Literal[1] = 1
    tenant_id: TenantId
    order_id: OrderId
    # The last error, as `ExceptionType: message` (never a card number: orders hold none).
    error: str = Field(max_length=2000)
    # The stream record's eventID, to find it in the function's log.
    event_id: str | None = None
    parked_at: AwareDatetime


class StreamBatchInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    shard_id: str = Field(alias="shardId")
    start_sequence_number: str = Field(alias="startSequenceNumber")
    end_sequence_number: str = Field(alias="endSequenceNumber")
    stream_arn: str = Field(alias="streamArn")
    batch_size: int = Field(alias="batchSize", ge=1)


class StreamBatchFailure(BaseModel):
    """Lambda's on-failure record of a DynamoDB stream batch (its other fields are not needed)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    DDBStreamBatchInfo: StreamBatchInfo


class RedrivenOrderEventRecord(SqsRecordModel):
    """An SQS record of OrderEventsRedriveQueue; a body of neither shape fails the record alone."""

    body: Json[ParkedOrderEvent | StreamBatchFailure]
