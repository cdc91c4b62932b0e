"""boto3 clients, created lazily, once per warm process.

The endpoint is boto3's business: it honours AWS_ENDPOINT_URL, which the local
emulator sets, so no code here knows whether it runs locally or in AWS.
"""

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient, DynamoDBServiceResource
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

# Lambda retries failed invocations itself; a few quick SDK retries absorb throttling. A checkout
# makes a wave of about 8 concurrent calls: a pool above botocore's default of 10 connections lets
# a few waves share one warm process (tests, benches) without waiting for a free connection.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=32,
)


@cache
def dynamodb() -> "DynamoDBServiceResource":
    return boto3.resource("dynamodb", config=_CONFIG)


@cache
def s3() -> "S3Client":
    return boto3.client("s3", config=_CONFIG.merge(Config(signature_version="s3v4")))


@cache
def sqs() -> "SQSClient":
    return boto3.client("sqs", config=_CONFIG)


@cache
def secretsmanager() -> "SecretsManagerClient":
    return boto3.client("secretsmanager", config=_CONFIG)


@cache
def stepfunctions() -> "SFNClient":
    return boto3.client("stepfunctions", config=_CONFIG)


@cache
def dynamodb_client() -> "DynamoDBClient":
    # The low-level client, apart from the resource's: the resource's own client converts items
    # to Python values, and a backup wants them in DynamoDB's typed form, untouched.
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sesv2() -> Any:
    # Any: the environment's boto3-stubs have no sesv2 extra; tandem.adapters.ses_mailer
    # states the one call it makes as a Protocol.
    return boto3.client("sesv2", config=_CONFIG)
