"""The consumers of FollowUpQueue: what a confirmed order leaves for later, done once per (order, kind).

OrderEventsFunction queues three `order.follow_up` messages per confirmed order, at least once
(tandem.logic.order_events). Each is handled here by its kind's consumer:

- `confirmation_email`: the buyer's confirmation through SES (the Mailer port), from the
  deployment's verified sender, with the tenant's name and reply-to, the lines, the total and the
  shipping address, in plain text and HTML. An order without a buyer address, or an address SES
  refuses for what it is, is consumed and recorded as skipped with the reason: no retry can help.
- `warehouse_pick`: a stock-ledger entry per line (reason `sold`, the order's time, an id derived
  from (order, SKU), so a redelivery records one), WITHOUT moving stock: the checkout's hold took
  the units already; then the order's pick document, `picks/{tenant}/{date}/{order_id}.json` in
  the data bucket (the order's day in the reporting time zone); then the tenant's batch pick list
  of that day, `picks/{tenant}/{date}.json`, rebuilt from the day's documents (see
  `rebuild_day`). Every step is idempotent on its own: the same bytes under the same key.
- `courier_notification`: a POST of the order's shipment (lines, ship-to) to the endpoint the
  tenant set (PUT /settings/webhooks), signed (tandem.logic.webhooks), with a timeout. No answer
  or any status but 2xx fails the message: SQS delivers it again after the visibility timeout,
  then parks it in FollowUpDeadLetterQueue: a courier that is down never loses a shipment. A
  tenant without an endpoint: consumed, skipped with the reason.

Idempotent on (order, kind), with a claim before the effect and a record after it (the
FollowUpLedger, on the order's item): a redelivery of a done follow-up does nothing. A claim holds
a lease longer than the function can run: a delivery that dies mid-effect leaves it, and the next
delivery after the lease takes over. What is not covered: a process that dies after the effect
(the e-mail accepted) and before recording it done sends it again once the lease runs out — the
usual at-least-once window, made as narrow as one DynamoDB write.

A follow-up that another delivery is doing now (BUSY) fails its record: SQS delivers it again
after the visibility timeout, by which time it is done (→ nothing) or its lease is over.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, timedelta, tzinfo
from html import escape

from tandem.logic.morning_report import MailRejectedError, money
from tandem.logic.ports import (
    Clock,
    FollowUpLedger,
    LakeObjects,
    Mailer,
    OrderStore,
    StockLedger,
    TenantProfiles,
    WebhookSender,
)
from tandem.logic.webhooks import SIGNATURE_HEADER, signature
from tandem.models.catalog import StockAdjustment, StockReason
from tandem.models.follow_ups import Claim, FollowUpOutcome, FollowUpResult
from tandem.models.messages import FollowUpKind, OrderFollowUp
from tandem.models.records import Order, Tenant
from tandem.observability import logger


class FollowUpBusyError(RuntimeError):
    """Another delivery holds the follow-up's claim: retried after the visibility timeout."""


class FollowUpNotBuiltError(RuntimeError):
    """No consumer for this kind yet: the message fails, so it waits in the DLQ for a redrive."""


class UnknownOrderError(ValueError):
    """The message names an order that does not exist: retrying cannot make it exist."""


@dataclass(frozen=True)
class FollowUpDeps:
    orders: OrderStore
    ledger: FollowUpLedger
    tenants: TenantProfiles
    mailer: Mailer
    stock: StockLedger
    # The data bucket: the pick documents and the daily batch pick lists (picks/).
    picks: LakeObjects
    webhooks: WebhookSender
    clock: Clock
    # The reporting time zone: which day's batch pick list an order joins.
    zone: tzinfo = UTC
    # Longer than the function's timeout: a live delivery never loses its claim to another.
    lease: timedelta = timedelta(minutes=2)
    # Per courier call: well inside the function's timeout.
    webhook_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Handled:
    """What became of one message: `result` is None for a redelivery of a done follow-up."""

    kind: FollowUpKind
    result: FollowUpResult | None

    @property
    def duplicate(self) -> bool:
        return self.result is None


