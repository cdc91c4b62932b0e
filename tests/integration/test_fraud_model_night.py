"""The night's fraud_model product under moto, through NightlyLakeFunction's handler and wiring: the
tenant's reviewed orders and the lake's chargebacks retrain the model, and the scorer reads the new one."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3

from tandem.adapters.model_store import S3ModelSource
from tandem.adapters.parquet_duckdb import DuckDbParquet
from tandem.handlers import nightly_lake
from tandem.logic.lake.layout import manifest_key
from tandem.logic.lake.tables import PAYMENT_DISPUTES
from tandem.models.fraud import DEFAULT_FRAUD_MODEL
from tandem.models.records import Order, OrderLine, OrderReview, OrderRisk, OrderStatus
from tests.moto_stack import REGION
from tests.template_model import Resolver

DAY = date(2026, 12, 1)
END = datetime(2026, 12, 2, tzinfo=UTC)


def _orders() -> tuple[list[Order], list[str]]:
    """1000 scored orders, 75 to 115 days old (settled); 6 % frauds, most from a disposable address
    shipping away from the IP's country. Half the frauds the shop reviewed; the others were charged back."""
    rng = random.Random(3)
    orders, charged_back = [], []
    for n in range(1000):
        fraud = rng.random() < 0.06
        features: dict[str, Decimal] = {}
        if fraud and rng.random() < 0.85:
            features = {"disposable_email": Decimal(1), "ip_shipping_country_mismatch": Decimal(1)}
        elif not fraud and rng.random() < 0.1:
            features = {"ip_shipping_country_mismatch": Decimal(1)}
        order_id = f"ord-{n:05d}"
        reviews: tuple[OrderReview, ...] = ()
        if fraud and n % 2:
            reviews = (OrderReview(decision="fraud", reviewed_at=END - timedelta(days=1), reviewed_by="k"),)
        elif fraud:
            charged_back.append(order_id)
        orders.append(
            Order(
                tenant_id="acme",
                order_id=order_id,
                created_at=END - timedelta(days=75 + rng.random() * 40),
                status=OrderStatus.CONFIRMED,
                currency="GBP",
                lines=(OrderLine(sku="MUG", quantity=1, unit_price=Decimal("9.50")),),
                risk=OrderRisk(fraud_score=Decimal("0.1"), fraud_decision="approve", fraud_features=features),
                reviews=reviews,
            )
        )
    return orders, charged_back


def test_the_night_retrains_publishes_and_the_scorer_picks_it_up(
    stack: Resolver, seed: Callable[..., Any], lambda_context: Any
) -> None:
    orders, charged_back = _orders()
    seed(tenants=("acme",), orders=tuple(orders))
    s3, bucket = boto3.client("s3", region_name=REGION), stack.physical["DataBucket"]
    opened = datetime(2026, 11, 20, 10, 0)  # noqa: DTZ001 - the lake keeps UTC without a zone
    rows = [
        (f"dp-{i}", order_id, "chargeback", Decimal("9.50"), "GBP", opened, "d.csv")
        for i, order_id in enumerate(charged_back)
    ]
    key = "curated/payment_disputes/tenant=acme/date=2026-11-20/payment_disputes__d.csv.parquet"
    s3.put_object(Bucket=bucket, Key=key, Body=DuckDbParquet().encode(PAYMENT_DISPUTES, rows))

    answer = nightly_lake.handler(
        {"step": "product", "product": "fraud_model", "tenant_id": "acme", "date": DAY.isoformat()},
        lambda_context,
    )

    counts = answer["counts"]
    frauds = sum(bool(order.reviews) for order in orders) + len(charged_back)
    assert (counts["tenant_examples"], counts["frauds"]) == (1000, frauds)
    assert (counts["tenant_reviewed"], counts["tenant_disputed"]) == (
        frauds - len(charged_back),
        len(charged_back),
    )
    assert counts["status"] == "promoted"
    assert counts["candidate_recall"] > counts["current_recall"]
    version = counts["version"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key("acme", DAY))["Body"].read())
    assert manifest["products"]["fraud_model"]["counts"]["version"] == version
    model = S3ModelSource(bucket).load()  # what a checkout reads next
    assert model.version == version
    assert model.weights.disposable_email > DEFAULT_FRAUD_MODEL.weights.disposable_email
    index = json.loads(s3.get_object(Bucket=bucket, Key="models/fraud/index.json")["Body"].read())
    assert (index["current"], [v["version"] for v in index["versions"]]) == (version, [version])
