"""In-memory stand-ins for the ports in tandem.logic.ports: fast, and they record what happened."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from pydantic import BaseModel

from tandem.logic.compliance import SanctionsIndex
from tandem.logic.errors import CheckoutExistsError, ConflictError, NotFoundError, OutOfStockError
from tandem.logic.morning_report import MailRejectedError
from tandem.logic.payments import GatewayUnavailableError
from tandem.logic.ports import RenderedReport
from tandem.logic.report_formats import CONTENT_TYPES, TextRenderer
from tandem.models.audit import AuditEntry
from tandem.models.catalog import Product, ProductUpdate, StockAdjustment
from tandem.models.dashboard import DayRollup, HourCounters, LiveCell, LiveSku, RollupStamp
from tandem.models.follow_ups import Claim, FollowUpResult
from tandem.models.fraud import (
    DEFAULT_FRAUD_MODEL,
    AmountHistory,
    Decision,
    FraudAssessment,
    FraudModel,
    SignalSnapshot,
)
from tandem.models.fraud_training import ExampleSnapshot, ModelIndex, ModelVersion
from tandem.models.payments import Authorization, AuthorizationStatus, DeclineCode, PaymentRequest
from tandem.models.records import (
    ApiKey,
    CheckoutRecord,
    Job,
    JobStatus,
    Order,
    OrderReview,
    OrderStatus,
    ReportFormat,
    ReportKind,
    Tenant,
    TenantWebhook,
)
from tandem.models.reports import ReportDocument

if TYPE_CHECKING:
    from tandem.logic.checkout import CheckoutAttempt
    from tandem.logic.lake.connectors import ColumnMapping, Connector
    from tandem.logic.lake.tables import Table
    from tandem.logic.ports import BulkCurated


class FakeJobs:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Job] = {}
        self.saves = 0

    def create(self, job: Job) -> None:
        assert (job.tenant_id, job.job_id) not in self.items
        self.items[(job.tenant_id, job.job_id)] = job

    def get(self, tenant_id: str, job_id: str) -> Job | None:
        return self.items.get((tenant_id, job_id))

    def save(self, job: Job, expected_version: int) -> bool:
        current = self.items.get((job.tenant_id, job.job_id))
        if current is None or current.version != expected_version:
            return False
        self.items[(job.tenant_id, job.job_id)] = job
        self.saves += 1
        return True

    def page(
        self, tenant_id: str, status: JobStatus | None, limit: int, cursor: str | None
    ) -> tuple[list[Job], str | None]:
        """JobListing: newest first (ties by id, as the index does); the cursor is an offset."""
        listed = sorted(
            (
                job
                for (tenant, _), job in self.items.items()
                if tenant == tenant_id
                and job.params.kind is not ReportKind.TABLE_EXPORT
                and (status is None or job.status is status)
            ),
            key=lambda job: (job.created_at, job.job_id),
            reverse=True,
        )
        start = int(cursor) if cursor else 0
        end = start + limit
        return listed[start:end], str(end) if end < len(listed) else None

    def idle(self, before: datetime, limit: int) -> list[Job]:
        """IdleJobs: queued or running jobs last changed before `before`."""
        stale = [job for job in self.items.values() if not job.status.is_final and job.updated_at < before]
        return stale[:limit]


@dataclass
class FakeQueue:
    sent: list[tuple[BaseModel, dict[str, str]]] = field(default_factory=list)
    fail_with: BaseException | None = None

    def send(self, message: BaseModel, attributes: Mapping[str, str]) -> None:
        if self.fail_with:
            raise self.fail_with
        self.sent.append((message, dict(attributes)))


@dataclass
class FakeOrders:
    """OrderSource, OrderCounts, OrderSink and OrderStore. `fail_with` fails reads (`between`),
    `put_fails_with` writes; `counted` counts the estimates asked for."""

    orders: list[Order] = field(default_factory=list)
    fail_with: Exception | None = None
    put_fails_with: BaseException | None = None
    counted: int = 0

    def between(self, tenant_id: str, start: datetime, end: datetime) -> Iterable[Order]:
        if self.fail_with:
            raise self.fail_with
        return [o for o in self.orders if o.tenant_id == tenant_id and start <= o.created_at < end]

    def count_between(self, tenant_id: str, start: datetime, end: datetime, at_most: int) -> int:  # noqa: ARG002
        # The exact count: the port allows any number above `at_most` once past it.
        self.counted += 1
        return sum(1 for o in self.orders if o.tenant_id == tenant_id and start <= o.created_at < end)

    def put(self, order: Order) -> None:
        if self.put_fails_with:
            raise self.put_fails_with
        self.orders = [
            o for o in self.orders if (o.tenant_id, o.order_id) != (order.tenant_id, order.order_id)
        ]
        self.orders.append(order)

    def get(self, tenant_id: str, order_id: str) -> Order | None:
        return next((o for o in self.orders if (o.tenant_id, o.order_id) == (tenant_id, order_id)), None)

    def review(self, tenant_id: str, order_id: str, review: OrderReview) -> Order | None:
        order = self.get(tenant_id, order_id)
        if order is None or (order.reviews and order.reviews[-1].decision == review.decision):
            return order
        reviewed = order.model_copy(update={"reviews": (*order.reviews, review)})
        self.put(reviewed)
        return reviewed

    def page(
        self,
        tenant_id: str,
        start: datetime,
        end: datetime,
        status: OrderStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Order], str | None]:
        """Newest first; the cursor is the offset of the next page, as text."""
        matching = sorted(
            (o for o in self.between(tenant_id, start, end) if status is None or o.status is status),
            key=lambda o: o.created_at,
            reverse=True,
        )
        offset = int(cursor or 0)
        rest = offset + limit
        return matching[offset:rest], str(rest) if rest < len(matching) else None


@dataclass
class FakeDocuments:
    objects: dict[str, bytes] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)
    filenames: dict[str, str | None] = field(default_factory=dict)
    puts: int = 0

    def put(self, key: str, body: bytes, content_type: str, filename: str | None = None) -> None:
        self.objects[key] = body
        self.content_types[key] = content_type
        self.filenames[key] = filename
        self.puts += 1

    def link(self, key: str, ttl_seconds: int, filename: str | None = None) -> str:
        return f"https://documents.example/{key}?ttl={ttl_seconds}" + (
            f"&filename={filename}" if filename else ""
        )


@dataclass
class FakeRenderer:
    """ReportRenderer: the text formats as the worker writes them; a binary format as a stand-in that
    names the document (its kind, the main table's rows), so a test sees what would have been written."""

    rendered: list[tuple[ReportDocument, ReportFormat]] = field(default_factory=list)

    def render(self, document: ReportDocument, format: ReportFormat) -> RenderedReport:
        self.rendered.append((document, format))
        if format in (ReportFormat.JSON, ReportFormat.CSV):
            return TextRenderer().render(document, format)
        rows = len(document.tables[0].rows) if document.tables else 0
        body = f"{format.value}:{document.kind.value}:{rows} rows".encode()
        return RenderedReport(body, CONTENT_TYPES[format], format.value)


@dataclass
class FakeRawFiles:
    """RawFiles: files by (tenant, source, day, name), as they would sit under raw/…/."""

    files: dict[tuple[str, str, date, str], bytes] = field(default_factory=dict)

    def add(self, tenant_id: str, source: str, day: date, name: str, body: bytes) -> None:
        self.files[(tenant_id, source, day, name)] = body

    def names(self, tenant_id: str, source: str, day: date) -> list[str]:
        return [n for (t, s, d, n) in self.files if (t, s, d) == (tenant_id, source, day)]

    def read(self, tenant_id: str, source: str, day: date, name: str) -> bytes:
        return self.files[(tenant_id, source, day, name)]


@dataclass
class FakeLakeObjects:
    """LakeObjects and RawFiles: the data bucket as a dict of key → bytes (and content types), its
    raw files being what is under raw/ (as S3LakeBucket reads them)."""

    objects: dict[str, bytes] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = body
        self.content_types[key] = content_type

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)
        self.content_types.pop(key, None)

    def names(self, tenant_id: str, source: str, day: date) -> list[str]:
        prefix = f"raw/{tenant_id}/{source}/{day.isoformat()}/"
        return [key[len(prefix) :] for key in self.keys(prefix) if "/" not in key[len(prefix) :]]

    def read(self, tenant_id: str, source: str, day: date, name: str) -> bytes:
        return self.objects[f"raw/{tenant_id}/{source}/{day.isoformat()}/{name}"]


