"""Fraud adapters against moto: velocity counters, amount histories, the blocklist and the model artifact."""

from __future__ import annotations

import hashlib
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from tandem.adapters import fraud_signals
from tandem.adapters.fraud_signals import DynamoFraudSignals, history_updates
from tandem.adapters.model_store import DEFAULT_KEY, S3ModelArtifacts, S3ModelSource
from tandem.logic.concurrency import all_in_parallel
from tandem.logic.errors import RetryLaterError
from tandem.logic.fraud import velocity_keys
from tandem.logic.fraud_models import ModelDeps, publish, rollback
from tandem.models.fraud import DEFAULT_FRAUD_MODEL, AmountHistory, FeatureWeights, Thresholds
from tandem.models.fraud_training import TrainingOutcome
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


def _velocity(
    signals: DynamoFraudSignals, keys: dict[str, str], attempt_id: str, at: datetime, tenant: str = "acme"
) -> dict[str, int]:
    return signals.observe(tenant, keys, attempt_id, "ann#GBP", at).velocity


@pytest.fixture
def atomic_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies the updates of one item one at a time; moto does not (it reads, changes and
    writes an item without a lock, so concurrent updates under threads lose each other). This gives
    moto's UpdateItem the atomicity the adapter relies on, nothing more."""
    lock = threading.Lock()
    update_item = DynamoHandler.update_item

    def atomic(self: DynamoHandler) -> Any:
        with lock:
            return update_item(self)

    monkeypatch.setattr(DynamoHandler, "update_item", atomic)


def test_fraud_signals_count_attempts_within_each_window(signals: DynamoFraudSignals) -> None:
    # Given three attempts with Ann's card within 40 minutes, the last one from another address
    _velocity(signals, ANN, "order-1", T0)
    _velocity(signals, ANN, "order-2", T0 + timedelta(minutes=1))
    counts = _velocity(signals, {**ANN, "email": "bob@example.com"}, "order-3", T0 + timedelta(minutes=40))
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
    _velocity(signals, ANN, "order-1", T0)
    assert _velocity(signals, ANN, "order-2", T0 + timedelta(minutes=1), tenant="bravo")["card:1h"] == 1


def test_fraud_signals_count_a_retried_attempt_once(signals: DynamoFraudSignals) -> None:
    # Given an attempt, retried at once, 7 minutes later (another 5-minute slice) and after the
    # 2-hour item it started in has ended
    card = {"card": ANN["card"]}
    assert _velocity(signals, card, "order-1", T0 + timedelta(minutes=58)) == {"card:1h": 1, "card:24h": 1}
    assert _velocity(signals, card, "order-1", T0 + timedelta(minutes=58)) == {"card:1h": 1, "card:24h": 1}
    assert _velocity(signals, card, "order-1", T0 + timedelta(minutes=65)) == {"card:1h": 1, "card:24h": 1}
    assert _velocity(signals, card, "order-1", T0 + timedelta(hours=2, minutes=1)) == {
        "card:1h": 1,
        "card:24h": 1,
    }
    # Then another attempt is the second, however often the first was retried
    assert _velocity(signals, card, "order-2", T0 + timedelta(hours=2, minutes=2)) == {
        "card:1h": 2,
        "card:24h": 2,
    }


def test_fraud_signals_forget_attempts_once_their_window_has_passed(signals: DynamoFraudSignals) -> None:
    # Given one attempt at 08:00
    card = {"card": ANN["card"]}
    _velocity(signals, card, "a", T0)
    # When the card is used again within the hour, and within the one 5-minute slice the
    # window may reach back beyond an hour, the 08:00 attempt still counts
    assert _velocity(signals, card, "b", T0 + timedelta(minutes=59, seconds=59))["card:1h"] == 2
    assert _velocity(signals, card, "c", T0 + timedelta(minutes=64, seconds=59))["card:1h"] == 3
    # Then from 09:05 on it has left the 1 h window (the 08:59:59 and 09:04:59 ones have not)
    assert _velocity(signals, card, "d", T0 + timedelta(minutes=65)) == {"card:1h": 3, "card:24h": 4}
    # And the 24 h window, cut into 2-hour slices, still holds the four attempts of the 08:00 slice
    # at 09:59 the next day, but none from 10:00
    assert _velocity(signals, card, "e", T0 + timedelta(hours=25, minutes=59)) == {
        "card:1h": 1,
        "card:24h": 5,
    }
    assert _velocity(signals, card, "f", T0 + timedelta(hours=26)) == {"card:1h": 2, "card:24h": 2}


