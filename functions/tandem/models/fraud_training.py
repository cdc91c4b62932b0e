"""The fraud model's nightly retraining: labelled examples, a model's figures, the outcome.

An example is what the scorer saw of an order (its feature strengths, `OrderRisk.fraud_features`)
and what became of it (fraud or legit: the shop's review, a chargeback). A model's figures are its
precision and recall on the held-back slice: an order counts as flagged when the model sends it to
review or blocks it (score at or above `review_at`).
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tandem.models.fraud import FraudModel

Strength = Annotated[float, Field(ge=0.0, le=1.0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class LabelledExample(_Frozen):
    order_id: str = Field(min_length=1)
    features: dict[str, Strength] = Field(default_factory=dict)
    fraud: bool


class ExampleSnapshot(_Frozen):
    """One tenant's labelled orders of the retraining's window (`models/fraud/examples/{tenant}.json`),
    replaced by each night's run: the pooled training reads every tenant's."""

    tenant_id: str
    day: str  # the night's date (ISO)
    examples: tuple[LabelledExample, ...] = ()


class ModelFigures(_Frozen):
    """How a model does on a set of labelled examples (the held-back slice)."""

    examples: int = Field(ge=0)
    frauds: int = Field(ge=0)
    flagged: int = Field(ge=0)  # sent to review or blocked
    caught: int = Field(ge=0)  # flagged and fraud
    precision: float = Field(ge=0.0, le=1.0)  # caught / flagged; 0 when nothing is flagged
    recall: float = Field(ge=0.0, le=1.0)  # caught / frauds; 0 when there is no fraud


TrainingStatus = Literal["promoted", "rejected", "too_few_labels"]


class TrainingOutcome(_Frozen):
    status: TrainingStatus
    reason: str
    examples: int = Field(ge=0)
    frauds: int = Field(ge=0)
    training: int = Field(ge=0)  # examples the fit saw
    held_back: int = Field(ge=0)  # examples only the gate saw
    current_version: str
    current: ModelFigures | None = None
    candidate: ModelFigures | None = None
    model: FraudModel | None = None  # the candidate, promoted or not

    @property
    def promoted(self) -> bool:
        return self.status == "promoted"


# Versions name S3 keys (`models/fraud/versions/{version}.json`) and CLI arguments: plain characters.
VersionName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]


class ModelVersion(_Frozen):
    """A published candidate: `models/fraud/versions/{version}.json`."""

    version: VersionName
    trained_on: str  # the night's date (ISO) or "manual"
    model: FraudModel
    outcome: TrainingOutcome


class ModelIndexEntry(_Frozen):
    version: VersionName
    trained_on: str
    status: TrainingStatus
    examples: int
    frauds: int
    current: ModelFigures | None = None
    candidate: ModelFigures | None = None


class ModelIndex(_Frozen):
    """`models/fraud/index.json`: every published version, oldest first, and which one is current."""

    current: str | None = None  # None: the built-in defaults (no current.json written yet)
    # Every promotion (and rollback target), oldest first; the last is `current`. Rollback drops the
    # last and makes the one before it current again (the built-in defaults before the first).
    promotions: tuple[str, ...] = ()
    # Versions an operator rolled back: a re-run of their night never promotes them again.
    rolled_back: tuple[str, ...] = ()
    versions: tuple[ModelIndexEntry, ...] = ()
