"""The night's run over the lake, in three steps the orchestration (a Step Functions state machine)
calls: plan the (tenant, source, date) items, run each one, then finish each tenant's day.

- `plan_night`: every tenant (or the ones asked for), for every source with raw files that day,
  plus the tenant's checkout orders; a source that had files before and has none now is planned
  too, so its stale rows leave the lake.
- `run_item`: the checkout's orders of the day exported as a raw file, or a source's partition
  curated (`curate_partition`). One item's failure is caught by the state machine; the others go on.
- `finish_day`: the tenant's day manifest assembled from its sources' parts, and the day's sales
  rollup computed from the lake's order lines (every source's, the checkout's and the ERP's),
  not from DynamoDB.

Every step is idempotent per (tenant, date): a re-run writes the same bytes under the same keys.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from tandem.logic.lake import checkout_orders
from tandem.logic.lake.curation import JSON, NDJSON, assemble_day, curate_partition
from tandem.logic.lake.derive import day_lines, derive_day
from tandem.logic.lake.intake import IntakeDeps, curation_deps
from tandem.logic.lake.layout import RunManifest, manifest_key, raw_key
from tandem.logic.lake.sources import SOURCE_NAMES
from tandem.logic.lake.tables import lake_time
from tandem.logic.ports import (
    BulkCurator,
    Clock,
    LakeObjects,
    MessageQueue,
    NightRunner,
    OrderSource,
    ParquetCodec,
    RawFiles,
    TenantDirectory,
)
from tandem.logic.rollups import day_to_roll_up, rollup_key
from tandem.logic.sales import period_bounds, summarize_sales
from tandem.models.lake import FileManifest, LineKind
from tandem.models.nightly import NightFailure, NightItem, NightlyRun, NightPlan, OutcomeStep, StepFailure
from tandem.models.records import Order, OrderLine, OrderStatus
from tandem.models.reports import SalesSummary

CHECKOUT = "checkout"


@dataclass(frozen=True)
class NightStartDeps:
    tenants: TenantDirectory
    raw: RawFiles
    objects: LakeObjects
    runner: NightRunner
    zone: ZoneInfo
    clock: Clock


def start_night(run: NightlyRun, deps: NightStartDeps) -> tuple[NightPlan, str]:
    """The schedule fired (or an operator asked for a day): plan the night and start it.

    A firing's run is named after the day and the time it fired, so the Scheduler's retry of the
    same firing finds the run it started instead of starting a second one. An operator's re-run
    of a past day has no fired time: it gets a new name, and runs.
    """
    fired = run.scheduled_time or run.time
    day = day_to_roll_up(run.day, fired or deps.clock(), deps.zone)
    plan = plan_night(day, run.tenants, deps)
    stamp = fired.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") if fired else f"rerun-{uuid4().hex[:12]}"
    return plan, deps.runner.start(f"nightly-{day.isoformat()}-{stamp}", plan)


class NightFailedError(RuntimeError):
    """Some items or tenants of the night failed: each is parked with its reason; the run fails."""

    def __init__(self, failures: Sequence[NightFailure]) -> None:
        names = ", ".join(f"{f.tenant_id}/{f.source or f.product or f.step or 'finish'}" for f in failures)
        super().__init__(f"{len(failures)} step(s) of the night failed: {names}")
        self.failures = list(failures)


def night_outcome(outcome: OutcomeStep, failures: MessageQueue) -> int:
    """Every failed step parked on the failure queue with its reason; raises if there was one."""
    parked: list[NightFailure] = []
    for result in outcome.finish_results:  # a product that failed: the Catch recorded its error
        for product, answer in sorted(result.products.items()):
            if "Error" in answer:
                error = StepFailure.model_validate(answer)
                failure = NightFailure(
                    day=outcome.day,
                    tenant_id=result.tenant_id,
                    source=None,
                    product=product,
                    error=error.Error,
                    cause=(error.Cause or "")[:2000] or None,
                )
                failures.send(failure, {"kind": failure.kind})
                parked.append(failure)
    for result in [*outcome.item_results, *outcome.finish_results]:
        if not result.failed:
            continue
        error = result.error or StepFailure()
        failure = NightFailure(
            day=outcome.day,
            tenant_id=result.item.tenant_id if result.item else result.tenant_id,
            source=result.item.source if result.item else None,
            error=error.Error,
            cause=(error.Cause or "")[:2000] or None,
        )
        failures.send(failure, {"kind": failure.kind})
        parked.append(failure)
    if outcome.backup_result is not None and "Error" in outcome.backup_result:
        error = StepFailure.model_validate(outcome.backup_result)
        failure = NightFailure(
            day=outcome.day,
            tenant_id=None,
            source=None,
            step="backup",
            error=error.Error,
            cause=(error.Cause or "")[:2000] or None,
        )
        failures.send(failure, {"kind": failure.kind})
        parked.append(failure)
    if parked:
        raise NightFailedError(parked)
    return len(outcome.item_results)


@dataclass(frozen=True)
class NightDeps:
    raw: RawFiles
    objects: LakeObjects
    parquet: ParquetCodec
    orders: OrderSource
    zone: ZoneInfo  # the deployment's reporting zone: the tenants' business day
    bulk: BulkCurator | None = None  # the connectors' rules in SQL, where they have them


def intake_deps(deps: NightDeps) -> IntakeDeps:
    """What curation needs, from the night's dependencies."""
    return _intake(deps)


