"""Documents in an S3 bucket (reports, rollups), handed out by presigned URL."""

from typing import TYPE_CHECKING

from tandem.adapters import aws

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3Documents:
    def __init__(self, bucket: str, s3: "S3Client | None" = None) -> None:
        self._bucket = bucket
        self._s3 = s3 or aws.s3()

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def get(self, key: str) -> bytes:
        return self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def link(self, key: str, ttl_seconds: int) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=ttl_seconds
        )