@dataclass
class FakeNightRunner:
    """NightRunner: the runs started, by name (a name started twice is one run)."""

    started: dict[str, BaseModel] = field(default_factory=dict)

    def start(self, name: str, plan: BaseModel) -> str:
        self.started.setdefault(name, plan)
        return f"arn:aws:states:eu-west-1:123456789012:execution:nightly:{name}"


class FakeParquet:
    """ParquetCodec: rows as JSON (column → value), so a test can read what a part holds."""

    def encode(self, table: Table, rows: Sequence[Sequence[object]]) -> bytes:
        named = [dict(zip(table.column_names, row, strict=True)) for row in rows]
        return json.dumps(named, default=str, sort_keys=True).encode()

    def decode(self, table: Table, body: bytes) -> list[tuple[object, ...]]:
        return [tuple(row.get(name) for name in table.column_names) for row in self.rows(body)]

    @staticmethod
    def rows(body: bytes) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = json.loads(body)
        return rows


class FakeBulkCurator:
    """BulkCurator that takes no file: curation runs the Python connectors (the SQL one is
    tested against them in tests/integration/test_erp_orders_sql.py)."""

    def curate_files(
        self,
        connector: Connector[Any],
        names: Sequence[str],
        read: Callable[[str], bytes],
        mapping: ColumnMapping,
    ) -> Iterator[tuple[str, BulkCurated]]:
        del connector, names, read, mapping
        return iter(())


@dataclass
class FakeTenants:
    ids: list[str]

    def tenant_ids(self) -> Iterator[str]:
        return iter(self.ids)


@dataclass
class FakeKeys:
    keys: dict[str, ApiKey] = field(default_factory=dict)

    def add(self, key: ApiKey) -> None:
        self.keys[key.key_hash] = key

    def get(self, key_hash: str) -> ApiKey | None:
        return self.keys.get(key_hash)

    def put(self, key: ApiKey) -> None:
        self.keys[key.key_hash] = key

    def all(self) -> Iterator[ApiKey]:
        return iter(list(self.keys.values()))


@dataclass
class FakeTableSizes:
    items: int = 0
    reads: int = 0

    def item_count(self) -> int:
        self.reads += 1
        return self.items


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeIds:
    """A deterministic IdFactory: order-0001, order-0002…"""

    def __init__(self, prefix: str = "order") -> None:
        self.prefix = prefix
        self.issued: list[str] = []

    def __call__(self) -> str:
        self.issued.append(f"{self.prefix}-{len(self.issued) + 1:04d}")
        return self.issued[-1]


