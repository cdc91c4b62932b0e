"""Raw files landing in the data bucket (raw/…): written for an inline file, presigned for an upload.

Every object is written with SSE-S3 (AES256), as the bucket's default encryption says, and asked for
explicitly: the header is then part of a presigned upload's signature, so whatever a client uploads
through the URL is stored encrypted, with the content type the API chose, under that one key.
"""

from typing import TYPE_CHECKING, Final, Literal

from tandem.adapters import aws

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SSE: Final[Literal["AES256"]] = "AES256"


class S3RawUploads:
    def __init__(self, bucket: str, s3: "S3Client | None" = None) -> None:
        self._bucket = bucket
        self._s3 = s3 or aws.s3()

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption=SSE
        )

    def presign_put(self, key: str, content_type: str, ttl_seconds: int) -> tuple[str, dict[str, str]]:
        # Content type and encryption are signed headers (SigV4): the upload must send exactly these.
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ContentType": content_type,
                "ServerSideEncryption": SSE,
            },
            ExpiresIn=ttl_seconds,
            HttpMethod="PUT",
        )
        return url, {"Content-Type": content_type, "x-amz-server-side-encryption": SSE}
