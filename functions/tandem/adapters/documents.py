"""Documents in an S3 bucket (reports, rollups), handed out by presigned URL."""

from typing import TYPE_CHECKING

from tandem.adapters import aws

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3Documents:
    def __init__(self, bucket: str, s3: "S3Client | None" = None) -> None:
        self._bucket = bucket
        self._s3 = s3 or aws.s3()

    def put(self, key: str, body: bytes, content_type: str, filename: str | None = None) -> None:
        if filename is None:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)
        else:
            # Stored on the object too: whoever GETs it otherwise (the console, a copy) saves it by name.
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ContentDisposition=attachment(filename),
            )

    def get(self, key: str) -> bytes:
        return self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def link(self, key: str, ttl_seconds: int, filename: str | None = None) -> str:
        params = {"Bucket": self._bucket, "Key": key}
        if filename is not None:
            # Signed into the URL: S3 answers with this header, whatever the object was stored with
            # (results stored before it was set are served by name too).
            params["ResponseContentDisposition"] = attachment(filename)
        return self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_seconds)


def attachment(filename: str) -> str:
    """Content-Disposition for a download saved as `filename` (ours are ASCII: no RFC 5987 form)."""
    if not filename.isascii() or any(c in filename for c in '"\\\r\n/'):
        raise ValueError(f"not a plain file name: {filename!r}")
    return f'attachment; filename="{filename}"'
