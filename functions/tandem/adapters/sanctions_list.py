"""The sanctions list: one JSON document in S3, loaded once and kept per warm process for a TTL.

The file (default key `compliance/sanctions.json` in the data bucket) is a UTF-8 JSON
array, one object per listed person or organisation:

```json
[
  {"id": "EU.1234.56", "name": "Gabriel García Márquez", "aliases": ["Gabo", "G. G. Márquez"], "list": "EU"},
  {"id": "OFAC-9876", "name": "ACME Front Company Ltd", "list": "OFAC"}
]
```

| key       | required | meaning                                                       |
|-----------|----------|---------------------------------------------------------------|
| `id`      | yes      | the list's own reference for the entry                        |
| `name`    | yes      | the primary name, as the list writes it (accents welcome)     |
| `aliases` | no       | other names or spellings, each matched like the name          |
| `list`    | yes      | which list: `UN`, `EU`, `OFAC`, or any other label            |

Other keys (dates of birth, programmes, remarks) may be present and are ignored.
Whoever publishes the consolidated lists writes this file; Tandem only reads it.

Caching: the first `load()` reads the file; later calls within `ttl_seconds` (10 min)
answer from memory. After that the file is asked for again with its ETag
(If-None-Match), so an unchanged list costs one small request per TTL.

When the file is absent the index is empty, a warning is logged, and that too is
cached for the TTL. Any other failure (access denied, throttling, a malformed file)
keeps the last good list and logs an error; with no list loaded yet it raises, so
a payment is never screened against nothing by accident. Grant the function
`s3:ListBucket` on the bucket: without it S3 answers a missing key with AccessDenied,
which then counts as a failure, not as absence.
"""

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from tandem.adapters import aws
from tandem.logic.compliance import SanctionsEntry, SanctionsIndex
from tandem.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_KEY = "compliance/sanctions.json"
DEFAULT_TTL_SECONDS = 600.0

_ENTRIES = TypeAdapter(list[SanctionsEntry])
_NOT_MODIFIED = frozenset({"304", "NotModified"})


class S3SanctionsList:
    def __init__(
        self,
        bucket: str,
        key: str = DEFAULT_KEY,
        s3: "S3Client | None" = None,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bucket = bucket
        self._key = key
        self._s3 = s3 or aws.s3()
        self._ttl_seconds = ttl_seconds
        # Monotonic, not wall-clock time: a clock adjustment must not expire or freeze the cache.
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._index: SanctionsIndex | None = None
        self._etag: str | None = None
        self._fresh_until = 0.0

    def load(self) -> SanctionsIndex:
        with self._lock:
            now = self._monotonic()
            if self._index is not None and now < self._fresh_until:
                return self._index
            try:
                index = self._fetch()
            except Exception:
                if self._index is None:
                    raise
                logger.exception("sanctions list not refreshed; keeping the last copy", extra=self._where)
                index = self._index
            self._index = index
            self._fresh_until = now + self._ttl_seconds
            return index

    @property
    def _where(self) -> dict[str, str]:
        return {"bucket": self._bucket, "key": self._key}

    def _fetch(self) -> SanctionsIndex:
        try:
            if self._index is not None and self._etag:
                response = self._s3.get_object(Bucket=self._bucket, Key=self._key, IfNoneMatch=self._etag)
            else:
                response = self._s3.get_object(Bucket=self._bucket, Key=self._key)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _NOT_MODIFIED and self._index is not None:
                return self._index
            if code == "NoSuchKey":
                logger.warning("no sanctions list: screening against an empty list", extra=self._where)
                self._etag = None
                return SanctionsIndex()
            raise
        index = SanctionsIndex(_ENTRIES.validate_json(response["Body"].read()))
        self._etag = response.get("ETag")
        logger.info("sanctions list loaded", extra={**self._where, "entries": len(index)})
        return index
