"""The nightly rollup: each tenant's sales of one local day, written where the dashboard reads them."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tandem.logic.errors import InvalidRequestError
from tandem.logic.ports import Clock, DocumentStore, OrderSource, TenantDirectory
from tandem.logic.sales import period_bounds, summarize_sales
from tandem.observability import logger


def rollup_key(tenant_id: str, day: date) -> str:
    return f"rollups/daily/tenant={tenant_id}/date={day.isoformat()}/sales.json"


def day_to_roll_up(requested: date | None, fired_at: datetime, zone: ZoneInfo) -> date:
    """The day a run covers: the one asked for, else the local day before the schedule fired.

    Only finished days: a rollup of today would be partial and differ on a re-run.
    """
    today = fired_at.astimezone(zone).date()
    day = requested or today - timedelta(days=1)
    if day >= today:
        raise InvalidRequestError(f"{day} is not a finished day in {zone.key} (today is {today})")
    return day


class RollupFailedError(Exception):
    def __init__(self, failed: Sequence[str]) -> None:
        super().__init__(f"rollup failed for tenants: {', '.join(failed)}")
        self.failed = list(failed)


@dataclass(frozen=True)
class RollupDeps:
    tenants: TenantDirectory
    orders: OrderSource
    documents: DocumentStore
    zone: ZoneInfo
    clock: Clock


def run_daily_rollups(day: date, only: Sequence[str] | None, deps: RollupDeps) -> list[str]:
    """Write every tenant's rollup of `day`; the same day always gives the same objects.

    One tenant's failure does not stop the others; it is raised at the end so the
    scheduler retries the run, which rewrites the good ones identically.
    """
    tenants, orders, documents, zone = deps.tenants, deps.orders, deps.documents, deps.zone
    written: list[str] = []
    failed: list[str] = []
    start, end = period_bounds(day, day, zone)
    for tenant_id in only or sorted(tenants.tenant_ids()):
        try:
            summary = summarize_sales(tenant_id, orders.between(tenant_id, start, end), day, day, zone)
            key = rollup_key(tenant_id, day)
            documents.put(key, summary.model_dump_json(indent=2).encode(), "application/json")
            written.append(key)
        except Exception:
            logger.exception("rollup failed", extra={"tenant_id": tenant_id, "day": day.isoformat()})
            failed.append(tenant_id)
    if failed:
        raise RollupFailedError(failed)
    return written