def test_fraud_signals_windows_reach_across_the_2_hour_item_boundary(signals: DynamoFraudSignals) -> None:
    # Given attempts at 09:10 and 09:55 (the 08:00 item) and at 10:05 (the 10:00 item)
    card = {"card": ANN["card"]}
    _velocity(signals, card, "a", T0 + timedelta(minutes=70))
    _velocity(signals, card, "b", T0 + timedelta(minutes=115))
    assert _velocity(signals, card, "c", T0 + timedelta(minutes=125)) == {"card:1h": 3, "card:24h": 3}
    # Then at 10:14:59 the 1 h window starts at 09:10 and holds all three; at 10:15 it starts at 09:15
    assert _velocity(signals, card, "d", T0 + timedelta(minutes=134, seconds=59)) == {
        "card:1h": 4,
        "card:24h": 4,
    }
    assert _velocity(signals, card, "e", T0 + timedelta(minutes=135)) == {"card:1h": 4, "card:24h": 5}
    # And the 24 h window still holds the 08:00 item's attempts a day later, up to 09:59:59
    assert _velocity(signals, card, "f", T0 + timedelta(hours=25, minutes=59, seconds=59))["card:24h"] == 6
    assert _velocity(signals, card, "g", T0 + timedelta(hours=26))["card:24h"] == 5  # c, d, e, f, g


def test_fraud_signals_keep_one_item_per_2_hours_with_a_set_per_5_minutes(
    signals: DynamoFraudSignals, table: Table
) -> None:
    # Given two attempts at 08:07 and a retry of the first at 09:58
    card = {"card": ANN["card"]}
    _velocity(signals, card, "order-1", T0 + timedelta(minutes=7))
    _velocity(signals, card, "order-2", T0 + timedelta(minutes=7))
    _velocity(signals, card, "order-1", T0 + timedelta(minutes=118))
    # Then one item holds them, a set of attempt digests per 5-minute slice, expiring when no
    # 24 h window reads it any more
    [item] = _items(table)
    start = int(T0.timestamp())
    digest = {n: hashlib.sha256(n.encode()).hexdigest()[:16] for n in ("order-1", "order-2")}
    assert item == {
        "pk": f"V#acme#card#{hashlib.sha256(('card:' + ANN['card']).encode()).hexdigest()}",
        "sk": f"24h#{start:010d}",
        f"1h#{start + 300:010d}": {digest["order-1"], digest["order-2"]},
        f"1h#{start + 115 * 60:010d}": {digest["order-1"]},
        "expires_at": start + 86_400 + 7_200,
    }


def test_fraud_signals_cap_each_slice_and_count_a_full_one_as_full(table: Table) -> None:
    # Given a store that keeps at most 3 attempts per 5-minute slice
    signals = DynamoFraudSignals(TABLE, boto3.resource("dynamodb", region_name=REGION), max_ids_per_slice=3)
    card = {"card": ANN["card"]}
    counts = [_velocity(signals, card, f"order-{n}", T0)["card:1h"] for n in range(1, 6)]
    # Then the slice stops growing at 3, and an attempt beyond still counts as one more than that
    assert counts == [1, 2, 3, 4, 4]
    [item] = _items(table)
    assert len(item[f"1h#{int(T0.timestamp()):010d}"]) == 3
    # And a retry of a kept attempt is still counted once
    assert _velocity(signals, card, "order-2", T0)["card:1h"] == 3


@pytest.mark.usefixtures("atomic_updates")
def test_fraud_signals_count_concurrent_attempts_exactly(signals: DynamoFraudSignals) -> None:
    # 50 concurrent attempts with one card, each with its own attempt id
    start = threading.Barrier(50, timeout=10)

    def attempt(n: int) -> int:
        start.wait()
        return _velocity(signals, {"card": ANN["card"]}, f"order-{n}", T0)["card:1h"]

    counts = all_in_parallel([partial(attempt, n) for n in range(50)])
    # Each sees all attempts counted before it: 1 to 50, each once; only 5 are within a limit of 5
    assert sorted(counts) == list(range(1, 51))
    assert sum(count <= 5 for count in counts) == 5


