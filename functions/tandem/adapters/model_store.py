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

from tandem.adapters.s3_artifact import CachedS3Artifact, FailurePolicy
from tandem.models.fraud import DEFAULT_FRAUD_MODEL, FraudModel
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
