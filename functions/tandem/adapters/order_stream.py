"""The orders table's DynamoDB stream: its records as `OrderChange`s, and a failed batch read again.

A record (Lambda's stream event, or GetRecords) holds the item's key and, with the stream's
NEW_AND_OLD_IMAGES view, its images before and after, in DynamoDB's wire format; boto3's
TypeDeserializer reads them. Only the key and the statuses are taken: the consumer reads the
order itself, strongly consistent, before it acts (tandem.logic.order_events).
"""

from collections.abc import Mapping
from functools import cache
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

from tandem.logic.order_events import OrderChange
from tandem.models.order_events import StreamBatchInfo

_DESERIALIZER = TypeDeserializer()

# Empty GetRecords pages in a row before a replay gives up: an open shard answers empty pages
# with a next iterator forever; the failed batch's records are all in its first pages.
_EMPTY_PAGES = 3


def order_change(record: Mapping[str, Any]) -> OrderChange:
    """A stream record (Lambda's event record, or one of GetRecords) as an OrderChange."""
    stream = record["dynamodb"]
    keys = {name: _DESERIALIZER.deserialize(value) for name, value in stream["Keys"].items()}
    return OrderChange(
        event_id=str(record.get("eventID", "")),
        sequence_number=str(stream["SequenceNumber"]),
        tenant_id=str(keys["tenant_id"]),
        order_id=str(keys["order_id"]),
        old_status=_status(stream.get("OldImage")),
        new_status=_status(stream.get("NewImage")),
    )


def _status(image: Mapping[str, Any] | None) -> str | None:
    if not image or "status" not in image:
        return None
    return str(_DESERIALIZER.deserialize(image["status"]))


@cache
def _streams_client() -> Any:
    # No stubs for dynamodbstreams in the project's type environment: typed as Any.
    return boto3.client("dynamodbstreams")


class DynamoStreamReplay:
    """Implements `tandem.logic.ports.StreamReplay` over the DynamoDB Streams API."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def changes(self, batch: StreamBatchInfo) -> list[OrderChange]:
        """The batch's records, from its first sequence number to its last; TrimmedDataAccessException
        (a ClientError) once the stream no longer holds them (24 hours)."""
        client = self._client or _streams_client()
        iterator = client.get_shard_iterator(
            StreamArn=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch.start_sequence_number,
        )["ShardIterator"]
        last = int(batch.end_sequence_number)
        changes: list[OrderChange] = []
        empty = 0
        while iterator and empty < _EMPTY_PAGES:
            page = client.get_records(ShardIterator=iterator, Limit=max(batch.batch_size, 1))
            records = page.get("Records", [])
            empty = 0 if records else empty + 1
            for record in records:
                if int(record["dynamodb"]["SequenceNumber"]) > last:
                    return changes
                changes.append(order_change(record))
            iterator = page.get("NextShardIterator")
        return changes
