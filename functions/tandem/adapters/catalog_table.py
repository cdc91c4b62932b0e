"""The catalogue in DynamoDB (ProductsTable) and its stock ledgers.

ProductsTable's key is (tenant_id S, sku S). Three kinds of item share it; tenant ids never
contain '#' (TenantId) and SKUs never do (Sku), so the partitions cannot collide:

- a product: ("{tenant}", "{sku}"): name, price, currency, stock, category (optional), active;
- a stock ledger entry: ("{tenant}#stock#{sku}", "{sortable time}#{entry id}"): adjustment_id,
  delta, reason, note (optional), at, by;
- an adjustment id's marker: ("{tenant}#stock-id#{sku}", "{entry id}"): the same attributes as
  its ledger entry, and `entry`, the entry's sort key.

GET /products is a Query on the partition "{tenant}": it only ever sees products. A ledger is
a Query on its own partition, newest first (the sort key starts with the time, fixed width, UTC).
An entry id is derived from the request's Idempotency-Key, and an entry's sort key from its time,
so a retry would make a second entry; the marker, keyed by the id alone and written with
attribute_not_exists in the same transaction, is what makes a retry a no-op (and answers it).

Stock only ever moves by deltas: an adjustment is `ADD stock :delta` (conditional on the product
and, for a removal, on the units being there); a checkout's hold `stock - :q` and its release
`stock + :q` (adapters/checkout_store.py, in the same transaction as the order's change).
A product edit never writes `stock`: an UpdateItem that does not name it, or the creation of a
new product (stock 0) under attribute_not_exists. Concurrent checkouts therefore never lose
units to an edit, and an edit never resurrects units they took.
"""

import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from tandem.adapters import aws
from tandem.adapters.cursors import decode_cursor, encode_cursor
from tandem.logic.errors import ConflictError, NotFoundError, OutOfStockError, RetryLaterError
from tandem.models.catalog import Product, ProductUpdate, StockAdjustment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

# An adjustment's transaction meets a checkout's on the product item now and then (DynamoDB then
# cancels one with TransactionConflict, nothing written): tried again this often, then a 503.
ADJUSTMENT_ATTEMPTS = 6


def ledger_partition(tenant_id: str, sku: str) -> str:
    return f"{tenant_id}#stock#{sku}"


def marker_partition(tenant_id: str, sku: str) -> str:
    return f"{tenant_id}#stock-id#{sku}"


