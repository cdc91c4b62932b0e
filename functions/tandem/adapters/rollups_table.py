"""The dashboard's rollups in DynamoDB (RollupsTable): partition key tenant_id, sort key `key`.

Why DynamoDB and not month documents in S3: the dashboard asks for a tenant's range of days
(this week, this month against the last) and filters it; a Query on (tenant, `day#` range)
answers that in one round trip of single-digit milliseconds, and a night (or a backfill running
several dates at once) replaces its own day's items without reading anyone else's. Month documents
would need a read-modify-write of the month for every night, which concurrent backfills of one
month would race on.

Items: `day#YYYY-MM-DD` holds the day's rollup without its SKUs (a JSON document in `doc`:
a few kB); `skus#YYYY-MM-DD#NNN` hold its SKUs' sales in chunks of SKU_CHUNK, so that no item
nears DynamoDB's 400 KB. A re-run rewrites the day and its chunks and deletes the chunks it no
longer has. `meta#stamp` holds the latest day rolled up and a version every `put_day` bumps, after
its day is written: the API caches parsed rollups under it (tandem.logic.dashboard_kpis), and reads
it and the days strongly consistently, so a new stamp never comes with the day before it.
"""

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from tandem.adapters import aws
from tandem.models.dashboard import DayRollup, RollupStamp, SkuSales

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

SKU_CHUNK = 1000  # about 100 bytes a SKU: 100 kB an item
STAMP = "meta#stamp"
_SKUS = TypeAdapter(list[SkuSales])


class RollupsTable:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

    def put_day(self, rollup: DayRollup) -> None:
        tenant, day = rollup.tenant_id, rollup.day.isoformat()
        chunks = [rollup.skus[i : i + SKU_CHUNK] for i in range(0, len(rollup.skus), SKU_CHUNK)]
        keep = {f"skus#{day}#{n:03d}" for n in range(len(chunks))}
        stale = [key for key in self._keys(tenant, f"skus#{day}#") if key not in keep]
        with self._table.batch_writer() as batch:
            document = rollup.model_dump(mode="json", by_alias=True, exclude={"skus"})
            batch.put_item(Item={"tenant_id": tenant, "key": f"day#{day}", "doc": json.dumps(document)})
            for n, chunk in enumerate(chunks):
                skus = [s.model_dump(mode="json") for s in chunk]
                batch.put_item(
                    Item={"tenant_id": tenant, "key": f"skus#{day}#{n:03d}", "doc": json.dumps(skus)}
                )
            for key in stale:
                batch.delete_item(Key={"tenant_id": tenant, "key": key})
        self._bump(tenant, day)

    def _bump(self, tenant: str, day: str) -> None:
        """A new version; the last day too unless a later one is there (a backfill of an old date)."""
        key = {"tenant_id": tenant, "key": STAMP}
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression="ADD #v :one SET #d = :day",
                ConditionExpression=Attr("last_day").not_exists() | Attr("last_day").lt(day),
                ExpressionAttributeNames={"#v": "version", "#d": "last_day"},
                ExpressionAttributeValues={":one": 1, ":day": day},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            self._table.update_item(
                Key=key,
                UpdateExpression="ADD #v :one",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":one": 1},
            )

    def stamp(self, tenant_id: str) -> RollupStamp | None:
        # A Query of the one key rather than a GetItem: the API reads this table with Query alone.
        condition = Key("tenant_id").eq(tenant_id) & Key("key").eq(STAMP)
        items = self._table.query(KeyConditionExpression=condition, ConsistentRead=True).get("Items", [])
        if not items:
            return None
        item = items[0]
        return RollupStamp(
            last_day=date.fromisoformat(str(item["last_day"])), version=int(str(item["version"]))
        )

    def days(self, tenant_id: str, start: date, end: date) -> list[DayRollup]:
        days = self._query(tenant_id, f"day#{start.isoformat()}", f"day#{end.isoformat()}")
        skus: dict[str, list[SkuSales]] = {}
        for item in self._query(tenant_id, f"skus#{start.isoformat()}#", f"skus#{end.isoformat()}#~"):
            # A chunk validated whole from its JSON: several times faster than a model per SKU, and
            # the dashboard's cold read parses hundreds of thousands of them.
            skus.setdefault(str(item["key"]).split("#")[1], []).extend(_SKUS.validate_json(str(item["doc"])))
        rollups = []
        for item in days:
            rollup = DayRollup.model_validate_json(str(item["doc"]))
            rollup.skus = skus.get(rollup.day.isoformat(), [])
            rollups.append(rollup)
        return rollups

    def _query(self, tenant_id: str, low: str, high: str) -> list[dict[str, Any]]:
        condition = Key("tenant_id").eq(tenant_id) & Key("key").between(low, high)
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True}
        while True:
            page = self._table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _keys(self, tenant_id: str, prefix: str) -> list[str]:
        condition = Key("tenant_id").eq(tenant_id) & Key("key").begins_with(prefix)
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ProjectionExpression": "#k",
                                  "ExpressionAttributeNames": {"#k": "key"}}  # fmt: skip
        keys: list[str] = []
        while True:
            page = self._table.query(**kwargs)
            keys.extend(str(item["key"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return keys
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
