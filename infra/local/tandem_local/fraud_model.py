"""`tandem model list | promote VERSION | rollback`: the fraud model's versions in the stack's data bucket.

The same use cases as the night's (tandem.logic.fraud_models) on the same S3 keys, so what the CLI
promotes is what every checkout reads within five minutes (S3ModelSource's cache), with no deploy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tandem.adapters.model_store import S3ModelArtifacts
from tandem.logic.fraud_models import ModelDeps, list_models, promote, rollback
from tandem.models.fraud import DEFAULT_FRAUD_MODEL
from tandem.models.fraud_training import ModelFigures, ModelIndex

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def deps(s3: S3Client, bucket: str) -> ModelDeps:
    return ModelDeps(S3ModelArtifacts(bucket, s3))


def _figures(figures: ModelFigures | None) -> str:
    return f"{figures.precision:.3f} / {figures.recall:.3f}" if figures else "-"


def table(index: ModelIndex) -> list[str]:
    """Every published version, oldest first: its night, the gate's verdict, the held-back precision /
    recall of the model current then and of the candidate; `*` marks the current one."""
    lines = [
        f"  {'version':<24} {'trained on':<11} {'gate':<15} {'examples':>8} {'frauds':>6}  "
        f"{'current then (P / R)':<21} candidate (P / R)"
    ]
    for entry in index.versions:
        mark = "*" if entry.version == index.current else " "
        lines.append(
            f"{mark} {entry.version:<24} {entry.trained_on:<11} {entry.status:<15} {entry.examples:>8} "
            f"{entry.frauds:>6}  {_figures(entry.current):<21} {_figures(entry.candidate)}"
        )
    if index.current is None:
        lines.append(f"* {DEFAULT_FRAUD_MODEL.version} (the built-in defaults) is current")
    if index.rolled_back:
        lines.append(f"  rolled back: {', '.join(index.rolled_back)}")
    return lines


def list_lines(s3: S3Client, bucket: str) -> list[str]:
    return table(list_models(deps(s3, bucket)))


def promote_version(s3: S3Client, bucket: str, version: str) -> str:
    index = promote(version, deps(s3, bucket))
    return f"{index.current} is current: checkouts use it within 5 minutes"


def roll_back(s3: S3Client, bucket: str) -> str:
    index = rollback(deps(s3, bucket))
    current = index.current or f"{DEFAULT_FRAUD_MODEL.version} (the built-in defaults)"
    return f"rolled back: {current} is current: checkouts use it within 5 minutes"
