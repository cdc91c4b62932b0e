"""Screening: gather reads everything at once (counting the attempt once per order id), assess is pure.

Also the fakes of the risk ports (FakeFraudSignals, FakeRisk) as the checkout's tests use them.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tandem.logic.checkout import CheckoutAttempt
from tandem.logic.compliance import SanctionsIndex
from tandem.logic.errors import InvalidRequestError, ScreeningUnavailableError
from tandem.logic.fraud import velocity_keys
from tandem.logic.ports import RiskChecks
from tandem.logic.risk import Gathered, RiskDeps, Screening, score_payment
from tandem.models.checkout import CheckoutRequest, ScoreRequest
from tandem.models.compliance import ComplianceOutcome, SanctionsEntry
from tandem.models.fraud import AmountHistory, FraudModel
from tandem.models.payments import CardBrand, CardSummary
from tests.fakes import (
    FakeAudit,
    FakeClock,
    FakeFraudSignals,
    FakeModels,
    FakePaymentWindow,
    FakeRisk,
    FakeSanctions,
    FakeVerdict,
)

TENANT = "acme"
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
CARD_FINGERPRINT = hashlib.sha256(b"card").hexdigest()
BUYER = "ada@example.com#GBP"


def request(
    name: str = "Ada Lovelace", email: str = "ada@example.com", currency: str = "GBP"
) -> CheckoutRequest:
    return CheckoutRequest.model_validate_json(
        json.dumps(
            {
                "items": [{"sku": "MUG", "quantity": 1}],
                "customer": {"email": email, "name": name, "country": "GB"},
                "shipping_address": {
                    "line1": "12 St James's Square",
                    "city": "London",
                    "postal_code": "SW1Y 4LB",
                    "country": "GB",
                },
                "payment": {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"},
                "currency": currency,
            }
        )
    )


def attempt(order_id: str = "order-1", at: datetime = NOW, **changes: Any) -> CheckoutAttempt:
    return CheckoutAttempt(
        tenant_id=TENANT,
        order_id=order_id,
        currency="GBP",
        request=request(**changes),
        card=CardSummary(brand=CardBrand.VISA, last4="4242", fingerprint=CARD_FINGERPRINT),
        client_ip="203.0.113.7",
        client_country="GB",
        at=at,
    )


class Counted:
    """Wraps a fake port so that each call waits until `parties` calls are in flight together."""

    def __init__(self, inner: Any, barrier: threading.Barrier) -> None:
        self._inner, self._barrier = inner, barrier

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._barrier.wait()
            return method(*args, **kwargs)

        return call


def screening(
    signals: FakeFraudSignals | None = None,
    sanctions: FakeSanctions | None = None,
    payments: FakePaymentWindow | None = None,
    model: FraudModel | None = None,
) -> Screening:
    return Screening(
        signals=signals or FakeFraudSignals(),
        models=FakeModels(model) if model else FakeModels(),
        sanctions=sanctions or FakeSanctions(),
        payments=payments or FakePaymentWindow(),
    )


# Static: the real risk checks are the checkout's port, and so is the fake.
real: RiskChecks = screening()
fake: RiskChecks = FakeRisk()


def test_gather_makes_its_four_reads_at_once() -> None:
    # Given ports whose calls each wait until all four are in flight: one after another they never would
    barrier = threading.Barrier(4, timeout=5)
    signals, models, sanctions, payments = (
        FakeFraudSignals(),
        FakeModels(),
        FakeSanctions(),
        FakePaymentWindow(),
    )
    checks = Screening(
        signals=Counted(signals, barrier),
        models=Counted(models, barrier),
        sanctions=Counted(sanctions, barrier),
        payments=Counted(payments, barrier),
    )
    # Then gather returns, having read each once
    inputs = checks.gather(attempt())
    assert (len(signals.observed), models.loads, sanctions.loads) == (1, 1, 1)
    assert isinstance(inputs, Gathered)


def test_gather_counts_the_attempt_under_its_order_id_once_however_often_it_is_retried() -> None:
    signals = FakeFraudSignals()
    checks = screening(signals)
    first = checks.gather(attempt("order-1"))
    retry = checks.gather(attempt("order-1", NOW + timedelta(seconds=30)))
    other = checks.gather(attempt("order-2", NOW + timedelta(minutes=1)))
    assert [g.signals.velocity["card:1h"] for g in (first, retry, other)] == [1, 1, 2]
    # What it counted by: the card's fingerprint, the normalised e-mail and the IP, for this buyer
    tenant, keys, attempt_id, customer, at = signals.observed[0]
    assert (tenant, keys, attempt_id, customer, at) == (
        TENANT,
        velocity_keys(CARD_FINGERPRINT, "ada@example.com", "203.0.113.7"),
        "order-1",
        BUYER,
        NOW,
    )


def test_assess_is_pure_and_scores_the_priced_attempt() -> None:
    # Given a customer whose orders were about 10.00, and what gather read for a new attempt
    signals, models, sanctions = FakeFraudSignals(), FakeModels(), FakeSanctions()
    for amount in (900, 1_000, 1_100):
        signals.add_amount(TENANT, BUYER, amount)
    checks = Screening(signals=signals, models=models, sanctions=sanctions, payments=FakePaymentWindow())
    priced = attempt()
    inputs = checks.gather(priced)
    reads = (len(signals.observed), models.loads, sanctions.loads)
    # When it is assessed at two prices
    usual, unusual = checks.assess(inputs, priced, 1_000), checks.assess(inputs, priced, 100_000)
    # Then no port was called again, and only the unusual amount scores as unusual
    assert (len(signals.observed), models.loads, sanctions.loads) == reads
    assert usual[0].decision == "approve"
    assert usual[0].reasons == []
    assert unusual[0].score > usual[0].score
    assert any("standard deviations above this customer's usual" in reason for reason in unusual[0].reasons)
    assert usual[1].outcome is ComplianceOutcome.ALLOW


def test_assess_blocks_a_blocklisted_card() -> None:
    signals = FakeFraudSignals()
    signals.block(TENANT, "card", CARD_FINGERPRINT, "chargebacks")
    checks = screening(signals)
    fraud, _ = checks.assess(checks.gather(attempt()), attempt(), 1_000)
    assert (fraud.decision, fraud.reasons[0]) == ("block", "card is on a blocklist")


def test_assess_screens_the_name_and_the_recent_payments() -> None:
    # Given a listed name, and a customer who paid 9,000.00 twice today
    listed = SanctionsIndex([SanctionsEntry(entry_id="EU-1", name="Ada Lovelace", source_list="EU")])
    payments = FakePaymentWindow()
    for hours in (1, 2):
        payments.record_payment(TENANT, BUYER, 900_000, NOW - timedelta(hours=hours))
    checks = screening(sanctions=FakeSanctions(listed), payments=payments)
    # Then the listed name is blocked, and a third payment under the limit is flagged as structuring
    blocked = attempt()
    assert checks.assess(checks.gather(blocked), blocked, 1_000)[1].blocked
    other = attempt("order-2", name="Grace Hopper")
    _, decision = checks.assess(checks.gather(other), other, 500_000)
    assert (decision.outcome, decision.flags) == (ComplianceOutcome.FLAG, ("structuring",))


def test_gather_fails_closed_without_a_sanctions_list() -> None:
    signals = FakeFraudSignals()
    checks = screening(signals, sanctions=FakeSanctions(fail_with=ScreeningUnavailableError()))
    with pytest.raises(ScreeningUnavailableError):
        checks.gather(attempt())
    # The other reads of the wave finished before the error was raised
    assert len(signals.observed) == 1


def test_assess_takes_only_what_gather_read_for_the_same_attempt() -> None:
    checks = screening()
    inputs = checks.gather(attempt("order-1"))
    with pytest.raises(ValueError, match="same attempt"):
        checks.assess(inputs, attempt("order-2"), 1_000)
    with pytest.raises(ValueError, match="same attempt"):
        checks.assess(FakeRisk.Inputs("order-1"), attempt("order-1"), 1_000)


def _score_request(**changes: Any) -> ScoreRequest:
    body = {
        "amount": "25.00",
        "currency": "GBP",
        "email": "ada@example.com",
        "payment_token": "tok_visa",
        "ip": "203.0.113.7",
        "shipping_country": "GB",
    } | changes
    return ScoreRequest.model_validate_json(json.dumps(body))


def test_score_payment_counts_its_reference_once_and_needs_no_sanctions_list() -> None:
    # Given no sanctions list at all (POST /payments/score screens fraud only)
    signals, audit = FakeFraudSignals(), FakeAudit()
    sanctions = FakeSanctions(fail_with=ScreeningUnavailableError())
    deps = RiskDeps(
        screening=screening(signals, sanctions=sanctions),
        audit=audit,
        blocklist=signals,
        pepper=b"pepper",
        clock=FakeClock(NOW),
    )
    # When a payment is scored twice under one reference and once under another
    first = score_payment(TENANT, _score_request(), deps, "score:1")
    score_payment(TENANT, _score_request(), deps, "score:1")
    score_payment(TENANT, _score_request(), deps, "score:2")
    # Then it was counted twice, each call audited, and the list never asked for
    assert [attempt_id for _, _, attempt_id, _, _ in signals.observed] == ["score:1", "score:1", "score:2"]
    assert signals.observe(TENANT, {"email": "ada@example.com"}, "x", BUYER, NOW).velocity["email:1h"] == 3
    assert first.decision == "approve"
    assert [entry.order_id for entry in audit.entries] == ["score:1", "score:1", "score:2"]
    assert sanctions.loads == 0


def test_score_payment_refuses_an_amount_finer_than_the_currency() -> None:
    signals = FakeFraudSignals()
    deps = RiskDeps(screening(signals), FakeAudit(), signals, b"p", FakeClock(NOW))
    with pytest.raises(InvalidRequestError):
        score_payment(TENANT, _score_request(amount="25.50", currency="JPY"), deps, "score:1")
    # A refused request is no attempt
    assert signals.observed == []


# ---------------------------------------------------------------- the fakes
def test_fake_fraud_signals_count_distinct_attempts_per_window_and_keep_histories() -> None:
    store = FakeFraudSignals()
    store.observe("acme", {"card": "f1"}, "o1", "ada#GBP", NOW - timedelta(hours=2))
    store.observe("acme", {"card": "f1"}, "o2", "ada#GBP", NOW)
    assert store.observe("acme", {"card": "f1"}, "o2", "ada#GBP", NOW).velocity == {
        "card:1h": 1,
        "card:24h": 2,
    }
    store.add_amount("acme", "ada#GBP", 100)
    store.add_amount("acme", "ada#GBP", 300)
    store.block("acme", "email", "ada@example.com", "chargebacks")
    snapshot = store.observe("acme", {"card": "f1", "email": "ada@example.com"}, "o3", "ada#GBP", NOW)
    assert (snapshot.customer, snapshot.tenant) == (
        AmountHistory(2, 200.0, 100.0),
        AmountHistory(2, 200.0, 100.0),
    )
    assert snapshot.blocklist_match == "email"


def test_fake_risk_answers_what_it_is_told_for_what_it_gathered() -> None:
    risk = FakeRisk(decision="review", verdict=FakeVerdict(flags=("aml_threshold",)))
    inputs = risk.gather(attempt("order-1"))
    fraud, verdict = risk.assess(inputs, attempt("order-1"), 1_234)
    assert (fraud.decision, verdict.flags) == ("review", ("aml_threshold",))
    assert [a.order_id for a in risk.gathered] == ["order-1"]
    assert [(a.order_id, amount) for a, amount in risk.assessed] == [("order-1", 1_234)]
    with pytest.raises(AssertionError):
        risk.assess(inputs, attempt("order-2"), 1_234)
    failing = FakeRisk(compliance_fails_with=ScreeningUnavailableError())
    with pytest.raises(ScreeningUnavailableError):
        failing.gather(attempt())


def test_amounts_are_minor_units() -> None:
    # The AML limit of GBP is 10,000.00: 1,000,000 minor units are at the limit, 999,999 below
    checks = screening()
    priced = attempt()
    inputs = checks.gather(priced)
    assert checks.assess(inputs, priced, 1_000_000)[1].flags == ("aml_threshold",)
    assert checks.assess(inputs, priced, 999_999)[1].flags == ()
