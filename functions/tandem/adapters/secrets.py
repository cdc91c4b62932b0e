"""Secrets Manager: a deployment's secrets, read at run time (never from a plain environment variable)."""

from typing import TYPE_CHECKING

from tandem.adapters import aws

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


def read_secret(secret_id: str, client: "SecretsManagerClient | None" = None) -> str:
    """The secret's current string value. Callers cache it per warm process (one call per cold start)."""
    return (client or aws.secretsmanager()).get_secret_value(SecretId=secret_id)["SecretString"]
