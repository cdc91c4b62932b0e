"""The checkout's durable state in DynamoDB: stock held under PENDING orders, and how holds end.

Tables (template.yaml): OrdersTable (tenant_id, order_id), ProductsTable (tenant_id, sku),
AuditTable (tenant_id, entry). An order item is `orders_table.order_to_item` plus:

- `request_fingerprint` (S), `provider_key` (S): how a replay is recognised and resumed;
- `hold_until` (S, `sortable_time`) and `sweep_shard` (S, "0".."7"): present while the order
  needs the sweeper — PENDING, or EXPIRED with `void_pending` — and removed when it does not.
  They key the sparse GSI `by_sweep`, so the sweeper reads exactly those orders: a Query per
  shard for `hold_until < now` (8 shards spread a burst of checkouts over 8 partitions);
- `void_pending` (BOOL), `failure` (M, DECLINED: the answer a replay gets), `confirmed_at` (S).

Every change of state is one conditional write, so concurrent attempts of one purchase and
the sweeper can race freely: exactly one of them moves the order out of PENDING, and the
stock goes back with that move in the same transaction, never twice.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from tandem.adapters import aws
from tandem.adapters.live_tables import audit_item
from tandem.adapters.orders_table import order_from_item, order_to_item, sortable_time
from tandem.logic.errors import CheckoutExistsError, OutOfStockError
from tandem.models.audit import AuditEntry
from tandem.models.records import CheckoutRecord, Order, OrderStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

BY_SWEEP = "by_sweep"
SWEEP_SHARDS = 8
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
_FINISHED = "REMOVE hold_until, sweep_shard"


class DynamoCheckoutStore:
    """Implements `tandem.logic.ports.CheckoutStore`."""

    def __init__(
        self,
        orders_table: str,
        products_table: str,
        audit_table: str = "",
        dynamodb: "DynamoDBServiceResource | None" = None,
    ) -> None:
        """`audit_table` is needed only to `hold` (the checkout); the sweeper never holds."""
        resource = dynamodb or aws.dynamodb()
        self._orders = resource.Table(orders_table)
        self._client = self._orders.meta.client  # the resource's client: it takes Python values
        self._orders_name, self._products_name, self._audit_name = orders_table, products_table, audit_table

    def find(self, tenant_id: str, order_id: str) -> CheckoutRecord | None:
        item = self._orders.get_item(
            Key={"tenant_id": tenant_id, "order_id": order_id}, ConsistentRead=True
        ).get("Item")
        return record_from_item(item) if item else None

    def hold(self, record: CheckoutRecord, audit: Sequence[AuditEntry]) -> None:
        order = record.order
        quantities = {line.sku: line.quantity for line in order.lines}
        if len(quantities) + 1 + len(audit) > MAX_TRANSACTION_ITEMS:
            raise ValueError(
                f"at most {MAX_TRANSACTION_ITEMS - 1 - len(audit)} distinct SKUs in one checkout"
            )
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._orders_name,
                    "Item": record_to_item(record),
                    "ConditionExpression": "attribute_not_exists(order_id)",
                }
            },
            *self._stock(order.tenant_id, quantities, take=True),
            *(
                {
                    "Put": {
                        "TableName": self._audit_name,
                        "Item": audit_item(entry),
                        "ConditionExpression": "attribute_not_exists(entry)",
                    }
                }
                for entry in audit
            ),
        ]
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            reasons = _cancellation_reasons(error)
            if reasons is None:
                raise
            if _failed(reasons, 0):
                raise CheckoutExistsError("an order with this id exists") from None
            short = [sku for index, sku in enumerate(quantities, start=1) if _failed(reasons, index)]
            if not short:
                raise
            raise _shortage(quantities, short, reasons) from None

    def confirm(self, order: Order) -> bool:
        payment = order.payment.model_dump(mode="python") if order.payment else None
        try:
            self._orders.update_item(
                Key={"tenant_id": order.tenant_id, "order_id": order.order_id},
                UpdateExpression=f"SET #status = :confirmed, payment = :pay, confirmed_at = :at {_FINISHED}",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":confirmed": OrderStatus.CONFIRMED.value,
                    ":pending": OrderStatus.PENDING.value,
                    ":pay": payment,
                    ":at": sortable_time(datetime.now(UTC)),
                },
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def decline(self, record: CheckoutRecord, failure: Mapping[str, object]) -> bool:
        order = record.order
        return self._end(
            order,
            {
                "UpdateExpression": f"SET #status = :declined, failure = :failure {_FINISHED}",
                "ConditionExpression": "#status = :pending",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":declined": OrderStatus.DECLINED.value,
                    ":pending": OrderStatus.PENDING.value,
                    ":failure": dict(failure),
                },
            },
        )

    def stale(self, now: datetime, limit: int) -> list[CheckoutRecord]:
        found: list[CheckoutRecord] = []
        for shard in range(SWEEP_SHARDS):
            query: dict[str, Any] = {
                "IndexName": BY_SWEEP,
                "KeyConditionExpression": Key("sweep_shard").eq(str(shard))
                & Key("hold_until").lt(sortable_time(now)),
                "Limit": limit - len(found),
            }
            answer = self._orders.query(**query)
            found.extend(record_from_item(item) for item in answer.get("Items", []))
            if len(found) >= limit:
                break
        return found

    def expire(self, record: CheckoutRecord, now: datetime) -> bool:
        # It stays in the sweep index (void_pending) until the sweeper has voided its authorization.
        return self._end(
            record.order,
            {
                "UpdateExpression": "SET #status = :expired, void_pending = :yes",
                "ConditionExpression": "#status = :pending AND hold_until < :now",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":expired": OrderStatus.EXPIRED.value,
                    ":pending": OrderStatus.PENDING.value,
                    ":yes": True,
                    ":now": sortable_time(now),
                },
            },
        )

    def settle(self, record: CheckoutRecord) -> None:
        order = record.order
        try:
            self._orders.update_item(
                Key={"tenant_id": order.tenant_id, "order_id": order.order_id},
                UpdateExpression=f"SET void_pending = :no {_FINISHED}",
                ConditionExpression="#status = :expired",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":no": False, ":expired": OrderStatus.EXPIRED.value},
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise

    def _end(self, order: Order, change: dict[str, Any]) -> bool:
        """One transaction: the order's conditional change and every line's stock given back."""
        quantities = {line.sku: line.quantity for line in order.lines}
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._orders_name,
                    "Key": {"tenant_id": order.tenant_id, "order_id": order.order_id},
                    **change,
                }
            },
            *self._stock(order.tenant_id, quantities, take=False),
        ]
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            reasons = _cancellation_reasons(error)
            if reasons is not None and _failed(reasons, 0):
                return False  # no longer PENDING: whoever moved it gave the stock back (or sold it)
            raise
        return True

    def _stock(self, tenant_id: str, quantities: Mapping[str, int], take: bool) -> Iterable[dict[str, Any]]:
        for sku, quantity in quantities.items():
            yield {
                "Update": {
                    "TableName": self._products_name,
                    "Key": {"tenant_id": tenant_id, "sku": sku},
                    "UpdateExpression": "SET stock = stock - :q" if take else "SET stock = stock + :q",
                    # Taking needs enough stock of an active product; giving back needs the product.
                    "ConditionExpression": "attribute_exists(sku) AND active = :on AND stock >= :q"
                    if take
                    else "attribute_exists(sku)",
                    "ExpressionAttributeValues": {":q": quantity, ":on": True} if take else {":q": quantity},
                    # On a shortage DynamoDB returns the product as it was: what is left, without a read.
                    **({"ReturnValuesOnConditionCheckFailure": "ALL_OLD"} if take else {}),
                }
            }


def record_to_item(record: CheckoutRecord) -> dict[str, Any]:
    item = order_to_item(record.order)
    item["request_fingerprint"] = record.request_fingerprint
    item["provider_key"] = record.provider_key
    if record.hold_until is not None:
        item["hold_until"] = sortable_time(record.hold_until)
        item["sweep_shard"] = sweep_shard(record.order.order_id)
    if record.void_pending:
        item["void_pending"] = True
    if record.failure is not None:
        item["failure"] = record.failure
    return item


def record_from_item(item: dict[str, Any]) -> CheckoutRecord:
    return CheckoutRecord(
        order=order_from_item(item),
        request_fingerprint=item.get("request_fingerprint", ""),
        provider_key=item.get("provider_key", ""),
        hold_until=item.get("hold_until"),
        void_pending=bool(item.get("void_pending", False)),
        failure=item.get("failure"),
    )


def sweep_shard(order_id: str) -> str:
    return str(hashlib.sha256(order_id.encode()).digest()[0] % SWEEP_SHARDS)


def _cancellation_reasons(error: ClientError) -> list[dict[str, Any]] | None:
    if _code(error) != "TransactionCanceledException":
        return None
    return list(error.response.get("CancellationReasons", []))  # type: ignore[arg-type]


def _failed(reasons: list[dict[str, Any]], index: int) -> bool:
    return index < len(reasons) and reasons[index].get("Code") == "ConditionalCheckFailed"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _shortage(
    quantities: Mapping[str, int], short: list[str], reasons: list[dict[str, Any]]
) -> OutOfStockError:
    """Which lines failed their condition, with what is left of each (from the failed items' old values)."""
    left_of: dict[str, int] = {}
    for index, sku in enumerate(quantities, start=1):
        old = reasons[index].get("Item") if index < len(reasons) else None
        if old:
            # The resource client hands back python values; a low-level one would give {"N": "3"}.
            stock = old.get("stock", 0)
            active = old.get("active", True)
            stock = stock.get("N", 0) if isinstance(stock, dict) else stock
            active = active.get("BOOL", True) if isinstance(active, dict) else active
            left_of[sku] = int(stock) if active else 0
    details = [
        {
            "loc": ["body", "items", sku],
            "msg": f"{quantities[sku]} requested, {left_of.get(sku, 0)} left",
            "type": "out_of_stock",
            "ctx": {"sku": sku, "requested": quantities[sku], "available": left_of.get(sku, 0)},
        }
        for sku in short
    ]
    return OutOfStockError("not enough stock for every line; nothing was reserved", details)