def handle(message: OrderFollowUp, deps: FollowUpDeps) -> Handled:
    """Do the follow-up unless it is done. Raises to have SQS deliver it again (transient errors,
    a busy claim, a kind without a consumer) or to consume it unhandled (UnknownOrderError)."""
    consumer = CONSUMERS.get(message.kind)
    if consumer is None:
        raise FollowUpNotBuiltError(f"no consumer for {message.kind} follow-ups yet")
    order = deps.orders.get(message.tenant_id, message.order_id)
    if order is None:
        raise UnknownOrderError(f"order {message.order_id} does not exist")
    now = deps.clock()
    claim = deps.ledger.claim(message.tenant_id, message.order_id, message.kind, now, now + deps.lease)
    if claim is Claim.DONE:
        return Handled(message.kind, None)
    if claim is Claim.BUSY:
        raise FollowUpBusyError(f"{message.kind} of order {message.order_id} is under way elsewhere")
    try:
        result = consumer(order, deps)
    except Exception:
        _release(message, deps)
        raise
    deps.ledger.finish(message.tenant_id, message.order_id, result)
    return Handled(message.kind, result)


def _release(message: OrderFollowUp, deps: FollowUpDeps) -> None:
    # Best effort: a claim that cannot be released runs out with its lease, and the effect's own
    # error is the one to report.
    try:
        deps.ledger.release(message.tenant_id, message.order_id, message.kind)
    except Exception:
        logger.warning("follow-up claim not released; it runs out with its lease", exc_info=True)


# ---------------------------------------------------------------- the confirmation e-mail
def send_confirmation(order: Order, deps: FollowUpDeps) -> FollowUpResult:
    kind: FollowUpKind = "confirmation_email"
    if not order.customer_email:
        return FollowUpResult(
            kind=kind,
            outcome=FollowUpOutcome.SKIPPED,
            at=deps.clock(),
            reason="the order has no buyer e-mail address",
        )
    tenant = deps.tenants.get(order.tenant_id)
    subject, text, html = render_confirmation(order, tenant)
    reply_to = tenant.reply_to if tenant else None
    try:
        message_id = deps.mailer.send(order.customer_email, subject, text, html, reply_to=reply_to)
    except MailRejectedError as error:
        return FollowUpResult(
            kind=kind,
            outcome=FollowUpOutcome.SKIPPED,
            at=deps.clock(),
            reason=f"refused by the mail service: {error}"[:500],
        )
    return FollowUpResult(kind=kind, outcome=FollowUpOutcome.SENT, at=deps.clock(), reference=message_id)


