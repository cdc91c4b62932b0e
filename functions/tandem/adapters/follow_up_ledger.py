"""The follow-ups' idempotency record, on the order's own item (OrdersTable).

One attribute per kind, `follow_up_{kind}`:
- `{"state": "claimed", "until": <ISO time>}` while a delivery does it (its lease);
- `{"state": "done", "outcome", "at", "reason"?, "reference"?}` once it is done.

On the order rather than in a table of its own: the order is what it is about, it is read with
it, backed up with it, and no key space is shared with anything that lists items (`order_from_item`
ignores attributes it does not know). Every write is conditional on the order existing, so a
claim never creates a stray item. The writes are CONFIRMED → CONFIRMED changes in the orders
stream: its event source's filter keeps them from OrderEventsFunction.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tandem.adapters import aws
from tandem.adapters.orders_table import sortable_time
from tandem.models.follow_ups import Claim, FollowUpResult

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

_CLAIMED = "claimed"
_DONE = "done"


def attribute(kind: str) -> str:
    return f"follow_up_{kind}"


class DynamoFollowUpLedger:
    """Implements `tandem.logic.ports.FollowUpLedger`."""

    def __init__(self, orders_table: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._orders = (dynamodb or aws.dynamodb()).Table(orders_table)

    def claim(self, tenant_id: str, order_id: str, kind: str, now: datetime, lease_until: datetime) -> Claim:
        try:
            self._orders.update_item(
                Key={"tenant_id": tenant_id, "order_id": order_id},
                UpdateExpression="SET #fu = :claim",
                # Free, or claimed by a delivery whose lease is over (ISO times in UTC sort as text).
                ConditionExpression=(
                    "attribute_exists(order_id) AND "
                    "(attribute_not_exists(#fu) OR (#fu.#state = :claimed AND #fu.#until < :now))"
                ),
                ExpressionAttributeNames={"#fu": attribute(kind), "#state": "state", "#until": "until"},
                ExpressionAttributeValues={
                    ":claim": {"state": _CLAIMED, "until": sortable_time(lease_until)},
                    ":claimed": _CLAIMED,
                    ":now": sortable_time(now),
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return self._taken(tenant_id, order_id, kind)
        return Claim.CLAIMED

    def _taken(self, tenant_id: str, order_id: str, kind: str) -> Claim:
        item = self._orders.get_item(
            Key={"tenant_id": tenant_id, "order_id": order_id},
            ConsistentRead=True,
            ProjectionExpression="#fu",
            ExpressionAttributeNames={"#fu": attribute(kind)},
        ).get("Item")
        if not item:
            raise LookupError(f"order {order_id} does not exist")
        record: Any = item.get(attribute(kind)) or {}
        return Claim.DONE if record.get("state") == _DONE else Claim.BUSY

    def finish(self, tenant_id: str, order_id: str, result: FollowUpResult) -> None:
        record: dict[str, Any] = {
            "state": _DONE,
            "outcome": result.outcome.value,
            "at": sortable_time(result.at),
        }
        if result.reason:
            record["reason"] = result.reason
        if result.reference:
            record["reference"] = result.reference
        self._orders.update_item(
            Key={"tenant_id": tenant_id, "order_id": order_id},
            UpdateExpression="SET #fu = :done",
            ConditionExpression="attribute_exists(order_id)",
            ExpressionAttributeNames={"#fu": attribute(result.kind)},
            ExpressionAttributeValues={":done": record},
        )

    def release(self, tenant_id: str, order_id: str, kind: str) -> None:
        try:
            self._orders.update_item(
                Key={"tenant_id": tenant_id, "order_id": order_id},
                UpdateExpression="REMOVE #fu",
                # Only a claim: a follow-up recorded done stays done.
                ConditionExpression="#fu.#state = :claimed",
                ExpressionAttributeNames={"#fu": attribute(kind), "#state": "state"},
                ExpressionAttributeValues={":claimed": _CLAIMED},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
