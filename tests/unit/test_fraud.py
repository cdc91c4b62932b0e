"""Fraud scoring: every feature moves the score the right way and says why; thresholds decide."""

from typing import Any

import pytest
from pydantic import ValidationError

from tandem.logic.fraud import disposable_domain, normalise_email, score, velocity_keys
from tandem.models.fraud import (
    DEFAULT_FRAUD_MODEL,
    AmountHistory,
    FeatureWeights,
    FraudModel,
    FraudSignals,
    Thresholds,
)

# A regular customer of a British shop buying what they usually buy, from home.
_ORDINARY: dict[str, Any] = {
    "amount_minor": 2_500,
    "currency": "GBP",
    "email": "ann@example.com",
    "card_fingerprint": "fp_ann",
    "card_country": "GB",
    "ip": "203.0.113.9",
    "ip_country": "GB",
    "shipping_country": "GB",
    "customer": AmountHistory(order_count=10, mean_minor=2_500.0, std_minor=800.0),
    "tenant": AmountHistory(order_count=500, mean_minor=3_000.0, std_minor=2_000.0),
    "velocity": {"card:1h": 1, "card:24h": 1, "email:1h": 1, "email:24h": 1, "ip:1h": 1, "ip:24h": 1},
    "is_first_order": False,
}
_BASELINE = score(FraudSignals(**_ORDINARY), DEFAULT_FRAUD_MODEL, "acme").score


def signals(**changes: Any) -> FraudSignals:
    return FraudSignals(**{**_ORDINARY, **changes})


def velocity(**counts: int) -> dict[str, int]:
    return {**_ORDINARY["velocity"], **{key.replace("_", ":"): n for key, n in counts.items()}}


def test_score_approves_an_ordinary_checkout_without_reasons() -> None:
    assessment = score(signals(), DEFAULT_FRAUD_MODEL, "acme")
    assert assessment.decision == "approve"
    assert assessment.reasons == []
    assert assessment.score == pytest.approx(0.0474)  # the logistic of the default bias, -3
    assert assessment.model_version == DEFAULT_FRAUD_MODEL.version


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param(
            {"amount_minor": 9_000},
            "amount is 8.1 standard deviations above this customer's usual",
            id="customer-z-score",
        ),
        pytest.param(
            {"amount_minor": 20_000, "customer": AmountHistory()},
            "amount is 8.5 standard deviations above this shop's usual order",
            id="tenant-z-score",
        ),
        pytest.param(
            {"velocity": velocity(card_1h=6)},
            "6 attempts with this card in the last hour (limit 3)",
            id="card-velocity",
        ),
        pytest.param(
            {"velocity": velocity(email_24h=15)},
            "15 attempts with this e-mail address in the last 24 hours (limit 10)",
            id="email-velocity",
        ),
        pytest.param(
            {"velocity": velocity(ip_1h=14)},
            "14 attempts with this IP address in the last hour (limit 10)",
            id="ip-velocity",
        ),
        pytest.param(
            {"card_country": "US"},
            "card country US differs from shipping country GB",
            id="card-shipping-country",
        ),
        pytest.param(
            {"ip_country": "DE"},
            "IP country DE differs from shipping country GB",
            id="ip-shipping-country",
        ),
        pytest.param(
            {"card_country": "US", "shipping_country": "US"},
            "card country US differs from IP country GB",
            id="card-ip-country",
        ),
        pytest.param(
            {"email": "ann@mailinator.com"},
            "e-mail address is at mailinator.com, a disposable-address service",
            id="disposable-email",
        ),
        pytest.param(
            {"is_first_order": True, "customer": AmountHistory(), "amount_minor": 60_000},
            "first order of this customer is of high value: 600.00 GBP (threshold 500.00 GBP)",
            id="first-order-high-value",
        ),
    ],
)
def test_score_rises_with_each_risk_feature_and_says_why(changes: dict[str, Any], reason: str) -> None:
    # Given an ordinary checkout but for one risky signal
    assessment = score(signals(**changes), DEFAULT_FRAUD_MODEL, "acme")
    # Then the score rises above the ordinary one, and the reason is given
    assert assessment.score > _BASELINE
    assert reason in assessment.reasons


