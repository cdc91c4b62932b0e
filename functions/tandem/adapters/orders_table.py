"""Orders in DynamoDB: key (tenant_id, order_id); GSI `by_created_at` (tenant_id, created_at) for periods."""

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from tandem.adapters import aws
from tandem.adapters.cursors import decode_cursor, encode_cursor
from tandem.models.records import Order, OrderLine, OrderReview, OrderStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

BY_CREATED_AT = "by_created_at"


def sortable_time(moment: datetime) -> str:
    """One fixed-width UTC format, so DynamoDB's string order is time order."""
    utc = moment.astimezone(UTC)
    # The year by hand: strftime's %Y writes year 5 as "5", and "5-…" sorts after "2026-…".
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S.%f}Z"


class OrdersTable:
    def __init__(
        self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None, *, cursor_key: bytes = b""
    ) -> None:
        """`cursor_key` signs page cursors; without one (workers, seeding) `page` cannot make or read one."""
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)
        # The resource's client takes and gives python values; its stubs know only the wire format.
        self._client: Any = self._table.meta.client
        self._cursor_key = cursor_key

    def put(self, order: Order) -> None:
        self._table.put_item(Item=order_to_item(order))

    def put_many(self, orders: Iterable[Order]) -> int:
        """Batched writes (25 a request, unprocessed items retried by boto3); returns the count."""
        count = 0
        with self._table.batch_writer(overwrite_by_pkeys=["tenant_id", "order_id"]) as batch:
            for order in orders:
                batch.put_item(Item=order_to_item(order))
                count += 1
        return count

    def get(self, tenant_id: str, order_id: str) -> Order | None:
        item = self._table.get_item(Key={"tenant_id": tenant_id, "order_id": order_id}).get("Item")
        return order_from_item(item) if item else None

    def page(
        self,
        tenant_id: str,
        start: datetime,
        end: datetime,
        status: OrderStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Order], str | None]:
        """One page of the tenant's orders in [start, end), newest first, optionally of one status."""
        query: dict[str, Any] = {
            "IndexName": BY_CREATED_AT,
            "KeyConditionExpression": Key("tenant_id").eq(tenant_id)
            & Key("created_at").between(sortable_time(start), sortable_time(end - timedelta(microseconds=1))),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status is not None:
            # Filtered after the read: a page may hold fewer than `limit` orders; the cursor goes on.
            query["FilterExpression"] = Attr("status").eq(status.value)
        if cursor:
            query["ExclusiveStartKey"] = decode_cursor(cursor, tenant_id, self._cursor_key)
        answer = self._table.query(**query)
        last = answer.get("LastEvaluatedKey")
        next_cursor = encode_cursor(last, self._cursor_key) if last else None
        return [order_from_item(item) for item in answer.get("Items", [])], next_cursor

    def review(self, tenant_id: str, order_id: str, review: OrderReview) -> Order | None:
        """Record the decision unless it is already the order's (one conditional write, one round trip):
        the order as it is afterwards, or None when there is no such order."""
        try:
            answer = self._client.update_item(
                TableName=self._table.name,
                Key={"tenant_id": tenant_id, "order_id": order_id},
                UpdateExpression=(
                    "SET review_decision = :decision, "
                    "reviews = list_append(if_not_exists(reviews, :none), :new)"
                ),
                ConditionExpression=(
                    "attribute_exists(order_id) AND "
                    "(attribute_not_exists(review_decision) OR review_decision <> :decision)"
                ),
                ExpressionAttributeValues={
                    ":decision": review.decision,
                    ":none": [],
                    ":new": [review_to_item(review)],
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            wire: Mapping[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            if not wire:
                return None  # no such order (of this tenant)
            # The same decision again: nothing written; the order as it is.
            return order_from_item({name: _DESERIALIZER.deserialize(value) for name, value in wire.items()})
        return order_from_item(answer["Attributes"])

    def between(self, tenant_id: str, start: datetime, end: datetime) -> Iterator[Order]:
        # BETWEEN includes both ends; the period is half-open, so stop 1 µs before `end`.
        condition = Key("tenant_id").eq(tenant_id) & Key("created_at").between(
            sortable_time(start), sortable_time(end - timedelta(microseconds=1))
        )
        query: dict[str, Any] = {"IndexName": BY_CREATED_AT, "KeyConditionExpression": condition}
        while True:
            page = self._table.query(**query)
            for item in page.get("Items", []):
                yield order_from_item(item)
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def count_between(self, tenant_id: str, start: datetime, end: datetime, at_most: int) -> int:
        """Implements OrderCounts: a COUNT query on `by_created_at` over the same keys `between` reads.

        DynamoDB still reads the items (1 MB a page, the same read units) but sends none back, so
        the estimate costs round trips, not transfer or parsing; it stops at the first page that
        takes the count past `at_most`, which is all a dispatch decision needs."""
        condition = Key("tenant_id").eq(tenant_id) & Key("created_at").between(
            sortable_time(start), sortable_time(end - timedelta(microseconds=1))
        )
        query: dict[str, Any] = {
            "IndexName": BY_CREATED_AT,
            "KeyConditionExpression": condition,
            "Select": "COUNT",
        }
        count = 0
        while True:
            page = self._table.query(**query)
            count += int(page.get("Count", 0))
            if count > at_most or "LastEvaluatedKey" not in page:
                return count
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


_DESERIALIZER = TypeDeserializer()


def order_to_item(order: Order) -> dict[str, Any]:
    """The item of an order as boto3's resource layer writes it (the checkout adds its own attributes)."""
    item: dict[str, Any] = {
        "tenant_id": order.tenant_id,
        "order_id": order.order_id,
        "created_at": sortable_time(order.created_at),
        "status": order.status.value,
        "currency": order.currency,
        # Numbers stay DynamoDB numbers (Decimal), never floats or strings.
        "lines": [_line_item(line) for line in order.lines],
        "total": order.total,
    }
    for optional in ("country", "channel", "customer_id", "customer_email"):
        if (value := getattr(order, optional)) is not None:
            item[optional] = value
    for nested in ("payment", "risk", "shipping_address"):
        if (value := getattr(order, nested)) is not None:
            item[nested] = value.model_dump(mode="python")  # Decimals stay DynamoDB numbers
    if order.reviews:
        item["reviews"] = [review_to_item(review) for review in order.reviews]
        item["review_decision"] = order.reviews[-1].decision
    return item


def _line_item(line: OrderLine) -> dict[str, Any]:
    item: dict[str, Any] = {"sku": line.sku, "quantity": line.quantity, "unit_price": line.unit_price}
    if line.category is not None:
        item["category"] = line.category
    return item


def review_to_item(review: OrderReview) -> dict[str, Any]:
    return review.model_dump(mode="json", exclude_none=True)


def order_from_item(item: dict[str, Any]) -> Order:
    """An order from its item as boto3's resource layer reads it (or a stream image, deserialized)."""
    lines = [
        {
            "sku": line["sku"],
            "quantity": int(line["quantity"]),
            "unit_price": line["unit_price"],
            # Absent from the lines of orders stored before lines kept their category.
            "category": line.get("category"),
        }
        for line in item["lines"]
    ]
    return Order.model_validate(
        {
            "tenant_id": item["tenant_id"],
            "order_id": item["order_id"],
            "created_at": item["created_at"],
            "status": item["status"],
            "currency": item["currency"],
            "lines": lines,
            "country": item.get("country"),
            "channel": item.get("channel"),
            "customer_id": item.get("customer_id"),
            "customer_email": item.get("customer_email"),
            "payment": item.get("payment"),
            "risk": item.get("risk"),
            "reviews": item.get("reviews", ()),
            "shipping_address": item.get("shipping_address"),
        }
    )