def sortable_time(at: datetime) -> str:
    """UTC, fixed width, to the microsecond: sorts as text in time order."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _entry_item(adjustment: StockAdjustment) -> dict[str, Any]:
    item: dict[str, Any] = {
        "adjustment_id": adjustment.adjustment_id,
        "delta": adjustment.delta,
        "reason": adjustment.reason.value,
        "at": adjustment.at.astimezone(UTC).isoformat(),
        "by": adjustment.by,
    }
    if adjustment.note is not None:
        item["note"] = adjustment.note
    return item


def _entry_from_item(item: Mapping[str, Any], sku: str) -> StockAdjustment:
    return StockAdjustment(
        adjustment_id=str(item["adjustment_id"]),
        sku=sku,
        delta=int(item["delta"]),
        reason=item["reason"],
        note=item.get("note"),
        at=datetime.fromisoformat(str(item["at"])),
        by=str(item["by"]),
    )


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class CatalogTable:
    def __init__(
        self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None, *, cursor_key: bytes = b""
    ) -> None:
        """`cursor_key` signs page cursors; without one (reservations only) no page can be read or made."""
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
        """A new product with its opening stock, for seeding (tests, benchmarks, migrations).

        ConflictError if the SKU exists: this never overwrites a product, so it can never reset
        the stock of one that sells. The API creates and edits products with `save`.
        """
        try:
            self._table.put_item(
                Item=product.model_dump(exclude_none=True), ConditionExpression="attribute_not_exists(sku)"
            )
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise
            raise ConflictError(
                f"product '{product.sku}' exists already; its stock moves by adjustments"
            ) from None

    def save(self, tenant_id: str, sku: str, update: ProductUpdate) -> tuple[Product, bool]:
        """Change an existing product's details (one UpdateItem that never names `stock`), or
        create it with stock 0 (a put under attribute_not_exists). (product as stored, created)."""
        details = update.details()
        names = {f"#{name}": name for name in details}
        values = {f":{name}": value for name, value in details.items() if value is not None}
        assignments = ", ".join(f"#{name} = :{name}" for name, value in details.items() if value is not None)
        removals = ", ".join(f"#{name}" for name, value in details.items() if value is None)
        expression = f"SET {assignments}" + (f" REMOVE {removals}" if removals else "")
        key = {"tenant_id": tenant_id, "sku": sku}
        for _ in range(2):  # products are never deleted: a lost creation race ends in an update
            try:
                answer = self._table.update_item(
                    Key=key,
                    UpdateExpression=expression,
                    ConditionExpression="attribute_exists(sku)",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
                return Product.model_validate(answer["Attributes"]), False
            except ClientError as error:
                if _error_code(error) != "ConditionalCheckFailedException":
                    raise
            product = Product(tenant_id=tenant_id, sku=sku, stock=0, **details)
            try:
                self._table.put_item(
                    Item=product.model_dump(exclude_none=True),
                    ConditionExpression="attribute_not_exists(sku)",
                )
                return product, True
            except ClientError as error:
                if _error_code(error) != "ConditionalCheckFailedException":
                    raise
        raise RuntimeError(f"product '{sku}' was neither found nor created")  # only if deleted meanwhile

    def page(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Product], str | None]:
        query: dict[str, Any] = {"KeyConditionExpression": Key("tenant_id").eq(tenant_id), "Limit": limit}
        if cursor:
            query["ExclusiveStartKey"] = decode_cursor(cursor, tenant_id, self._cursor_key)
        answer = self._table.query(**query)
        items = [Product.model_validate(item) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return items, encode_cursor(last, self._cursor_key) if last else None

    # ------------------------------------------------------------ the stock ledger
    def adjust_stock(self, tenant_id: str, adjustment: StockAdjustment) -> StockAdjustment:
        """One TransactWriteItems: the product's `ADD stock :delta`, the ledger entry and the
        adjustment id's marker. The entry recorded under the id: this one, or the first one."""
        sku, delta = adjustment.sku, adjustment.delta
        stock_update: dict[str, Any] = {
            "TableName": self._name,
            "Key": {"tenant_id": tenant_id, "sku": sku},
            "UpdateExpression": "ADD stock :delta",
            "ConditionExpression": "attribute_exists(sku)",
            "ExpressionAttributeValues": {":delta": delta},
        }
        if delta < 0:  # never below zero: the units removed must be on hand
            stock_update["ConditionExpression"] += " AND stock >= :needed"
            stock_update["ExpressionAttributeValues"][":needed"] = -delta
        items = [{"Update": stock_update}, *self._ledger_puts(tenant_id, adjustment)]
        for attempt in range(ADJUSTMENT_ATTEMPTS):
            try:
                self._table.meta.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return adjustment
            except ClientError as error:
                if _error_code(error) != "TransactionCanceledException":
                    raise
                reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if len(reasons) == len(items) and reasons[2] == "ConditionalCheckFailed":
                return self._recorded(tenant_id, sku, adjustment.adjustment_id)  # a replay: the first entry
            if len(reasons) == len(items) and reasons[0] == "ConditionalCheckFailed":
                if refusal := self._refusal(tenant_id, adjustment):
                    raise refusal
            elif "TransactionConflict" not in reasons:
                raise RuntimeError(f"stock adjustment of '{sku}' cancelled: {reasons}")
            # A conflicting transaction, or units given back since the refusal: try again, a bit later.
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 (jitter, not a secret)
        raise RetryLaterError(
            f"the stock of '{sku}' is busy; nothing was changed: retry with the same Idempotency-Key"
        )

    def record_movement(self, tenant_id: str, adjustment: StockAdjustment) -> StockAdjustment:
        """Implements `tandem.logic.ports.StockLedger`: `adjust_stock`'s ledger entry and id marker
        in one TransactWriteItems, without its stock update. The entry recorded under the id."""
        sku = adjustment.sku
        items = self._ledger_puts(tenant_id, adjustment)
        try:
            self._table.meta.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if _error_code(error) == "TransactionCanceledException" and "ConditionalCheckFailed" in reasons:
                return self._recorded(tenant_id, sku, adjustment.adjustment_id)  # recorded before
            raise
        return adjustment

    def _ledger_puts(self, tenant_id: str, adjustment: StockAdjustment) -> list[dict[str, Any]]:
        """The ledger entry (sorted by time) and its id marker (a replay finds the first entry),
        each put only if new: what a stock adjustment and a recorded movement both write."""
        sku, entry = adjustment.sku, _entry_item(adjustment)
        position = f"{sortable_time(adjustment.at)}#{adjustment.adjustment_id}"
        return [
            {
                "Put": {
                    "TableName": self._name,
                    "Item": {"tenant_id": ledger_partition(tenant_id, sku), "sku": position, **entry},
                    "ConditionExpression": "attribute_not_exists(sku)",
                }
            },
            {
                "Put": {
                    "TableName": self._name,
                    "Item": {
                        "tenant_id": marker_partition(tenant_id, sku),
                        "sku": adjustment.adjustment_id,
                        "entry": position,
                        **entry,
                    },
                    "ConditionExpression": "attribute_not_exists(sku)",
                }
            },
        ]

    def _recorded(self, tenant_id: str, sku: str, adjustment_id: str) -> StockAdjustment:
        key = {"tenant_id": marker_partition(tenant_id, sku), "sku": adjustment_id}
        return _entry_from_item(self._table.get_item(Key=key, ConsistentRead=True)["Item"], sku)

    def _refusal(self, tenant_id: str, adjustment: StockAdjustment) -> Exception | None:
        """Why the product refused the delta: it does not exist, or fewer units are on hand (None if
        they are there again: a checkout gave units back since)."""
        product = self.get(tenant_id, adjustment.sku)
        if product is None:
            return NotFoundError(f"no product '{adjustment.sku}'")
        removed = -adjustment.delta
        if product.stock >= removed:
            return None
        return OutOfStockError(
            f"cannot remove {removed} of '{adjustment.sku}': {product.stock} on hand; nothing changed",
            [
                {
                    "loc": ["body", "delta"],
                    "msg": f"{removed} to remove, {product.stock} on hand",
                    "type": "stock_below_zero",
                    "ctx": {"sku": adjustment.sku, "delta": adjustment.delta, "stock": product.stock},
                }
            ],
        )

    def stock_adjustments(
        self, tenant_id: str, sku: str, limit: int, cursor: str | None
    ) -> tuple[list[StockAdjustment], str | None]:
        partition = ledger_partition(tenant_id, sku)
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("tenant_id").eq(partition),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:  # bound to this tenant's ledger of this SKU
            query["ExclusiveStartKey"] = decode_cursor(cursor, partition, self._cursor_key)
        answer = self._table.query(**query)
        items = [_entry_from_item(item, sku) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return items, encode_cursor(last, self._cursor_key) if last else None
