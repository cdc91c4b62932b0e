"""A raw file landed (or was removed): its (tenant, source, date) partition curated again and the
day's manifest rewritten. What the intake worker does for each S3 event on its queue.

The file's key says everything: raw/{tenant}/{source}/{date}/{name}. The tenant's lake
configuration (`config/{tenant}/lake.json`, LakeConfig) says how its exports read; without
one the defaults apply. A key outside that layout, or a folder of a source Tandem does not know,
cannot be curated: it is reported (the handler logs and counts it), not retried.
"""

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

from pydantic import ValidationError

from tandem.logic.errors import PermanentJobError
from tandem.logic.lake.curation import CurationDeps, assemble_day, curate_partition
from tandem.logic.lake.layout import RunManifest, check_tenant, parse_raw_key
from tandem.logic.lake.sources import sources
from tandem.logic.ports import BulkCurator, LakeObjects, ParquetCodec, RawFiles
from tandem.models.lake_config import LakeConfig


@dataclass(frozen=True)
class IntakeDeps:
    raw: RawFiles
    objects: LakeObjects
    parquet: ParquetCodec
    zone: str  # the deployment's reporting zone: a tenant's exports' default
    bulk: BulkCurator | None = None  # the connectors' rules in SQL, where they have them


def config_key(tenant_id: str) -> str:
    check_tenant(tenant_id)
    return f"config/{tenant_id}/lake.json"


def tenant_config(tenant_id: str, objects: LakeObjects) -> LakeConfig:
    """The tenant's lake configuration; a broken one fails the file (fixed, the retry works)."""
    body = objects.get(config_key(tenant_id))
    if body is None:
        return LakeConfig()
    try:
        return LakeConfig.model_validate(json.loads(body))
    except (ValueError, ValidationError) as broken:
        raise PermanentJobError(f"{config_key(tenant_id)} is not a valid lake configuration") from broken


def curation_deps(tenant_id: str, deps: IntakeDeps) -> CurationDeps:
    config = tenant_config(tenant_id, deps.objects)
    return CurationDeps(
        raw=deps.raw,
        objects=deps.objects,
        parquet=deps.parquet,
        sources=sources(config, deps.zone),
        bulk=deps.bulk,
    )


def file_landed(encoded_key: str, deps: IntakeDeps) -> RunManifest:
    """Curate the partition of the file S3 named (its key URL-encoded, as S3 events give it)."""
    key = unquote_plus(encoded_key)
    parsed = parse_raw_key(key)
    if parsed is None:
        raise PermanentJobError(
            f"not a raw file's key (raw/{{tenant}}/{{source}}/{{date}}/{{name}}): {key!r}"
        )
    tenant_id, source, day, _ = parsed
    curation = curation_deps(tenant_id, deps)
    if source not in curation.sources:
        known = ", ".join(sorted(curation.sources))
        raise PermanentJobError(f"no connector for source {source!r} ({key}); known: {known}")
    files = curate_partition(tenant_id, source, day, curation)
    return assemble_day(tenant_id, day, curation, keep_empty=bool(files))
