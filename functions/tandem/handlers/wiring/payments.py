"""The card pepper and the payment gateway, with the refusals every function that builds them applies.

ApiFunction, OrderEventsFunction and SweeperFunction read the same pepper (card fingerprints,
the histories' customer keys, the sandbox gateway's key); ApiFunction and SweeperFunction build
the same gateway. One place says what may not run where (ARCHITECTURE.md, rule 7).
"""

from tandem.adapters.sandbox_gateway import DynamoLedger, SandboxGateway
from tandem.adapters.secrets import read_secret
from tandem.handlers.wiring import ConfigurationError
from tandem.logic.ports import PaymentGateway
from tandem.models.settings import DEV_STAGE

# The pepper this project once published as a template default: known to anyone, so refused outside dev.
PUBLISHED_DEV_PEPPER = "tandem-dev-pepper-change-me-on-deploy"


def card_pepper(secret_arn: str, stage: str) -> bytes:
    """The card-fingerprint key, from Secrets Manager (callers cache it); refused if unfit for the stage."""
    value = read_secret(secret_arn)
    if len(value) < 32:
        raise ConfigurationError("the card pepper secret must hold at least 32 characters")
    if value == PUBLISHED_DEV_PEPPER and stage != DEV_STAGE:
        raise ConfigurationError(
            f"stage '{stage}' runs with the published development pepper: "
            "put a random value in the CardPepperSecret"
        )
    return value.encode()


def payment_gateway(
    name: str, stage: str, pepper: bytes, sandbox_table: str, *, sandbox_timeout_seconds: float = 0.0
) -> PaymentGateway:
    """The adapter of template.yaml's PaymentGateway; the sandbox only in the dev stage.

    `sandbox_table` (SandboxPaymentsTable) is where the sandbox keeps its authorizations, so that
    one function finds and voids what another authorized; empty, it keeps them in memory.
    `sandbox_timeout_seconds`: how long its timeout card waits before the answer is lost.
    """
    if name != "sandbox":
        raise ConfigurationError(
            f"no adapter for payment gateway '{name}': add tandem.adapters.{name}_gateway implementing "
            "tandem.logic.ports.PaymentGateway and select it in tandem.handlers.wiring.payments"
        )
    if stage != DEV_STAGE:
        raise ConfigurationError(
            f"the sandbox gateway approves any Luhn-valid card and is refused in stage '{stage}': "
            "set the PaymentGateway parameter to your provider (its adapter, e.g. "
            "tandem.adapters.stripe_gateway, is missing)"
        )
    return SandboxGateway(
        pepper=pepper,
        ledger=DynamoLedger(sandbox_table) if sandbox_table else None,
        timeout_seconds=sandbox_timeout_seconds,
    )
