"""The fraud model's versions: publish keeps every candidate, promote and rollback move current.json."""

import pytest

from tandem.logic.errors import ConflictError, NotFoundError
from tandem.logic.fraud_models import ModelDeps, current_model, list_models, promote, publish, rollback
from tandem.models.fraud import DEFAULT_FRAUD_MODEL, FeatureWeights
from tandem.models.fraud_training import ModelFigures, TrainingOutcome, TrainingStatus
from tests.fakes import FakeModelArtifacts


def _outcome(version: str, status: TrainingStatus = "promoted") -> TrainingOutcome:
    model = DEFAULT_FRAUD_MODEL.model_copy(
        update={"version": version, "weights": FeatureWeights(disposable_email=3.5)}
    )
    figures = ModelFigures(examples=400, frauds=20, flagged=10, caught=8, precision=0.8, recall=0.4)
    return TrainingOutcome(
        status=status,
        reason="test",
        examples=2000,
        frauds=100,
        training=1600,
        held_back=400,
        current_version="builtin-1",
        current=figures,
        candidate=figures,
        model=model,
    )


def test_a_promoted_candidate_is_kept_and_becomes_current() -> None:
    artifacts = FakeModelArtifacts()
    deps = ModelDeps(artifacts)
    published = publish(_outcome("2026-12-01-a"), "2026-12-01", deps)
    assert published is not None
    assert artifacts.versions["2026-12-01-a"].model.weights.disposable_email == 3.5
    assert artifacts.versions["2026-12-01-a"].outcome.model is None  # the model is kept once, beside it
    assert artifacts.current is not None
    assert artifacts.current.version == "2026-12-01-a"
    index = list_models(deps)
    assert index.current == "2026-12-01-a"
    assert index.promotions == ("2026-12-01-a",)
    assert [entry.version for entry in index.versions] == ["2026-12-01-a"]
    assert current_model(deps).version == "2026-12-01-a"


def test_a_refused_candidate_is_kept_but_not_current() -> None:
    artifacts = FakeModelArtifacts()
    publish(_outcome("v-refused", "rejected"), "2026-12-01", ModelDeps(artifacts))
    assert "v-refused" in artifacts.versions
    assert artifacts.current is None
    assert artifacts.index.current is None
    assert artifacts.index.versions[0].status == "rejected"
    assert current_model(ModelDeps(artifacts)) == DEFAULT_FRAUD_MODEL


def test_publishing_twice_is_one_version_and_one_promotion() -> None:
    artifacts = FakeModelArtifacts()
    deps = ModelDeps(artifacts)
    publish(_outcome("v1"), "2026-12-01", deps)
    publish(_outcome("v1"), "2026-12-01", deps)
    assert len(artifacts.index.versions) == 1
    assert artifacts.index.promotions == ("v1",)


def test_too_few_labels_publish_nothing() -> None:
    artifacts = FakeModelArtifacts()
    outcome = _outcome("v1", "too_few_labels").model_copy(update={"model": None})
    assert publish(outcome, "2026-12-01", ModelDeps(artifacts)) is None
    assert artifacts.writes == []


def test_rollback_goes_back_one_promotion_then_to_the_defaults() -> None:
    artifacts = FakeModelArtifacts()
    deps = ModelDeps(artifacts)
    publish(_outcome("v1"), "2026-12-01", deps)
    publish(_outcome("v2"), "2026-12-02", deps)
    assert artifacts.current is not None
    assert artifacts.current.version == "v2"

    assert rollback(deps).current == "v1"
    assert artifacts.current.version == "v1"
    # The rolled-back version's night run again does not bring it back.
    publish(_outcome("v2"), "2026-12-02", deps)
    assert artifacts.current.version == "v1"
    assert artifacts.index.rolled_back == ("v2",)
    assert rollback(deps).current is None
    assert artifacts.current == DEFAULT_FRAUD_MODEL
    with pytest.raises(ConflictError):
        rollback(deps)
    # Every version is still there to promote again, by hand.
    assert promote("v2", deps).current == "v2"
    assert artifacts.current.version == "v2"


def test_promoting_an_unknown_version_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        promote("nope", ModelDeps(FakeModelArtifacts()))
