"""The night's `fraud_model` product: gather labelled orders, retrain, gate, publish.

Per tenant and night:

1. **Labels.** The tenant's orders of the window (`window_days` up to the night's date) that the
   checkout scored (they carry the scorer's feature strengths) are labelled:
   - a chargeback or a confirmed fraud in the lake's `payment_disputes` (disputes filed in the
     window) → fraud;
   - the shop's review (POST /orders/{id}/review) → fraud or legit; when an order has both, the
     later one holds (a shop that won a chargeback says so with a later "legit");
   - neither, and older than `settled_after_days` → legit (no dispute came in the time one would);
   - neither, and younger → not yet known: left out.
   The tenant's examples replace its snapshot (`models/fraud/examples/{tenant}.json`).
2. **Pooled training.** The model is deployment-wide (one `current.json` every checkout reads), and
   a small shop sees a handful of frauds a month: far too few to fit ten weights. So the training
   pools every tenant's snapshot; per-tenant tuning stays where it is (`tenant_thresholds`). Each
   tenant's run retrains on the pool as it stands: the night's last run has seen every tenant's
   day; the candidate's version is a hash of what it learned from, so runs that saw the same
   examples publish the same version, once.
3. **Gate and publish** (logic/fraud_training.py, logic/fraud_models.py): every candidate is kept,
   only one no worse on the held-back slice becomes current.

Counts for the day's manifest: this tenant's examples and labels, the pool's, the held-back
figures of the current model and of the candidate, whether it was promoted, its version.
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from tandem.logic.fraud_models import ModelDeps, current_model, publish
from tandem.logic.fraud_training import TrainingSettings, candidate_version, train
from tandem.logic.lake.tables import PAYMENT_DISPUTES, lake_time
from tandem.logic.ports import LakeObjects, ModelArtifacts, OrderSource, ParquetCodec
from tandem.models.fraud_training import ExampleSnapshot, LabelledExample
from tandem.models.records import Order, OrderStatus

FRAUD_DISPUTES = frozenset({"chargeback", "fraud"})
# Orders whose outcome is not a sale's: nothing to learn from (declined, never finished).
_UNSOLD = frozenset({OrderStatus.PENDING, OrderStatus.DECLINED, OrderStatus.EXPIRED})


@dataclass(frozen=True)
class RetrainingDeps:
    orders: OrderSource
    objects: LakeObjects  # the curated payment_disputes
    parquet: ParquetCodec
    artifacts: ModelArtifacts
    window_days: int = 120
    settled_after_days: int = 60
    settings: TrainingSettings = field(default_factory=TrainingSettings)


def retrain_fraud_model(
    tenant_id: str, day: date, deps: RetrainingDeps
) -> dict[str, int | float | str | bool | None]:
    """The `fraud_model` night product (see the module): idempotent per (tenant, date)."""
    examples, labels = labelled_orders(tenant_id, day, deps)
    deps.artifacts.write_examples(
        ExampleSnapshot(tenant_id=tenant_id, day=day.isoformat(), examples=tuple(examples))
    )
    pool = [example for snapshot in deps.artifacts.read_examples() for example in snapshot.examples]
    models = ModelDeps(deps.artifacts)
    current = current_model(models)
    outcome = train(pool, current, candidate_version(day.isoformat(), pool, current), deps.settings)
    published = publish(outcome, day.isoformat(), models)
    now, new = outcome.current, outcome.candidate
    return {
        "tenant_examples": len(examples),
        **{f"tenant_{name}": count for name, count in sorted(labels.items())},
        "examples": outcome.examples,
        "frauds": outcome.frauds,
        "held_back": outcome.held_back,
        "status": outcome.status,
        "reason": outcome.reason,
        "current_version": outcome.current_version,
        "current_precision": now.precision if now else None,
        "current_recall": now.recall if now else None,
        "candidate_precision": new.precision if new else None,
        "candidate_recall": new.recall if new else None,
        "promoted": outcome.promoted,
        "version": published.version if published else None,
    }


def labelled_orders(
    tenant_id: str, day: date, deps: RetrainingDeps
) -> tuple[list[LabelledExample], Counter[str]]:
    """The tenant's examples of the window (ids `{tenant}/{order}`, unique in the pool) and how each
    was labelled: `reviewed`, `disputed`, `settled` (legit by age), `unknown` (too young, left out),
    `frauds`, and `disputes_unmatched` (a dispute of an order not in the window or not scored)."""
    end = datetime.combine(day + timedelta(days=1), time(), UTC)
    start = end - timedelta(days=deps.window_days)
    settled_before = end - timedelta(days=deps.settled_after_days)
    disputes = _fraud_disputes(tenant_id, start.date(), day, deps)
    counts: Counter[str] = Counter()
    examples: list[LabelledExample] = []
    seen: set[str] = set()
    for order in sorted(deps.orders.between(tenant_id, start, end), key=lambda o: o.order_id):
        if order.risk is None or order.status in _UNSOLD:
            continue
        seen.add(order.order_id)
        fraud = _label(order, disputes.get(order.order_id), settled_before, counts)
        if fraud is None:
            continue
        features = {name: float(strength) for name, strength in order.risk.fraud_features.items()}
        examples.append(
            LabelledExample(order_id=f"{tenant_id}/{order.order_id}", features=features, fraud=fraud)
        )
        counts["frauds"] += fraud
    counts["disputes_unmatched"] = len(set(disputes) - seen)
    return examples, counts


def _label(
    order: Order, disputed_at: datetime | None, settled_before: datetime, counts: Counter[str]
) -> bool | None:
    review = order.reviews[-1] if order.reviews else None
    if review is not None and (disputed_at is None or review.reviewed_at >= disputed_at):
        counts["reviewed"] += 1
        return review.decision == "fraud"
    if disputed_at is not None:
        counts["disputed"] += 1
        return True
    if order.created_at < settled_before:
        counts["settled"] += 1
        return False
    counts["unknown"] += 1
    return None


def _fraud_disputes(tenant_id: str, first: date, last: date, deps: RetrainingDeps) -> Mapping[str, datetime]:
    """order id → when its first chargeback or fraud dispute opened (of disputes filed in [first, last])."""
    prefix = f"curated/{PAYMENT_DISPUTES.name}/tenant={tenant_id}/"
    columns = PAYMENT_DISPUTES.column_names
    order_at, kind_at, opened_at = (columns.index(name) for name in ("order_id", "kind", "opened_at"))
    found: dict[str, datetime] = {}
    for key in deps.objects.keys(prefix):
        filed = key[len(prefix) :].partition("/")[0].removeprefix("date=")
        try:
            if not first <= date.fromisoformat(filed) <= last:
                continue
        except ValueError:
            continue  # not a partition of the table
        body = deps.objects.get(key)
        for row in deps.parquet.decode(PAYMENT_DISPUTES, body or b"") if body else ():
            if row[kind_at] in FRAUD_DISPUTES:
                order_id, opened = str(row[order_at]), lake_time(row[opened_at])
                found[order_id] = min(found.get(order_id, opened), opened)
    return found
