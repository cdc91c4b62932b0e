"""A confirmed order's effects in DynamoDB and SQS: what the orders stream's consumer writes and sends.

- `DynamoOrderEffects` (OrderEffectsStore): reads the order, then applies its effects in ONE
  TransactWriteItems — the order's `effects_applied_at` (conditional: not set yet, status
  CONFIRMED), the live counters' hour bucket and the customer's payment window
  (LiveCountersTable), the customer's and the tenant's amount histories (FraudSignalsTable).
  If the condition fails the effects were applied already: nothing is written, twice or half.
  If the hour's counters item would pass 400 KB, the transaction is made again with the order's
  totals only (`LiveCountersTable.add_update(cells=False)`).
- `SqsFollowUps` (FollowUpPublisher): the three follow-ups in one SendMessageBatch.
- `SqsEventParking` (EventParking): a failed event as JSON on OrderEventsDeadLetterQueue.
"""

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tandem.adapters import aws
from tandem.adapters.fraud_signals import history_updates
from tandem.adapters.live_tables import LiveCountersTable
from tandem.adapters.orders_table import order_from_item, sortable_time
from tandem.logic.order_events import OrderEffects
from tandem.models.messages import OrderFollowUp
from tandem.models.order_events import ParkedOrderEvent
from tandem.models.records import Order, OrderStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import BatchResultErrorEntryTypeDef

# The effects are applied once, and only to an order still CONFIRMED.
_ONCE = "attribute_not_exists(effects_applied_at) AND #status = :confirmed"
# Follow-ups SQS refused in a batch are sent again, alone, this many times before publish raises.
SEND_ATTEMPTS = 3


class FollowUpsNotSentError(RuntimeError):
    """SQS refused some follow-ups of a batch every time (their kinds and SQS's codes)."""


class DynamoOrderEffects:
    """Implements `tandem.logic.ports.OrderEffectsStore`."""

    def __init__(
        self,
        orders_table: str,
        live_counters: LiveCountersTable,
        fraud_signals_table: str,
        pepper: bytes,
        dynamodb: "DynamoDBServiceResource | None" = None,
        *,
        history_retention: timedelta | None = None,
    ) -> None:
        """`pepper` keys the histories' customer digests: the API's card pepper, or the checkout's
        reads would not find what is written here."""
        self._orders = (dynamodb or aws.dynamodb()).Table(orders_table)
        self._client = self._orders.meta.client  # the resource's client: it takes Python values
        self._orders_name = orders_table
        self._counters = live_counters
        self._signals_name = fraud_signals_table
        self._pepper = pepper
        self._retention = {"retention": history_retention} if history_retention else {}

    def unapplied(self, tenant_id: str, order_id: str) -> Order | None:
        item = self._orders.get_item(
            Key={"tenant_id": tenant_id, "order_id": order_id}, ConsistentRead=True
        ).get("Item")
        if item is None or item.get("status") != OrderStatus.CONFIRMED.value or "effects_applied_at" in item:
            return None
        return order_from_item(item)

    def apply(self, effects: OrderEffects) -> bool:
        order = effects.order
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._orders_name,
                    "Key": {"tenant_id": order.tenant_id, "order_id": order.order_id},
                    "UpdateExpression": "SET effects_applied_at = :now",
                    "ConditionExpression": _ONCE,
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":now": sortable_time(effects.applied_at),
                        ":confirmed": OrderStatus.CONFIRMED.value,
                    },
                }
            },
            self._counters.add_update(order),
            # The hour of the sale, as the checkout's structuring check reads it.
            self._counters.payment_update(
                order.tenant_id, effects.customer_key, effects.amount_minor, order.created_at
            ),
            *history_updates(
                self._signals_name,
                self._pepper,
                order.tenant_id,
                effects.customer_key,
                effects.amount_minor,
                effects.applied_at,
                **self._retention,
            ),
        ]
        try:
            return self._transact(items)
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            if len(reasons) > 1 and reasons[1].get("Code") == "ValidationError":
                # The hour's item would pass 400 KB with this order's cells and SKUs: counting its
                # totals alone (the hour says how many) beats failing every later order of the hour.
                items[1] = self._counters.add_update(order, cells=False)
                return self._transact(items)
            raise

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False  # applied already (or no longer CONFIRMED): nothing was written
            raise
        return True


class SqsFollowUps:
    """Implements `tandem.logic.ports.FollowUpPublisher`."""

    def __init__(self, queue_url: str, sqs: "SQSClient | None" = None) -> None:
        self._url = queue_url
        self._sqs = sqs or aws.sqs()

    def publish(self, follow_ups: Sequence[OrderFollowUp]) -> None:
        """All in one SendMessageBatch (at most 10). Entries SQS refused are sent again, only they."""
        pending = {str(index): message for index, message in enumerate(follow_ups)}
        if len(pending) > 10:
            raise ValueError("SQS takes at most 10 messages in a batch")
        failed: list[BatchResultErrorEntryTypeDef] = []
        for _ in range(SEND_ATTEMPTS):
            if not pending:
                return
            answer = self._sqs.send_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": key, "MessageBody": message.model_dump_json()} for key, message in pending.items()
                ],
            )
            failed = answer.get("Failed", [])
            pending = {entry["Id"]: pending[entry["Id"]] for entry in failed}
        if pending:
            refused = ", ".join(f"{pending[f['Id']].kind}: {f.get('Code', '?')}" for f in failed)
            raise FollowUpsNotSentError(f"SQS refused follow-ups ({refused})")


class SqsEventParking:
    """Implements `tandem.logic.ports.EventParking`."""

    def __init__(self, queue_url: str, sqs: "SQSClient | None" = None) -> None:
        self._url = queue_url
        self._sqs = sqs or aws.sqs()

    def park(self, event: ParkedOrderEvent) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=event.model_dump_json())
