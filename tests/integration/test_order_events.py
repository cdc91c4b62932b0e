"""OrderEventsFunction under moto, fed from the orders table's real stream (dynamodbstreams GetRecords).

moto cannot run the event source mapping (its Lambda needs Docker), so `StreamFeed` plays
Lambda's poller: it reads the stream from TRIM_HORIZON and hands each batch of new records
to the handler, as the mapping does — a filter is not applied, so the handler's own check
is what is tested.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tandem.adapters.order_effects import FollowUpsNotSentError, SqsFollowUps
from tandem.adapters.orders_table import OrdersTable, order_to_item
from tandem.handlers import order_events
from tandem.models.messages import OrderFollowUp
from tandem.models.records import Order, OrderLine, OrderStatus
from tests.conftest import FakeLambdaContext
from tests.events import sqs_event
from tests.moto_stack import REGION
from tests.template_model import Resolver

NOW = datetime.now(UTC).replace(microsecond=0)


class StreamFeed:
    """The orders table's stream, read as Lambda's poller reads it: new records since the last read."""

    def __init__(self, table_name: str) -> None:
        self._streams = boto3.client("dynamodbstreams", region_name=REGION)
        arn = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=table_name)["Table"][
            "LatestStreamArn"
        ]
        (shard,) = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self.stream_arn, self.shard_id = arn, shard["ShardId"]
        self._iterator = self._streams.get_shard_iterator(
            StreamArn=arn, ShardId=self.shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def new_records(self) -> list[dict[str, Any]]:
        page = self._streams.get_records(ShardIterator=self._iterator)
        self._iterator = page["NextShardIterator"]
        return [{**record, "eventSourceARN": self.stream_arn} for record in page["Records"]]


@pytest.fixture
def feed(stack: Resolver, monkeypatch: pytest.MonkeyPatch) -> StreamFeed:
    # botocore's account-based endpoints (123456789012.streams-ddb…) are not routed by moto 5.2:
    # the classic one is (AWS answers on both).
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    return StreamFeed(stack.physical["OrdersTable"])


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The in-process backoff, recorded instead of slept (the root takes time.sleep when it is built)."""
    pauses: list[float] = []
    monkeypatch.setattr("time.sleep", pauses.append)
    return pauses


def _order(order_id: str = "ord-1", status: OrderStatus = OrderStatus.PENDING) -> Order:
    return Order(
        tenant_id="acme",
        order_id=order_id,
        created_at=NOW,
        status=status,
        currency="GBP",
        lines=(
            OrderLine(sku="MUG", quantity=2, unit_price=Decimal("6.50")),
            OrderLine(sku="TEA", quantity=1, unit_price=Decimal("3.25")),
        ),
        country="GB",
        channel="web",
        customer_email="ann@example.com",
    )


def _confirm_through_a_checkout(stack: Resolver, order_id: str = "ord-1") -> None:
    """What the checkout writes: a PENDING order (its hold), then one conditional update to CONFIRMED."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["OrdersTable"])
    table.put_item(Item=order_to_item(_order(order_id)))
    table.update_item(
        Key={"tenant_id": "acme", "order_id": order_id},
        UpdateExpression="SET #status = :confirmed, confirmed_at = :at",
        ConditionExpression="#status = :pending",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":confirmed": "confirmed", ":pending": "pending", ":at": NOW.isoformat()},
    )


def _deliver(records: list[dict[str, Any]]) -> dict[str, Any]:
    answer: dict[str, Any] = order_events.handler({"Records": records}, FakeLambdaContext())
    return answer


def _drain(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    messages: list[Any] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)
    return messages


def _follow_ups(stack: Resolver) -> list[tuple[str, str]]:
    bodies = [OrderFollowUp.model_validate_json(m["Body"]) for m in _drain(stack.physical["FollowUpQueue"])]
    return sorted((body.order_id, body.kind) for body in bodies)


def _items(stack: Resolver, table: str) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb", region_name=REGION).Table(stack.physical[table]).scan()["Items"]


def _effects(stack: Resolver) -> dict[str, Any]:
    """What the effects wrote: the hour's counters, the payment windows and the amount histories."""
    counters = _items(stack, "LiveCountersTable")
    signals = _items(stack, "FraudSignalsTable")
    return {
        "hour": [i for i in counters if i["tenant_id"] == "acme"],
        "payments": [i for i in counters if i["tenant_id"].startswith("acme#customer#")],
        "customer_history": [i for i in signals if i["pk"].startswith("H#acme#C#")],
        "tenant_history": [i for i in signals if i["pk"] == "H#acme#T"],
    }


def _applied_at(stack: Resolver, order_id: str = "ord-1") -> str | None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical["OrdersTable"])
    item = table.get_item(Key={"tenant_id": "acme", "order_id": order_id})["Item"]
    value = item.get("effects_applied_at")
    return str(value) if value is not None else None


