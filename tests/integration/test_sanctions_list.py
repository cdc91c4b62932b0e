"""The sanctions list in S3 (moto): its format, the per-process cache, and what happens when it is absent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from tandem.adapters.sanctions_list import DEFAULT_KEY, S3SanctionsList
from tandem.logic.compliance import ComplianceOutcome, check
from tandem.logic.errors import ScreeningUnavailableError
from tandem.observability import metrics

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REGION = "eu-west-1"
BUCKET = "tandem-test-data"

LIST = [
    {"id": "EU-1", "name": "Gabriel García Márquez", "aliases": ["Gabo"], "list": "EU", "dob": "1927-03-06"},
    {"id": "OFAC-2", "name": "ACME Front Company Ltd", "list": "OFAC"},
]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


@pytest.fixture
def gets(s3: S3Client) -> list[dict[str, Any]]:
    """Every GetObject the client sends, with its parameters (a botocore event hook, no patching)."""
    calls: list[dict[str, Any]] = []
    s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: calls.append(dict(params))
    )
    return calls


def publish(s3: S3Client, entries: list[dict[str, Any]] | str, key: str = DEFAULT_KEY) -> None:
    body = entries if isinstance(entries, str) else json.dumps(entries, ensure_ascii=False)
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode(), ContentType="application/json")


def test_sanctions_list_loads_the_documented_format_and_matches(s3: S3Client) -> None:
    # Given the list published in the documented format
    publish(s3, LIST)
    # When it is loaded
    index = S3SanctionsList(BUCKET, s3=s3).load()
    # Then names and aliases match however the customer writes them, and extra keys are ignored
    assert len(index) == 2
    for customer, entry in (
        ("garcia marquez, GABRIEL", "EU-1"),
        ("gabo", "EU-1"),
        ("Acme front company", None),
    ):
        match = index.match(customer)
        assert (match.entry_id if match else None) == entry
    match = index.match("ACME Front Company, Ltd.")
    assert match is not None
    assert match.source_list == "OFAC"


def test_sanctions_list_feeds_a_blocking_compliance_decision(s3: S3Client) -> None:
    publish(s3, LIST)
    decision = check(
        amount_minor=1_000,
        currency="EUR",
        customer_key="cust-9",
        customer_name="Márquez García Gabriel",
        recent_24h_total_minor=0,
        recent_24h_count=0,
        sanctions=S3SanctionsList(BUCKET, s3=s3).load(),
    )
    assert decision.outcome is ComplianceOutcome.BLOCK


def test_sanctions_list_is_cached_for_the_ttl_then_revalidated(
    s3: S3Client, gets: list[dict[str, Any]]
) -> None:
    # Given a loaded list
    publish(s3, LIST)
    clock = FakeMonotonic()
    sanctions = S3SanctionsList(BUCKET, s3=s3, ttl_seconds=600, monotonic=clock)
    first = sanctions.load()
    # When the file changes, within the TTL
    publish(s3, [*LIST, {"id": "UN-3", "name": "Jane Roe", "list": "UN"}])
    clock.now += 599
    # Then the cached list answers, without a request
    assert sanctions.load() is first
    assert len(gets) == 1
    # And once the TTL is over the new list is read, asking with the old ETag
    clock.now += 2
    refreshed = sanctions.load()
    assert len(refreshed) == 3
    assert refreshed.match("Roe Jane") is not None
    assert "IfNoneMatch" in gets[1]


def test_sanctions_list_unchanged_after_the_ttl_keeps_the_same_index(
    s3: S3Client, gets: list[dict[str, Any]]
) -> None:
    # Given a loaded list that does not change
    publish(s3, LIST)
    clock = FakeMonotonic()
    sanctions = S3SanctionsList(BUCKET, s3=s3, monotonic=clock)
    first = sanctions.load()
    # When the TTL (10 minutes by default) is over
    clock.now += 601
    # Then S3 answers "not modified" and the index is not rebuilt
    assert sanctions.load() is first
    assert len(gets) == 2
    assert gets[1]["IfNoneMatch"]


def test_sanctions_list_absent_fails_closed_with_a_metric_and_an_error(
    s3: S3Client, gets: list[dict[str, Any]], logged: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given no list in the bucket
    metrics.clear_metrics()
    clock = FakeMonotonic()
    sanctions = S3SanctionsList(BUCKET, s3=s3, monotonic=clock)
    # When it is loaded / Then screening is unavailable: nobody is screened against an empty list
    with pytest.raises(ScreeningUnavailableError):
        sanctions.load()
    errors = [line for line in logged() if line["level"] == "ERROR"]
    assert "artifact unavailable: failing closed" in [line["message"] for line in errors]
    assert any(line.get("reason") == "absent" for line in errors)
    assert metrics.metric_set["ScreeningUnavailable"]["Value"] == [1.0]
    # And a list published meanwhile is read at the next payment, without waiting for a TTL
    publish(s3, LIST)
    assert len(sanctions.load()) == 2


def test_sanctions_list_reads_another_key_when_told(s3: S3Client) -> None:
    publish(s3, LIST, key="lists/consolidated.json")
    assert len(S3SanctionsList(BUCKET, key="lists/consolidated.json", s3=s3).load()) == 2
    with pytest.raises(ScreeningUnavailableError):
        S3SanctionsList(BUCKET, s3=s3).load()


def test_sanctions_list_malformed_at_first_load_fails_closed(s3: S3Client) -> None:
    # Given a file that is not a list of entries / Then loading raises rather than screen against nothing
    publish(s3, '[{"name": "no id and no list"}]')
    with pytest.raises(ScreeningUnavailableError):
        S3SanctionsList(BUCKET, s3=s3).load()


def test_sanctions_list_last_good_copy_expires_after_max_stale(s3: S3Client) -> None:
    # Given a loaded list that then becomes unreadable
    publish(s3, LIST)
    clock = FakeMonotonic()
    sanctions = S3SanctionsList(BUCKET, s3=s3, monotonic=clock, ttl_seconds=600, max_stale_seconds=3600)
    first = sanctions.load()
    publish(s3, "not json")
    # When it is refreshed within the staleness bound / Then the last good copy answers
    clock.now += 601
    assert sanctions.load() is first
    # When the last good copy is older than the bound / Then screening fails closed
    clock.now += 3600
    with pytest.raises(ScreeningUnavailableError):
        sanctions.load()


def test_sanctions_list_keeps_the_last_good_copy_when_a_refresh_fails(
    s3: S3Client, logged: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a loaded list
    publish(s3, LIST)
    clock = FakeMonotonic()
    sanctions = S3SanctionsList(BUCKET, s3=s3, monotonic=clock)
    first = sanctions.load()
    # When, after the TTL, the file has become malformed
    publish(s3, "not json")
    clock.now += 601
    # Then the last good list answers and an error is logged
    assert sanctions.load() is first
    assert any(line["level"] == "ERROR" for line in logged())


def test_sanctions_list_missing_bucket_is_an_error_not_an_empty_list(s3: S3Client) -> None:
    with pytest.raises(ScreeningUnavailableError):
        S3SanctionsList("tandem-no-such-bucket", s3=s3).load()


def test_sanctions_list_uses_the_shared_default_client(s3: S3Client) -> None:
    # Given no client passed / Then the process's shared S3 client (tandem.adapters.aws.s3) is used
    publish(s3, LIST)
    assert len(S3SanctionsList(BUCKET).load()) == 2