def render_confirmation(order: Order, tenant: Tenant | None) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of an order's confirmation. The shop's name, or its id when
    the tenant has no record."""
    shop = tenant.name if tenant else order.tenant_id
    cur = order.currency
    subject = f"{shop}: your order {order.order_id} is confirmed"
    rows = [
        (line.sku, line.quantity, money(line.unit_price, cur), money(line.amount, cur))
        for line in order.lines
    ]
    address = shipping_lines(order)
    text_lines = [
        f"Thank you for your order with {shop}.",
        "",
        f"Order: {order.order_id}",
        f"Date: {order.created_at.date().isoformat()}",
        "",
        *(f"  {sku}: {quantity} at {unit} = {amount}" for sku, quantity, unit, amount in rows),
        "",
        f"Total: {money(order.total, cur)}",
    ]
    if address:
        text_lines += ["", "Shipping to:", *(f"  {part}" for part in address)]
    text = "\n".join(text_lines) + "\n"
    body_rows = "".join(
        f"<tr><td>{escape(sku)}</td><td style='text-align:right'>{quantity}</td>"
        f"<td style='text-align:right'>{escape(unit)}</td>"
        f"<td style='text-align:right'>{escape(amount)}</td></tr>"
        for sku, quantity, unit, amount in rows
    )
    shipping = (
        "<h2>Shipping to</h2><p>" + "<br>".join(escape(part) for part in address) + "</p>" if address else ""
    )
    html = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(subject)}</title></head><body>"
        f"<p>Thank you for your order with {escape(shop)}.</p>"
        f"<p>Order <strong>{escape(order.order_id)}</strong>, {order.created_at.date().isoformat()}</p>"
        "<table><thead><tr><th>Item</th><th>Qty</th><th>Price</th><th>Amount</th></tr></thead>"
        f"<tbody>{body_rows}</tbody>"
        f"<tfoot><tr><th colspan='3' style='text-align:right'>Total</th>"
        f"<th style='text-align:right'>{escape(money(order.total, cur))}</th></tr></tfoot></table>"
        f"{shipping}</body></html>"
    )
    return subject, text, html


def shipping_lines(order: Order) -> list[str]:
    """The shipping address as the lines of a label; empty when the order has none (imports)."""
    address = order.shipping_address
    if address is None:
        return []
    return [
        part
        for part in (address.line1, address.line2, f"{address.postal_code} {address.city}", address.country)
        if part
    ]


# ---------------------------------------------------------------- the warehouse pick
JSON = "application/json"
# Who the ledger says moved the units: the checkout, by its order (not an API key).
PICK_ACTOR = "checkout"
# Rebuilds of a day's batch list before giving up (the message is retried): see rebuild_day.
REBUILD_ROUNDS = 5


class BatchListUnsettledError(RuntimeError):
    """The day's pick documents kept changing while its batch list was rebuilt."""


def pick_day(order: Order, zone: tzinfo) -> date:
    return order.created_at.astimezone(zone).date()


def pick_key(tenant_id: str, day: date, order_id: str) -> str:
    return f"picks/{tenant_id}/{day.isoformat()}/{order_id}.json"


def batch_key(tenant_id: str, day: date) -> str:
    return f"picks/{tenant_id}/{day.isoformat()}.json"


def sale_adjustment_id(order_id: str, sku: str) -> str:
    """One ledger entry per (order, line): a line's SKU is unique in its order (the checkout adds
    a SKU's quantities up)."""
    return f"order:{order_id}:{sku}"


def sale_adjustments(order: Order) -> list[StockAdjustment]:
    return [
        StockAdjustment(
            adjustment_id=sale_adjustment_id(order.order_id, line.sku),
            sku=line.sku,
            delta=-line.quantity,
            reason=StockReason.SOLD,
            note=f"order {order.order_id}",
            at=order.created_at,  # when the hold took the units
            by=PICK_ACTOR,
        )
        for line in order.lines
    ]


def pick_document(order: Order, day: date) -> dict[str, object]:
    """What the warehouse picks and where it goes. Only the order's own values: the same bytes
    every time it is written."""
    address = order.shipping_address
    return {
        "tenant_id": order.tenant_id,
        "order_id": order.order_id,
        "date": day.isoformat(),
        "created_at": order.created_at.isoformat(),
        "channel": order.channel,
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in order.lines],
        "units": order.units,
        "ship_to": address.model_dump(mode="json") if address else None,
    }


def _encode(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False).encode()


def batch_list(tenant_id: str, day: date, documents: list[dict[str, object]]) -> dict[str, object]:
    """The day's pick list: every SKU's units over the day's orders, and which orders hold it."""
    units: dict[str, int] = {}
    orders_of: dict[str, list[str]] = {}
    for document in sorted(documents, key=lambda d: str(d["order_id"])):
        for line in document["lines"]:  # type: ignore[attr-defined]
            units[line["sku"]] = units.get(line["sku"], 0) + int(line["quantity"])
            orders_of.setdefault(line["sku"], []).append(str(document["order_id"]))
    return {
        "tenant_id": tenant_id,
        "date": day.isoformat(),
        "orders": sorted(str(d["order_id"]) for d in documents),
        "lines": [{"sku": sku, "quantity": units[sku], "orders": orders_of[sku]} for sku in sorted(units)],
        "units": sum(units.values()),
    }


