"""Fraud scoring: the model's parameters, the signals of one checkout, and the verdict.

`FraudModel` is what a nightly job may retrain and publish as a JSON artifact in S3
(adapters/model_store.py); every field has a default, so `DEFAULT_FRAUD_MODEL` is the
documented, hand-tuned starting point and an artifact may set only what it changes.

Amounts are integer minor units (pence, cents, yen). The history's mean and standard
deviation are statistics of those amounts, not amounts to charge, so they are floats;
so are the score and the weights, which are probabilities and log-odds.
"""

import re
from typing import Annotated, Literal, NamedTuple, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from tandem.models.records import CurrencyCode

Decision = Literal["approve", "review", "block"]

# "card:1h", "email:24h", "ip:15m", "card:7d": what an attempt is counted by, over which window.
_VELOCITY_KEY = re.compile(r"^(card|email|ip):([1-9][0-9]*)([mhd])$")
_WINDOW_SECONDS = {"m": 60, "h": 3600, "d": 86_400}


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


CountryCode = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z]{2}$")]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
# Weights only ever add risk: a feature that is present can never make an attempt look safer.
Weight = Annotated[float, Field(ge=0.0, le=20.0)]


def window_seconds(window: str) -> int:
    """`"1h"` → 3600: the length of a velocity window named in a `kind:window` key."""
    return int(window[:-1]) * _WINDOW_SECONDS[window[-1]]


def split_velocity_key(key: str) -> tuple[str, str]:
    """`"card:1h"` → `("card", "1h")`."""
    kind, _, window = key.partition(":")
    return kind, window


class _Frozen(BaseModel):
    # NaN or infinity in a weight or a statistic would poison every score that touches it.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Thresholds(_Frozen):
    """A score at or above `review_at` is reviewed, at or above `block_at` blocked."""

    review_at: Probability
    block_at: Probability

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.review_at < self.block_at:
            raise ValueError("review_at must be below block_at")
        return self


class FeatureWeights(_Frozen):
    """Log-odds each feature adds when fully present (each feature is scaled to 0..1 first).

    With the default bias of -3.0 an attempt with no risk feature scores 0.05; one
    feature at full strength of weight 3.0 lifts it to 0.50 (review); a block (0.85,
    log-odds +1.73) takes about 4.7 of weight, i.e. two or three strong features together.
    """

    customer_amount: Weight = 3.0  # amount far above this customer's usual
    tenant_amount: Weight = 2.0  # amount far above what this shop usually sells
    card_velocity: Weight = 3.0  # many attempts with one card: card testing
    email_velocity: Weight = 2.0
    ip_velocity: Weight = 1.5  # lowest: offices, mobile carriers and NAT share addresses
    card_shipping_country_mismatch: Weight = 1.2
    ip_shipping_country_mismatch: Weight = 0.8  # travel and VPNs make this common and weak
    card_ip_country_mismatch: Weight = 1.0
    disposable_email: Weight = 1.5
    first_order_high_value: Weight = 1.5

    def velocity(self, kind: str) -> float:
        match kind:
            case "card":
                return self.card_velocity
            case "email":
                return self.email_velocity
            case _:
                return self.ip_velocity


DEFAULT_DISPOSABLE_EMAIL_DOMAINS = frozenset(
    {
        "10minutemail.com",
        "discard.email",
        "dispostable.com",
        "emailondeck.com",
        "fakeinbox.com",
        "getnada.com",
        "guerrillamail.com",
        "guerrillamail.net",
        "guerrillamailblock.com",
        "maildrop.cc",
        "mailinator.com",
        "mailnesia.com",
        "mintemail.com",
        "mohmal.com",
        "sharklasers.com",
        "spamgourmet.com",
        "temp-mail.org",
        "tempmail.com",
        "tempmailo.com",
        "throwawaymail.com",
        "trashmail.com",
        "yopmail.com",
    }
)


