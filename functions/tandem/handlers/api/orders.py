"""Orders: the checkout (POST /orders) and reading orders back."""

from datetime import datetime
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from tandem.handlers.api.http import caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import orders
from tandem.logic.checkout import place_order
from tandem.models.api import CURSOR_DESCRIPTION, PageCursor
from tandem.models.checkout import (
    IDEMPOTENCY_KEY_PATTERN,
    CheckoutRequest,
    FraudView,
    OrderConfirmation,
    OrderPage,
    ReviewAnswer,
    ReviewRequest,
)
from tandem.models.records import Order, OrderId, OrderStatus

router = Router()
TAGS = ["orders"]


@router.post(
    "/orders",
    summary="Place an order",
    description=(
        "Prices the items from the catalogue, screens the payment for fraud and compliance, holds the "
        "stock, authorizes the payment, then confirms the order. Follow-ups (e-mail, warehouse, courier) "
        "follow from the confirmation, never awaited. The `Idempotency-Key` names the purchase: a retry "
        "with the same key and body gets the same order and is charged once — after a timeout or a 503, "
        "retry with the same key, it resumes the purchase."
    ),
    tags=TAGS,
    responses=documented(201, OrderConfirmation, 401, 402, 403, 409, 415, 422, 503),
)
def create_order(
    request: CheckoutRequest,
    idempotency_key: Annotated[
        str,
        Header(
            alias="idempotency-key",
            min_length=1,
            max_length=255,
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description=(
                "required: the client's name for this purchase (e.g. a UUID it made for the cart). "
                "Retries of one purchase send the same key; a new purchase, a new key"
            ),
        ),
    ],
) -> Response[str]:
    principal = caller(router, "orders:write")
    event = router.current_event
    assert isinstance(event, APIGatewayProxyEventV2)  # the app is an APIGatewayHttpResolver
    order = place_order(
        principal.tenant_id,
        request,
        idempotency_key,
        root.checkout(),
        event.request_context.http.source_ip,
        # CloudFront adds the buyer's country when it fronts the API; without it the IP's country is unknown.
        event.headers.get("cloudfront-viewer-country"),
    )
    return json_response(HTTPStatus.CREATED, confirmation(order))


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


@router.get(
    "/orders/<order_id>",
    summary="Get an order",
    description="One of the caller's orders. Another tenant's order is not found (404).",
    tags=TAGS,
    responses=documented(200, Order, 401, 403, 404, 422),
)
def get_order(order_id: OrderId) -> Response[str]:
    principal = caller(router, "orders:read")
    return json_response(HTTPStatus.OK, orders.get_order(principal.tenant_id, order_id, root.orders()))


@router.get(
    "/orders",
    summary="List orders",
    description=(
        "The caller's orders created in [from, to), newest first, a page at a time. Both times need a "
        "time zone and `from` must be before `to`. Pass `next_cursor` back as `cursor` for the next page."
    ),
    tags=TAGS,
    responses=documented(200, OrderPage, 401, 403, 422),
)
def list_orders(
    date_from: Annotated[datetime, Query(alias="from", description="first instant, with a time zone")],
    date_to: Annotated[datetime, Query(alias="to", description="end instant (excluded), with a time zone")],
    status: Annotated[OrderStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[PageCursor | None, Query(description=CURSOR_DESCRIPTION)] = None,
) -> Response[str]:
    principal = caller(router, "orders:read")
    query = orders.OrderQuery(date_from=date_from, date_to=date_to, status=status, limit=limit, cursor=cursor)
    items, next_cursor = orders.list_orders(principal.tenant_id, query, root.orders())
    return json_response(HTTPStatus.OK, OrderPage(items=items, next_cursor=next_cursor))


@router.post(
    "/orders/<order_id>/review",
    summary="Review an order: fraud or legit",
    description=(
        "The shop's verdict on one of its orders, after a manual review or a chargeback: a label the "
        "nightly retraining of the fraud model learns from. The same decision again changes nothing; "
        "a changed decision is recorded beside the earlier ones and holds. Needs the admin scope: the "
        "labels train the fraud model, so the storefront's orders:write key cannot set them."
    ),
    tags=TAGS,
    responses=documented(200, ReviewAnswer, 401, 403, 404, 415, 422),
)
def review_order(order_id: OrderId, request: ReviewRequest) -> Response[str]:
    principal = caller(router, "admin")
    order = orders.review_order(principal.tenant_id, order_id, request, principal.key_id, root.reviews())
    latest = order.reviews[-1]
    answer = ReviewAnswer(
        order_id=order.order_id,
        decision=latest.decision,
        note=latest.note,
        reviewed_at=latest.reviewed_at,
        decisions=len(order.reviews),
    )
    return json_response(HTTPStatus.OK, answer)
