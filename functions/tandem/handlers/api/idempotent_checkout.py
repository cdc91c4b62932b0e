"""Checkout behind an Idempotency-Key: the same key and body give the same answer and charge once."""

from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from tandem.handlers.api.http import status_of
from tandem.handlers.wiring import api as root
from tandem.logic.checkout import place_order
from tandem.logic.errors import RetryLaterError, TandemError
from tandem.logic.fingerprints import payment_fingerprint
from tandem.models.api import ErrorBody, ErrorDetail
from tandem.models.checkout import CheckoutRequest, FraudView, OrderConfirmation, TokenPayment
from tandem.models.records import Order

# The answer is keyed by tenant and Idempotency-Key; the body is compared by what the buyer
# asked for and a keyed fingerprint of the card, so no unkeyed hash of a card number is stored.
_CONFIG = IdempotencyConfig(
    event_key_jmespath="[tenant_id, idempotency_key]",
    payload_validation_jmespath="[request, card]",
    expires_after_seconds=24 * 3600,
)


def register_context(context: LambdaContext) -> None:
    _CONFIG.register_lambda_context(context)


def checkout(
    tenant_id: str,
    request: CheckoutRequest,
    idempotency_key: str | None,
    client_ip: str | None,
    country: str | None,
) -> dict[str, Any]:
    """{"status", "body"} of POST /orders. Transient failures (503) raise: they are not remembered."""
    command = {
        "tenant_id": tenant_id,
        "idempotency_key": idempotency_key,
        "request": request.model_dump(mode="json", exclude={"payment"}),
        "card": _payment_fingerprint(request),
        "client_ip": client_ip,
        "country": country,
    }
    if not idempotency_key:
        return _checkout(command, request)
    return _idempotent()(command=command, request=request)  # type: ignore[no-any-return]


def _payment_fingerprint(request: CheckoutRequest) -> str:
    if isinstance(request.payment, TokenPayment):
        return payment_fingerprint(None, request.payment.token, root.pepper())
    return payment_fingerprint(request.payment, None, root.pepper())


@cache
def _idempotent() -> Any:
    # Decorated on first use, not at import: the table name comes from the environment.
    return idempotent_function(
        data_keyword_argument="command", persistence_store=root.idempotency_store(), config=_CONFIG
    )(_checkout)


def _checkout(command: dict[str, Any], request: CheckoutRequest) -> dict[str, Any]:
    try:
        order = place_order(
            command["tenant_id"], request, root.checkout(), command["client_ip"], command["country"]
        )
    except RetryLaterError:
        raise
    except TandemError as error:
        # A business answer (402, 403, 409, 422) is remembered like a success: a replay gets it again.
        details = [ErrorDetail.model_validate(item) for item in error.details]
        body = ErrorBody(error=error.code, message=error.message, details=details)
        return {"status": int(status_of(error)), "body": body.model_dump(mode="json")}
    return {"status": int(HTTPStatus.CREATED), "body": confirmation(order).model_dump(mode="json")}


def confirmation(order: Order) -> OrderConfirmation:
    risk, payment = order.risk, order.payment
    if risk is None or payment is None:
        raise ValueError(f"order {order.order_id} was not placed by the checkout")
    return OrderConfirmation(
        order_id=order.order_id,
        status=order.status,
        total=order.total,
        currency=order.currency,
        created_at=order.created_at,
        fraud=FraudView(score=float(risk.fraud_score), decision=risk.fraud_decision),
        payment={"brand": payment.brand, "last4": payment.last4},
    )