# ---------------------------------------------------------------- catalogue and stock
class FakeCatalog:
    """CatalogStore and StockCatalog, and the stock FakeCheckoutStore holds: `reserve` takes all lines
    or none, as the checkout's transaction does, with the same OutOfStockError details; every
    reserve and release call is recorded. Keeps each
    SKU's stock ledger (`ledger`) and answers a replayed adjustment id with its first entry."""

    def __init__(self, *products: Product, release_fails_with: BaseException | None = None) -> None:
        self.products: dict[tuple[str, str], Product] = {}
        for product in products:
            self.put(product)
        self.reserve_calls: list[dict[str, int]] = []
        self.release_calls: list[dict[str, int]] = []
        self.release_fails_with = release_fails_with
        self.ledger: dict[tuple[str, str], list[StockAdjustment]] = {}

    def get(self, tenant_id: str, sku: str) -> Product | None:
        return self.products.get((tenant_id, sku))

    def put(self, product: Product) -> None:
        """Seeds a new product with its opening stock; ConflictError if it exists, as the table does."""
        if (product.tenant_id, product.sku) in self.products:
            raise ConflictError(f"product '{product.sku}' exists already; its stock moves by adjustments")
        self.products[(product.tenant_id, product.sku)] = product

    def save(self, tenant_id: str, sku: str, update: ProductUpdate) -> tuple[Product, bool]:
        current = self.get(tenant_id, sku)
        stock = current.stock if current else 0  # an edit never changes it
        product = Product(tenant_id=tenant_id, sku=sku, stock=stock, **update.details())
        self.products[(tenant_id, sku)] = product
        return product, current is None

    def page(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Product], str | None]:
        """In SKU order; the cursor is the last SKU of the page."""
        skus = sorted(sku for tenant, sku in self.products if tenant == tenant_id and sku > (cursor or ""))
        page = [self.products[(tenant_id, sku)] for sku in skus[:limit]]
        return page, page[-1].sku if len(skus) > limit else None

    def adjust_stock(self, tenant_id: str, adjustment: StockAdjustment) -> StockAdjustment:
        entries = self.ledger.setdefault((tenant_id, adjustment.sku), [])
        if first := next((e for e in entries if e.adjustment_id == adjustment.adjustment_id), None):
            return first
        product = self.get(tenant_id, adjustment.sku)
        if product is None:
            raise NotFoundError(f"no product '{adjustment.sku}'")
        if product.stock + adjustment.delta < 0:
            removed = -adjustment.delta
            raise OutOfStockError(
                f"cannot remove {removed} of '{adjustment.sku}': {product.stock} on hand; nothing changed",
                [
                    {
                        "loc": ["body", "delta"],
                        "msg": f"{removed} to remove, {product.stock} on hand",
                        "type": "stock_below_zero",
                        "ctx": {"sku": adjustment.sku, "delta": adjustment.delta, "stock": product.stock},
                    }
                ],
            )
        self._move(tenant_id, {adjustment.sku: adjustment.delta}, +1)
        entries.append(adjustment)
        return adjustment

    def record_movement(self, tenant_id: str, adjustment: StockAdjustment) -> StockAdjustment:
        """StockLedger: the entry only; the stock stays as it is."""
        entries = self.ledger.setdefault((tenant_id, adjustment.sku), [])
        if first := next((e for e in entries if e.adjustment_id == adjustment.adjustment_id), None):
            return first
        entries.append(adjustment)
        return adjustment

    def stock_adjustments(
        self, tenant_id: str, sku: str, limit: int, cursor: str | None
    ) -> tuple[list[StockAdjustment], str | None]:
        """Newest first; the cursor is the position of the next page's first entry."""
        entries = sorted(self.ledger.get((tenant_id, sku), []), key=lambda e: (e.at, e.adjustment_id))[::-1]
        start = int(cursor or 0)
        return entries[start : start + limit], str(start + limit) if len(entries) > start + limit else None

    def get_many(self, tenant_id: str, skus: list[str]) -> dict[str, Product]:
        return {sku: p for sku in skus if (p := self.products.get((tenant_id, sku))) is not None}

    def stock(self, tenant_id: str) -> dict[str, int]:
        return {sku: p.stock for (tenant, sku), p in self.products.items() if tenant == tenant_id}

    def reserve(self, tenant_id: str, quantities: Mapping[str, int]) -> None:
        self.reserve_calls.append(dict(quantities))
        short = [
            sku
            for sku, quantity in quantities.items()
            if (p := self.get(tenant_id, sku)) is None or not p.active or p.stock < quantity
        ]
        if short:
            details = []
            for sku in short:
                product = self.get(tenant_id, sku)
                left = product.stock if product and product.active else 0
                details.append(
                    {
                        "loc": ["body", "items", sku],
                        "msg": f"{quantities[sku]} requested, {left} left",
                        "type": "out_of_stock",
                        "ctx": {"sku": sku, "requested": quantities[sku], "available": left},
                    }
                )
            raise OutOfStockError("not enough stock for every line; nothing was reserved", details)
        self._move(tenant_id, quantities, -1)

    def release(self, tenant_id: str, quantities: Mapping[str, int]) -> None:
        self.release_calls.append(dict(quantities))
        if self.release_fails_with:
            raise self.release_fails_with
        if missing := [sku for sku in quantities if self.get(tenant_id, sku) is None]:
            raise NotFoundError(f"cannot release unknown SKUs {missing}")
        self._move(tenant_id, quantities, +1)

    def _move(self, tenant_id: str, quantities: Mapping[str, int], sign: int) -> None:
        for sku, quantity in quantities.items():
            product = self.products[(tenant_id, sku)]
            moved = product.stock + sign * quantity
            self.products[(tenant_id, sku)] = product.model_copy(update={"stock": moved})


# ---------------------------------------------------------------- payments
GatewayOutcome = Literal["approve", "unavailable", "charge_then_time_out"] | DeclineCode


