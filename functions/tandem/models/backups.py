"""Backups of the deployment's DynamoDB tables: what a backup's manifest says, and the export job."""

from datetime import date

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tandem.models.api import ReportDay
from tandem.models.records import JobStatus

# Each line of a table's object is one item as `{"Item": {...}}` in DynamoDB's typed JSON
# (binary values base64): the line format of DynamoDB's own export to S3 (DYNAMODB_JSON).
BACKUP_FORMAT = "dynamodb-json-lines+gzip"


class TableBackup(BaseModel):
    """One table's object in a backup."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str = Field(description="the table's logical name in template.yaml, e.g. OrdersTable")
    key: str = Field(description="the object's key in the data bucket")
    items: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="of the gzip object, as stored")
    size_bytes: int = Field(ge=0, description="of the gzip object, as stored")


class BackupManifest(BaseModel):
    """`backups/{date}/manifest.json`: every table of one backup, and when it was taken."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)

    day: date = Field(alias="date")
    created_at: AwareDatetime
    format: str = BACKUP_FORMAT
    tables: list[TableBackup]

    def table(self, name: str) -> TableBackup | None:
        return next((entry for entry in self.tables if entry.table == name), None)


class TableRestored(BaseModel):
    """One table written back by a restore."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    items: int


class ExportRequest(BaseModel):
    """POST /exports: a backup of every table of the deployment, of `date` (default: today in the
    deployment's reporting zone). Send `{}` for today's."""

    # Only `date` (the schema's name), not the attribute's: a misspelt field is refused.
    model_config = ConfigDict(extra="forbid")

    day: ReportDay | None = Field(
        default=None, alias="date", description="the backup's date, YYYY-MM-DD (years 2000 to 2100)"
    )


class ExportView(BaseModel):
    """GET /exports/{job_id}: the export job's state; once it has succeeded, its manifest's key."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    job_id: str
    day: date = Field(alias="date")
    status: JobStatus
    created_at: AwareDatetime
    updated_at: AwareDatetime
    started_at: AwareDatetime | None
    finished_at: AwareDatetime | None
    attempts: int
    error: str | None
    manifest_key: str | None = Field(description="in the data bucket: backups/{date}/manifest.json")
