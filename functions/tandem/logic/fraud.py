"""Real-time fraud scoring of a checkout.

`score` is pure: the signals are gathered beforehand (velocity counters and amount
histories from a `FraudSignalStore`, the model from a `ModelSource`), so the decision
itself takes microseconds, does no I/O and gives the same answer for the same input.

How a score comes about: each feature turns one signal into a strength between 0 and 1
(clipped, so one absurd input cannot dominate), the model's weight scales it into
log-odds, the sum with the model's bias goes through the logistic function. Every
feature that adds to the score adds a reason, strongest first. A blocklist hit blocks
whatever the score; its score is then 1.0, so that "score ≥ block_at" and "blocked"
never disagree.
"""

import ipaddress
import math
from decimal import Decimal

from tandem.models.fraud import (
    Decision,
    FeatureWeights,
    FraudAssessment,
    FraudModel,
    FraudSignals,
    split_velocity_key,
)

# Contributions below this many log-odds are rounding noise, not a reason worth showing.
_NEGLIGIBLE = 1e-9
# (feature, strength 0..1, reason): a feature's strength is kept whatever its weight, so that the
# nightly retraining (logic/fraud_training.py) can learn a weight the current model has at 0.
_Feature = tuple[str, float, str]

FEATURES = tuple(FeatureWeights.model_fields)
"""The scorer's features, in the order it evaluates them: one weight each in `FeatureWeights`."""


def score(signals: FraudSignals, model: FraudModel, tenant_id: str) -> FraudAssessment:
    found: list[_Feature] = []
    _amount_features(signals, model, found)
    _velocity_features(signals, model, found)
    _country_features(signals, found)
    _email_feature(signals, model, found)
    _first_order_feature(signals, model, found)

    weights = model.weights
    contributions = [
        (getattr(weights, name) * strength, reason)
        for name, strength, reason in found
        if getattr(weights, name) * strength > _NEGLIGIBLE
    ]
    contributions.sort(key=lambda contribution: -contribution[0])  # stable: ties keep feature order
    reasons = [reason for _, reason in contributions]
    features = {name: round(strength, 4) for name, strength, _ in found}
    if signals.blocklisted:
        reasons.insert(0, _blocklist_reason(signals.blocklist_match))
        return FraudAssessment(
            score=1.0, decision="block", reasons=reasons, model_version=model.version, features=features
        )

    log_odds = model.bias + sum(weight for weight, _ in contributions)
    # Rounded before deciding, so that the score shown and the decision always agree.
    probability = round(_logistic(log_odds), 4)
    return FraudAssessment(
        score=probability,
        decision=_decide(probability, model, tenant_id),
        reasons=reasons,
        model_version=model.version,
        features=features,
    )


def velocity_keys(card_fingerprint: str, email: str, ip: str | None) -> dict[str, str]:
    """What an attempt is counted by (kind → value), normalised so that the cheap variations
    a fraudster rotates through count as one: e-mail case, `+tags` and Gmail's dots, and
    the IPv6 addresses of one /64 network (one subscriber's allocation)."""
    keys = {"card": card_fingerprint, "email": normalise_email(email)}
    if ip:
        keys["ip"] = _ip_key(ip)
    return keys


def blocklist_value(kind: str, value: str) -> str:
    """A value as `velocity_keys` normalises it, so a blocked e-mail or IP matches its variants."""
    if kind == "email":
        return normalise_email(value)
    if kind == "ip":
        return _ip_key(value)
    return value