class FakeGateway:
    """PaymentGateway. `outcome` approves, declines with a DeclineCode, raises GatewayUnavailableError
    ("unavailable", nothing charged) or charges and then times out ("charge_then_time_out": the
    authorization is made, the caller never learns its id). `fail_with` raises any exception
    (KeyboardInterrupt…) from authorize; `die_after_charge` charges and then raises it (a process
    killed while the answer was on its way); `void_fails_with` raises from void. The same
    idempotency key returns the first answer, as a provider does. Thread-safe."""

    def __init__(
        self,
        outcome: GatewayOutcome = "approve",
        *,
        fail_with: BaseException | None = None,
        die_after_charge: BaseException | None = None,
        void_fails_with: BaseException | None = None,
    ) -> None:
        self.outcome = outcome
        self.fail_with = fail_with
        self.die_after_charge = die_after_charge
        self.void_fails_with = void_fails_with
        self.calls: list[tuple[PaymentRequest, str]] = []
        self.authorizations: list[Authorization] = []
        self.voids: list[str] = []
        self._by_key: dict[str, Authorization] = {}
        self._lock = threading.Lock()

    @property
    def open_authorizations(self) -> list[Authorization]:
        """Approved and not voided: money held on a card."""
        return [a for a in self.authorizations if a.approved and a.authorization_id not in self.voids]

    def authorize(self, request: PaymentRequest, idempotency_key: str) -> Authorization:
        with self._lock:
            self.calls.append((request, idempotency_key))
            if self.fail_with:
                raise self.fail_with
            if (first := self._by_key.get(idempotency_key)) is not None:
                return first
            if self.outcome == "unavailable":
                raise GatewayUnavailableError("the payment provider failed to process the payment")
            declined = isinstance(self.outcome, DeclineCode)
            authorization = Authorization(
                authorization_id=f"auth_{len(self.authorizations) + 1}",
                status=AuthorizationStatus.DECLINED if declined else AuthorizationStatus.APPROVED,
                decline_code=self.outcome if isinstance(self.outcome, DeclineCode) else None,
                amount_minor=request.amount_minor,
                currency=request.currency,
                reference=request.reference,
            )
            self.authorizations.append(authorization)
            self._by_key[idempotency_key] = authorization
        if self.outcome == "charge_then_time_out":
            raise GatewayUnavailableError("the payment provider did not answer in time")
        if self.die_after_charge:
            raise self.die_after_charge
        return authorization

    def void(self, authorization_id: str) -> None:
        with self._lock:
            if self.void_fails_with:
                raise self.void_fails_with
            authorization = next(
                (a for a in self.authorizations if a.authorization_id == authorization_id), None
            )
            if authorization is None:
                raise NotFoundError("no such authorization")
            if not authorization.approved:
                raise ConflictError("only an approved authorization can be voided")
            if authorization_id not in self.voids:
                self.voids.append(authorization_id)

    def find(self, idempotency_key: str) -> Authorization | None:
        with self._lock:
            return self._by_key.get(idempotency_key)


class FakeCheckoutStore:
    """CheckoutStore over a FakeCatalog's stock and a FakeAudit, with CheckoutStore's atomicity: each
    method changes everything or nothing. `fail_on={"confirm": error}` raises before a method changes
    anything (a crash or an outage at that step). Thread-safe."""

    def __init__(self, catalog: FakeCatalog, audit: FakeAudit | None = None) -> None:
        self.catalog = catalog
        self.audit = audit if audit is not None else FakeAudit()
        self.records: dict[tuple[str, str], CheckoutRecord] = {}
        self.fail_on: dict[str, BaseException] = {}
        self.calls: list[str] = []
        self._lock = threading.RLock()

    def _enter(self, method: str) -> None:
        self.calls.append(method)
        if (error := self.fail_on.get(method)) is not None:
            raise error

    def find(self, tenant_id: str, order_id: str) -> CheckoutRecord | None:
        with self._lock:
            self._enter("find")
            return self.records.get((tenant_id, order_id))

    def hold(self, record: CheckoutRecord, audit: Sequence[AuditEntry]) -> None:
        with self._lock:
            self._enter("hold")
            order = record.order
            if (order.tenant_id, order.order_id) in self.records:
                raise CheckoutExistsError("an order with this id exists")
            self.catalog.reserve(order.tenant_id, _quantities(order))  # OutOfStockError: nothing taken
            self.records[(order.tenant_id, order.order_id)] = record
            self.audit.entries.extend(audit)

    def confirm(self, order: Order) -> bool:
        with self._lock:
            self._enter("confirm")
            current = self.records[(order.tenant_id, order.order_id)]
            if current.order.status is not OrderStatus.PENDING:
                return False
            self.records[(order.tenant_id, order.order_id)] = current.model_copy(
                update={"order": order, "hold_until": None}
            )
            return True

    def decline(self, record: CheckoutRecord, failure: Mapping[str, object]) -> bool:
        with self._lock:
            self._enter("decline")
            return self._end(record, OrderStatus.DECLINED, failure=dict(failure), hold_until=None)

    def stale(self, now: datetime, limit: int) -> list[CheckoutRecord]:
        with self._lock:
            self._enter("stale")
            return [
                r
                for r in self.records.values()
                if r.hold_until is not None
                and r.hold_until < now
                and (r.order.status is OrderStatus.PENDING or r.void_pending)
            ][:limit]

    def expire(self, record: CheckoutRecord, now: datetime) -> bool:
        with self._lock:
            self._enter("expire")
            current = self.records[(record.order.tenant_id, record.order.order_id)]
            if current.hold_until is None or current.hold_until >= now:
                return False
            return self._end(record, OrderStatus.EXPIRED, void_pending=True)

    def settle(self, record: CheckoutRecord) -> None:
        with self._lock:
            self._enter("settle")
            key = (record.order.tenant_id, record.order.order_id)
            if self.records[key].order.status is OrderStatus.EXPIRED:
                self.records[key] = self.records[key].model_copy(
                    update={"void_pending": False, "hold_until": None}
                )

    def _end(self, record: CheckoutRecord, status: OrderStatus, **changes: object) -> bool:
        key = (record.order.tenant_id, record.order.order_id)
        current = self.records[key]
        if current.order.status is not OrderStatus.PENDING:
            return False
        self.catalog.release(current.order.tenant_id, _quantities(current.order))
        order = current.order.model_copy(update={"status": status})
        self.records[key] = current.model_copy(update={"order": order, **changes})
        return True

    def of_status(self, status: OrderStatus) -> list[Order]:
        with self._lock:
            return [r.order for r in self.records.values() if r.order.status is status]

    def held(self, tenant_id: str) -> dict[str, int]:
        """Units under PENDING orders, per SKU: what a sweep must give back."""
        units: dict[str, int] = {}
        for order in self.of_status(OrderStatus.PENDING):
            if order.tenant_id == tenant_id:
                for line in order.lines:
                    units[line.sku] = units.get(line.sku, 0) + line.quantity
        return units

    def sold(self, tenant_id: str) -> dict[str, int]:
        units: dict[str, int] = {}
        for order in self.of_status(OrderStatus.CONFIRMED):
            if order.tenant_id == tenant_id:
                for line in order.lines:
                    units[line.sku] = units.get(line.sku, 0) + line.quantity
        return units


