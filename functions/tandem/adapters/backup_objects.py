"""Backups in the data bucket (backups/{date}/…): large objects streamed, multipart if need be."""

from typing import TYPE_CHECKING, BinaryIO

from botocore.exceptions import ClientError

from tandem.adapters import aws

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3BackupObjects:
    """Implements BackupObjects."""

    def __init__(self, bucket: str, s3: "S3Client | None" = None) -> None:
        self._bucket = bucket
        self._s3 = s3 or aws.s3()

    def upload(self, key: str, body: BinaryIO, content_type: str) -> None:
        self._s3.upload_fileobj(
            body,
            self._bucket,
            key,
            ExtraArgs={"ContentType": content_type, "ServerSideEncryption": "AES256"},
        )

    def download(self, key: str, into: BinaryIO) -> bool:
        try:
            self._s3.download_fileobj(self._bucket, key, into)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise
        return True

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256"
        )

    def get(self, key: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return None
