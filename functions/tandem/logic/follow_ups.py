"""The consumers of FollowUpQueue: what a confirmed order leaves for later, done once per (order, kind).

OrderEventsFunction queues three `order.follow_up` messages per confirmed order, at least once
(tandem.logic.order_events). Each is handled here by its kind's consumer:

- `confirmation_email`: the buyer's confirmation through SES (the Mailer port), from the
  deployment's verified sender, with the tenant's name and reply-to, the lines, the total and the
  shipping address, in plain text and HTML. An order without a buyer address, or an address SES
  refuses for what it is, is consumed and recorded as skipped with the reason: no retry can help.
- `warehouse_pick`, `courier_notification`: not built yet. Their messages FAIL (they go back to
  the queue and, after the redrive policy's receives, to FollowUpDeadLetterQueue), so none is
  lost: once their consumers exist, a redrive of the DLQ delivers them.

Idempotent on (order, kind), with a claim before the effect and a record after it (the
FollowUpLedger, on the order's item): a redelivery of a done follow-up does nothing. A claim holds
a lease longer than the function can run: a delivery that dies mid-effect leaves it, and the next
delivery after the lease takes over. What is not covered: a process that dies after the effect
(the e-mail accepted) and before recording it done sends it again once the lease runs out — the
usual at-least-once window, made as narrow as one DynamoDB write.

A follow-up that another delivery is doing now (BUSY) fails its record: SQS delivers it again
after the visibility timeout, by which time it is done (→ nothing) or its lease is over.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from html import escape

from tandem.logic.morning_report import MailRejectedError, money
from tandem.logic.ports import Clock, FollowUpLedger, Mailer, OrderStore, TenantProfiles
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
    clock: Clock
    # Longer than the function's timeout: a live delivery never loses its claim to another.
    lease: timedelta = timedelta(minutes=2)


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


CONSUMERS: dict[str, Callable[[Order, FollowUpDeps], FollowUpResult]] = {
    "confirmation_email": send_confirmation,
}