def _quantities(order: Order) -> dict[str, int]:
    return {line.sku: line.quantity for line in order.lines}


# ---------------------------------------------------------------- risk: fraud and compliance
WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}


def _history(amounts: list[int]) -> AmountHistory:
    if not amounts:
        return AmountHistory()
    mean = sum(amounts) / len(amounts)
    return AmountHistory(len(amounts), mean, math.sqrt(sum((a - mean) ** 2 for a in amounts) / len(amounts)))


class FakeFraudSignals:
    """FraudSignalStore and Blocklist: attempts, amounts and blocked values kept as they come.

    `observe` counts distinct attempt ids per kind and value over the exact sliding window (a
    retry of one attempt id counts once, at its first time), atomically (checkouts run in threads).
    """

    def __init__(self) -> None:
        self.attempts: dict[tuple[str, str, str], dict[str, datetime]] = {}
        self.amounts: dict[tuple[str, str], list[int]] = {}
        self.blocked: dict[tuple[str, str, str], str] = {}
        self.observed: list[tuple[str, dict[str, str], str, str, datetime]] = []
        self._lock = threading.Lock()

    def observe(
        self, tenant_id: str, keys: Mapping[str, str], attempt_id: str, customer_key: str, now: datetime
    ) -> SignalSnapshot:
        with self._lock:
            self.observed.append((tenant_id, dict(keys), attempt_id, customer_key, now))
            velocity = {}
            for kind, value in keys.items():
                moments = self.attempts.setdefault((tenant_id, kind, value), {})
                moments.setdefault(attempt_id, now)
                for window, length in WINDOWS.items():
                    velocity[f"{kind}:{window}"] = sum(1 for m in moments.values() if now - length < m <= now)
            return SignalSnapshot(
                velocity=velocity,
                customer=self.history(tenant_id, customer_key),
                tenant=self.tenant_history(tenant_id),
                blocklist_match=next(
                    (kind for kind, value in keys.items() if (tenant_id, kind, value) in self.blocked), None
                ),
            )

    def history(self, tenant_id: str, customer_key: str) -> AmountHistory:
        """The customer's history as `observe` reads it (a test's convenience, not part of the port)."""
        return _history(self.amounts.get((tenant_id, customer_key), []))

    def tenant_history(self, tenant_id: str) -> AmountHistory:
        """The tenant's history as `observe` reads it (a test's convenience, not part of the port)."""
        return _history([a for (t, _), amounts in self.amounts.items() if t == tenant_id for a in amounts])

    def add_amount(self, tenant_id: str, customer_key: str, amount_minor: int) -> None:
        with self._lock:
            self.amounts.setdefault((tenant_id, customer_key), []).append(amount_minor)

    def block(self, tenant_id: str, kind: str, value: str, reason: str) -> None:
        with self._lock:
            self.blocked[(tenant_id, kind, value)] = reason


@dataclass
class FakeModels:
    model: FraudModel = DEFAULT_FRAUD_MODEL
    loads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def load(self) -> FraudModel:
        with self._lock:
            self.loads += 1
        return self.model


@dataclass
class FakeModelArtifacts:
    """ModelArtifacts in dicts; `current` is what a scorer would read (current.json)."""

    index: ModelIndex = field(default_factory=ModelIndex)
    versions: dict[str, ModelVersion] = field(default_factory=dict)
    current: FraudModel | None = None
    writes: list[str] = field(default_factory=list)
    examples: dict[str, ExampleSnapshot] = field(default_factory=dict)

    def read_index(self) -> ModelIndex:
        return self.index

    def write_index(self, index: ModelIndex) -> None:
        self.index = index
        self.writes.append("index")

    def read_version(self, version: str) -> ModelVersion | None:
        return self.versions.get(version)

    def write_version(self, published: ModelVersion) -> None:
        self.versions[published.version] = published
        self.writes.append(f"version:{published.version}")

    def write_current(self, model: FraudModel) -> None:
        self.current = model
        self.writes.append(f"current:{model.version}")

    def write_examples(self, snapshot: ExampleSnapshot) -> None:
        self.examples[snapshot.tenant_id] = snapshot

    def read_examples(self) -> list[ExampleSnapshot]:
        return [self.examples[tenant] for tenant in sorted(self.examples)]


@dataclass
class FakeSanctions:
    """SanctionsSource: a fixed index, or `fail_with` (e.g. ScreeningUnavailableError: no list)."""

    index: SanctionsIndex = field(default_factory=SanctionsIndex)
    fail_with: BaseException | None = None
    loads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def load(self) -> SanctionsIndex:
        with self._lock:
            self.loads += 1
        if self.fail_with:
            raise self.fail_with
        return self.index


