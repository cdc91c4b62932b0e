"""The fraud model's parameters: a versioned JSON artifact in S3 that falls back to the defaults.

A retraining job publishes a `FraudModel` as JSON at one key (`models/fraud/current.json`
by default); with versioning on the bucket every earlier artifact stays for audit and
rollback, and the model's own `version` field says which one scored a checkout.

Checkout must never fail because of the model, so the artifact's policy is FALL_BACK
(tandem.adapters.s3_artifact): no artifact or an invalid one → `DEFAULT_FRAUD_MODEL`;
S3 refusing → the model this process already had. It is re-read at most every
`ttl_seconds` (5 min), so a warm process picks up a retrained model without a redeploy.
"""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tandem.adapters import aws
from tandem.adapters.s3_artifact import CachedS3Artifact, FailurePolicy
from tandem.models.fraud import DEFAULT_FRAUD_MODEL, FraudModel
from tandem.models.fraud_training import ExampleSnapshot, ModelIndex, ModelVersion
from tandem.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_KEY = "models/fraud/current.json"
DEFAULT_TTL_SECONDS = 300.0


class S3ModelSource:
    """Implements `tandem.logic.ports.ModelSource`; build it once per warm process."""

    def __init__(
        self,
        bucket: str,
        key: str = DEFAULT_KEY,
        s3: "S3Client | None" = None,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._artifact = CachedS3Artifact(
            bucket,
            key,
            FraudModel.model_validate_json,
            policy=FailurePolicy.FALL_BACK,
            default=DEFAULT_FRAUD_MODEL,
            ttl_seconds=ttl_seconds,
            s3=s3,
            monotonic=clock,
        )
        self._version: str | None = None

    def load(self) -> FraudModel:
        model = self._artifact.get()
        if model.version != self._version:
            logger.info("fraud model in use", extra={"model_version": model.version})
            self._version = model.version
        return model


PREFIX = "models/fraud/"


class S3ModelArtifacts:
    """Implements `tandem.logic.ports.ModelArtifacts`: `{prefix}versions/{version}.json`,
    `{prefix}index.json` and `{prefix}current.json` (the key `S3ModelSource` reads) in one bucket."""

    def __init__(self, bucket: str, s3: "S3Client | None" = None, *, prefix: str = PREFIX) -> None:
        self._bucket = bucket
        self._s3 = s3 or aws.s3()
        self._prefix = prefix

    def read_index(self) -> ModelIndex:
        body = self._get(f"{self._prefix}index.json")
        return ModelIndex.model_validate_json(body) if body is not None else ModelIndex()

    def write_index(self, index: ModelIndex) -> None:
        self._put(f"{self._prefix}index.json", index.model_dump_json(indent=2))

    def read_version(self, version: str) -> ModelVersion | None:
        body = self._get(f"{self._prefix}versions/{version}.json")
        return ModelVersion.model_validate_json(body) if body is not None else None

    def write_version(self, published: ModelVersion) -> None:
        self._put(f"{self._prefix}versions/{published.version}.json", published.model_dump_json(indent=2))

    def write_current(self, model: FraudModel) -> None:
        self._put(f"{self._prefix}current.json", model.model_dump_json(indent=2))

    def write_examples(self, snapshot: ExampleSnapshot) -> None:
        self._put(f"{self._prefix}examples/{snapshot.tenant_id}.json", snapshot.model_dump_json())

    def read_examples(self) -> list[ExampleSnapshot]:
        snapshots = []
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=f"{self._prefix}examples/"
        )
        for page in pages:
            for found in page.get("Contents", []):
                body = self._get(found["Key"])
                if body is not None:  # deleted between the listing and the read
                    snapshots.append(ExampleSnapshot.model_validate_json(body))
        return sorted(snapshots, key=lambda snapshot: snapshot.tenant_id)

    def _get(self, key: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return None

    def _put(self, key: str, body: str) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body.encode(),
            ContentType="application/json",
            ServerSideEncryption="AES256",
        )