def test_fraud_signals_observe_is_one_round_trip_of_four_calls(signals: DynamoFraudSignals) -> None:
    # Given a hook that counts the AWS calls of the store and makes each take 100 ms
    calls: list[tuple[str, dict[str, Any]]] = []

    def slow(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))
        time.sleep(0.1)

    events = signals._client.meta.events
    events.register("provide-client-params.dynamodb", slow)
    try:
        started = time.perf_counter()
        snapshot = signals.observe("acme", ANN, "order-1", "ann#GBP", T0)
        elapsed = time.perf_counter() - started
    finally:
        events.unregister("provide-client-params.dynamodb", slow)
    # Then one observe is three UpdateItem (one per kind) and one BatchGetItem, made at once
    assert sorted(name for name, _ in calls) == ["BatchGetItem", "UpdateItem", "UpdateItem", "UpdateItem"]
    assert elapsed < 0.3, f"{elapsed:.3f} s: the calls waited on each other"
    # And its BatchGetItem reads (consistently) 12 earlier items per kind, 2 histories, 3 blocklist keys
    [batch] = [params for name, params in calls if name == "BatchGetItem"]
    [request] = batch["RequestItems"].values()
    assert (len(request["Keys"]), request["ConsistentRead"]) == (12 * 3 + 2 + 3, True)
    assert snapshot.velocity["card:24h"] == 1