@pytest.mark.parametrize(
    ("weaker", "stronger"),
    [
        pytest.param({"amount_minor": 6_000}, {"amount_minor": 8_000}, id="customer-z-score"),
        pytest.param(
            {"velocity": velocity(card_1h=4)}, {"velocity": velocity(card_1h=5)}, id="card-velocity"
        ),
        pytest.param({"velocity": velocity(ip_24h=50)}, {"velocity": velocity(ip_24h=70)}, id="ip-velocity"),
        pytest.param(
            {"card_country": "US"}, {"card_country": "US", "ip_country": "FR"}, id="more-mismatches"
        ),
    ],
)
def test_score_rises_with_the_strength_of_a_feature(weaker: dict[str, Any], stronger: dict[str, Any]) -> None:
    assert (
        score(signals(**stronger), DEFAULT_FRAUD_MODEL, "t").score
        > score(signals(**weaker), DEFAULT_FRAUD_MODEL, "t").score
    )


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"amount_minor": 4_000}, id="amount-within-two-deviations"),
        pytest.param({"amount_minor": 1}, id="amount-far-below-usual"),
        pytest.param(
            {"amount_minor": 90_000, "customer": AmountHistory(2, 2_500.0, 10.0), "tenant": AmountHistory()},
            id="too-little-history",
        ),
        pytest.param(
            {"amount_minor": 2_900, "customer": AmountHistory(5, 2_500.0, 0.0)},
            id="always-same-amount-then-a-little-more",
        ),
        pytest.param({"velocity": velocity(card_1h=3, card_24h=8)}, id="velocity-at-its-limit"),
        pytest.param({"velocity": {"device:1h": 99}}, id="velocity-the-model-has-no-limit-for"),
        pytest.param({"card_country": None, "ip_country": None, "ip": None}, id="countries-unknown"),
        pytest.param(
            {
                "is_first_order": True,
                "customer": AmountHistory(),
                "tenant": AmountHistory(),
                "amount_minor": 49_999,
            },
            id="first-order-below-high-value",
        ),
        pytest.param(
            {
                "amount_minor": 60_000,
                "tenant": AmountHistory(),
                "customer": AmountHistory(3, 50_000.0, 10_000.0),
            },
            id="high-value-but-not-first-order",
        ),
        pytest.param({"email": "ann@notmailinator.com"}, id="domain-only-resembling-a-disposable-one"),
    ],
)
def test_score_ignores_signals_below_their_thresholds(changes: dict[str, Any]) -> None:
    assessment = score(signals(**changes), DEFAULT_FRAUD_MODEL, "acme")
    assert assessment.reasons == []
    assert assessment.score == _BASELINE


def test_score_lists_reasons_strongest_first() -> None:
    # Given a card used far too often (weight 3, full strength) and a weak IP/shipping mismatch (0.8)
    assessment = score(
        signals(card_country=None, ip_country="FR", velocity=velocity(card_1h=9)), DEFAULT_FRAUD_MODEL, "t"
    )
    assert assessment.reasons == [
        "9 attempts with this card in the last hour (limit 3)",
        "IP country FR differs from shipping country GB",
    ]


def test_score_names_each_velocity_kind_once_by_its_worst_window() -> None:
    # 1 h: 2x the limit (full strength); 24 h: 9 of 8 (barely over)
    assessment = score(signals(velocity=velocity(card_1h=6, card_24h=9)), DEFAULT_FRAUD_MODEL, "t")
    assert assessment.reasons == ["6 attempts with this card in the last hour (limit 3)"]


def test_score_gives_no_reason_for_a_feature_whose_weight_is_zero() -> None:
    model = DEFAULT_FRAUD_MODEL.model_copy(update={"weights": FeatureWeights(disposable_email=0.0)})
    assessment = score(signals(email="ann@yopmail.com"), model, "t")
    assert assessment.reasons == []
    assert assessment.score == _BASELINE


def test_score_writes_amounts_in_the_currencys_own_units() -> None:
    first_order = {"is_first_order": True, "customer": AmountHistory(), "tenant": AmountHistory()}
    yen = score(signals(**first_order, amount_minor=80_000, currency="JPY"), DEFAULT_FRAUD_MODEL, "t")
    assert "first order of this customer is of high value: 80000 JPY (threshold 75000 JPY)" in yen.reasons
    dinar = score(signals(**first_order, amount_minor=500_000, currency="KWD"), DEFAULT_FRAUD_MODEL, "t")
    assert (
        "first order of this customer is of high value: 500.000 KWD (threshold 50.000 KWD)" in dinar.reasons
    )


@pytest.mark.parametrize(
    ("changes", "decision"),
    [
        pytest.param({}, "approve", id="ordinary"),
        pytest.param({"email": "ann@yopmail.com"}, "approve", id="one-weak-feature"),
        pytest.param({"velocity": velocity(card_1h=6)}, "review", id="card-testing"),
        pytest.param(
            {"velocity": velocity(card_1h=6), "email": "x@yopmail.com", "card_country": "US"},
            "block",
            id="card-testing-disposable-email-foreign-card",
        ),
    ],
)
def test_score_decides_by_the_default_thresholds(changes: dict[str, Any], decision: str) -> None:
    assert score(signals(**changes), DEFAULT_FRAUD_MODEL, "acme").decision == decision