def rebuild_day(tenant_id: str, day: date, picks: LakeObjects) -> dict[str, object]:
    """The day's batch pick list, rebuilt from its documents, on every pick message.

    Why on each message rather than at night: the warehouse picks during the day. Why a rebuild
    rather than an update: it is idempotent and needs no lock. Two workers may rebuild at once
    and the one with the older listing may write last; so each lists again after writing and
    rebuilds while the listing changed: the last writer has seen every document put before its
    check, and a document put after it comes with a rebuild of its own. Cost: the day's documents
    are read on each message (fine for a small shop's day; past thousands of orders a day,
    build it once at night instead).
    """
    prefix = pick_key(tenant_id, day, "x")[: -len("x.json")]
    keys = picks.keys(prefix)
    for _ in range(REBUILD_ROUNDS):
        documents = [json.loads(body) for key in keys if (body := picks.get(key)) is not None]
        document = batch_list(tenant_id, day, documents)
        picks.put(batch_key(tenant_id, day), _encode(document), JSON)
        again = picks.keys(prefix)
        if again == keys:
            return document
        keys = again
    raise BatchListUnsettledError(f"the pick documents of {tenant_id} on {day} kept changing")


def pick_order(order: Order, deps: FollowUpDeps) -> FollowUpResult:
    for adjustment in sale_adjustments(order):
        deps.stock.record_movement(order.tenant_id, adjustment)
    day = pick_day(order, deps.zone)
    key = pick_key(order.tenant_id, day, order.order_id)
    deps.picks.put(key, _encode(pick_document(order, day)), JSON)
    rebuild_day(order.tenant_id, day, deps.picks)
    return FollowUpResult(kind="warehouse_pick", outcome=FollowUpOutcome.SENT, at=deps.clock(), reference=key)


# ---------------------------------------------------------------- the courier notification
COURIER_EVENT = "order.courier_notification"


class CourierUnavailableError(RuntimeError):
    """The courier's endpoint answered but not with 2xx: retried by the queue, then parked."""


def courier_body(order: Order, day: date) -> bytes:
    """The call's body: only the order's values, so a retry sends the same bytes. `id` lets the
    courier drop a second call for the same shipment (the at-least-once window)."""
    document = {
        "id": f"{order.order_id}:courier_notification",
        "type": COURIER_EVENT,
        "data": pick_document(order, day),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def notify_courier(order: Order, deps: FollowUpDeps) -> FollowUpResult:
    kind: FollowUpKind = "courier_notification"
    tenant = deps.tenants.get(order.tenant_id)
    if tenant is None or tenant.webhook is None:
        return FollowUpResult(
            kind=kind,
            outcome=FollowUpOutcome.SKIPPED,
            at=deps.clock(),
            reason="the tenant has no courier endpoint (PUT /settings/webhooks)",
        )
    body = courier_body(order, pick_day(order, deps.zone))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(tenant.webhook.secret, body, deps.clock()),
        "Tandem-Event-Id": f"{order.order_id}:courier_notification",
    }
    status = deps.webhooks.post(tenant.webhook.url, body, headers, deps.webhook_timeout_seconds)
    if not 200 <= status < 300:
        raise CourierUnavailableError(f"the courier's endpoint answered {status}")
    return FollowUpResult(kind=kind, outcome=FollowUpOutcome.SENT, at=deps.clock(), reference=str(status))


CONSUMERS: dict[str, Callable[[Order, FollowUpDeps], FollowUpResult]] = {
    "confirmation_email": send_confirmation,
    "warehouse_pick": pick_order,
    "courier_notification": notify_courier,
}
