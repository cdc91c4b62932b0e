"""`tandem model list | promote | rollback` on a bucket (moto): the versions, and current.json moved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from tandem.adapters.model_store import S3ModelArtifacts
from tandem.logic.errors import ConflictError, NotFoundError
from tandem.logic.fraud_models import ModelDeps, publish
from tandem.models.fraud import DEFAULT_FRAUD_MODEL, FeatureWeights
from tandem.models.fraud_training import ModelFigures, TrainingOutcome, TrainingStatus
from tandem_local import cli, fraud_model

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "tandem-local-data"
REGION = "eu-west-1"


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


def _publish(s3: S3Client, version: str, status: TrainingStatus, precision: float, recall: float) -> None:
    model = DEFAULT_FRAUD_MODEL.model_copy(
        update={"version": version, "weights": FeatureWeights(card_velocity=4)}
    )
    before = ModelFigures(examples=200, frauds=10, flagged=4, caught=2, precision=0.5, recall=0.2)
    after = ModelFigures(
        examples=200, frauds=10, flagged=10, caught=int(recall * 10), precision=precision, recall=recall
    )
    outcome = TrainingOutcome(
        status=status,
        reason="test",
        examples=1000,
        frauds=50,
        training=800,
        held_back=200,
        current_version="builtin-1",
        current=before,
        candidate=after,
        model=model,
    )
    publish(outcome, "2026-12-01", ModelDeps(S3ModelArtifacts(BUCKET, s3)))


def _current(s3: S3Client) -> str:
    return str(
        json.loads(s3.get_object(Bucket=BUCKET, Key="models/fraud/current.json")["Body"].read())["version"]
    )


def test_the_list_shows_every_version_its_figures_and_the_current_one(s3: S3Client) -> None:
    assert fraud_model.list_lines(s3, BUCKET)[1:] == ["* builtin-1 (the built-in defaults) is current"]
    _publish(s3, "2026-12-01-aaa", "promoted", 0.8, 0.7)
    _publish(s3, "2026-12-02-bbb", "rejected", 0.4, 0.9)
    lines = fraud_model.list_lines(s3, BUCKET)
    first = ["*", "2026-12-01-aaa", "2026-12-01", "promoted", "1000", "50"]
    assert lines[1].split() == [*first, "0.500", "/", "0.200", "0.800", "/", "0.700"]
    assert lines[2].split()[:4] == ["2026-12-02-bbb", "2026-12-01", "rejected", "1000"]
    assert len(lines) == 3


def test_promote_and_rollback_move_what_checkouts_read(s3: S3Client) -> None:
    _publish(s3, "v1", "promoted", 0.8, 0.7)
    _publish(s3, "v2", "rejected", 0.4, 0.9)
    assert _current(s3) == "v1"
    assert fraud_model.promote_version(s3, BUCKET, "v2").startswith("v2 is current")
    assert _current(s3) == "v2"
    assert fraud_model.roll_back(s3, BUCKET).startswith("rolled back: v1 is current")
    assert _current(s3) == "v1"
    fraud_model.roll_back(s3, BUCKET)
    assert _current(s3) == "builtin-1"
    with pytest.raises(ConflictError):
        fraud_model.roll_back(s3, BUCKET)
    with pytest.raises(NotFoundError):
        fraud_model.promote_version(s3, BUCKET, "v9")


def test_the_cli_has_the_model_commands() -> None:
    parser = cli._parser()
    assert parser.parse_args(["model", "list"]).run is cli.cmd_model_list
    args = parser.parse_args(["model", "promote", "2026-12-01-aaa"])
    assert (args.run, args.version) == (cli.cmd_model_promote, "2026-12-01-aaa")
    assert parser.parse_args(["model", "rollback"]).run is cli.cmd_model_rollback