@pytest.mark.parametrize(
    ("tenant", "decision"),
    [("lenient", "approve"), ("strict", "block"), ("anyone-else", "review")],
)
def test_score_decides_by_the_tenants_own_thresholds(tenant: str, decision: str) -> None:
    # Given a card-testing pattern (score 0.5) and two tenants with their own thresholds
    model = DEFAULT_FRAUD_MODEL.model_copy(
        update={
            "tenant_thresholds": {
                "lenient": Thresholds(review_at=0.7, block_at=0.95),
                "strict": Thresholds(review_at=0.2, block_at=0.4),
            }
        }
    )
    assessment = score(signals(velocity=velocity(card_1h=6)), model, tenant)
    assert assessment.score == pytest.approx(0.5)
    assert assessment.decision == decision


@pytest.mark.parametrize(("bias", "decision"), [(0.0, "review"), (-0.01, "approve")])
def test_score_reviews_from_the_review_threshold_on(bias: float, decision: str) -> None:
    # With no feature present the score is the logistic of the bias: exactly 0.5 for a bias of 0
    model = DEFAULT_FRAUD_MODEL.model_copy(update={"bias": bias})
    assert score(signals(), model, "t").decision == decision


@pytest.mark.parametrize(
    ("match", "reason"),
    [
        ("card", "card is on a blocklist"),
        ("email", "e-mail address is on a blocklist"),
        (None, "on a blocklist"),
    ],
)
def test_score_blocks_a_blocklisted_checkout_whatever_its_score(match: str | None, reason: str) -> None:
    # Given an otherwise ordinary checkout for a tenant that would hardly ever block
    model = DEFAULT_FRAUD_MODEL.model_copy(
        update={"tenant_thresholds": {"acme": Thresholds(review_at=0.98, block_at=0.99)}}
    )
    assessment = score(signals(blocklisted=True, blocklist_match=match), model, "acme")
    assert assessment.decision == "block"
    assert assessment.score == 1.0
    assert assessment.reasons[0] == reason


def test_score_keeps_the_other_reasons_of_a_blocklisted_checkout() -> None:
    assessment = score(
        signals(blocklisted=True, blocklist_match="ip", card_country="US"), DEFAULT_FRAUD_MODEL, "acme"
    )
    assert assessment.reasons == [
        "IP address is on a blocklist",
        "card country US differs from shipping country GB",
        "card country US differs from IP country GB",
    ]


@pytest.mark.parametrize(
    ("email", "found"),
    [
        ("someone@mailinator.com", "mailinator.com"),
        ("SOMEONE@MailInator.COM", "mailinator.com"),
        ("someone@eu.mailinator.com", "mailinator.com"),
        ("someone@a.b.YOPMAIL.com", "yopmail.com"),
        ("someone@10minutemail.com.", "10minutemail.com"),
        ("someone@example.com", None),
        ("someone@notmailinator.com", None),
        ("someone@mailinator.com.example.org", None),
        ("mailinator.com@example.org", None),
    ],
)
def test_disposable_domain_matches_case_insensitively_and_subdomains(email: str, found: str | None) -> None:
    assert disposable_domain(email, DEFAULT_FRAUD_MODEL.disposable_email_domains) == found


def test_disposable_domains_of_a_model_are_compared_in_lower_case() -> None:
    model = FraudModel(version="t", disposable_email_domains=frozenset({"Burner.Example"}))
    assessment = score(signals(email="x@mail.burner.example"), model, "t")
    assert assessment.reasons == ["e-mail address is at burner.example, a disposable-address service"]


_EXTREME_HISTORIES = [
    AmountHistory(),
    AmountHistory(10**6, 0.0, 0.0),
    AmountHistory(10**6, 1e300, 0.0),
    AmountHistory(3, 1.0, 1e300),
]


@pytest.mark.parametrize("amount", [0, 1, 10**15])
@pytest.mark.parametrize("history", _EXTREME_HISTORIES)
@pytest.mark.parametrize("bias", [-20.0, 0.0, 20.0])
@pytest.mark.parametrize("weight", [0.0, 20.0])
def test_score_stays_between_0_and_1_for_extreme_inputs(
    amount: int, history: AmountHistory, bias: float, weight: float
) -> None:
    weights = FeatureWeights(**dict.fromkeys(FeatureWeights.model_fields, weight))
    model = FraudModel(version="extreme", bias=bias, weights=weights)
    checkout = signals(
        amount_minor=amount,
        customer=history,
        tenant=history,
        is_first_order=True,
        email="a@mailinator.com",
        card_country="US",
        ip_country="FR",
        velocity=dict.fromkeys(_ORDINARY["velocity"], 10**9),
    )
    assessment = score(checkout, model, "t")
    assert 0.0 <= assessment.score <= 1.0
    assert assessment.decision in ("approve", "review", "block")


