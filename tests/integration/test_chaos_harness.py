"""The chaos harness's own bookkeeping: an effect counts as unrecorded only when no AWS request
after it was answered (a kill or a timeout just after it, or a failed record write)."""

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from tests.integration.chaos import Boundary, ChaosContext, ProcessKilled
from tests.moto_stack import REGION


@pytest.fixture
def boundary(monkeypatch: pytest.MonkeyPatch) -> Iterator[Boundary]:
    with mock_aws():
        found = Boundary(seed=1, throttle_rate=0.0, error_rate=0.0)
        found.install(monkeypatch)
        yield found


def test_an_effect_followed_by_an_answered_request_is_recorded(boundary: Boundary) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    context = ChaosContext()
    with boundary.armed(context):
        boundary._effect("email order 1")
        sqs.list_queues()  # the record's write, answered
    boundary.left_unconfirmed(context)  # the invocation ended
    assert boundary.unconfirmed == {}


def test_an_effect_whose_record_is_killed_is_unrecorded_once(boundary: Boundary) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    context = ChaosContext(kill_at=2)
    with boundary.armed(context):
        sqs.list_queues()
        boundary._effect("webhook ord-1:courier_notification")
        with pytest.raises(ProcessKilled):
            sqs.list_queues()
    boundary.left_unconfirmed(context)
    assert boundary.unconfirmed == {"webhook ord-1:courier_notification": 1}


def test_an_effect_at_the_end_of_an_invocation_and_two_in_a_row_are_unrecorded(boundary: Boundary) -> None:
    context = ChaosContext()
    with boundary.armed(context):
        boundary._effect("email a")
        boundary._effect("email b")  # no write between: a's record never followed
    boundary.left_unconfirmed(context)  # the invocation returned without writing b's record
    assert boundary.unconfirmed == {"email a": 1, "email b": 1}