def normalise_email(email: str) -> str:
    local, _, domain = email.strip().lower().rpartition("@")
    domain = domain.rstrip(".")
    local = local.partition("+")[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def disposable_domain(email: str, domains: frozenset[str]) -> str | None:
    """The listed disposable domain the address belongs to, itself or as a subdomain."""
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    while domain:
        if domain in domains:
            return domain
        domain = domain.partition(".")[2]
    return None


def _amount_features(signals: FraudSignals, model: FraudModel, out: list[_Feature]) -> None:
    for history, min_orders, name, whose in (
        (signals.customer, model.min_customer_orders, "customer_amount", "this customer's usual"),
        (signals.tenant, model.min_tenant_orders, "tenant_amount", "this shop's usual order"),
    ):
        if history.order_count < min_orders:
            continue
        std = max(history.std_minor, history.mean_minor * model.min_std_ratio, 1.0)
        z = (signals.amount_minor - history.mean_minor) / std
        if z <= model.z_score_from:
            continue
        strength = min((z - model.z_score_from) / (model.z_score_cap - model.z_score_from), 1.0)
        if strength > _NEGLIGIBLE:
            how_far = f"{z:.1f}" if z < 100 else "more than 100"
            out.append((name, strength, f"amount is {how_far} standard deviations above {whose}"))


def _velocity_features(signals: FraudSignals, model: FraudModel, out: list[_Feature]) -> None:
    # Per kind, the window that is most over its limit counts; the others say the same thing again.
    strongest: dict[str, tuple[float, str, int, int]] = {}
    for key, limit in model.velocity_limits.items():
        count = signals.velocity.get(key, 0)
        if count <= limit:
            continue
        kind, window = split_velocity_key(key)
        strength = min((count - limit) / limit, 1.0)
        if strength > _NEGLIGIBLE and (kind not in strongest or strength > strongest[kind][0]):
            strongest[kind] = (strength, window, count, limit)
    for kind, (strength, window, count, limit) in strongest.items():
        subject, period = _SUBJECT[kind], _window_phrase(window)
        reason = f"{count} attempts with this {subject} in {period} (limit {limit})"
        out.append((f"{kind}_velocity", strength, reason))


def _country_features(signals: FraudSignals, out: list[_Feature]) -> None:
    card, ip, shipping = signals.card_country, signals.ip_country, signals.shipping_country
    for first, first_name, second, second_name, name in (
        (card, "card country", shipping, "shipping country", "card_shipping_country_mismatch"),
        (ip, "IP country", shipping, "shipping country", "ip_shipping_country_mismatch"),
        (card, "card country", ip, "IP country", "card_ip_country_mismatch"),
    ):
        if first is not None and second is not None and first != second:
            out.append((name, 1.0, f"{first_name} {first} differs from {second_name} {second}"))


def _email_feature(signals: FraudSignals, model: FraudModel, out: list[_Feature]) -> None:
    if found := disposable_domain(signals.email, model.disposable_email_domains):
        out.append(("disposable_email", 1.0, f"e-mail address is at {found}, a disposable-address service"))


def _first_order_feature(signals: FraudSignals, model: FraudModel, out: list[_Feature]) -> None:
    threshold = model.high_value_threshold(signals.currency)
    if signals.is_first_order and signals.amount_minor >= threshold:
        amount = _money(signals.amount_minor, signals.currency)
        limit = _money(threshold, signals.currency)
        out.append(
            (
                "first_order_high_value",
                1.0,
                f"first order of this customer is of high value: {amount} (threshold {limit})",
            )
        )


def _decide(probability: float, model: FraudModel, tenant_id: str) -> Decision:
    override = model.tenant_thresholds.get(tenant_id)
    review_at, block_at = (
        (override.review_at, override.block_at) if override else (model.review_at, model.block_at)
    )
    if probability >= block_at:
        return "block"
    if probability >= review_at:
        return "review"
    return "approve"


def _logistic(log_odds: float) -> float:
    # Written both ways so that exp never overflows, however large the sum of weights.
    if log_odds >= 0:
        return 1.0 / (1.0 + math.exp(-log_odds))
    odds = math.exp(log_odds)
    return odds / (1.0 + odds)


_SUBJECT = {"card": "card", "email": "e-mail address", "ip": "IP address"}
_UNITS = {"m": "minute", "h": "hour", "d": "day"}


def _window_phrase(window: str) -> str:
    """Names a window for people: "1h" → "the last hour", "24h" → "the last 24 hours"."""
    amount, unit = int(window[:-1]), _UNITS[window[-1]]
    return f"the last {unit}" if amount == 1 else f"the last {amount} {unit}s"


def _blocklist_reason(match: str | None) -> str:
    if match is None:
        return "on a blocklist"
    return f"{_SUBJECT.get(match, match)} is on a blocklist"


# ISO 4217 minor units where they are not 2; enough to write an amount the way people read it.
_ZERO_DECIMALS = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
_THREE_DECIMALS = frozenset(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"))


def _money(amount_minor: int, currency: str) -> str:
    exponent = 0 if currency in _ZERO_DECIMALS else 3 if currency in _THREE_DECIMALS else 2
    return f"{Decimal(amount_minor).scaleb(-exponent)} {currency}"


def _ip_key(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip.strip().lower()
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
