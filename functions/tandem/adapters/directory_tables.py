"""Tenants and API keys in DynamoDB: small tables read on every request or every night."""

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tandem.adapters import aws
from tandem.models.records import ApiKey, Tenant, TenantWebhook

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource


class ApiKeysTable:
    """Partition key key_hash: a key is found by the hash of its secret, never by the secret."""

    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

    def get(self, key_hash: str) -> ApiKey | None:
        item = self._table.get_item(Key={"key_hash": key_hash}).get("Item")
        return ApiKey.model_validate(item) if item else None

    def put(self, key: ApiKey) -> None:
        item: dict[str, Any] = key.model_dump(mode="json", exclude_none=True)
        item["scopes"] = set(key.scopes)  # a DynamoDB string set
        self._table.put_item(Item=item)

    def all(self) -> Iterator[ApiKey]:
        """Implements `tandem.logic.ports.ApiKeyRegistry`: a scan, for the operator's `tandem keys`."""
        scan: dict[str, Any] = {}
        while True:
            page = self._table.scan(**scan)
            for item in page.get("Items", []):
                yield ApiKey.model_validate(item)
            if "LastEvaluatedKey" not in page:
                return
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class TenantsTable:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

    def put(self, tenant: Tenant) -> None:
        self._table.put_item(Item=tenant.model_dump(mode="json"))

    def get(self, tenant_id: str) -> Tenant | None:
        item = self._table.get_item(Key={"tenant_id": tenant_id}).get("Item")
        return Tenant.model_validate(item) if item else None

    def set_webhook(self, tenant_id: str, webhook: TenantWebhook) -> bool:
        """Implements `tandem.logic.ports.TenantWebhooks`: one attribute of an existing record."""
        try:
            self._table.update_item(
                Key={"tenant_id": tenant_id},
                UpdateExpression="SET webhook = :webhook",
                ConditionExpression="attribute_exists(tenant_id)",
                ExpressionAttributeValues={":webhook": webhook.model_dump(mode="json")},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def tenant_ids(self) -> Iterator[str]:
        scan: dict[str, Any] = {"ProjectionExpression": "tenant_id"}
        while True:
            page = self._table.scan(**scan)
            for item in page.get("Items", []):
                yield str(item["tenant_id"])
            if "LastEvaluatedKey" not in page:
                return
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