@dataclass
class FakePaymentWindow:
    payments: list[tuple[str, str, int, datetime]] = field(default_factory=list)

    def recent_payments(self, tenant_id: str, customer_key: str, now: datetime) -> tuple[int, int]:
        recent = [
            amount
            for tenant, customer, amount, at in list(self.payments)
            if (tenant, customer) == (tenant_id, customer_key) and now - timedelta(hours=24) <= at <= now
        ]
        return sum(recent), len(recent)

    def record_payment(self, tenant_id: str, customer_key: str, amount_minor: int, at: datetime) -> None:
        self.payments.append((tenant_id, customer_key, amount_minor, at))


@dataclass(frozen=True)
class FakeVerdict:
    """ComplianceVerdict."""

    blocked: bool = False
    flags: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass
class FakeRisk:
    """RiskChecks with a set answer: a fraud decision, a compliance verdict, or an error from either.

    `gather` returns an opaque `FakeRisk.Inputs` (or raises `fraud_fails_with`, then
    `compliance_fails_with`: the reads are where risk checks fail, e.g. no sanctions list);
    `assess` accepts only the inputs gathered for the same attempt and answers `decision` and
    `verdict`. `gathered` and `assessed` record the calls.
    """

    @dataclass(frozen=True)
    class Inputs:
        order_id: str

    decision: Decision = "approve"
    verdict: FakeVerdict = field(default_factory=FakeVerdict)
    fraud_fails_with: BaseException | None = None
    compliance_fails_with: BaseException | None = None
    gathered: list[CheckoutAttempt] = field(default_factory=list)
    assessed: list[tuple[CheckoutAttempt, int]] = field(default_factory=list)

    def gather(self, attempt: CheckoutAttempt) -> FakeRisk.Inputs:
        self.gathered.append(attempt)
        if self.fraud_fails_with:
            raise self.fraud_fails_with
        if self.compliance_fails_with:
            raise self.compliance_fails_with
        return FakeRisk.Inputs(attempt.order_id)

    def assess(
        self, inputs: object, attempt: CheckoutAttempt, amount_minor: int
    ) -> tuple[FraudAssessment, FakeVerdict]:
        assert isinstance(inputs, FakeRisk.Inputs), "assess takes what gather returned"
        assert inputs.order_id == attempt.order_id, "assess takes what gather returned for this attempt"
        self.assessed.append((attempt, amount_minor))
        score = {"approve": 0.05, "review": 0.6, "block": 0.95}[self.decision]
        fraud = FraudAssessment(
            score=score, decision=self.decision, reasons=[f"fake {self.decision}"], model_version="fake-1"
        )
        return fraud, self.verdict


# ---------------------------------------------------------------- after a checkout
@dataclass
class FakeCounters:
    """LiveCounters and LiveCounterReader: `hours` sums the orders `add` was given, per UTC hour, as
    the table's counters would (each `add` counts, as each of the table's updates does)."""

    added: list[Order] = field(default_factory=list)
    fail_with: BaseException | None = None

    def add(self, order: Order) -> None:
        if self.fail_with:
            raise self.fail_with
        self.added.append(order)

    def hours(self, tenant_id: str, start: datetime, end: datetime) -> list[HourCounters]:
        by_hour: dict[datetime, list[Order]] = {}
        for order in self.added:
            hour = order.created_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            if order.tenant_id == tenant_id and start <= hour < end:
                by_hour.setdefault(hour, []).append(order)
        return [_hour_counters(tenant_id, hour, orders) for hour, orders in sorted(by_hour.items())]


def _hour_counters(tenant_id: str, hour: datetime, orders: list[Order]) -> HourCounters:
    revenue: dict[str, Decimal] = {}
    cell_orders: dict[tuple[str, str, str], set[int]] = {}
    sold: dict[tuple[str, str, str, str], tuple[int, dict[str, Decimal]]] = {}
    for number, order in enumerate(orders):
        revenue[order.currency] = revenue.get(order.currency, Decimal(0)) + order.total
        for line in order.lines:
            cell = (order.channel or "unknown", order.country or "unknown", line.category or "unknown")
            cell_orders.setdefault(cell, set()).add(number)
            units, amounts = sold.get((*cell, line.sku), (0, {}))
            amounts = {**amounts, order.currency: amounts.get(order.currency, Decimal(0)) + line.amount}
            sold[(*cell, line.sku)] = (units + line.quantity, amounts)
    cells = []
    for cell, numbers in sorted(cell_orders.items()):
        in_cell = [value for key, value in sold.items() if key[:3] == cell]
        cell_revenue: dict[str, Decimal] = {}
        for _, amounts in in_cell:
            for currency, amount in amounts.items():
                cell_revenue[currency] = cell_revenue.get(currency, Decimal(0)) + amount
        cells.append(
            LiveCell(
                channel=cell[0],
                country=cell[1],
                category=cell[2],
                orders=len(numbers),
                units=sum(units for units, _ in in_cell),
                revenue=cell_revenue,
            )
        )
    return HourCounters(
        tenant_id=tenant_id,
        hour=hour,
        orders=len(orders),
        units=sum(order.units for order in orders),
        revenue=revenue,
        cells=cells,
        skus=[
            LiveSku(channel=ch, country=co, category=cat, sku=sku, units=units, revenue=amounts)
            for (ch, co, cat, sku), (units, amounts) in sorted(sold.items())
        ],
    )


@dataclass
class FakeAudit:
    entries: list[AuditEntry] = field(default_factory=list)
    fail_with: BaseException | None = None

    def append(self, entry: AuditEntry) -> None:
        if self.fail_with:
            raise self.fail_with
        self.entries.append(entry)


