"""The sweeper: what a checkout that never finished leaves behind is given back, exactly once.

A checkout holds stock under a PENDING order until `hold_until`. If its process dies (a
timeout, an out-of-memory kill, a crash) or its client never retries after a gateway
outage, the hold ends and this sweep, run every minute by a schedule, finishes the job:

1. `store.expire`: PENDING → EXPIRED and the stock back, in one conditional transaction —
   it happens once however many sweeps race, and never to an order confirmed meanwhile;
2. `gateway.find(provider_key)`: anything the provider authorized under the purchase's key
   (the checkout may have died after the authorization, before recording it) is voided;
3. `store.settle`: the order leaves the sweep index.

A sweep that dies between 1 and 3 leaves the order EXPIRED with `void_pending`: the next
sweep voids and settles it (voiding is idempotent). Why a schedule rather than the table's
TTL: TTL deletes within days, not minutes, and held stock is stock off sale.
"""

from dataclasses import dataclass
from datetime import datetime

from tandem.logic.ports import CheckoutStore, PaymentGateway
from tandem.models.records import OrderStatus
from tandem.observability import logger


@dataclass(frozen=True)
class SweepDeps:
    store: CheckoutStore
    gateway: PaymentGateway
    batch: int = 100


@dataclass(frozen=True)
class SweepReport:
    expired: int = 0  # holds released (stock back)
    voided: int = 0  # authorizations voided
    settled: int = 0  # orders the sweeper is done with
    failed: int = 0  # left for the next sweep (logged)


def sweep(deps: SweepDeps, now: datetime) -> SweepReport:
    """One pass over what needs sweeping as of `now`; each order on its own, so one failure stops no other."""
    expired = voided = settled = failed = 0
    for record in deps.store.stale(now, deps.batch):
        order = record.order
        try:
            if order.status is OrderStatus.PENDING:
                if not deps.store.expire(record, now):
                    continue  # confirmed or declined meanwhile: its checkout finished after all
                expired += 1
            elif not (order.status is OrderStatus.EXPIRED and record.void_pending):
                continue  # pragma: no cover - the index holds nothing else
            authorization = deps.gateway.find(record.provider_key)
            if authorization is not None and authorization.approved:
                deps.gateway.void(authorization.authorization_id)
                voided += 1
            deps.store.settle(record)
            settled += 1
        except Exception:
            failed += 1
            logger.exception(
                "sweep failed for one order; the next sweep retries it",
                extra={"tenant_id": order.tenant_id, "order_id": order.order_id},
            )
    return SweepReport(expired=expired, voided=voided, settled=settled, failed=failed)
