"""template.yaml's data resources (tables, queues, buckets) created in moto, named as a deploy would.

moto cannot deploy the SAM template itself (no transform, no HTTP API, no
Scheduler), so this creates the stateful resources from the template's own
properties, and resolves each function's environment against them.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from tandem.adapters.sanctions_list import DEFAULT_KEY as SANCTIONS_KEY
from tests.template_model import Resolver, resources

REGION = "eu-west-1"
_TABLE_ARGS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
_QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
)


def create_stack(stack_name: str = "tandem-test") -> Resolver:
    physical: dict[str, str] = {}
    attributes: dict[tuple[str, str], str] = {}
    resolve = Resolver(physical, attributes)

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for name, body in resources("AWS::DynamoDB::Table").items():
        props = body["Properties"]
        table = f"{stack_name}-{name}"
        arguments = {k: props[k] for k in _TABLE_ARGS if k in props}
        if stream := props.get("StreamSpecification"):
            # CloudFormation's spelling has no StreamEnabled; the API's needs it.
            arguments["StreamSpecification"] = {"StreamEnabled": True, **stream}
        dynamodb.create_table(TableName=table, **arguments)
        if ttl := props.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl)
        physical[name] = table

    sqs = boto3.client("sqs", region_name=REGION)
    queues = resources("AWS::SQS::Queue")
    for name in queues:  # create all first: redrive policies point at other queues
        url = sqs.create_queue(QueueName=f"{stack_name}-{name}")["QueueUrl"]
        physical[name] = url
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes[(name, "Arn")] = arn
        attributes[(name, "QueueName")] = url.rsplit("/", 1)[1]
    for name, body in queues.items():
        props = resolve(body["Properties"])
        settings: dict[str, Any] = {k: str(props[k]) for k in _QUEUE_ATTRIBUTES if k in props}
        if "RedrivePolicy" in props:
            settings["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        if settings:
            sqs.set_queue_attributes(QueueUrl=physical[name], Attributes=settings)

    secrets = boto3.client("secretsmanager", region_name=REGION)
    for name, body in resources("AWS::SecretsManager::Secret").items():
        # What GenerateSecretString does on a deploy: a random value nobody chose.
        generate = body["Properties"].get("GenerateSecretString", {})
        value = secrets.get_random_password(
            PasswordLength=generate.get("PasswordLength", 48), ExcludePunctuation=True
        )["RandomPassword"]
        physical[name] = secrets.create_secret(Name=f"{stack_name}-{name}", SecretString=value)["ARN"]

    _create_buckets(stack_name, resolve)
    _create_state_machines(stack_name, resolve)
    _verify_email_identities(resolve)
    return resolve


def _verify_email_identities(resolve: Resolver) -> None:
    """What AWS::SES::EmailIdentity does once its address is confirmed: SES sends from it."""
    ses = boto3.client("ses", region_name=REGION)
    for body in resources("AWS::SES::EmailIdentity").values():
        ses.verify_email_identity(EmailAddress=str(resolve(body["Properties"]["EmailIdentity"])))


def _create_state_machines(stack_name: str, resolve: Resolver) -> None:
    """Each state machine with its definition as deployed (substitutions made); moto stores it and
    records executions started, but runs none: tests drive the steps themselves."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    for name, body in resources("AWS::Serverless::StateMachine").items():
        definition = json.dumps(body["Properties"]["Definition"])
        for key in body["Properties"].get("DefinitionSubstitutions", {}):
            function = f"arn:aws:lambda:{REGION}:123456789012:function:{stack_name}-{key}"
            definition = definition.replace(f"${{{key}}}", function)
        resolve.physical[name] = sfn.create_state_machine(
            name=f"{stack_name}-{name}",
            definition=definition,
            roleArn="arn:aws:iam::123456789012:role/tandem-test-states",
        )["stateMachineArn"]


def _create_buckets(stack_name: str, resolve: Resolver) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    for name, body in resources("AWS::S3::Bucket").items():
        bucket = f"{stack_name}-{name}".lower()
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        resolve.physical[name] = bucket
        # moto sends S3's events to SQS as AWS does (a test event first): the template's glue, live
        if notifications := body["Properties"].get("NotificationConfiguration"):
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration=_notifications(resolve(notifications))
            )


def _notifications(template: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's spelling of a bucket's queue notifications → the S3 API's."""
    return {
        "QueueConfigurations": [
            {
                "QueueArn": queue["Queue"],
                "Events": [queue["Event"]],
                "Filter": {"Key": {"FilterRules": queue["Filter"]["S3Key"]["Rules"]}},
            }
            for queue in template.get("QueueConfigurations", [])
        ]
    }


def publish_sanctions_list(resolve: Resolver, body: bytes = b"[]") -> None:
    """What a deploy publishes before the first checkout: screening fails closed without a list."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=resolve.physical["DataBucket"], Key=SANCTIONS_KEY, Body=body)