# ---------------------------------------------------------------- after a confirmation (the orders stream)
if TYPE_CHECKING:
    from tandem.logic.order_events import OrderChange, OrderEffects
    from tandem.models.messages import OrderFollowUp
    from tandem.models.order_events import ParkedOrderEvent, StreamBatchInfo


@dataclass
class FakeFollowUps:
    """FollowUpPublisher. `failures` are raised one per call, in order, before anything is sent."""

    sent: list[OrderFollowUp] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)

    def publish(self, follow_ups: Sequence[OrderFollowUp]) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.extend(follow_ups)


@dataclass
class FakeOrderEffects:
    """OrderEffectsStore over stored orders, with DynamoOrderEffects's condition: applied once, only
    to a CONFIRMED order. `failures` are raised one per `apply`, in order, before anything is written."""

    orders: dict[tuple[str, str], Order] = field(default_factory=dict)
    applied: list[OrderEffects] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)

    def store(self, *orders: Order) -> FakeOrderEffects:
        for order in orders:
            self.orders[(order.tenant_id, order.order_id)] = order
        return self

    def is_applied(self, tenant_id: str, order_id: str) -> bool:
        return any((e.order.tenant_id, e.order.order_id) == (tenant_id, order_id) for e in self.applied)

    def unapplied(self, tenant_id: str, order_id: str) -> Order | None:
        order = self.orders.get((tenant_id, order_id))
        if order is None or order.status is not OrderStatus.CONFIRMED or self.is_applied(tenant_id, order_id):
            return None
        return order

    def apply(self, effects: OrderEffects) -> bool:
        if self.failures:
            raise self.failures.pop(0)
        key = (effects.order.tenant_id, effects.order.order_id)
        stored = self.orders.get(key)
        if stored is None or stored.status is not OrderStatus.CONFIRMED or self.is_applied(*key):
            return False  # the transaction's condition
        self.applied.append(effects)
        return True


@dataclass
class FakeParking:
    parked: list[ParkedOrderEvent] = field(default_factory=list)
    fail_with: BaseException | None = None

    def park(self, event: ParkedOrderEvent) -> None:
        if self.fail_with:
            raise self.fail_with
        self.parked.append(event)


@dataclass
class FakeStreamReplay:
    """StreamReplay: the changes of each batch, by its first sequence number."""

    batches: dict[str, list[OrderChange]] = field(default_factory=dict)

    def changes(self, batch: StreamBatchInfo) -> list[OrderChange]:
        return list(self.batches.get(batch.start_sequence_number, []))


# ---------------------------------------------------------------- raw files sent in (POST /ingest/{source})
@dataclass
class FakeRawUploads:
    """RawUploads: the objects written (key → bytes, content type) and the uploads presigned."""

    objects: dict[str, bytes] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)
    presigned: list[tuple[str, str, int]] = field(default_factory=list)

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = body
        self.content_types[key] = content_type

    def presign_put(self, key: str, content_type: str, ttl_seconds: int) -> tuple[str, dict[str, str]]:
        self.presigned.append((key, content_type, ttl_seconds))
        return f"https://uploads.example/{key}?ttl={ttl_seconds}", {"Content-Type": content_type}


@dataclass
class FakeLakeQuery:
    """LakeQuery: a listing of partition dates per (tenant, table), and each statement answered with
    the rows queued for it in `answers` (none: no rows, a lake without data). Every call is kept, so
    a test sees which partitions a report read and which parameters it bound. The SQL itself runs
    against DuckDB in tests/integration/test_lake_reports.py."""

    partitions: dict[tuple[str, str], list[date]] = field(default_factory=dict)
    answers: list[list[tuple[Any, ...]]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, list[date]], list[tuple[str, dict[str, object]]]]] = field(
        default_factory=list
    )

    def partition_dates(self, tenant_id: str, table: str) -> list[date]:
        return sorted(self.partitions.get((tenant_id, table), []))

    def query(
        self,
        tenant_id: str,
        reads: Mapping[str, Sequence[date]],
        statements: Sequence[tuple[str, Mapping[str, object]]],
    ) -> list[list[tuple[Any, ...]]]:
        self.calls.append(
            (
                tenant_id,
                {table: list(days) for table, days in reads.items()},
                [(sql, dict(parameters)) for sql, parameters in statements],
            )
        )
        return [self.answers.pop(0) if self.answers else [] for _ in statements]


@dataclass
class FakeRollupStore:
    """RollupStore in memory, keyed as the table is (tenant, day)."""

    stored: dict[tuple[str, date], DayRollup] = field(default_factory=dict)
    stamps: dict[str, RollupStamp] = field(default_factory=dict)
    reads: int = 0  # calls of `days`: the dashboard's cache is seen to spare them

    def put_day(self, rollup: DayRollup) -> None:
        self.stored[(rollup.tenant_id, rollup.day)] = rollup.model_copy(deep=True)
        before = self.stamps.get(rollup.tenant_id)
        self.stamps[rollup.tenant_id] = RollupStamp(
            last_day=max(rollup.day, before.last_day) if before else rollup.day,
            version=before.version + 1 if before else 1,
        )

    def days(self, tenant_id: str, start: date, end: date) -> list[DayRollup]:
        self.reads += 1
        return [r for (t, d), r in sorted(self.stored.items()) if t == tenant_id and start <= d <= end]

    def stamp(self, tenant_id: str) -> RollupStamp | None:
        return self.stamps.get(tenant_id)


