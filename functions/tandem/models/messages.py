"""Typed queue messages. Each carries its type and version so a worker can refuse what it does not know."""

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, ConfigDict, Field, Json

from tandem.models.records import ReportParams, TenantId


class ReportRequested(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["report.requested"] = "report.requested"
    version: Literal[1] = 1
    tenant_id: TenantId
    job_id: str
    params: ReportParams


class ReportRequestedRecord(SqsRecordModel):
    """An SQS record whose body is a ReportRequested; a body that is not fails the record alone."""

    body: Json[ReportRequested]


# The SQS message attribute that carries the HTTP request's correlation id to the worker.
CORRELATION_ID_ATTRIBUTE = "correlation_id"


FollowUpKind = Literal["confirmation_email", "warehouse_pick", "courier_notification"]


class OrderFollowUp(BaseModel):
    """Work a confirmed order leaves for later: the checkout answers without waiting for it.

    Sent by OrderEventsFunction (tandem.logic.order_events) when the orders stream shows the order
    going PENDING → CONFIRMED, all three kinds in one batch. At least once: if the sender dies (or
    its transaction keeps failing) after sending and before it records the order's effects as
    applied, the next delivery sends them again. A consumer dedupes by (order_id, kind).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["order.follow_up"] = "order.follow_up"
    version: Literal[1] = 1
    kind: FollowUpKind
    tenant_id: TenantId
    order_id: str


class OrderFollowUpRecord(SqsRecordModel):
    """An SQS record whose body is an OrderFollowUp; a body that is not fails the record alone."""

    body: Json[OrderFollowUp]


class S3ObjectRef(BaseModel):
    key: str = Field(min_length=1, description="URL-encoded, as S3 notifications write it")


class S3Entity(BaseModel):
    object: S3ObjectRef


class S3EventRecord(BaseModel):
    eventName: str
    s3: S3Entity


class S3Notification(BaseModel):
    """What S3 puts on the intake queue: object events, or one `s3:TestEvent` (no Records) when
    the notification is set up."""

    Records: list[S3EventRecord] = Field(default_factory=list)
    Event: str | None = None


class RawFileLandedRecord(SqsRecordModel):
    body: Json[S3Notification]
