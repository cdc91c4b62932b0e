"""The catalogue in DynamoDB (ProductsTable: tenant_id, sku), and atomic stock reservations on it."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from tandem.adapters import aws
from tandem.adapters.cursors import decode_cursor, encode_cursor
from tandem.logic.errors import OutOfStockError
from tandem.models.catalog import Product

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems, and our order line limit


class CatalogTable:
    def __init__(
        self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None, *, cursor_key: bytes = b""
    ) -> None:
        """`cursor_key` signs page cursors; without one (reservations only) `page` cannot read or make one."""
        self._resource = dynamodb or aws.dynamodb()
        self._cursor_key = cursor_key
        self._table = self._resource.Table(table_name)
        self._name = table_name

    def get(self, tenant_id: str, sku: str) -> Product | None:
        item = self._table.get_item(Key={"tenant_id": tenant_id, "sku": sku}, ConsistentRead=True).get("Item")
        return Product.model_validate(item) if item else None

    def get_many(self, tenant_id: str, skus: list[str]) -> dict[str, Product]:
        found: dict[str, Product] = {}
        keys = [{"tenant_id": tenant_id, "sku": sku} for sku in dict.fromkeys(skus)]
        for start in range(0, len(keys), 100):  # BatchGetItem takes 100 keys at a time
            request: dict[str, Any] = {
                self._name: {"Keys": keys[start : start + 100], "ConsistentRead": True}
            }
            while request:
                answer = self._resource.batch_get_item(RequestItems=request)
                for item in answer["Responses"].get(self._name, []):
                    product = Product.model_validate(item)
                    found[product.sku] = product
                request = answer.get("UnprocessedKeys") or {}
        return found

    def put(self, product: Product) -> None:
        self._table.put_item(Item=product.model_dump(exclude_none=True))

    def page(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Product], str | None]:
        query: dict[str, Any] = {"KeyConditionExpression": Key("tenant_id").eq(tenant_id), "Limit": limit}
        if cursor:
            query["ExclusiveStartKey"] = decode_cursor(cursor, tenant_id, self._cursor_key)
        answer = self._table.query(**query)
        items = [Product.model_validate(item) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return items, encode_cursor(last, self._cursor_key) if last else None

    def reserve(self, tenant_id: str, quantities: Mapping[str, int]) -> None:
        """Take the quantities from stock, all lines or none (one transaction, a condition per line)."""
        self._transact(tenant_id, quantities, take=True)

    def release(self, tenant_id: str, quantities: Mapping[str, int]) -> None:
        """Give reserved quantities back (compensation); all lines in one transaction."""
        self._transact(tenant_id, quantities, take=False)

    def _transact(self, tenant_id: str, quantities: Mapping[str, int], take: bool) -> None:
        if len(quantities) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"at most {MAX_TRANSACTION_ITEMS} distinct SKUs in one reservation")
        updates = [
            {
                "Update": {
                    "TableName": self._name,
                    "Key": {"tenant_id": tenant_id, "sku": sku},
                    "UpdateExpression": "SET stock = stock - :q" if take else "SET stock = stock + :q",
                    # Taking needs enough stock of an active product; giving back needs the product to exist.
                    "ConditionExpression": "attribute_exists(sku) AND active = :on AND stock >= :q"
                    if take
                    else "attribute_exists(sku)",
                    "ExpressionAttributeValues": {":q": quantity, ":on": True} if take else {":q": quantity},
                }
            }
            for sku, quantity in quantities.items()
        ]
        try:
            self._table.meta.client.transact_write_items(TransactItems=updates)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException" or not take:
                raise
            raise self._shortage(tenant_id, quantities, error) from None

    def _shortage(self, tenant_id: str, quantities: Mapping[str, int], error: ClientError) -> OutOfStockError:
        """Which lines failed their condition (DynamoDB says, line by line), with what is left of each."""
        reasons = error.response.get("CancellationReasons", [])
        short = [
            sku
            for sku, reason in zip(quantities, reasons, strict=False)
            if reason.get("Code") == "ConditionalCheckFailed"
        ] or list(quantities)
        current = self.get_many(tenant_id, short)
        details = []
        for sku in short:
            product = current.get(sku)
            left = product.stock if product and product.active else 0
            details.append(
                {
                    "loc": ["body", "items", sku],
                    "msg": f"{quantities[sku]} requested, {left} left",
                    "type": "out_of_stock",
                    "ctx": {"sku": sku, "requested": quantities[sku], "available": left},
                }
            )
        return OutOfStockError("not enough stock for every line; nothing was reserved", details)