def test_fraud_signals_ask_again_for_unprocessed_keys(
    signals: DynamoFraudSignals, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given history and a blocklist entry, and DynamoDB processing one key per BatchGetItem
    signals.add_amount("acme", "ann#GBP", 2_000)
    signals.block("acme", "ip", ANN["ip"], "proxy")
    client = signals._client
    batches: list[int] = []

    def one_key_at_a_time(RequestItems: dict[str, Any]) -> dict[str, Any]:
        [(table, request)] = RequestItems.items()
        first, *rest = request["Keys"]
        batches.append(len(request["Keys"]))
        answer = client.batch_get_item(RequestItems={table: {**request, "Keys": [first]}})
        answer["UnprocessedKeys"] = {table: {**request, "Keys": rest}} if rest else {}
        return answer

    monkeypatch.setattr(
        signals, "_client", SimpleNamespace(batch_get_item=one_key_at_a_time, update_item=client.update_item)
    )
    monkeypatch.setattr(fraud_signals, "_BATCH_ROUNDS", 100)
    monkeypatch.setattr(fraud_signals, "_BATCH_BACKOFF_SECONDS", 0)
    # Then every key is asked for until it is answered
    snapshot = signals.observe("acme", ANN, "order-1", "ann#GBP", T0)
    assert batches == list(range(41, 0, -1))
    assert (snapshot.customer.order_count, snapshot.tenant.order_count, snapshot.blocklist_match) == (
        1,
        1,
        "ip",
    )


def test_fraud_signals_give_up_with_retry_later_when_keys_stay_unprocessed(
    signals: DynamoFraudSignals, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signals._client

    def nothing_processed(RequestItems: dict[str, Any]) -> dict[str, Any]:
        return {"Responses": {}, "UnprocessedKeys": RequestItems}

    monkeypatch.setattr(
        signals, "_client", SimpleNamespace(batch_get_item=nothing_processed, update_item=client.update_item)
    )
    monkeypatch.setattr(fraud_signals, "_BATCH_BACKOFF_SECONDS", 0)
    with pytest.raises(RetryLaterError):
        signals.observe("acme", ANN, "order-1", "ann#GBP", T0)


def test_fraud_signals_match_the_first_blocked_kind(signals: DynamoFraudSignals) -> None:
    assert signals.observe("acme", ANN, "order-1", "ann#GBP", T0).blocklist_match is None
    signals.block("acme", "ip", ANN["ip"], "proxy")
    signals.block("acme", "email", ANN["email"], "chargebacks")
    assert signals.observe("acme", ANN, "order-2", "ann#GBP", T0).blocklist_match == "email"
    assert signals.observe("bravo", ANN, "order-3", "ann#GBP", T0).blocklist_match is None


def test_fraud_signals_store_only_hashes_of_identifying_values(
    signals: DynamoFraudSignals, table: Table
) -> None:
    # Given an attempt and an accepted order by Ann
    keys = velocity_keys(ANN["card"], "Ann@Example.com", ANN["ip"])
    signals.observe("acme", keys, "order-1", "ann@example.com", T0)
    signals.add_amount("acme", "ann@example.com", 2_500)
    signals.block("acme", "email", "ann@example.com", "chargebacks")
    # Then no stored item holds her card fingerprint, e-mail address or IP address
    stored = json.dumps(_items(table), default=str).lower()
    for raw in (*ANN.values(), "ann@example.com"):
        assert raw.lower() not in stored
    # But their SHA-256 digests are what the keys are made of
    assert hashlib.sha256(b"email:ann@example.com").hexdigest() in stored
    assert hashlib.sha256(b"customer:ann@example.com").hexdigest() in stored


def test_fraud_signals_with_a_pepper_store_no_plain_sha256(table: Table) -> None:
    peppered = DynamoFraudSignals(TABLE, boto3.resource("dynamodb", region_name=REGION), pepper=b"secret")
    _velocity(peppered, {"email": "ann@example.com"}, "order-1", T0)
    stored = json.dumps(_items(table), default=str)
    assert hashlib.sha256(b"email:ann@example.com").hexdigest() not in stored
    assert _velocity(peppered, {"email": "ann@example.com"}, "order-2", T0)["email:1h"] == 2


def test_fraud_signals_refuse_a_naive_time(signals: DynamoFraudSignals) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signals.observe("acme", ANN, "order-1", "ann#GBP", datetime(2026, 11, 28, 8, 0))  # noqa: DTZ001


@pytest.mark.parametrize("windows", [("7m", "1h"), ("25m", "24h"), ("1h", "90m"), ()])
def test_fraud_signals_refuse_windows_whose_slices_do_not_nest(
    table: Table, windows: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="window"):
        DynamoFraudSignals(TABLE, boto3.resource("dynamodb", region_name=REGION), windows=windows)


def test_fraud_signals_count_other_windows_that_nest(table: Table) -> None:
    # 15 min (75 s slices), 1 h (5 min) and 6 h (30 min): attributes per 75 s, one item per 30 min
    signals = DynamoFraudSignals(
        TABLE, boto3.resource("dynamodb", region_name=REGION), windows=("15m", "1h", "6h")
    )
    card = {"card": ANN["card"]}
    _velocity(signals, card, "a", T0)
    _velocity(signals, card, "b", T0 + timedelta(minutes=20))
    assert _velocity(signals, card, "c", T0 + timedelta(minutes=70)) == {
        "card:15m": 1,
        "card:1h": 2,
        "card:6h": 3,
    }


def test_fraud_signals_history_gives_mean_and_sample_std(signals: DynamoFraudSignals, table: Table) -> None:
    # Given Ann's four orders and one of Bob's
    for amount in (1_000, 2_000, 3_000, 4_000):
        signals.add_amount("acme", "ann", amount)
    signals.add_amount("acme", "bob", 10_000)
    # Then Ann's history is hers, the tenant's everyone's
    snapshot = signals.observe("acme", {}, "order-1", "ann", T0)
    ann = snapshot.customer
    assert ann.order_count == 4
    assert ann.mean_minor == 2_500
    assert ann.std_minor == pytest.approx(statistics.stdev([1_000, 2_000, 3_000, 4_000]))
    count, mean, std = snapshot.tenant
    assert (count, mean) == (5, 4_000)
    assert std == pytest.approx(statistics.stdev([1_000, 2_000, 3_000, 4_000, 10_000]))
    # And it is kept for two years after the last order
    expiries = {int(item["expires_at"]) for item in _items(table)}
    assert expiries == {int((T0 + timedelta(days=730)).timestamp())}


def test_fraud_signals_history_is_empty_for_a_new_customer_or_tenant(signals: DynamoFraudSignals) -> None:
    assert signals.observe("acme", {}, "order-1", "nobody", T0).customer == AmountHistory(0, 0.0, 0.0)
    signals.add_amount("acme", "once", 1_234)
    assert signals.observe("acme", {}, "order-2", "once", T0).customer == AmountHistory(1, 1_234.0, 0.0)
    assert signals.observe("bravo", {}, "order-3", "once", T0).tenant == AmountHistory()


def test_fraud_signals_history_stays_exact_for_large_close_amounts(signals: DynamoFraudSignals) -> None:
    amounts = [10**12 + n for n in (1, 2, 3)]
    for amount in amounts:
        signals.add_amount("acme", "whale", amount)
    assert signals.observe("acme", {}, "order-1", "whale", T0).customer.std_minor == pytest.approx(1.0)


def test_history_updates_join_a_transaction_of_the_callers_own(table: Table) -> None:
    # Given the history updates of an accepted order, in one transaction with the caller's own write
    updates = history_updates(TABLE, b"pepper", "acme", "ann#GBP", 2_500, T0)
    client = boto3.resource("dynamodb", region_name=REGION).meta.client
    marker = {"Put": {"TableName": TABLE, "Item": {"pk": "X#order-1", "sk": "applied"}}}
    client.transact_write_items(TransactItems=[*updates, marker])
    # Then the customer's and the tenant's histories have it, as the checkout's store reads them
    signals = DynamoFraudSignals(TABLE, boto3.resource("dynamodb", region_name=REGION), pepper=b"pepper")
    snapshot = signals.observe("acme", {}, "order-2", "ann#GBP", T0)
    assert (snapshot.customer, snapshot.tenant) == (
        AmountHistory(1, 2_500.0, 0.0),
        AmountHistory(1, 2_500.0, 0.0),
    )
    # And each update is a plain TransactWriteItems entry: an Update with its table, key and expressions
    assert [set(update) for update in updates] == [{"Update"}, {"Update"}]
    assert {update["Update"]["TableName"] for update in updates} == {TABLE}
    assert updates[1]["Update"]["Key"] == {"pk": "H#acme#T", "sk": "amounts"}


def test_history_updates_refuse_a_negative_amount_or_a_naive_time() -> None:
    with pytest.raises(ValueError, match="negative"):
        history_updates(TABLE, b"", "acme", "ann#GBP", -1, T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        history_updates(TABLE, b"", "acme", "ann#GBP", 1, datetime(2026, 11, 28))  # noqa: DTZ001


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


def test_a_promoted_version_reaches_the_scorer_without_a_deploy(s3: S3Client) -> None:
    clock = FakeMonotonic()
    warm = S3ModelSource(BUCKET, s3=s3, clock=clock)  # a scorer's process, already warm
    assert warm.load() == DEFAULT_FRAUD_MODEL
    trained = DEFAULT_FRAUD_MODEL.model_copy(
        update={"version": "2026-12-01-abc", "weights": FeatureWeights(disposable_email=3.5)}
    )
    outcome = TrainingOutcome(
        status="promoted",
        reason="test",
        examples=500,
        frauds=40,
        training=400,
        held_back=100,
        current_version="builtin-1",
        model=trained,
    )
    deps = ModelDeps(S3ModelArtifacts(BUCKET, s3=s3))
    publish(outcome, "2026-12-01", deps)

    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {DEFAULT_KEY, "models/fraud/index.json", "models/fraud/versions/2026-12-01-abc.json"}
    assert S3ModelSource(BUCKET, s3=s3).load() == trained  # a cold process at once
    clock.now += 299
    assert warm.load() == DEFAULT_FRAUD_MODEL  # a warm one within its 5 minutes' cache...
    clock.now += 2
    assert warm.load() == trained  # ...and then, with no deploy
    index = json.loads(s3.get_object(Bucket=BUCKET, Key="models/fraud/index.json")["Body"].read())
    assert index["current"] == "2026-12-01-abc"

    rollback(deps)
    assert S3ModelSource(BUCKET, s3=s3).load() == DEFAULT_FRAUD_MODEL
    assert s3.head_object(Bucket=BUCKET, Key="models/fraud/versions/2026-12-01-abc.json")  # kept
