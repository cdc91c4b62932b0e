"""A small JSON artifact in S3 (the fraud model, the sanctions list), cached per warm process.

Both artifacts change daily at most while payments read them every second, so each
is read once, kept for a TTL, then asked for again with its ETag (If-None-Match): an
unchanged document costs one small request per TTL. Monotonic time, not the wall
clock: a clock adjustment must neither expire nor freeze the cache.

What happens when the document cannot be had is the artifact's failure policy,
because the two differ in what a wrong answer costs:

| situation                      | FALL_BACK (fraud model)  | FAIL_CLOSED (sanctions list)  |
|--------------------------------|--------------------------|-------------------------------|
| absent (NoSuchKey)             | the built-in default     | unavailable                   |
| invalid (does not parse)       | the built-in default     | last good copy, else unavail. |
| S3 refuses or is unreachable   | last copy, else default  | last good copy, else unavail. |
| last good copy past max_stale  | (never expires)          | unavailable                   |

"Unavailable" raises ArtifactUnavailableError: the caller decides what a payment
does without the list (the checkout answers 503 and charges nothing).
Grant `s3:ListBucket` on the bucket: without it S3 answers a missing key with
AccessDenied, which then counts as a refusal, not as absence.
"""

import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from tandem.adapters import aws
from tandem.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Generic the 3.11 way: the local cloud may run the handlers on the host's 3.11.
T = TypeVar("T")
_ABSENT = frozenset({"NoSuchKey", "404"})
_NOT_MODIFIED = frozenset({"304", "NotModified"})


class FailurePolicy(Enum):
    FALL_BACK = "fall_back"
    FAIL_CLOSED = "fail_closed"


class ArtifactUnavailableError(Exception):
    """No usable copy of a fail-closed artifact."""


class _Absent(Exception):
    pass


class CachedS3Artifact(Generic[T]):
    def __init__(
        self,
        bucket: str,
        key: str,
        parse: Callable[[bytes], T],
        *,
        policy: FailurePolicy,
        default: T | None = None,
        ttl_seconds: float,
        max_stale_seconds: float = float("inf"),
        s3: "S3Client | None" = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if policy is FailurePolicy.FALL_BACK and default is None:
            raise ValueError("a fall-back artifact needs a default")
        self._bucket, self._key, self._parse = bucket, key, parse
        self._policy, self._default = policy, default
        self._ttl_seconds, self._max_stale_seconds = ttl_seconds, max_stale_seconds
        self._s3 = s3 or aws.s3()
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._value: T | None = None
        self._etag: str | None = None
        self._fresh_until = 0.0
        self._good_at = 0.0  # when the current value was last confirmed by S3

    @property
    def where(self) -> dict[str, str]:
        return {"bucket": self._bucket, "key": self._key}

    def get(self) -> T:
        with self._lock:
            now = self._monotonic()
            if self._value is not None and now < self._fresh_until:
                return self._value
            value = self._refresh(now)
            self._value, self._fresh_until = value, now + self._ttl_seconds
            return value

    def _refresh(self, now: float) -> T:
        try:
            value = self._fetch()
        except _Absent:
            return self._unavailable("absent", now, keep_last=False)
        except (ClientError, BotoCoreError) as error:
            return self._unavailable(_error_code(error), now, keep_last=True)
        except (ValueError, ValidationError) as error:  # ValidationError is a ValueError; named for clarity
            return self._unavailable(f"invalid: {type(error).__name__}", now, keep_last=True)
        self._good_at = now
        return value

    def _fetch(self) -> T:
        try:
            if self._value is not None and self._etag:
                response = self._s3.get_object(Bucket=self._bucket, Key=self._key, IfNoneMatch=self._etag)
            else:
                response = self._s3.get_object(Bucket=self._bucket, Key=self._key)
        except ClientError as error:
            code = _error_code(error)
            if code in _NOT_MODIFIED and self._value is not None:
                return self._value
            if code in _ABSENT:
                self._etag = None
                raise _Absent from error
            raise
        value = self._parse(response["Body"].read())
        self._etag = response.get("ETag")
        logger.info("artifact loaded", extra=self.where)
        return value

    def _unavailable(self, reason: str, now: float, *, keep_last: bool) -> T:
        extra: dict[str, Any] = {**self.where, "reason": reason}
        if self._policy is FailurePolicy.FALL_BACK:
            if keep_last and self._value is not None:
                logger.warning("artifact not refreshed: keeping the current copy", extra=extra)
                return self._value
            logger.warning("artifact unusable: using the built-in default", extra=extra)
            assert self._default is not None  # checked in __init__
            return self._default
        if keep_last and self._value is not None and now - self._good_at <= self._max_stale_seconds:
            logger.error("artifact not refreshed: keeping the last good copy", extra=extra)
            return self._value
        self._value = None  # fail closed until S3 answers again
        logger.error("artifact unavailable: failing closed", extra=extra)
        raise ArtifactUnavailableError(f"{self._key}: {reason}")


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__
