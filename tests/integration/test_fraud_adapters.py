"""Fraud adapters against moto: velocity counters, amount histories and the model artifact."""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from tandem.adapters.fraud_signals import DynamoFraudSignals
from tandem.adapters.model_store import DEFAULT_KEY, S3ModelSource
from tandem.logic.fraud import velocity_keys
from tandem.models.fraud import DEFAULT_FRAUD_MODEL, AmountHistory, Thresholds
from tests.moto_stack import REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

TABLE = "tandem-test-FraudSignalsTable"
BUCKET = "tandem-test-models"
# On a 2-hour boundary, so 5-minute (1 h window) and 2-hour (24 h window) slices start here.
T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
ANN = {"card": "fp_ann_4242", "email": "ann@example.com", "ip": "203.0.113.9"}


@pytest.fixture
def table() -> Iterator[Table]:
    """The key layout documented in tandem.adapters.fraud_signals, as template.yaml declares it."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.update_time_to_live(
            TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )
        yield boto3.resource("dynamodb", region_name=REGION).Table(TABLE)


@pytest.fixture
def signals(table: Table) -> DynamoFraudSignals:
    return DynamoFraudSignals(TABLE, boto3.resource("dynamodb", region_name=REGION), clock=lambda: T0)


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _items(table: Table) -> list[dict[str, Any]]:
    return table.scan()["Items"]


def test_fraud_signals_count_attempts_within_each_window(signals: DynamoFraudSignals) -> None:
    # Given three attempts with Ann's card within 40 minutes, the last one from another address
    signals.record_and_count("acme", ANN, T0)
    signals.record_and_count("acme", ANN, T0 + timedelta(minutes=1))
    counts = signals.record_and_count("acme", {**ANN, "email": "bob@example.com"}, T0 + timedelta(minutes=40))
    # Then each kind counts its own value, the current attempt included
    assert counts == {
        "card:1h": 3,
        "card:24h": 3,
        "email:1h": 1,
        "email:24h": 1,
        "ip:1h": 3,
        "ip:24h": 3,
    }


def test_fraud_signals_count_each_tenant_apart(signals: DynamoFraudSignals) -> None:
    signals.record_and_count("acme", ANN, T0)
    counts = signals.record_and_count("bravo", ANN, T0 + timedelta(minutes=1))
    assert counts["card:1h"] == 1


def test_fraud_signals_forget_attempts_once_their_window_has_passed(signals: DynamoFraudSignals) -> None:
    # Given one attempt at 08:00
    card = {"card": ANN["card"]}
    signals.record_and_count("acme", card, T0)
    # When the card is used again within the hour, and within the one 5-minute slice the
    # window may reach back beyond an hour, the 08:00 attempt still counts
    assert signals.record_and_count("acme", card, T0 + timedelta(minutes=59, seconds=59))["card:1h"] == 2
    assert signals.record_and_count("acme", card, T0 + timedelta(minutes=64, seconds=59))["card:1h"] == 3
    # Then from 09:05 on it has left the 1 h window (the 08:59:59 and 09:04:59 ones have not)
    later = signals.record_and_count("acme", card, T0 + timedelta(minutes=65))
    assert later == {"card:1h": 3, "card:24h": 4}
    # And the 24 h window, cut into 2-hour slices, still holds the four 08:00-slice attempts
    # at 09:59 the next day, but none from 10:00
    assert signals.record_and_count("acme", card, T0 + timedelta(hours=25, minutes=59))["card:24h"] == 5
    assert signals.record_and_count("acme", card, T0 + timedelta(hours=26))["card:24h"] == 2


def test_fraud_signals_expire_each_slice_when_no_window_reads_it_any_more(
    signals: DynamoFraudSignals, table: Table
) -> None:
    signals.record_and_count("acme", {"card": ANN["card"]}, T0 + timedelta(minutes=7))
    expiry = {item["sk"]: int(item["expires_at"]) for item in _items(table)}
    hour_slice, day_slice = int(T0.timestamp()) + 300, int(T0.timestamp())  # 08:05 and 08:00
    assert expiry == {
        f"1h#{hour_slice:010d}": hour_slice + 3_600 + 300,
        f"24h#{day_slice:010d}": day_slice + 86_400 + 7_200,
    }


def test_fraud_signals_store_only_hashes_of_identifying_values(
    signals: DynamoFraudSignals, table: Table
) -> None:
    # Given an attempt and an accepted order by Ann
    keys = velocity_keys(ANN["card"], "Ann@Example.com", ANN["ip"])
    signals.record_and_count("acme", keys, T0)
    signals.add_amount("acme", "ann@example.com", 2_500)
    # Then no stored item holds her card fingerprint, e-mail address or IP address
    stored = json.dumps(_items(table), default=str).lower()
    for raw in (*ANN.values(), "ann@example.com"):
        assert raw.lower() not in stored
    # But their SHA-256 digests are what the keys are made of
    assert hashlib.sha256(b"email:ann@example.com").hexdigest() in stored
    assert hashlib.sha256(b"customer:ann@example.com").hexdigest() in stored


def test_fraud_signals_with_a_pepper_store_no_plain_sha256(table: Table) -> None:
    peppered = DynamoFraudSignals(TABLE, boto3.resource("dynamodb", region_name=REGION), pepper=b"secret")
    peppered.record_and_count("acme", {"email": "ann@example.com"}, T0)
    stored = json.dumps(_items(table), default=str)
    assert hashlib.sha256(b"email:ann@example.com").hexdigest() not in stored
    assert peppered.record_and_count("acme", {"email": "ann@example.com"}, T0)["email:1h"] == 2


def test_fraud_signals_refuse_a_naive_time(signals: DynamoFraudSignals) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signals.record_and_count("acme", ANN, datetime(2026, 11, 28, 8, 0))  # noqa: DTZ001


def test_fraud_signals_history_gives_mean_and_sample_std(signals: DynamoFraudSignals, table: Table) -> None:
    # Given Ann's four orders and one of Bob's
    for amount in (1_000, 2_000, 3_000, 4_000):
        signals.add_amount("acme", "ann", amount)
    signals.add_amount("acme", "bob", 10_000)
    # Then Ann's history is hers, the tenant's everyone's
    ann = signals.history("acme", "ann")
    assert ann.order_count == 4
    assert ann.mean_minor == 2_500
    assert ann.std_minor == pytest.approx(statistics.stdev([1_000, 2_000, 3_000, 4_000]))
    count, mean, std = signals.tenant_history("acme")
    assert (count, mean) == (5, 4_000)
    assert std == pytest.approx(statistics.stdev([1_000, 2_000, 3_000, 4_000, 10_000]))
    # And it is kept for two years after the last order
    expiries = {int(item["expires_at"]) for item in _items(table)}
    assert expiries == {int((T0 + timedelta(days=730)).timestamp())}


def test_fraud_signals_history_is_empty_for_a_new_customer_or_tenant(signals: DynamoFraudSignals) -> None:
    assert signals.history("acme", "nobody") == AmountHistory(0, 0.0, 0.0)
    signals.add_amount("acme", "once", 1_234)
    assert signals.history("acme", "once") == AmountHistory(1, 1_234.0, 0.0)
    assert signals.tenant_history("bravo") == AmountHistory()


def test_fraud_signals_history_stays_exact_for_large_close_amounts(signals: DynamoFraudSignals) -> None:
    amounts = [10**12 + n for n in (1, 2, 3)]
    for amount in amounts:
        signals.add_amount("acme", "whale", amount)
    assert signals.history("acme", "whale").std_minor == pytest.approx(1.0)


def test_model_source_uses_the_defaults_when_no_model_is_published(s3: S3Client) -> None:
    assert S3ModelSource(BUCKET, s3=s3).load() == DEFAULT_FRAUD_MODEL


def test_model_source_loads_a_published_model(s3: S3Client) -> None:
    # Given a retrained model published as the current artifact
    trained = DEFAULT_FRAUD_MODEL.model_copy(
        update={
            "version": "2026-11-27T02:00Z",
            "bias": -3.5,
            "tenant_thresholds": {"acme": Thresholds(review_at=0.4, block_at=0.7)},
        }
    )
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=trained.model_dump_json().encode())
    # Then it is what the source gives
    assert S3ModelSource(BUCKET, s3=s3).load() == trained


def test_model_source_falls_back_to_the_defaults_on_an_invalid_artifact(
    s3: S3Client, logged: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given an artifact whose thresholds are the wrong way round
    artifact = {"version": "broken", "review_at": 0.9, "block_at": 0.5}
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=json.dumps(artifact).encode())
    # Then the defaults are used, and a warning says why
    assert S3ModelSource(BUCKET, s3=s3).load() == DEFAULT_FRAUD_MODEL
    warnings = [line for line in logged() if line["level"] == "WARNING"]
    assert [line["message"] for line in warnings] == ["artifact unusable: using the built-in default"]
    assert (warnings[0]["key"], warnings[0]["reason"]) == (DEFAULT_KEY, "invalid: ValidationError")


def test_model_source_falls_back_to_the_defaults_on_a_body_that_is_not_json(s3: S3Client) -> None:
    s3.put_object(Bucket=BUCKET, Key="models/fraud/other.json", Body=b"\xff not json")
    assert S3ModelSource(BUCKET, "models/fraud/other.json", s3=s3).load() == DEFAULT_FRAUD_MODEL


def test_model_source_caches_the_model_until_its_ttl_has_passed(s3: S3Client) -> None:
    # Given a source that has loaded version 1
    clock = FakeMonotonic()
    source = S3ModelSource(BUCKET, s3=s3, ttl_seconds=300, clock=clock)
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=b'{"version": "v1"}')
    assert source.load().version == "v1"
    # When version 2 is published
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=b'{"version": "v2"}')
    # Then the process keeps version 1 for the TTL, and picks up version 2 after it
    clock.now += 299
    assert source.load().version == "v1"
    clock.now += 1
    assert source.load().version == "v2"


def test_model_source_keeps_its_model_while_s3_refuses(
    s3: S3Client, logged: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a source that has loaded a published model
    clock = FakeMonotonic()
    source = S3ModelSource(BUCKET, s3=s3, ttl_seconds=300, clock=clock)
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=b'{"version": "v1"}')
    assert source.load().version == "v1"
    # When the bucket goes away (a transient or permissions error looks the same to the source)
    s3.delete_object(Bucket=BUCKET, Key=DEFAULT_KEY)
    s3.delete_bucket(Bucket=BUCKET)
    clock.now += 300
    # Then it keeps serving the model it has, and warns
    assert source.load().version == "v1"
    assert [line["reason"] for line in logged() if line["level"] == "WARNING"] == ["NoSuchBucket"]
