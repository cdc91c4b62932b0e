"""The fraud model's versions: publish a trained candidate, promote one, roll back.

Every candidate the night trains is kept (`models/fraud/versions/{version}.json`: the model and
its training figures), whether the gate promoted it or not, and listed in an index. Promoting
writes the version's model to `models/fraud/current.json`, the one key the scorer reads (with a
five-minute cache: no deploy); the index remembers the order of promotions, so a rollback makes
the one before current again, and before the first promotion, the built-in defaults.

Each step is idempotent: a version is written once (its first figures stay), before the current
model, and the current model before the index, so a run that dies in between is finished by
running it again.
"""

from dataclasses import dataclass

from tandem.logic.errors import ConflictError, NotFoundError
from tandem.logic.ports import ModelArtifacts
from tandem.models.fraud import DEFAULT_FRAUD_MODEL, FraudModel
from tandem.models.fraud_training import ModelIndex, ModelIndexEntry, ModelVersion, TrainingOutcome


@dataclass(frozen=True)
class ModelDeps:
    artifacts: ModelArtifacts


def current_model(deps: ModelDeps) -> FraudModel:
    """The model the scorer uses now: the index's current version, else the built-in defaults."""
    current = deps.artifacts.read_index().current
    published = deps.artifacts.read_version(current) if current else None
    return published.model if published else DEFAULT_FRAUD_MODEL


def publish(outcome: TrainingOutcome, trained_on: str, deps: ModelDeps) -> ModelVersion | None:
    """Keep a trained candidate (none when there were too few labels) and promote it if the gate said so."""
    if outcome.model is None:
        return None
    known = deps.artifacts.read_version(outcome.model.version)
    if known is not None:
        # Published before (a re-run of the night): its first figures stay, against the model that
        # was current then; only a promotion left unfinished is finished.
        if known.outcome.promoted and known.version not in deps.artifacts.read_index().rolled_back:
            promote(known.version, deps)
        return known
    published = ModelVersion(
        version=outcome.model.version,
        trained_on=trained_on,
        model=outcome.model,
        outcome=outcome.model_copy(update={"model": None}),  # the model is beside it, once
    )
    deps.artifacts.write_version(published)
    entry = ModelIndexEntry(
        version=published.version,
        trained_on=trained_on,
        status=outcome.status,
        examples=outcome.examples,
        frauds=outcome.frauds,
        current=outcome.current,
        candidate=outcome.candidate,
    )
    index = deps.artifacts.read_index()
    others = tuple(known for known in index.versions if known.version != entry.version)
    deps.artifacts.write_index(index.model_copy(update={"versions": (*others, entry)}))
    if outcome.promoted:
        promote(published.version, deps)
    return published


def promote(version: str, deps: ModelDeps) -> ModelIndex:
    """Make a published version current (an operator may promote one the gate refused, or one
    rolled back)."""
    published = deps.artifacts.read_version(version)
    if published is None:
        raise NotFoundError(f"no published fraud model version {version!r}")
    deps.artifacts.write_current(published.model)
    index = deps.artifacts.read_index()
    if index.current == version:
        return index  # promoted already: once
    promoted = index.model_copy(
        update={
            "current": version,
            "promotions": (*index.promotions, version),
            "rolled_back": tuple(v for v in index.rolled_back if v != version),
        }
    )
    deps.artifacts.write_index(promoted)
    return promoted


def rollback(deps: ModelDeps) -> ModelIndex:
    """Make the version promoted before the current one current again (the defaults before the first)."""
    index = deps.artifacts.read_index()
    if not index.promotions:
        raise ConflictError("nothing to roll back: the built-in defaults are current")
    promotions = index.promotions[:-1]
    target = promotions[-1] if promotions else None
    published = deps.artifacts.read_version(target) if target else None
    if target and published is None:
        raise NotFoundError(f"the version to roll back to, {target!r}, is missing")
    deps.artifacts.write_current(published.model if published else DEFAULT_FRAUD_MODEL)
    undone = index.promotions[-1]
    rolled_back = index.model_copy(
        update={
            "current": target,
            "promotions": promotions,
            "rolled_back": (*(v for v in index.rolled_back if v != undone), undone),
        }
    )
    deps.artifacts.write_index(rolled_back)
    return rolled_back


def list_models(deps: ModelDeps) -> ModelIndex:
    return deps.artifacts.read_index()
