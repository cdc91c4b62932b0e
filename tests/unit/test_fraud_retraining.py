"""The night's fraud_model product: labelled orders gathered, the pooled model retrained, gated, published."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tandem.logic.fraud_retraining import RetrainingDeps, labelled_orders, retrain_fraud_model
from tandem.logic.lake.layout import manifest_key
from tandem.logic.lake.products import ProductDeps, run_product
from tandem.logic.lake.tables import PAYMENT_DISPUTES
from tandem.models.fraud import DEFAULT_FRAUD_MODEL
from tandem.models.records import Order, OrderLine, OrderReview, OrderRisk, OrderStatus, ReviewDecision
from tests.fakes import FakeLakeObjects, FakeModelArtifacts, FakeOrders, FakeParquet

DAY = date(2026, 12, 1)
END = datetime(2026, 12, 2, tzinfo=UTC)
PATTERN = {"disposable_email": Decimal(1), "ip_shipping_country_mismatch": Decimal(1)}


def _order(
    order_id: str,
    days_ago: float,
    features: dict[str, Decimal] | None = None,
    *,
    tenant: str = "acme",
    reviews: tuple[tuple[ReviewDecision, datetime], ...] = (),
    status: OrderStatus = OrderStatus.CONFIRMED,
    scored: bool = True,
) -> Order:
    return Order(
        tenant_id=tenant,
        order_id=order_id,
        created_at=END - timedelta(days=days_ago),
        status=status,
        currency="GBP",
        lines=(OrderLine(sku="MUG", quantity=1, unit_price=Decimal("9.50")),),
        risk=OrderRisk(fraud_score=Decimal("0.1"), fraud_decision="approve", fraud_features=features or {})
        if scored
        else None,
        reviews=tuple(
            OrderReview(decision=decision, reviewed_at=at, reviewed_by="key-1") for decision, at in reviews
        ),
    )


def _disputes(
    objects: FakeLakeObjects, parquet: FakeParquet, filed: date, rows: list[tuple[str, str, datetime]]
) -> None:
    """A curated payment_disputes part of the day `filed`: (order id, kind, opened at)."""
    key = f"curated/payment_disputes/tenant=acme/date={filed.isoformat()}/payment_disputes__d.csv.parquet"
    values = [
        (f"dp-{n}", order_id, kind, Decimal("10"), "GBP", opened.replace(tzinfo=None), "d.csv")
        for n, (order_id, kind, opened) in enumerate(rows)
    ]
    objects.put(key, parquet.encode(PAYMENT_DISPUTES, values), "application/octet-stream")


def _deps(orders: list[Order], objects: FakeLakeObjects | None = None, **kwargs: object) -> RetrainingDeps:
    return RetrainingDeps(
        orders=FakeOrders(orders),
        objects=objects or FakeLakeObjects(),
        parquet=FakeParquet(),
        artifacts=FakeModelArtifacts(),
        **kwargs,  # type: ignore[arg-type]
    )


def test_orders_are_labelled_by_reviews_disputes_and_age() -> None:
    objects, parquet = FakeLakeObjects(), FakeParquet()
    day_10 = END - timedelta(days=10)
    orders = [
        _order("o-reviewed-fraud", 5, PATTERN, reviews=(("fraud", day_10 + timedelta(days=6)),)),
        _order(
            "o-changed-mind",
            5,
            reviews=(("fraud", END - timedelta(days=3)), ("legit", END - timedelta(days=2))),
        ),
        _order("o-charged-back", 20, PATTERN),
        # the shop won the chargeback: its later review holds
        _order("o-won", 20, reviews=(("legit", day_10 + timedelta(days=1)),)),
        # reviewed legit, then charged back: the later dispute holds
        _order("o-lost", 30, reviews=(("legit", END - timedelta(days=25)),)),
        _order("o-settled", 70),
        _order("o-young", 3),  # no outcome yet: left out
        _order("o-declined", 80, status=OrderStatus.DECLINED),  # never a sale
        _order("o-imported", 80, scored=False),  # not scored by the checkout: no features
        _order("o-old", 200),  # before the window
    ]
    _disputes(
        objects,
        parquet,
        DAY - timedelta(days=10),
        [
            ("o-charged-back", "chargeback", day_10),
            ("o-won", "fraud", day_10),
            ("o-lost", "chargeback", day_10),
            ("o-settled", "other", day_10),  # not a fraud label
            ("o-elsewhere", "fraud", day_10),  # an order the window does not have
        ],
    )
    _disputes(
        objects, parquet, DAY - timedelta(days=400), [("o-settled", "fraud", day_10)]
    )  # filed too long ago
    deps = RetrainingDeps(
        orders=FakeOrders(orders), objects=objects, parquet=parquet, artifacts=FakeModelArtifacts()
    )
    examples, counts = labelled_orders("acme", DAY, deps)
    labels = {example.order_id: example.fraud for example in examples}
    assert labels == {
        "acme/o-reviewed-fraud": True,
        "acme/o-changed-mind": False,
        "acme/o-charged-back": True,
        "acme/o-won": False,
        "acme/o-lost": True,
        "acme/o-settled": False,
    }
    assert dict(counts) == {
        "reviewed": 3,
        "disputed": 2,
        "settled": 1,
        "unknown": 1,
        "frauds": 3,
        "disputes_unmatched": 1,
    }
    by_id = {example.order_id: example for example in examples}
    assert by_id["acme/o-charged-back"].features == {
        "disposable_email": 1.0,
        "ip_shipping_country_mismatch": 1.0,
    }


def _history(tenant: str, seed: int, orders: int = 1200) -> list[Order]:
    """The known pattern (test_fraud_training): frauds come from a disposable address shipping away from
    the IP's country; frauds are marked by the shop's review, every order older than 60 days is settled."""
    rng = random.Random(seed)
    history = []
    for n in range(orders):
        fraud = rng.random() < 0.06
        features: dict[str, Decimal] = {}
        if fraud and rng.random() < 0.8:
            features = dict(PATTERN)
        elif not fraud:
            if rng.random() < 0.03:
                features["disposable_email"] = Decimal(1)
            if rng.random() < 0.10:
                features["ip_shipping_country_mismatch"] = Decimal(1)
            if rng.random() < 0.05:
                features["customer_amount"] = Decimal("0.5")
        days_ago = 61 + rng.random() * 55
        reviews: tuple[tuple[ReviewDecision, datetime], ...] = (("fraud", END),) if fraud else ()
        history.append(_order(f"{tenant}-{n:05d}", days_ago, features, tenant=tenant, reviews=reviews))
    return history


def test_the_night_retrains_on_every_tenants_labels_and_promotes_a_better_model() -> None:
    orders = FakeOrders(_history("acme", 1) + _history("globex", 2))
    artifacts, objects = FakeModelArtifacts(), FakeLakeObjects()
    deps = RetrainingDeps(orders=orders, objects=objects, parquet=FakeParquet(), artifacts=artifacts)
    products = ProductDeps(
        products={"fraud_model": lambda tenant, day: retrain_fraud_model(tenant, day, deps)}, objects=objects
    )

    first = run_product("fraud_model", "acme", DAY, products).counts
    # acme's night: the pool is acme's labels alone (globex's are not in yet); the defaults miss the pattern.
    assert first["tenant_examples"] == first["examples"] == 1200
    assert first["tenant_reviewed"] == sum(bool(o.reviews) for o in orders.orders if o.tenant_id == "acme")
    assert first["tenant_settled"] == 1200 - first["tenant_reviewed"]  # type: ignore[operator]
    assert first["status"] == "promoted"
    assert first["promoted"] is True
    assert first["current_version"] == DEFAULT_FRAUD_MODEL.version
    assert first["candidate_recall"] > first["current_recall"] + 0.4  # type: ignore[operator]
    assert first["candidate_precision"] >= first["current_precision"]  # type: ignore[operator]
    version = first["version"]
    assert isinstance(version, str)
    assert version.startswith("2026-12-01-")
    # The scorer's key has the new model; the manifest of acme's day shows the figures.
    assert artifacts.current is not None
    assert artifacts.current.version == version
    assert artifacts.current.weights.disposable_email > DEFAULT_FRAUD_MODEL.weights.disposable_email
    manifest = json.loads(objects.objects[manifest_key("acme", DAY)])
    assert manifest["products"]["fraud_model"]["counts"]["version"] == version

    # globex's night: the pool is both tenants', compared with acme's model, now current.
    second = run_product("fraud_model", "globex", DAY, products).counts
    assert (second["tenant_examples"], second["examples"]) == (1200, 2400)
    assert second["frauds"] == sum(bool(order.reviews) for order in orders.orders)
    assert second["current_version"] == version
    held_back_better = (
        second["candidate_precision"] >= second["current_precision"]  # type: ignore[operator]
        and second["candidate_recall"] >= second["current_recall"]  # type: ignore[operator]
    )
    assert second["promoted"] is held_back_better
    assert artifacts.index.current == (second["version"] if held_back_better else version)

    # The night run again: the same examples make the same candidate; nothing new is published.
    index = artifacts.index
    again = run_product("fraud_model", "globex", DAY, products).counts
    assert again["version"] == second["version"]
    assert artifacts.index == index


def test_too_few_labels_train_nothing_and_say_so() -> None:
    artifacts, objects = FakeModelArtifacts(), FakeLakeObjects()
    deps = RetrainingDeps(
        orders=FakeOrders(_history("acme", 1, orders=100)),
        objects=objects,
        parquet=FakeParquet(),
        artifacts=artifacts,
    )
    counts = retrain_fraud_model("acme", DAY, deps)
    assert counts["status"] == "too_few_labels"
    assert counts["promoted"] is False
    assert counts["version"] is None
    assert "at least 200 needed" in str(counts["reason"])
    assert artifacts.current is None
    assert artifacts.index.versions == ()