def test_score_is_deterministic() -> None:
    checkout = signals(card_country="US", velocity=velocity(email_1h=5), email="x@trashmail.com")
    assert score(checkout, DEFAULT_FRAUD_MODEL, "t") == score(checkout, DEFAULT_FRAUD_MODEL, "t")


@pytest.mark.parametrize(
    "invalid",
    [
        pytest.param({"review_at": 0.9, "block_at": 0.8}, id="review-above-block"),
        pytest.param({"review_at": 0.8, "block_at": 0.8}, id="review-equals-block"),
        pytest.param({"block_at": 1.5}, id="threshold-above-1"),
        pytest.param(
            {"tenant_thresholds": {"t": {"review_at": 0.6, "block_at": 0.3}}}, id="tenant-thresholds"
        ),
        pytest.param({"velocity_limits": {"card:1w": 3}}, id="unknown-window-unit"),
        pytest.param({"velocity_limits": {"phone:1h": 3}}, id="unknown-velocity-kind"),
        pytest.param({"velocity_limits": {"card:1h": 0}}, id="zero-limit"),
        pytest.param({"weights": {"disposable_email": -1.0}}, id="negative-weight"),
        pytest.param({"bias": float("nan")}, id="nan"),
        pytest.param({"z_score_from": 7.0}, id="z-from-above-cap"),
        pytest.param({"surprise": 1}, id="unknown-field"),
    ],
)
def test_fraud_model_rejects_inconsistent_parameters(invalid: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FraudModel.model_validate({"version": "bad", **invalid})


def test_fraud_model_round_trips_through_its_json_artifact() -> None:
    model = DEFAULT_FRAUD_MODEL.model_copy(
        update={
            "version": "2026-11-27",
            "tenant_thresholds": {"acme": Thresholds(review_at=0.3, block_at=0.6)},
        }
    )
    assert FraudModel.model_validate_json(model.model_dump_json()) == model


def test_fraud_model_defaults_apply_to_what_an_artifact_leaves_out() -> None:
    model = FraudModel.model_validate_json('{"version": "partial", "weights": {"card_velocity": 4.0}}')
    assert model.weights.card_velocity == 4.0
    assert model.weights.email_velocity == DEFAULT_FRAUD_MODEL.weights.email_velocity
    assert model.velocity_limits == DEFAULT_FRAUD_MODEL.velocity_limits


@pytest.mark.parametrize(
    "invalid",
    [
        pytest.param({"blocklisted": False, "blocklist_match": "card"}, id="match-without-hit"),
        pytest.param({"email": "not-an-address"}, id="email"),
        pytest.param({"shipping_country": "GBR"}, id="country"),
        pytest.param({"amount_minor": -1}, id="negative-amount"),
        pytest.param({"customer": AmountHistory(1, -5.0, 0.0)}, id="negative-mean"),
    ],
)
def test_fraud_signals_reject_invalid_input(invalid: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        signals(**invalid)


def test_fraud_signals_upper_case_country_codes() -> None:
    checkout = signals(card_country="gb", ip_country=" fr ", shipping_country="de")
    assert (checkout.card_country, checkout.ip_country, checkout.shipping_country) == ("GB", "FR", "DE")


def test_velocity_keys_count_trivial_variations_as_one() -> None:
    assert velocity_keys("fp_1", " John.Doe+shop@GoogleMail.com ", "2001:db8:1:2:aaaa::1") == {
        "card": "fp_1",
        "email": "johndoe@gmail.com",
        "ip": "2001:db8:1:2::/64",
    }
    assert velocity_keys("fp_1", "Jo.Ann+x@Example.org", "203.0.113.9") == {
        "card": "fp_1",
        "email": "jo.ann@example.org",  # only Gmail ignores dots
        "ip": "203.0.113.9",
    }


def test_velocity_keys_leave_out_a_missing_ip() -> None:
    assert set(velocity_keys("fp_1", "a@example.org", None)) == {"card", "email"}


def test_velocity_keys_normalise_odd_input_without_failing() -> None:
    assert normalise_email("A+B@Example.ORG.") == "a@example.org"
    assert velocity_keys("fp", "a@b.c", " Not-An-IP ")["ip"] == "not-an-ip"
