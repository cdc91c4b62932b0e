"""Report jobs in DynamoDB: partition key tenant_id, sort key job_id."""

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tandem.adapters import aws
from tandem.models.records import Job

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

# Finished or not, a job record is dropped by DynamoDB's TTL after this long.
RETENTION = timedelta(days=90)


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class JobsTable:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

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


def _to_item(job: Job) -> dict[str, Any]:
    item = job.model_dump(mode="json", exclude_none=True)
    item["expires_at"] = int((job.created_at + RETENTION).timestamp())
    return item


def _from_item(item: dict[str, Any]) -> Job:
    fields = {name: value for name, value in item.items() if name != "expires_at"}
    return Job.model_validate(fields)