# ---------------------------------------------------------------- backups
class FakeBackupTables:
    """Tables by logical name, each a list of typed items; scans give them in a shuffled order,
    as DynamoDB's scan promises none."""

    def __init__(self, keys: Mapping[str, tuple[str, ...]]) -> None:
        self.keys = dict(keys)
        self.items: dict[str, list[dict[str, dict[str, Any]]]] = {name: [] for name in keys}
        self.scanned: list[str] = []

    def names(self) -> list[str]:
        return list(self.keys)

    def key_names(self, table: str) -> tuple[str, ...]:
        return self.keys[table]

    def scan(self, table: str) -> Iterator[dict[str, dict[str, Any]]]:
        self.scanned.append(table)
        stored = self.items[table]
        yield from stored[1::2] + stored[::2]

    def is_empty(self, table: str) -> bool:
        return not self.items[table]

    def write(self, table: str, items: Iterable[dict[str, dict[str, Any]]]) -> int:
        # A put replaces the item with the same key, as DynamoDB's does.
        def key(item: dict[str, dict[str, Any]]) -> str:
            return json.dumps([item[name] for name in self.keys[table]], default=repr)

        stored = {key(item): item for item in self.items[table]}
        count = 0
        for item in items:
            stored[key(item)] = item
            count += 1
        self.items[table] = list(stored.values())
        return count


class FakeBackupObjects:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.content_types: dict[str, str] = {}

    def upload(self, key: str, body: BinaryIO, content_type: str) -> None:
        self.put(key, body.read(), content_type)

    def download(self, key: str, into: BinaryIO) -> bool:
        if key not in self.objects:
            return False
        into.write(self.objects[key])
        return True

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = body
        self.content_types[key] = content_type

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)


@dataclass
class FakeTenantProfiles:
    """TenantProfiles: tenants' records by id."""

    tenants: dict[str, Tenant] = field(default_factory=dict)

    def add(self, tenant: Tenant) -> None:
        self.tenants[tenant.tenant_id] = tenant

    def get(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)


@dataclass
class SentMail:
    to: str
    subject: str
    text: str
    html: str
    reply_to: str | None = None


@dataclass
class FakeMailer:
    """Mailer: what was sent, in order; `refuse` raises MailRejectedError for those addresses,
    `fail_with` raises for every message (a transient failure)."""

    sent: list[SentMail] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    fail_with: BaseException | None = None

    def send(self, to: str, subject: str, text: str, html: str, reply_to: str | None = None) -> str:
        if self.fail_with:
            raise self.fail_with
        if to in self.refuse:
            raise MailRejectedError(f"Email address is not verified: {to}")
        self.sent.append(SentMail(to, subject, text, html, reply_to))
        return f"message-{len(self.sent)}"


# ---------------------------------------------------------------- poison messages (every SQS worker)
@dataclass
class FakePoisonParking:
    """PoisonParking: what was parked, (body, reason, attributes) in order."""

    parked: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    fail_with: BaseException | None = None

    def park(self, body: str, reason: str, attributes: Mapping[str, str]) -> None:
        if self.fail_with:
            raise self.fail_with
        self.parked.append((body, reason, dict(attributes)))


# ---------------------------------------------------------------- claim checks (messages over SQS's limit)
@dataclass
class FakeClaimChecks:
    """ClaimChecks in memory: bodies by reference, `claims/{queue}/{n}.json` like the adapter's keys."""

    bodies: dict[str, str] = field(default_factory=dict)

    def put(self, queue: str, body: str) -> str:
        reference = f"claims/{queue}/{len(self.bodies)}.json"
        self.bodies[reference] = body
        return reference

    def get(self, reference: str) -> str | None:
        return self.bodies.get(reference)


@dataclass
class FakeFollowUpLedger:
    """FollowUpLedger: claims and done records by (tenant, order, kind), as the order item keeps
    them. `fail_finish_with` makes recording done raise (the effect happened, the record did not)."""

    claims: dict[tuple[str, str, str], datetime] = field(default_factory=dict)
    done: dict[tuple[str, str, str], FollowUpResult] = field(default_factory=dict)
    fail_finish_with: BaseException | None = None

    def claim(self, tenant_id: str, order_id: str, kind: str, now: datetime, lease_until: datetime) -> Claim:
        key = (tenant_id, order_id, kind)
        if key in self.done:
            return Claim.DONE
        if key in self.claims and self.claims[key] >= now:
            return Claim.BUSY
        self.claims[key] = lease_until
        return Claim.CLAIMED

    def finish(self, tenant_id: str, order_id: str, result: FollowUpResult) -> None:
        if self.fail_finish_with:
            raise self.fail_finish_with
        key = (tenant_id, order_id, result.kind)
        self.claims.pop(key, None)
        self.done[key] = result

    def release(self, tenant_id: str, order_id: str, kind: str) -> None:
        self.claims.pop((tenant_id, order_id, kind), None)


@dataclass
class SentWebhook:
    url: str
    body: bytes
    headers: dict[str, str]
    timeout_seconds: float


@dataclass
class FakeWebhooks:
    """WebhookSender: every call, in order; answers `status` (the `answers` first, one a call), or
    raises `fail_with`."""

    calls: list[SentWebhook] = field(default_factory=list)
    status: int = 200
    fail_with: BaseException | None = None
    answers: list[int] = field(default_factory=list)

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout_seconds: float) -> int:
        if self.fail_with:
            raise self.fail_with
        self.calls.append(SentWebhook(url, body, dict(headers), timeout_seconds))
        return self.answers.pop(0) if self.answers else self.status


@dataclass
class FakeTenantWebhooks:
    """TenantWebhooks over FakeTenantProfiles' records."""

    profiles: FakeTenantProfiles = field(default_factory=FakeTenantProfiles)

    def set_webhook(self, tenant_id: str, webhook: TenantWebhook) -> bool:
        tenant = self.profiles.get(tenant_id)
        if tenant is None:
            return False
        self.profiles.add(tenant.model_copy(update={"webhook": webhook}))
        return True
