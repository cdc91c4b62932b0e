"""The data bucket as the lake sees it: raw files in, curated parts, quarantine and manifests out."""

from datetime import date
from typing import TYPE_CHECKING

from tandem.adapters import aws
from tandem.logic.lake.layout import raw_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3LakeBucket:
    """Implements RawFiles (raw/…) and LakeObjects (everything the night writes)."""

    def __init__(self, bucket: str, s3: "S3Client | None" = None) -> None:
        self._bucket = bucket
        self._s3 = s3 or aws.s3()

    # RawFiles
    def names(self, tenant_id: str, source: str, day: date) -> list[str]:
        prefix = raw_key(tenant_id, source, day, "x")[:-1]
        return [key[len(prefix) :] for key in self.keys(prefix) if "/" not in key[len(prefix) :]]

    def read(self, tenant_id: str, source: str, day: date, name: str) -> bytes:
        return self._s3.get_object(Bucket=self._bucket, Key=raw_key(tenant_id, source, day, name))[
            "Body"
        ].read()

    # LakeObjects
    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256"
        )

    def get(self, key: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return None

    def keys(self, prefix: str) -> list[str]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)
