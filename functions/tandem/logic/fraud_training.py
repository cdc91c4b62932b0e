"""Retraining the fraud scorer from labelled orders: "decided in milliseconds, learned overnight".

The scorer (logic/fraud.py) is a logistic model already: score = logistic(bias + sum of weight x
strength) over its features. So the fit is a logistic regression on the very strengths the scorer
computed at checkout (kept on each order as `OrderRisk.fraud_features`), in pure Python:

- examples are grouped by their feature vector (most orders share a handful of vectors: no feature,
  one country mismatch...), so each step of gradient descent costs the distinct vectors, not orders;
- the weights stay in the scorer's bounds (0..20: a present feature never lowers risk) and are
  pulled towards the built-in defaults' (a ridge penalty), so a feature the labels never show keeps
  its hand-tuned weight instead of dropping to 0;
- `review_at` is refitted on the training slice: the threshold catching the most frauds whose
  precision is no worse than the defaults' there and at least `MIN_PRECISION` (else the best F1);
  `block_at` the lowest threshold above it that is right `BLOCK_PRECISION` of the time (else the
  defaults').

The fit starts from the built-in defaults, never from the current model: the same labels give the
same candidate whatever is current (a re-run of a night publishes nothing new), and a model that
went wrong is not the starting point of the next one. The current model only gives the parameters
that are not learned (velocity limits, thresholds per tenant, …) and is what the gate compares with.

Every fifth order (by a hash of its id, so the same order always lands on the same side) is held
back: the fit never sees it, and the gate compares the candidate with the current model on it.
The candidate is promoted only if its precision AND its recall there are no worse than the
current model's. Too few labels, or too few frauds held back to measure recall, and no model is
trained at all.
"""

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tandem.logic.fraud import FEATURES
from tandem.models.fraud import DEFAULT_FRAUD_MODEL, FeatureWeights, FraudModel
from tandem.models.fraud_training import LabelledExample, ModelFigures, TrainingOutcome

HELD_BACK_ONE_IN = 5
BLOCK_PRECISION = 0.95
MIN_PRECISION = 0.5  # at least one flagged order in two is a fraud, else the review queue drowns
_MAX_WEIGHT = 20.0  # the bounds of `FeatureWeights` and `FraudModel.bias`
_MAX_BIAS = 20.0


@dataclass(frozen=True)
class TrainingSettings:
    min_examples: int = 200  # labelled orders in the window, both slices together
    min_frauds: int = 20
    min_held_back_frauds: int = 5  # fewer and one fraud moves recall by more than 20 points
    steps: int = 3000
    learning_rate: float = 2.0
    ridge: float = 0.002  # per example; towards the built-in defaults' weights


