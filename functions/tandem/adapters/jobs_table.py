"""Report jobs in DynamoDB: partition key tenant_id, sort key job_id.

Two GSIs (template.yaml): `by_created_at` (tenant_id, created_at) lists a tenant's jobs newest
first, so `created_at` is written in one fixed-width UTC format (`sortable_time`); `by_sweep`
(sweep_shard, idle_since) is sparse: only queued or running jobs carry those two attributes
(idle_since = the job's last change), so the sweeper queries exactly the jobs that may be stuck.
"""

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from tandem.adapters import aws
from tandem.adapters.cursors import decode_cursor, encode_cursor
from tandem.adapters.orders_table import sortable_time
from tandem.models.records import Job, JobStatus, ReportKind

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

# Finished or not, a job record is dropped by DynamoDB's TTL after this long.
RETENTION = timedelta(days=90)
BY_CREATED_AT = "by_created_at"
BY_SWEEP = "by_sweep"
SWEEP_SHARDS = 8  # a burst of jobs spread over 8 index partitions
# A page is filled from up to this many reads when a status filter skips items; then it ends
# early with a cursor, so one request never reads a tenant's whole history.
MAX_READS_PER_PAGE = 5
READ_STEP = 100
_STORE_ONLY = ("expires_at", "sweep_shard", "idle_since")


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class JobsTable:
    def __init__(
        self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None, *, cursor_key: bytes = b""
    ) -> None:
        """`cursor_key` signs page cursors; without one (workers, the night) no page can be read."""
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)
        self._cursor_key = cursor_key

    def create(self, job: Job) -> None:
        self._table.put_item(Item=_to_item(job), ConditionExpression="attribute_not_exists(job_id)")

    def get(self, tenant_id: str, job_id: str) -> Job | None:
        item = self._table.get_item(Key={"tenant_id": tenant_id, "job_id": job_id}, ConsistentRead=True)
        found = item.get("Item")
        return _from_item(found) if found else None

    def save(self, job: Job, expected_version: int) -> bool:
        try:
            self._table.put_item(
                Item=_to_item(job),
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": expected_version},
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def page(
        self, tenant_id: str, status: JobStatus | None, limit: int, cursor: str | None
    ) -> tuple[list[Job], str | None]:
        """Up to `limit` of the tenant's report jobs (table exports left out), newest first."""
        # Table exports are read at GET /exports/{id} with the admin scope: never listed here.
        condition: ConditionBase = Attr("params.kind").ne(ReportKind.TABLE_EXPORT.value)
        if status is not None:
            condition = condition & Attr("status").eq(status.value)
        query: dict[str, Any] = {
            "IndexName": BY_CREATED_AT,
            "KeyConditionExpression": Key("tenant_id").eq(tenant_id),
            "FilterExpression": condition,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            query["ExclusiveStartKey"] = decode_cursor(cursor, tenant_id, self._cursor_key)
        found: list[dict[str, Any]] = []
        for _ in range(MAX_READS_PER_PAGE):
            answer = self._table.query(**query)
            items = answer.get("Items", [])
            for index, item in enumerate(items):
                found.append(item)
                if len(found) == limit:
                    if index == len(items) - 1 and "LastEvaluatedKey" not in answer:
                        return [_from_item(i) for i in found], None
                    # Full: the next page starts after this item (its index key is a valid start key).
                    last = {name: item[name] for name in ("tenant_id", "job_id", "created_at")}
                    return [_from_item(i) for i in found], encode_cursor(last, self._cursor_key)
            if "LastEvaluatedKey" not in answer:
                return [_from_item(i) for i in found], None
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
            # The filter skipped some: read further in larger steps (the page still stops at `limit`).
            query["Limit"] = READ_STEP
        return [_from_item(i) for i in found], encode_cursor(query["ExclusiveStartKey"], self._cursor_key)

    def idle(self, before: datetime, limit: int) -> list[Job]:
        """Queued or running jobs whose last change is before `before`, at most `limit`."""
        found: list[Job] = []
        for shard in range(SWEEP_SHARDS):
            answer = self._table.query(
                IndexName=BY_SWEEP,
                KeyConditionExpression=Key("sweep_shard").eq(str(shard))
                & Key("idle_since").lt(sortable_time(before)),
                Limit=limit - len(found),
            )
            found.extend(_from_item(item) for item in answer.get("Items", []))
            if len(found) >= limit:
                break
        return found


def sweep_shard(job_id: str) -> str:
    return str(hashlib.sha256(job_id.encode()).digest()[0] % SWEEP_SHARDS)


def _to_item(job: Job) -> dict[str, Any]:
    item = job.model_dump(mode="json", exclude_none=True)
    item["created_at"] = sortable_time(job.created_at)  # the list index's sort key: string order = time order
    item["expires_at"] = int((job.created_at + RETENTION).timestamp())
    if job.duration_seconds is not None:  # DynamoDB numbers are Decimals; the text keeps the value exact
        item["duration_seconds"] = Decimal(str(job.duration_seconds))
    if not job.status.is_final:
        # In the sweep index while it may get stuck; a put of the final state drops both attributes.
        item["sweep_shard"] = sweep_shard(job.job_id)
        item["idle_since"] = sortable_time(job.updated_at)
    return item


def _from_item(item: dict[str, Any]) -> Job:
    fields = {name: value for name, value in item.items() if name not in _STORE_ONLY}
    return Job.model_validate(fields)