def test_a_confirmed_order_gets_its_follow_ups_and_effects_once_even_when_its_batch_comes_twice(
    stack: Resolver, feed: StreamFeed
) -> None:
    # Given an order held and then confirmed, as a checkout does
    _confirm_through_a_checkout(stack)
    records = feed.new_records()
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    # When the batch is delivered, and delivered again (MiniStack redelivers whole batches)
    assert _deliver(records) == {"batchItemFailures": []}
    assert _deliver(records) == {"batchItemFailures": []}
    # Then the three follow-ups went out once
    assert _follow_ups(stack) == [
        ("ord-1", "confirmation_email"),
        ("ord-1", "courier_notification"),
        ("ord-1", "warehouse_pick"),
    ]
    # And the counters, the payment window and both histories hold the order once
    written = _effects(stack)
    (hour,) = written["hour"]
    assert (hour["orders"], hour["units"], hour["revenue#GBP"], hour["channel#web"]) == (
        1,
        3,
        Decimal("16.25"),
        1,
    )
    (payments,) = written["payments"]
    assert (payments["amount_minor"], payments["payments"]) == (1625, 1)
    for history in ("customer_history", "tenant_history"):
        (item,) = written[history]
        assert (item["order_count"], item["amount_sum"], item["amount_sum_sq"]) == (1, 1625, 1625**2), history
    # And the order says when its effects were applied
    assert _applied_at(stack) is not None
    # And that change of the order, delivered in turn, does nothing more
    (marked,) = feed.new_records()
    assert marked["eventName"] == "MODIFY"
    _deliver([marked])
    assert _follow_ups(stack) == []
    assert _effects(stack) == written


def test_an_insert_of_a_confirmed_order_does_nothing(stack: Resolver, feed: StreamFeed) -> None:
    # Given a confirmed order written outright, as the demo seed and imports write them
    OrdersTable(stack.physical["OrdersTable"], boto3.resource("dynamodb", region_name=REGION)).put(
        _order(status=OrderStatus.CONFIRMED)
    )
    records = feed.new_records()
    assert [r["eventName"] for r in records] == ["INSERT"]
    # When its record is delivered
    assert _deliver(records) == {"batchItemFailures": []}
    # Then nothing is sent or counted
    assert _follow_ups(stack) == []
    assert _effects(stack) == {"hour": [], "payments": [], "customer_history": [], "tenant_history": []}
    assert _applied_at(stack) is None


