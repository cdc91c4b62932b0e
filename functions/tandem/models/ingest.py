"""POST /ingest/{source}: a raw export file sent into the lake, inline or by a presigned upload.

The envelope names the file and, optionally, its day; the bytes come inline (`content` as text,
`content_base64` for anything else, a .gz say) up to MAX_INLINE_BYTES, or, with neither, the
answer carries a presigned PUT URL for the client to upload them itself.
"""

import base64
import re
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    RootModel,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tandem.models.api import ReportDay

# An inline file's size, decoded: a larger one goes by presigned upload. Well below what API
# Gateway (10 MB) and a synchronous Lambda invocation (6 MB) carry, base64 inflation included.
MAX_INLINE_BYTES = 1024 * 1024
# `content_base64` long enough for MAX_INLINE_BYTES (4 characters per 3 bytes, padded).
BASE64_MAX_LENGTH = 4 * -(-MAX_INLINE_BYTES // 3)
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"

# The suffixes a raw file may have, lower case: the lake's reader takes the file's format from it.
RAW_FILE_SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".json")
FILE_NAME_MAX_LENGTH = 200
# tandem.logic.lake.layout.FILE_NAME_PATTERN (a letter or digit, then letters, digits, '.', '_',
# '-'; at most 200; never '..'), stated so that a schema can check it (single dots between
# non-empty parts, so no '..' without a look-ahead) and ending in one of RAW_FILE_SUFFIXES.
# Models cannot import the logic: tests/unit/test_ingest.py holds the two together.
FILE_NAME_PATTERN = (
    r"^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*\.(?:csv(?:\.gz)?|jsonl(?:\.gz)?|ndjson|json)$"
)
_SUFFIXES_TEXT = ", ".join(RAW_FILE_SUFFIXES[:-1]) + " or " + RAW_FILE_SUFFIXES[-1]
FILE_NAME_RULE = (
    "a file name is at most 200 letters, digits, '_', '-' and single dots, starts with a letter or "
    f"a digit, and ends in {_SUFFIXES_TEXT}"
)
_FILE_NAME = re.compile(FILE_NAME_PATTERN)


def _file_name(value: str) -> str:
    # One error that says the whole rule (suffixes included), never the name that was refused.
    if len(value) > FILE_NAME_MAX_LENGTH or not _FILE_NAME.fullmatch(value):
        raise PydanticCustomError("file_name", FILE_NAME_RULE)
    return value


RawFileName = Annotated[
    str,
    AfterValidator(_file_name),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 5,
            "maxLength": FILE_NAME_MAX_LENGTH,
            "pattern": FILE_NAME_PATTERN,
            "description": "the file's name in the lake, its suffix its format: at most 200 letters, "
            "digits, '_', '-' and single dots, starting with a letter or a digit, ending in "
            f"{_SUFFIXES_TEXT}",
        },
        mode="validation",
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestRequest(_Body):
    """POST /ingest/{source}: one raw file of the source, for one day.

    Send the bytes inline as `content` (UTF-8 text) or `content_base64` (any bytes, e.g. a .gz),
    at most 1 MiB (1,048,576 bytes) decoded; or send neither, and upload them to the presigned URL
    of the answer. Sending both is refused (422). `date` may be at most one day after today in the
    deployment's reporting zone (a 422 otherwise): JSON Schema cannot compare with today.
    """

    file_name: RawFileName
    date: ReportDay | None = Field(
        default=None,
        description="the day the export is for, YYYY-MM-DD from 2000-01-01, at most one day after "
        "today; default: today in the deployment's reporting zone",
    )
    content: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_INLINE_BYTES,
        description="the file as text, stored UTF-8 encoded: at most 1 MiB as UTF-8",
    )
    content_base64: str | None = Field(
        default=None,
        min_length=4,
        max_length=BASE64_MAX_LENGTH,
        pattern=BASE64_PATTERN,
        json_schema_extra={"contentEncoding": "base64"},
        description="the file's bytes, standard base64 with padding: at most 1 MiB decoded",
    )
    _body: bytes | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_way_in(self) -> Self:
        if self.content is not None and self.content_base64 is not None:
            raise ValueError(
                "send the file as 'content' or as 'content_base64', not both "
                "(or neither, to get an upload URL)"
            )
        if self.content is not None:
            # pydantic refuses a lone surrogate ("\ud800", valid JSON but no text): this encodes.
            self._body = self.content.encode("utf-8")
        elif self.content_base64 is not None:
            # The field's pattern (checked first) admits only padded base64: this decodes.
            self._body = base64.b64decode(self.content_base64, validate=True)
        if self._body is not None and len(self._body) > MAX_INLINE_BYTES:
            raise ValueError(
                f"an inline file is at most {MAX_INLINE_BYTES} bytes (1 MiB); "
                "send a larger one by upload URL (neither 'content' nor 'content_base64')"
            )
        return self

    def inline_body(self) -> bytes | None:
        """The file's bytes if they came inline (decoded once, when validated); None for an upload."""
        return self._body


class UploadInstructions(_Body):
    method: Literal["PUT"]
    url: str = Field(description="presigned S3 URL: PUT the file's bytes to it before `expires_at`")
    headers: dict[str, str] = Field(
        description="send exactly these headers with the PUT: they are part of the signature"
    )
    expires_at: AwareDatetime


class _Accepted(_Body):
    key: str = Field(description="the file's key in the data bucket: raw/{tenant}/{source}/{date}/{name}")
    source: str
    date: date
    file_name: str


class FileStored(_Accepted):
    """The inline file is stored; the lake's intake takes it from there."""

    status: Literal["stored"]


class UploadAwaited(_Accepted):
    """Nothing is stored yet: PUT the file to `upload.url`, with `upload.headers`."""

    status: Literal["awaiting_upload"]
    upload: UploadInstructions


class IngestAccepted(RootModel[Annotated[FileStored | UploadAwaited, Field(discriminator="status")]]):
    """202 of POST /ingest/{source}: `stored` (inline) or `awaiting_upload` (with the upload URL)."""