def held_back(order_id: str) -> bool:
    """Whether an order belongs to the held-back slice: the same answer for it every night."""
    digest = hashlib.sha256(order_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % HELD_BACK_ONE_IN == 0


def model_score(model: FraudModel, features: Mapping[str, float]) -> float:
    """The scorer's score from its stored feature strengths (logic/fraud.score, rounded the same way)."""
    weights = model.weights
    log_odds = model.bias + sum(getattr(weights, name) * features.get(name, 0.0) for name in FEATURES)
    return round(_logistic(log_odds), 4)


def figures(model: FraudModel, examples: Iterable[LabelledExample]) -> ModelFigures:
    total = frauds = flagged = caught = 0
    for example in examples:
        total += 1
        frauds += example.fraud
        if model_score(model, example.features) >= model.review_at:
            flagged += 1
            caught += example.fraud
    return ModelFigures(
        examples=total,
        frauds=frauds,
        flagged=flagged,
        caught=caught,
        precision=round(caught / flagged, 4) if flagged else 0.0,
        recall=round(caught / frauds, 4) if frauds else 0.0,
    )


def promotable(current: ModelFigures, candidate: ModelFigures) -> bool:
    """The gate: a candidate replaces the current model only if it is no worse at either figure."""
    return candidate.precision >= current.precision and candidate.recall >= current.recall


def train(
    examples: Sequence[LabelledExample],
    current: FraudModel,
    version: str,
    settings: TrainingSettings = TrainingSettings(),
) -> TrainingOutcome:
    """Fit a candidate on the training slice and gate it against `current` on the held-back slice.

    Examples are one per order (a later label of an order replaces an earlier one upstream)."""
    test = [example for example in examples if held_back(example.order_id)]
    fit_on = [example for example in examples if not held_back(example.order_id)]
    frauds = sum(example.fraud for example in examples)
    base = TrainingOutcome(
        status="too_few_labels",
        reason="",
        examples=len(examples),
        frauds=frauds,
        training=len(fit_on),
        held_back=len(test),
        current_version=current.version,
    )
    held_back_frauds = sum(example.fraud for example in test)
    short = (
        f"{len(examples)} labelled orders (at least {settings.min_examples} needed)"
        if len(examples) < settings.min_examples
        else f"{frauds} frauds (at least {settings.min_frauds} needed)"
        if frauds < settings.min_frauds
        else f"{held_back_frauds} frauds held back (at least {settings.min_held_back_frauds} needed)"
        if held_back_frauds < settings.min_held_back_frauds
        else f"no legitimate order among {len(fit_on)} to train on"
        if all(example.fraud for example in fit_on)
        else None
    )
    if short is not None:
        return base.model_copy(update={"reason": f"no new model: {short}"})

    candidate = fit(fit_on, current, version, settings)
    now, new = figures(current, test), figures(candidate, test)
    better = promotable(now, new)
    reason = (
        f"held back: precision {now.precision:.4f} -> {new.precision:.4f}, "
        f"recall {now.recall:.4f} -> {new.recall:.4f}"
    )
    return base.model_copy(
        update={
            "status": "promoted" if better else "rejected",
            "reason": reason if better else f"{reason}: worse than {current.version}, not promoted",
            "current": now,
            "candidate": new,
            "model": candidate,
        }
    )


def candidate_version(day: str, examples: Iterable[LabelledExample], current: FraudModel) -> str:
    """`{day}-{hash}` of what a candidate is made from: the examples and the current model's parameters
    that are not learned. The same night run again names (and so publishes) the same candidate."""
    kept = current.model_dump(exclude={"version", "weights", "bias", "review_at", "block_at"})
    # Sorted, sets too: a frozenset's order is not the same in two processes (or two copies).
    digest = hashlib.sha256(json.dumps(kept, sort_keys=True, default=sorted).encode())
    for example in sorted(examples, key=lambda e: e.order_id):
        digest.update(example.model_dump_json().encode())
    return f"{day}-{digest.hexdigest()[:10]}"


def fit(
    examples: Sequence[LabelledExample],
    current: FraudModel,
    version: str,
    settings: TrainingSettings = TrainingSettings(),
) -> FraudModel:
    """The current model with its weights, bias and thresholds refitted on `examples` (from the defaults)."""
    groups = _grouped(examples)
    prior = [getattr(DEFAULT_FRAUD_MODEL.weights, name) for name in FEATURES]
    weights, bias = _descend(groups, prior, DEFAULT_FRAUD_MODEL.bias, len(examples), settings)
    fitted = current.model_copy(
        update={
            "version": version,
            "weights": FeatureWeights(**dict(zip(FEATURES, weights, strict=True))),
            "bias": bias,
        }
    )
    review_at, block_at = _thresholds(fitted, DEFAULT_FRAUD_MODEL, examples)
    return FraudModel.model_validate({**fitted.model_dump(), "review_at": review_at, "block_at": block_at})


# A distinct feature vector, with how many orders had it and how many of them were frauds.
_Group = tuple[tuple[float, ...], int, int]


def _grouped(examples: Iterable[LabelledExample]) -> list[_Group]:
    counts: dict[tuple[float, ...], list[int]] = {}
    for example in examples:
        vector = tuple(example.features.get(name, 0.0) for name in FEATURES)
        seen = counts.setdefault(vector, [0, 0])
        seen[0] += 1
        seen[1] += example.fraud
    return [(vector, count, frauds) for vector, (count, frauds) in sorted(counts.items())]


def _descend(
    groups: Sequence[_Group], prior: Sequence[float], bias: float, total: int, settings: TrainingSettings
) -> tuple[list[float], float]:
    """Projected gradient descent on the mean log-loss plus the ridge towards `prior`.

    Starts from the prior (a warm start), keeps each weight within 0..20 and the bias within
    -20..20 after every step. Deterministic: the same examples give the same model."""
    weights = [min(max(w, 0.0), _MAX_WEIGHT) for w in prior]
    rate, ridge = settings.learning_rate, settings.ridge
    for _ in range(settings.steps):
        gradient = [0.0] * len(weights)
        bias_gradient = 0.0
        for vector, count, frauds in groups:
            probability = _logistic(bias + sum(w * x for w, x in zip(weights, vector, strict=True)))
            error = probability * count - frauds  # d(log-loss)/d(log-odds), summed over the group
            bias_gradient += error
            for index, strength in enumerate(vector):
                if strength:
                    gradient[index] += error * strength
        bias = min(max(bias - rate * bias_gradient / total, -_MAX_BIAS), _MAX_BIAS)
        for index, weight in enumerate(weights):
            step = gradient[index] / total + ridge * (weight - prior[index])
            weights[index] = min(max(weight - rate * step, 0.0), _MAX_WEIGHT)
    return [round(w, 4) for w in weights], round(bias, 4)


def _thresholds(
    fitted: FraudModel, reference: FraudModel, examples: Sequence[LabelledExample]
) -> tuple[float, float]:
    scored = sorted(
        ((model_score(fitted, example.features), example.fraud) for example in examples), reverse=True
    )
    frauds = sum(fraud for _, fraud in scored)
    # Never below MIN_PRECISION: a reference that flags nothing has no precision to keep.
    wanted = max(figures(reference, examples).precision, MIN_PRECISION)
    # Each distinct score is a candidate threshold: flag everything scored at least that.
    options: list[tuple[float, float, float]] = []  # (threshold, precision, recall)
    flagged = caught = 0
    for index, (score, fraud) in enumerate(scored):
        flagged += 1
        caught += fraud
        if index + 1 < len(scored) and scored[index + 1][0] == score:
            continue
        options.append((score, caught / flagged, caught / frauds if frauds else 0.0))
    usable = [option for option in options if 0.01 <= option[0] <= 0.9]
    if not usable:
        return reference.review_at, reference.block_at
    good = [option for option in usable if option[1] >= wanted and option[2] > 0]
    if good:
        review_at = max(good, key=lambda option: (option[2], option[1], option[0]))[0]
    else:
        review_at = max(usable, key=lambda option: (_f1(option[1], option[2]), option[0]))[0]
    precise = [option[0] for option in options if option[0] > review_at and option[1] >= BLOCK_PRECISION]
    block_at = min(precise) if precise else max(reference.block_at, review_at + 0.05)
    return review_at, min(block_at, 0.99)  # review_at is at most 0.9: still below


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _logistic(log_odds: float) -> float:
    if log_odds >= 0:
        return 1.0 / (1.0 + math.exp(-log_odds))
    odds = math.exp(log_odds)
    return odds / (1.0 + odds)