def test_a_failing_send_is_retried_then_parked_and_a_redrive_applies_it(
    stack: Resolver, feed: StreamFeed, no_sleep: list[float]
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    _confirm_through_a_checkout(stack)
    _confirm_through_a_checkout(stack, "ord-2")
    records = feed.new_records()
    # Given a follow-up queue that refuses every send
    sqs.delete_queue(QueueUrl=stack.physical["FollowUpQueue"])
    # When the batch is delivered
    answer = _deliver(records)
    # Then each confirmation was tried three times (two pauses, growing), then parked: the batch succeeds
    assert answer == {"batchItemFailures": []}
    assert no_sleep == [0.2, 0.8, 0.2, 0.8]
    parked = [json.loads(m["Body"]) for m in _drain(stack.physical["OrderEventsDeadLetterQueue"])]
    assert sorted(p["order_id"] for p in parked) == ["ord-1", "ord-2"]
    for message in parked:
        assert message["type"] == "order.effects_parked"
        assert message["tenant_id"] == "acme"
        assert "QueueDoesNotExist" in message["error"] or "NonExistentQueue" in message["error"]
    # And nothing was applied
    assert _applied_at(stack) is None
    assert _effects(stack)["hour"] == []

    # Given the queue is back and the parked events are redriven (`tandem redrive
    # OrderEventsDeadLetterQueue` moves them to OrderEventsRedriveQueue, whose DLQ it is)
    sqs.create_queue(QueueName=stack.attributes[("FollowUpQueue", "QueueName")])
    redrive = stack.physical["OrderEventsRedriveQueue"]
    for message in parked:
        sqs.send_message(QueueUrl=redrive, MessageBody=json.dumps(message))
    received = sqs.receive_message(QueueUrl=redrive, MaxNumberOfMessages=10, AttributeNames=["All"])[
        "Messages"
    ]
    # When the function gets them from that queue, twice (at-least-once delivery)
    event = sqs_event([dict(m) for m in received], stack.attributes[("OrderEventsRedriveQueue", "Arn")])
    assert order_events.handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert order_events.handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    # Then both orders got their follow-ups and effects, once
    assert _follow_ups(stack) == [
        (order, kind)
        for order in ("ord-1", "ord-2")
        for kind in ("confirmation_email", "courier_notification", "warehouse_pick")
    ]
    (hour,) = _effects(stack)["hour"]
    assert hour["orders"] == 2
    assert _applied_at(stack, "ord-1")
    assert _applied_at(stack, "ord-2")


def test_a_record_that_cannot_be_parked_either_is_a_batch_item_failure(
    stack: Resolver, feed: StreamFeed, no_sleep: list[float]
) -> None:
    # Given a confirmation, and neither the follow-up queue nor the dead-letter queue takes a message
    _confirm_through_a_checkout(stack)
    records = feed.new_records()
    sqs = boto3.client("sqs", region_name=REGION)
    for queue in ("FollowUpQueue", "OrderEventsDeadLetterQueue"):
        sqs.delete_queue(QueueUrl=stack.physical[queue])
    # When the batch is delivered
    answer = _deliver(records)
    # Then the record is reported by its sequence number (AWS retries from it; then its OnFailure)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}


def test_a_stream_batch_that_failed_every_attempt_is_read_again_when_redriven(
    stack: Resolver, feed: StreamFeed
) -> None:
    # Given Lambda's on-failure record of a batch holding a hold and its confirmation
    _confirm_through_a_checkout(stack)
    first, last = (r["dynamodb"]["SequenceNumber"] for r in feed.new_records())
    failure = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6},
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": NOW.isoformat(),
        "DDBStreamBatchInfo": {
            "shardId": feed.shard_id,
            "startSequenceNumber": first,
            "endSequenceNumber": last,
            "approximateArrivalOfFirstRecord": NOW.isoformat(),
            "approximateArrivalOfLastRecord": NOW.isoformat(),
            "batchSize": 2,
            "streamArn": feed.stream_arn,
        },
    }
    # When it is redriven to the function
    sqs = boto3.client("sqs", region_name=REGION)
    redrive = stack.physical["OrderEventsRedriveQueue"]
    sqs.send_message(QueueUrl=redrive, MessageBody=json.dumps(failure))
    received = sqs.receive_message(QueueUrl=redrive, AttributeNames=["All"])["Messages"]
    event = sqs_event([dict(m) for m in received], stack.attributes[("OrderEventsRedriveQueue", "Arn")])
    assert order_events.handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    # Then the confirmation it held is applied
    assert len(_follow_ups(stack)) == 3
    assert _applied_at(stack) is not None


def test_a_redriven_message_of_neither_kind_fails_alone(stack: Resolver) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    redrive = stack.physical["OrderEventsRedriveQueue"]
    sqs.send_message(QueueUrl=redrive, MessageBody='{"something": "else"}')
    received = sqs.receive_message(QueueUrl=redrive, AttributeNames=["All"])["Messages"]
    event = sqs_event([dict(m) for m in received], stack.attributes[("OrderEventsRedriveQueue", "Arn")])
    answer = order_events.handler(event, FakeLambdaContext())
    assert answer == {"batchItemFailures": [{"itemIdentifier": received[0]["MessageId"]}]}


class _RefusingOnce:
    """An SQS client whose first SendMessageBatch refuses one entry (as SQS may, per entry)."""

    def __init__(self, refuse: str) -> None:
        self.batches: list[list[str]] = []
        self._refuse = refuse

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:  # noqa: ARG002
        self.batches.append([json.loads(e["MessageBody"])["kind"] for e in Entries])
        failed = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError"}
            for e in Entries
            if len(self.batches) == 1 and json.loads(e["MessageBody"])["kind"] == self._refuse
        ]
        return {"Successful": [], "Failed": failed}


def _three() -> list[OrderFollowUp]:
    return [
        OrderFollowUp(kind=kind, tenant_id="acme", order_id="ord-1")
        for kind in ("confirmation_email", "warehouse_pick", "courier_notification")
    ]


def test_follow_ups_sqs_refused_are_sent_again_alone() -> None:
    client = _RefusingOnce("warehouse_pick")
    SqsFollowUps("https://queue", client).publish(_three())  # type: ignore[arg-type]
    assert client.batches == [
        ["confirmation_email", "warehouse_pick", "courier_notification"],
        ["warehouse_pick"],
    ]


def test_follow_ups_sqs_keeps_refusing_raise_naming_them() -> None:
    class Refusing(_RefusingOnce):
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
            super().send_message_batch(QueueUrl, Entries)
            return {"Successful": [], "Failed": [{"Id": Entries[0]["Id"], "SenderFault": False, "Code": "X"}]}

    client = Refusing("none")
    with pytest.raises(FollowUpsNotSentError, match="confirmation_email: X"):
        SqsFollowUps("https://queue", client).publish(_three())  # type: ignore[arg-type]
    assert len(client.batches) == 3
