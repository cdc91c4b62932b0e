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

Caching and failures: a `CachedS3Artifact` with the FAIL_CLOSED policy
(tandem.adapters.s3_artifact). The list is read once, kept for `ttl_seconds`
(10 min), then revalidated with its ETag. A payment is never screened against
nothing: with no list (absent, unreadable, malformed, or the last good copy older
than `max_stale_seconds`, 1 day) `load` raises ScreeningUnavailableError (the
checkout answers 503 `screening_unavailable` and charges nothing) and counts the
`ScreeningUnavailable` metric, which template.yaml alarms on.
"""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import TypeAdapter

from tandem.adapters.s3_artifact import ArtifactUnavailableError, CachedS3Artifact, FailurePolicy
from tandem.logic.compliance import SanctionsIndex
from tandem.logic.errors import ScreeningUnavailableError
from tandem.models.compliance import SanctionsEntry
from tandem.observability import metrics

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_KEY = "compliance/sanctions.json"
DEFAULT_TTL_SECONDS = 600.0
DEFAULT_MAX_STALE_SECONDS = 24 * 3600.0

_ENTRIES = TypeAdapter(list[SanctionsEntry])


def parse_sanctions(body: bytes) -> SanctionsIndex:
    return SanctionsIndex(_ENTRIES.validate_json(body))


class S3SanctionsList:
    """Implements `tandem.logic.ports.SanctionsSource`; build it once per warm process."""

    def __init__(
        self,
        bucket: str,
        key: str = DEFAULT_KEY,
        s3: "S3Client | None" = None,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_stale_seconds: float = DEFAULT_MAX_STALE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._artifact = CachedS3Artifact(
            bucket,
            key,
            parse_sanctions,
            policy=FailurePolicy.FAIL_CLOSED,
            ttl_seconds=ttl_seconds,
            max_stale_seconds=max_stale_seconds,
            s3=s3,
            monotonic=monotonic,
        )

    def load(self) -> SanctionsIndex:
        try:
            return self._artifact.get()
        except ArtifactUnavailableError as error:
            # The artifact has logged why; the metric is what the alarm watches.
            metrics.add_metric(name="ScreeningUnavailable", unit=MetricUnit.Count, value=1)
            raise ScreeningUnavailableError() from error