class FraudModel(_Frozen):
    """Every parameter of the scorer; the defaults are the documented starting point.

    Per feature, the scorer turns a signal into a strength between 0 and 1 (clipped, so
    no single extreme input dominates), adds `weight * strength` to `bias`, and maps the
    sum through the logistic function to a score between 0 and 1.
    """

    version: str = Field(min_length=1, max_length=128)
    weights: FeatureWeights = FeatureWeights()
    bias: float = Field(default=-3.0, ge=-20.0, le=20.0)

    # Amount z-scores: below `z_score_from` an amount is ordinary and adds nothing; the
    # strength then grows linearly and is full at `z_score_cap` standard deviations.
    z_score_from: float = Field(default=2.0, ge=0.0)
    z_score_cap: float = Field(default=6.0, gt=0.0)
    # Fewer past orders than this and the mean and std say too little to compare against.
    min_customer_orders: int = Field(default=3, ge=2)
    min_tenant_orders: int = Field(default=30, ge=2)
    # A customer who always paid exactly the same has a std of 0, which would make any
    # other amount infinitely unusual: the std used is at least this share of the mean.
    min_std_ratio: float = Field(default=0.2, gt=0.0)

    # Attempts allowed per `kind:window`, the current attempt included. Above the limit the
    # strength grows linearly and is full at twice the limit.
    velocity_limits: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: {
            "card:1h": 3,
            "card:24h": 8,
            "email:1h": 3,
            "email:24h": 10,
            "ip:1h": 10,
            "ip:24h": 40,
        }
    )

    # A customer's first order at or above this amount (minor units of the order's currency,
    # so 50_000 is 500.00 in GBP, EUR or USD); currencies whose minor unit is worth much less
    # get their own threshold.
    first_order_high_value_minor: int = Field(default=50_000, ge=1)
    first_order_high_value_by_currency: dict[CurrencyCode, Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: {"JPY": 75_000, "KRW": 700_000}
    )

    disposable_email_domains: frozenset[str] = DEFAULT_DISPOSABLE_EMAIL_DOMAINS

    review_at: Probability = 0.5
    block_at: Probability = 0.85
    tenant_thresholds: dict[str, Thresholds] = Field(default_factory=dict)

    @field_validator("velocity_limits")
    @classmethod
    def _known_velocity_keys(cls, limits: dict[str, int]) -> dict[str, int]:
        for key in limits:
            if not _VELOCITY_KEY.match(key):
                raise ValueError(f"{key!r} is not 'card|email|ip:<n>m|h|d'")
        return limits

    @field_validator("disposable_email_domains")
    @classmethod
    def _lower_domains(cls, domains: frozenset[str]) -> frozenset[str]:
        return frozenset(domain.strip().lower().strip(".") for domain in domains)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.review_at < self.block_at:
            raise ValueError("review_at must be below block_at")
        if not self.z_score_from < self.z_score_cap:
            raise ValueError("z_score_from must be below z_score_cap")
        return self

    def high_value_threshold(self, currency: str) -> int:
        return self.first_order_high_value_by_currency.get(currency, self.first_order_high_value_minor)


DEFAULT_FRAUD_MODEL = FraudModel(version="builtin-1")
"""Used until a trained artifact is published, and whenever the published one is absent or invalid."""


class AmountHistory(NamedTuple):
    """Past order amounts of a customer or a tenant: how many, their mean and standard deviation."""

    order_count: Annotated[int, Field(ge=0)] = 0
    mean_minor: Annotated[float, Field(ge=0.0)] = 0.0
    std_minor: Annotated[float, Field(ge=0.0)] = 0.0


class SignalSnapshot(_Frozen):
    """What the signal store knows of one payment attempt, read in one round trip (`observe`)."""

    # Attempts per "kind:window" (e.g. {"card:1h": 3}), this one included and counted once
    # however often it is retried.
    velocity: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    customer: AmountHistory = AmountHistory()  # this customer's accepted orders
    tenant: AmountHistory = AmountHistory()  # all of the tenant's accepted orders
    blocklist_match: str | None = None  # the first kind (card, email, ip) the tenant has blocked


class FraudSignals(_Frozen):
    """Everything the scorer looks at, gathered before it runs (the scorer itself does no I/O)."""

    # The bound (10 trillion in a 2-decimal currency) keeps every statistic a finite float.
    amount_minor: int = Field(ge=0, le=10**15)
    currency: CurrencyCode
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)
    card_fingerprint: str = Field(min_length=1)
    card_country: CountryCode | None = None  # from the card's BIN
    ip: str | None = None
    ip_country: CountryCode | None = None
    shipping_country: CountryCode
    customer: AmountHistory = AmountHistory()
    tenant: AmountHistory = AmountHistory()
    # Attempts per "kind:window" (e.g. {"card:1h": 3, "email:24h": 5}), this one included.
    velocity: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    is_first_order: bool = False
    blocklisted: bool = False
    blocklist_match: str | None = None  # which list matched, e.g. "card", "email", "ip"

    @model_validator(mode="after")
    def _match_needs_hit(self) -> Self:
        if self.blocklist_match is not None and not self.blocklisted:
            raise ValueError("blocklist_match is set but blocklisted is false")
        return self


class FraudAssessment(_Frozen):
    score: Probability
    decision: Decision
    # For a reviewer or the shop, strongest first; they never expose weights or internals.
    reasons: list[str]
    model_version: str
    # Each present feature's strength (0..1, `FeatureWeights`' names), whatever its weight: what the
    # order keeps for the nightly retraining (`OrderRisk.fraud_features`). Never shown to a buyer.
    features: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(default_factory=dict)
