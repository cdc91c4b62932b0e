"""Live counters per tenant and hour, and the append-only audit trail, in DynamoDB."""

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from tandem.adapters import aws
from tandem.models.audit import AuditEntry
from tandem.models.records import Order

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

COUNTER_RETENTION = timedelta(days=400)  # a year of hours, and a month to compare with


class LiveCountersTable:
    """One item per (tenant, hour): orders, units, revenue per currency, orders per channel and country.

    Key: tenant_id (partition), bucket "hour#YYYY-MM-DDTHH" in UTC (sort). Each order is one
    update of ADDs, which DynamoDB applies atomically: concurrent writers never lose a count.
    A confirmed order is counted by the orders stream's consumer (adapters/order_effects.py), in
    the transaction that marks its effects applied: `add_update` and `payment_update` build
    those transaction entries; `add` and `record_payment` make the same updates on their own.
    """

    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)
        self._name = table_name

    def add(self, order: Order) -> None:
        self._table.update_item(**_without_table(self.add_update(order)))

    def add_update(self, order: Order) -> dict[str, Any]:
        """`add` as a TransactWriteItems entry ({"Update": …}, Python values for the resource's client)."""
        names = {"#orders": "orders", "#units": "units", "#exp": "expires_at"}
        values: dict[str, Any] = {
            ":one": 1,
            ":units": order.units,
            ":exp": int((order.created_at + COUNTER_RETENTION).timestamp()),
        }
        adds = ["#orders :one", "#units :units"]
        for key, attribute, amount in (
            ("rev", f"revenue#{order.currency}", order.total),
            ("chan", f"channel#{order.channel or 'unknown'}", 1),
            ("ctry", f"country#{order.country or 'unknown'}", 1),
        ):
            names[f"#{key}"] = attribute
            values[f":{key}"] = amount
            adds.append(f"#{key} :{key}")
        return {
            "Update": {
                "TableName": self._name,
                "Key": {
                    "tenant_id": order.tenant_id,
                    "bucket": f"hour#{order.created_at.astimezone(UTC):%Y-%m-%dT%H}",
                },
                "UpdateExpression": "ADD " + ", ".join(adds) + " SET #exp = :exp",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def record_payment(self, tenant_id: str, customer_key: str, amount_minor: int, at: datetime) -> None:
        """A customer's accepted payment, summed per hour (for structuring checks); the key is hashed."""
        self._table.update_item(
            **_without_table(self.payment_update(tenant_id, customer_key, amount_minor, at))
        )

    def payment_update(
        self, tenant_id: str, customer_key: str, amount_minor: int, at: datetime
    ) -> dict[str, Any]:
        """`record_payment` as a TransactWriteItems entry ({"Update": …})."""
        return {
            "Update": {
                "TableName": self._name,
                "Key": {
                    "tenant_id": _customer_partition(tenant_id, customer_key),
                    "bucket": f"hour#{at.astimezone(UTC):%Y-%m-%dT%H}",
                },
                "UpdateExpression": "ADD amount_minor :amount, payments :one SET expires_at = :exp",
                "ExpressionAttributeValues": {
                    ":amount": amount_minor,
                    ":one": 1,
                    ":exp": int((at + timedelta(days=2)).timestamp()),
                },
            }
        }

    def recent_payments(self, tenant_id: str, customer_key: str, now: datetime) -> tuple[int, int]:
        """(total minor units, count) of the customer's payments in the hourly buckets of the last 24 h."""
        start = (now - timedelta(hours=24)).astimezone(UTC)
        answer = self._table.query(
            KeyConditionExpression=Key("tenant_id").eq(_customer_partition(tenant_id, customer_key))
            & Key("bucket").gte(f"hour#{start:%Y-%m-%dT%H}"),
            ConsistentRead=True,
        )
        items = answer.get("Items", [])
        total = sum(_number(item.get("amount_minor")) for item in items)
        return total, sum(_number(item.get("payments")) for item in items)


def _without_table(entry: dict[str, Any]) -> Any:
    """A transaction's {"Update": …} entry as the arguments of the table's own update_item."""
    return {key: value for key, value in entry["Update"].items() if key != "TableName"}


def _number(value: object) -> int:
    return int(value) if isinstance(value, Decimal | int) else 0


def _customer_partition(tenant_id: str, customer_key: str) -> str:
    return f"{tenant_id}#customer#{hashlib.sha256(customer_key.encode()).hexdigest()}"


class AuditTable:
    """Key: tenant_id, entry "<time>#<order>#<check>". Written once (conditional put); the API's role
    may put items and nothing else (template.yaml), so nothing through the API edits the trail."""

    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

    def append(self, entry: AuditEntry) -> None:
        self._table.put_item(Item=audit_item(entry), ConditionExpression="attribute_not_exists(entry)")


def audit_item(entry: AuditEntry) -> dict[str, Any]:
    """An entry's item; its sort key "<time>#<order>#<check>" keeps a tenant's trail in time order."""
    item = entry.model_dump(mode="json", exclude_none=True)
    item["entry"] = f"{entry.at.astimezone(UTC).isoformat()}#{entry.order_id}#{entry.check}"
    return item