def _intake(deps: NightDeps) -> IntakeDeps:
    return IntakeDeps(
        raw=deps.raw, objects=deps.objects, parquet=deps.parquet, zone=deps.zone.key, bulk=deps.bulk
    )


def plan_night(day: date, only: Sequence[str] | None, deps: NightStartDeps) -> NightPlan:
    tenants = sorted(only or deps.tenants.tenant_ids())
    items: list[NightItem] = []
    for tenant_id in tenants:
        parts = manifest_key(tenant_id, day).removesuffix(".json") + "/"
        had = {key[len(parts) : -len(".json")] for key in deps.objects.keys(parts)}
        for source in SOURCE_NAMES:
            if source == CHECKOUT or source in had or deps.raw.names(tenant_id, source, day):
                items.append(NightItem(tenant_id=tenant_id, source=source, day=day))
    return NightPlan(day=day, tenants=tenants, items=items)


def run_item(item: NightItem, deps: NightDeps) -> list[FileManifest]:
    if item.source == CHECKOUT:
        export_checkout(item.tenant_id, item.day, deps)
    curation = curation_deps(item.tenant_id, _intake(deps))
    return curate_partition(item.tenant_id, item.source, item.day, curation)


def export_checkout(tenant_id: str, day: date, deps: NightDeps) -> int:
    """The day's orders as `raw/{tenant}/checkout/{date}/orders.jsonl` (removed when there are
    none); the lines written."""
    start, end = period_bounds(day, day, deps.zone)
    body, _left_out = checkout_orders.export_lines(deps.orders.between(tenant_id, start, end))
    key = raw_key(tenant_id, CHECKOUT, day, checkout_orders.FILE_NAME)
    if body:
        deps.objects.put(key, body, NDJSON)
    elif deps.objects.get(key) is not None:
        deps.objects.delete(key)
    return body.count(b"\n")


def finish_day(tenant_id: str, day: date, deps: NightDeps) -> tuple[RunManifest, SalesSummary]:
    curation = curation_deps(tenant_id, _intake(deps))
    lines = day_lines(tenant_id, day, curation)  # read once: the derived tables and the rollup
    derive_day(tenant_id, day, curation, lines)
    manifest = assemble_day(tenant_id, day, curation)
    summary = summarize_sales(tenant_id, lake_orders(tenant_id, lines), day, day, deps.zone)
    deps.objects.put(rollup_key(tenant_id, day), summary.model_dump_json(indent=2).encode(), JSON)
    return manifest, summary


def lake_orders(tenant_id: str, day_lines: Iterable[Mapping[str, Any]]) -> list[Order]:
    """The day's product sales in the lake (every source's order lines), as orders."""
    lines: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for row in day_lines:
        if row["kind"] == LineKind.SALE.value:
            # the same invoice number in two systems is two orders
            lines[(row["source"], str(row["order_id"]))].append(row)
    return [_order(tenant_id, source, order_id, rows) for (source, order_id), rows in sorted(lines.items())]


def _order(tenant_id: str, source: str, order_id: str, rows: list[Mapping[str, Any]]) -> Order:
    first = min(rows, key=lambda row: lake_time(row["ordered_at"]))
    return Order(
        tenant_id=tenant_id,
        order_id=order_id if source == CHECKOUT else f"{source}:{order_id}",
        created_at=lake_time(first["ordered_at"]),
        status=OrderStatus.CONFIRMED,
        currency=str(first["currency"]),
        lines=tuple(
            OrderLine(
                sku=str(row["sku"]),
                quantity=int(str(row["quantity"])),
                unit_price=Decimal(str(row["unit_price"])),
            )
            for row in rows
        ),
        country=None if first["country"] is None else str(first["country"]),
    )
