"""The fraud model's parameters: a versioned JSON artifact in S3, cached per warm process.

A retraining job publishes a `FraudModel` as JSON at one key (`models/fraud/current.json`
by default); with versioning on the bucket every earlier artifact stays for audit and
rollback, and the model's own `version` field says which one scored a checkout.

Checkout must never fail because of the model, so `load` always answers:
- a published, valid artifact → that model, re-read at most every `ttl_seconds` (5 min),
  so a warm process picks up a retrained model without a redeploy;
- no artifact (NoSuchKey) → `DEFAULT_FRAUD_MODEL`;
- an artifact that does not validate → `DEFAULT_FRAUD_MODEL` and a warning: a broken
  publish degrades every process alike to the documented defaults, never to half a model;
- S3 unreachable or refusing (throttling, network, permissions) → the model this process
  already had (the defaults on a cold start) and a warning; tried again after the TTL.

Without `s3:ListBucket` on the bucket S3 answers a missing key with AccessDenied rather
than NoSuchKey; that, too, ends in the defaults, only with a warning.
"""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from tandem.adapters import aws
from tandem.models.fraud import DEFAULT_FRAUD_MODEL, FraudModel
from tandem.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_KEY = "models/fraud/current.json"
DEFAULT_TTL_SECONDS = 300.0
_ABSENT = ("NoSuchKey", "404")


class S3ModelSource:
    """Implements `tandem.logic.fraud.ModelSource`; build it once per warm process."""

    def __init__(
        self,
        bucket: str,
        key: str = DEFAULT_KEY,
        s3: "S3Client | None" = None,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bucket = bucket
        self._key = key
        self._s3 = s3 or aws.s3()
        self._ttl_seconds = ttl_seconds
        self._clock = clock
        self._model: FraudModel | None = None
        self._loaded_at = 0.0

    def load(self) -> FraudModel:
        now = self._clock()
        if self._model is not None and now - self._loaded_at < self._ttl_seconds:
            return self._model
        model = self._fetch(current=self._model or DEFAULT_FRAUD_MODEL)
        if self._model is None or model.version != self._model.version:
            logger.info("fraud model in use", extra={"model_version": model.version})
        self._model, self._loaded_at = model, now
        return model

    def _fetch(self, current: FraudModel) -> FraudModel:
        where = {"bucket": self._bucket, "key": self._key}
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=self._key)["Body"].read()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _ABSENT:
                return DEFAULT_FRAUD_MODEL
            logger.warning("fraud model unreadable: keeping the current one", extra={**where, "error": code})
            return current
        except BotoCoreError as error:
            logger.warning(
                "fraud model unreachable: keeping the current one", extra={**where, "error": str(error)}
            )
            return current
        try:
            return FraudModel.model_validate_json(body)
        except ValidationError as error:
            logger.warning(
                "fraud model artifact invalid: using the built-in defaults",
                extra={**where, "errors": error.errors(include_url=False, include_input=False)},
            )
            return DEFAULT_FRAUD_MODEL
