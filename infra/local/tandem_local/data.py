"""Empty the stack's data (tables, buckets, queues) and keep its resources: `tandem reset`.

The reference data a deploy publishes (the sanctions list) is put back.
"""

from __future__ import annotations

from dataclasses import dataclass

from tandem_local import reference
from tandem_local.config import LocalCloud
from tandem_local.stack import Stack


@dataclass
class Emptied:
    items: int = 0
    objects: int = 0
    queues: int = 0


def empty_all(cloud: LocalCloud, stack: Stack) -> Emptied:
    emptied = Emptied()
    dynamodb = cloud.resource("dynamodb")
    for name in stack.of_type("AWS::DynamoDB::Table").values():
        table = dynamodb.Table(name)
        keys = [k["AttributeName"] for k in table.key_schema]
        scan: dict[str, object] = {
            "ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(keys))),
            "ExpressionAttributeNames": {f"#k{i}": k for i, k in enumerate(keys)},
        }
        with table.batch_writer() as batch:
            while True:
                page = table.scan(**scan)
                for item in page.get("Items", []):
                    batch.delete_item(Key={k: item[k] for k in keys})
                    emptied.items += 1
                if "LastEvaluatedKey" not in page:
                    break
                scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    s3 = cloud.client("s3")
    buckets = list(stack.of_type("AWS::S3::Bucket").values())
    for bucket in buckets:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if doomed:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
                emptied.objects += len(doomed)

    sqs = cloud.client("sqs")
    for url in stack.of_type("AWS::SQS::Queue").values():
        sqs.purge_queue(QueueUrl=url)
        emptied.queues += 1
    # Not data but what the deploy publishes: without it every checkout fails closed (503).
    reference.publish_sanctions_list(cloud, stack)
    return emptied
