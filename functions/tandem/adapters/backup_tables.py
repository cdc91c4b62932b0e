"""The deployment's DynamoDB tables as a backup reads and a restore writes them: the low-level
client, so items stay in DynamoDB's typed form (numbers as their decimal text, sets as sets)."""

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from tandem.adapters import aws
from tandem.logic.ports import TypedItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# BatchWriteItem takes at most 25 puts; what it leaves unprocessed (throttling) is sent again.
_BATCH = 25
_RETRY_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0)


def parse_table_names(text: str) -> dict[str, str]:
    """`ApiKeysTable=stack-ApiKeysTable-X,…` (the BACKUP_TABLES variable) → logical → physical."""
    pairs = (part.split("=", 1) for part in text.split(",") if part.strip())
    return {logical.strip(): physical.strip() for logical, physical in pairs}


class DynamoDbBackupTables:
    """Implements BackupTables over the tables named (logical → physical name)."""

    def __init__(self, tables: Mapping[str, str], client: "DynamoDBClient | None" = None) -> None:
        self._tables = dict(tables)
        self._client = client or aws.dynamodb_client()
        self._keys: dict[str, tuple[str, ...]] = {}

    def names(self) -> list[str]:
        return list(self._tables)

    def key_names(self, table: str) -> tuple[str, ...]:
        if table not in self._keys:
            schema = self._client.describe_table(TableName=self._tables[table])["Table"]["KeySchema"]
            ordered = sorted(schema, key=lambda k: k["KeyType"] != "HASH")  # HASH, then RANGE
            self._keys[table] = tuple(k["AttributeName"] for k in ordered)
        return self._keys[table]

    def scan(self, table: str) -> Iterator[TypedItem]:
        # Consistent: a backup taken after a write has the write.
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._tables[table], ConsistentRead=True
        )
        for page in pages:
            # AttributeValueTypeDef is the typed form TypedItem names, as a TypedDict.
            yield from cast(list[TypedItem], page.get("Items", []))

    def is_empty(self, table: str) -> bool:
        # No filter, so the first item scanned is returned if there is one.
        return not self._client.scan(TableName=self._tables[table], Limit=1).get("Items")

    def write(self, table: str, items: Iterable[TypedItem]) -> int:
        name, count, batch = self._tables[table], 0, []
        for item in items:
            batch.append(item)
            if len(batch) == _BATCH:
                count += self._put(name, batch)
                batch = []
        if batch:
            count += self._put(name, batch)
        return count

    def _put(self, name: str, items: list[TypedItem]) -> int:
        requests: list[Any] = [{"PutRequest": {"Item": item}} for item in items]
        for pause in (0.0, *_RETRY_PAUSES):
            time.sleep(pause)
            left = self._client.batch_write_item(RequestItems={name: requests}).get("UnprocessedItems", {})
            requests = list(left.get(name, []))
            if not requests:
                return len(items)
        raise RuntimeError(f"{name}: {len(requests)} items still unprocessed after retries (throttled)")


class DynamoDbTableSizes:
    """Implements TableSizes: DescribeTable's ItemCount of each table named, summed. Only metadata:
    the caller needs dynamodb:DescribeTable, never a read of the items."""

    def __init__(self, tables: Mapping[str, str], client: "DynamoDBClient | None" = None) -> None:
        self._tables = list(dict(tables).values())
        self._client = client or aws.dynamodb_client()

    def item_count(self) -> int:
        return sum(
            self._client.describe_table(TableName=name)["Table"].get("ItemCount", 0) for name in self._tables
        )
