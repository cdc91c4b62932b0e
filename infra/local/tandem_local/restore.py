"""`tandem restore`: a backup (backups/{date}/ in the data bucket) written back into empty tables.

The stack's own tables are found by their logical names (the manifest names them so), so a
backup restores into any deployment of the template, including a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from tandem.adapters.backup_objects import S3BackupObjects
from tandem.adapters.backup_tables import DynamoDbBackupTables
from tandem.logic.backups import BackupCorruptError, BackupDeps, RestoreRefusedError, restore_backup
from tandem.logic.errors import NotFoundError

# Exit codes: a shell script can tell "not there" from "refused" from "broken".
EXIT_NOT_FOUND = 2
EXIT_REFUSED = 3
EXIT_CORRUPT = 4


def restore(
    tables: Mapping[str, str],
    bucket: str,
    day: Any,
    only: str | None,
    dynamodb: Any,
    s3: Any,
    say: Callable[[str], None],
) -> int:
    """Restores `day`'s backup (every table, or `only`) into the named tables (logical → physical);
    answers the process's exit code, having said what happened."""
    deps = BackupDeps(
        tables=DynamoDbBackupTables(tables, dynamodb),
        objects=S3BackupObjects(bucket, s3),
        clock=lambda: datetime.now(UTC),
    )
    try:
        restored = restore_backup(day, only, deps)
    except NotFoundError as missing:
        say(f"error: {missing.message}")
        return EXIT_NOT_FOUND
    except RestoreRefusedError as refused:
        say(f"error: {refused.message}")
        return EXIT_REFUSED
    except BackupCorruptError as broken:
        say(f"error: {broken.message}; nothing was written")
        return EXIT_CORRUPT
    for table in restored:
        say(f"restored {table.items:>8} items into {table.table} ({tables[table.table]})")
    return 0
