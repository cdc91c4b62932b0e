"""Reference data a deploy must publish before the API takes payments: the sanctions list.

Screening fails closed: without `compliance/sanctions.json` in the data bucket every
checkout answers 503 `screening_unavailable`. On AWS the operator publishes the
consolidated list (README, "Deploy to AWS"); the local cloud publishes a small sample
of fictional names on deploy, never over a list someone put there.
"""

from __future__ import annotations

from pathlib import Path

from botocore.exceptions import ClientError

from tandem.adapters.sanctions_list import DEFAULT_KEY, parse_sanctions
from tandem_local.config import ROOT, LocalCloud
from tandem_local.stack import Stack

SAMPLE = ROOT / "infra" / "local" / "sanctions-sample.json"


def publish_sanctions_list(
    cloud: LocalCloud, stack: Stack, source: Path = SAMPLE, *, replace: bool = False
) -> bool:
    """Put `source` at the list's key unless one is there (or `replace`); True if it was written."""
    body = source.read_bytes()
    parse_sanctions(body)  # the file the functions will read must parse: fail here, not at checkout
    s3 = cloud.client("s3")
    bucket = stack.physical["DataBucket"]
    if not replace:
        try:
            s3.head_object(Bucket=bucket, Key=DEFAULT_KEY)
            return False
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
    s3.put_object(Bucket=bucket, Key=DEFAULT_KEY, Body=body, ContentType="application/json")
    return True
