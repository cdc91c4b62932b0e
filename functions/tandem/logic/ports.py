"""Every port of the use cases: what the logic needs from the outside world, as small Protocols.

Adapters (tandem.adapters) implement them over AWS; tests/fakes.py implements each
in memory. The logic imports only from here, never an adapter: `make lint` checks
that with an import contract (pyproject.toml, [tool.importlinter]).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from pydantic import BaseModel

from tandem.models.audit import AuditEntry
from tandem.models.catalog import Product, ProductUpdate, StockAdjustment
from tandem.models.dashboard import DayRollup, HourCounters, RollupStamp
from tandem.models.follow_ups import Claim, FollowUpResult
from tandem.models.fraud import FraudAssessment, FraudModel, SignalSnapshot
from tandem.models.fraud_training import ExampleSnapshot, ModelIndex, ModelVersion
from tandem.models.lake import FileManifest, Reject
from tandem.models.payments import Authorization, PaymentRequest
from tandem.models.records import (
    ApiKey,
    CheckoutRecord,
    Job,
    JobStatus,
    Order,
    OrderReview,
    OrderStatus,
    ReportFormat,
    Tenant,
    TenantWebhook,
)
from tandem.models.reports import ReportDocument

if TYPE_CHECKING:
    from tandem.logic.checkout import CheckoutAttempt
    from tandem.logic.compliance import SanctionsIndex
    from tandem.logic.lake.connectors import ColumnMapping, Connector
    from tandem.logic.lake.tables import Table

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]
# Waits so many seconds (time.sleep; a test's fake only records): backoff between retries.
Sleep = Callable[[float], None]


# ---------------------------------------------------------------- jobs, queues, documents
class JobStore(Protocol):
    def create(self, job: Job) -> None: ...

    def get(self, tenant_id: str, job_id: str) -> Job | None: ...

    def save(self, job: Job, expected_version: int) -> bool:
        """Store `job` if the stored one still has `expected_version`; False if it changed meanwhile."""
        ...


class JobListing(Protocol):
    def page(
        self, tenant_id: str, status: JobStatus | None, limit: int, cursor: str | None
    ) -> tuple[list[Job], str | None]:
        """Up to `limit` of the tenant's report jobs (no table exports), newest first, and the next cursor."""
        ...


class IdleJobs(Protocol):
    def idle(self, before: datetime, limit: int) -> list[Job]:
        """Queued or running jobs (any tenant) whose last change is before `before`, at most `limit`."""
        ...


class MessageQueue(Protocol):
    def send(self, message: BaseModel, attributes: Mapping[str, str]) -> None: ...


class DocumentStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str, filename: str | None = None) -> None:
        """Store the document; `filename`: what a download of it is saved as (Content-Disposition)."""
        ...

    def link(self, key: str, ttl_seconds: int, filename: str | None = None) -> str:
        """A URL that lets its holder GET the document for `ttl_seconds`; with `filename`, the
        answer says to save it as that file (Content-Disposition: attachment)."""
        ...


@dataclass(frozen=True)
class RenderedReport:
    """A report written in one format: its bytes, how to serve them, the file name's extension."""

    body: bytes
    content_type: str
    extension: str


class ReportRenderer(Protocol):
    def render(self, document: ReportDocument, format: ReportFormat) -> RenderedReport:
        """The document in `format` (json, csv, xlsx, pdf). A document that cannot be written in it
        (too many rows for a sheet, no table) raises ValueError: the same job would fail again."""
        ...


class RawFiles(Protocol):
    """A tenant's raw files of one source and day, as they landed (raw/{tenant}/{source}/{date}/)."""

    def names(self, tenant_id: str, source: str, day: date) -> list[str]: ...

    def read(self, tenant_id: str, source: str, day: date, name: str) -> bytes: ...


class LakeObjects(Protocol):
    """The data bucket as the lake's use cases see it: curated parts, quarantine, manifests."""

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes; None when there is no such key."""
        ...

    def keys(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...


class ParquetCodec(Protocol):
    """Rows of a lake table (values in its column order) ↔ the bytes of one Parquet file."""

    def encode(self, table: Table, rows: Sequence[Sequence[object]]) -> bytes: ...

    def decode(self, table: Table, body: bytes) -> list[tuple[object, ...]]:
        """The file's rows, values in the table's column order (a column it lacks reads as None)."""
        ...


class NightRunner(Protocol):
    """Starts the night's orchestration (the nightly state machine) with its plan."""

    def start(self, name: str, plan: BaseModel) -> str:
        """The run's id (an execution ARN); a run of the same name started before is that run."""
        ...


# ---------------------------------------------------------------- tenants and keys
class TenantDirectory(Protocol):
    def tenant_ids(self) -> Iterable[str]: ...


class ApiKeyStore(Protocol):
    def get(self, key_hash: str) -> ApiKey | None: ...


class ApiKeyRegistry(ApiKeyStore, Protocol):
    """The key table as `tandem keys` manages it (tandem.logic.api_keys); never read per request."""

    def put(self, key: ApiKey) -> None:
        """Writes the record whole (a new key, or one revoked or given an expiry)."""
        ...

    def all(self) -> Iterable[ApiKey]:
        """Every key of every tenant: a few per tenant, read only by an operator's command."""
        ...


# ---------------------------------------------------------------- orders
class OrderSource(Protocol):
    def between(self, tenant_id: str, start: datetime, end: datetime) -> Iterable[Order]:
        """Orders created in [start, end)."""
        ...


class OrderCounts(Protocol):
    def count_between(self, tenant_id: str, start: datetime, end: datetime, at_most: int) -> int:
        """How many orders were created in [start, end), counted no further than needed to know
        whether they are more than `at_most`: past it, any number above `at_most` may come back."""
        ...


class TableSizes(Protocol):
    def item_count(self) -> int:
        """The items of every table a backup exports, as DynamoDB counts them (refreshed about every
        six hours): stored metadata, read without scanning anything."""
        ...


class OrderSink(Protocol):
    def put(self, order: Order) -> None: ...


class OrderStore(OrderSink, Protocol):
    def get(self, tenant_id: str, order_id: str) -> Order | None: ...

    def page(
        self,
        tenant_id: str,
        start: datetime,
        end: datetime,
        status: OrderStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Order], str | None]:
        """One page of the tenant's orders in [start, end), newest first, and the next page's cursor."""
        ...


class OrderReviews(Protocol):
    def review(self, tenant_id: str, order_id: str, review: OrderReview) -> Order | None:
        """Record the decision unless it is the order's current one already (then nothing changes);
        the order afterwards, or None when the tenant has no such order."""
        ...


# ---------------------------------------------------------------- catalogue and stock
class CatalogStore(Protocol):
    """Products and their stock ledgers. Nothing here sets a stock level: it only moves by deltas
    (adjustments here, the checkout's holds and releases elsewhere), so none is ever lost."""

    def get(self, tenant_id: str, sku: str) -> Product | None: ...

    def save(self, tenant_id: str, sku: str, update: ProductUpdate) -> tuple[Product, bool]:
        """Create the product with stock 0, or change its details; an existing stock is never
        written. The product as stored and whether it was created."""
        ...

    def page(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Product], str | None]: ...

    def adjust_stock(self, tenant_id: str, adjustment: StockAdjustment) -> StockAdjustment:
        """One transaction: stock += delta (never below 0) and the ledger entry. The entry recorded
        under `adjustment.adjustment_id`: this one, or the first one if that id was used before (a
        replay: nothing changes). NotFoundError for an unknown SKU; OutOfStockError if the stock
        on hand is smaller than a negative delta (details say what is there)."""
        ...

    def stock_adjustments(
        self, tenant_id: str, sku: str, limit: int, cursor: str | None
    ) -> tuple[list[StockAdjustment], str | None]:
        """One page of the SKU's ledger, newest first, and the next page's cursor."""
        ...


class StockCatalog(Protocol):
    def get_many(self, tenant_id: str, skus: list[str]) -> dict[str, Product]: ...


class CheckoutStore(Protocol):
    """The checkout's durable state: stock held under a PENDING order until it is confirmed or released.

    Every change of state is one conditional write (or one transaction), so a process that dies
    at any point leaves either nothing or a PENDING order that the sweeper releases.
    """

    def find(self, tenant_id: str, order_id: str) -> CheckoutRecord | None:
        """The record as last written (a strongly consistent read)."""
        ...

    def hold(self, record: CheckoutRecord, audit: Sequence[AuditEntry]) -> None:
        """One transaction: take every line's stock, store the PENDING order and the audit entries.

        OutOfStockError if a line is short (details per SKU); CheckoutExistsError if an order
        with this id exists already (a replay of the same Idempotency-Key). Nothing is written then.
        """
        ...

    def confirm(self, order: Order) -> bool:
        """PENDING → CONFIRMED with its payment; False (nothing written) if it is no longer PENDING."""
        ...

    def decline(self, record: CheckoutRecord, failure: Mapping[str, object]) -> bool:
        """One transaction: PENDING → DECLINED keeping `failure` (the answer a replay gets) and the
        stock given back. False (nothing written) if it is no longer PENDING."""
        ...

    def stale(self, now: datetime, limit: int) -> list[CheckoutRecord]:
        """What the sweeper must see to: PENDING orders whose hold ended before `now`, and EXPIRED
        ones whose authorization is still to be voided (`void_pending`). At most `limit`."""
        ...

    def expire(self, record: CheckoutRecord, now: datetime) -> bool:
        """One transaction: PENDING with its hold ended → EXPIRED (void_pending) and the stock given
        back. False (nothing written) if it was confirmed or declined meanwhile."""
        ...

    def settle(self, record: CheckoutRecord) -> None:
        """The sweeper voided what there was to void: the EXPIRED order leaves the sweep index."""
        ...


# ---------------------------------------------------------------- payments
class PaymentGateway(Protocol):
    def authorize(self, request: PaymentRequest, idempotency_key: str) -> Authorization:
        """Reserve the amount on the card. The same key returns the first answer and never charges twice.

        Returns a declined Authorization when the issuer says no; raises
        GatewayUnavailableError when there is no answer.
        """
        ...

    def void(self, authorization_id: str) -> None:
        """Release an approved authorization; voiding twice is voiding once."""
        ...

    def find(self, idempotency_key: str) -> Authorization | None:
        """What the provider did under `idempotency_key`, or None if it never authorized anything
        under it: how a sweeper finds the authorization of a checkout that died before recording it."""
        ...


# ---------------------------------------------------------------- risk: fraud and compliance
class FraudSignalStore(Protocol):
    def observe(
        self, tenant_id: str, keys: Mapping[str, str], attempt_id: str, customer_key: str, now: datetime
    ) -> SignalSnapshot:
        """Count attempt `attempt_id` under each kind → value of `keys` (see `velocity_keys`) and read
        what is known of it, all in one round trip: the attempts per "kind:window" (e.g. "card:1h"),
        this one included; the customer's and the tenant's order amounts; the first kind the tenant
        has blocked. The same `attempt_id` (a retry) counts once; concurrent attempts each see a
        count that includes every attempt counted before it."""
        ...

    def add_amount(self, tenant_id: str, customer_key: str, amount_minor: int) -> None:
        """Add an accepted order's amount to the customer's and the tenant's history."""
        ...


class Blocklist(Protocol):
    def block(self, tenant_id: str, kind: str, value: str, reason: str) -> None: ...


class ModelSource(Protocol):
    def load(self) -> FraudModel:
        """The current fraud model; never raises (falls back to the built-in defaults)."""
        ...


class ModelArtifacts(Protocol):
    """The fraud model's published versions, their index, and the current model the scorer reads."""

    def read_index(self) -> ModelIndex: ...
    def write_index(self, index: ModelIndex) -> None: ...
    def read_version(self, version: str) -> ModelVersion | None: ...
    def write_version(self, published: ModelVersion) -> None: ...
    def write_current(self, model: FraudModel) -> None:
        """What `ModelSource` reads: every warm scorer has it within its cache's lifetime."""
        ...

    def write_examples(self, snapshot: ExampleSnapshot) -> None:
        """A tenant's labelled orders, replacing its earlier snapshot."""
        ...

    def read_examples(self) -> list[ExampleSnapshot]:
        """Every tenant's latest snapshot, by tenant id."""
        ...


class SanctionsSource(Protocol):
    def load(self) -> SanctionsIndex:
        """The current list; implementations cache it (it changes daily at most, payments every second).

        Fails closed: raises ScreeningUnavailableError when no list can be had.
        """
        ...


class PaymentWindow(Protocol):
    """A customer's recent payments, for structuring: several payments that together cross a limit."""

    def recent_payments(self, tenant_id: str, customer_key: str, now: datetime) -> tuple[int, int]:
        """(total in minor units, count) over the last 24 hours."""
        ...

    def record_payment(self, tenant_id: str, customer_key: str, amount_minor: int, at: datetime) -> None: ...


class ComplianceVerdict(Protocol):
    @property
    def blocked(self) -> bool: ...

    @property
    def flags(self) -> tuple[str, ...]: ...

    @property
    def reasons(self) -> tuple[str, ...]: ...


class RiskInputs(Protocol):
    """What `RiskChecks.gather` read for one attempt; only `RiskChecks.assess` looks inside."""


class RiskChecks(Protocol):
    def gather(self, attempt: CheckoutAttempt) -> RiskInputs:
        """Every read the risk checks need, made concurrently (one round trip deep): velocity
        counts (counting this attempt once, however often it is retried), histories, blocklist,
        the customer's recent payments, the fraud model and the sanctions list. Needs no price."""
        ...

    def assess(
        self, inputs: RiskInputs, attempt: CheckoutAttempt, amount_minor: int
    ) -> tuple[FraudAssessment, ComplianceVerdict]:
        """Score and screen the priced attempt: pure computation, no I/O."""
        ...


# ---------------------------------------------------------------- after a checkout
class LiveCounters(Protocol):
    def add(self, order: Order) -> None: ...


class LiveCounterReader(Protocol):
    """Today's numbers for the dashboard: the live counters of confirmed orders, per UTC hour."""

    def hours(self, tenant_id: str, start: datetime, end: datetime) -> list[HourCounters]:
        """The tenant's hours that start in [start, end), oldest first; hours without an order are
        absent. `end` = now takes the hour now running; a `start` mid-hour leaves that hour out.
        Strongly consistent: an order counted a moment ago is in it."""
        ...


class AuditTrail(Protocol):
    def append(self, entry: AuditEntry) -> None: ...


# ---------------------------------------------------------------- after a confirmation (the orders stream)
if TYPE_CHECKING:
    from tandem.logic.order_events import OrderChange, OrderEffects
    from tandem.models.messages import OrderFollowUp
    from tandem.models.order_events import ParkedOrderEvent, StreamBatchInfo


class FollowUpPublisher(Protocol):
    def publish(self, follow_ups: Sequence[OrderFollowUp]) -> None:
        """Send them all in one call; raises if any could not be sent (after retrying only those)."""
        ...


class OrderEffectsStore(Protocol):
    """Where a confirmed order's effects are written, once (see tandem.logic.order_events)."""

    def unapplied(self, tenant_id: str, order_id: str) -> Order | None:
        """The order as stored (a strongly consistent read) if it is CONFIRMED and its effects are
        not applied yet; None otherwise (applied, not confirmed, or no such order)."""
        ...

    def apply(self, effects: OrderEffects) -> bool:
        """One transaction: the order marked applied (on condition it was not, and is CONFIRMED),
        added to the live counters, its customer's payment window and the customer's and
        tenant's amount histories. False, with nothing written, if the condition failed."""
        ...


class EventParking(Protocol):
    def park(self, event: ParkedOrderEvent) -> None:
        """Keep an event that failed every attempt where an operator sees it and can redrive it."""
        ...


class StreamReplay(Protocol):
    def changes(self, batch: StreamBatchInfo) -> list[OrderChange]:
        """The records of a stream batch read again (a stream keeps them 24 hours)."""
        ...


# ---------------------------------------------------------------- raw files sent in (POST /ingest/{source})
class RawUploads(Protocol):
    """Where a tenant's raw files land, under keys made by tandem.logic.lake.layout.raw_key: written
    here when they came inline, or uploaded by the client itself to a presigned URL."""

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def presign_put(self, key: str, content_type: str, ttl_seconds: int) -> tuple[str, dict[str, str]]:
        """A URL that lets its holder PUT the object at `key` for `ttl_seconds`, and the headers the
        PUT must send (they are signed: an upload without them, or with others, is refused)."""
        ...


@dataclass(frozen=True)
class BulkCurated:
    """One raw file curated in bulk: what connectors.curate and the Parquet encoder would give."""

    manifest: FileManifest
    rejects: list[Reject]
    # lake table → the Parquet bytes of the file's rows (a table without rows: absent)
    parts: dict[str, bytes]


class BulkCurator(Protocol):
    """A connector's rules run in bulk (SQL) on whole raw files, with the same results as the
    Python connector (tandem.logic.lake.connectors.curate). Each file it takes is given with what
    it gives, as soon as it is done (a partition's files in batches); a file it does not take (this
    connector has no bulk rules, the file's shape is not one it handles, it cannot be read) is
    not given, and the Python path runs for it."""

    def curate_files(
        self,
        connector: Connector[Any],
        names: Sequence[str],
        read: Callable[[str], bytes],
        mapping: ColumnMapping,
    ) -> Iterator[tuple[str, BulkCurated]]: ...


class RollupStore(Protocol):
    """The dashboard's rollups (tandem.logic.lake.dashboard): one document per tenant and day."""

    def put_day(self, rollup: DayRollup) -> None:
        """Store the day's rollup, replacing what a previous run stored for the date."""
        ...

    def days(self, tenant_id: str, start: date, end: date) -> list[DayRollup]:
        """The tenant's rollups of the days in [start, end], oldest first (days without one absent)."""
        ...

    def stamp(self, tenant_id: str) -> RollupStamp | None:
        """What every `put_day` changes (one read): the last day rolled up and a version; None
        before the first rollup written with a stamp. The dashboard caches rollups under it."""
        ...


# ---------------------------------------------------------------- reports over the lake

# One SQL statement over the lake and its named parameters ($name in the text): values are always
# bound, never written into the SQL.
LakeStatement = tuple[str, Mapping[str, object]]


class LakeQuery(Protocol):
    """SQL over a tenant's curated lake tables, restricted to the partitions a report needs."""

    def partition_dates(self, tenant_id: str, table: str) -> list[date]:
        """The dates a lake table has parts for (a listing: nothing is read)."""
        ...

    def query(
        self, tenant_id: str, reads: Mapping[str, Sequence[date]], statements: Sequence[LakeStatement]
    ) -> list[list[tuple[Any, ...]]]:
        """Each statement's rows, run over the tables of `reads` (table → the partition dates to read;
        a table appears as a view of those parts only, with its columns and `date`, `tenant`, and
        `filename`, the part's key). A table without parts is an empty table of its columns."""
        ...


# ---------------------------------------------------------------- backups

# An item in DynamoDB's typed form, as the low-level client reads and writes it:
# {"sku": {"S": "MUG"}, "price": {"N": "6.50"}, "photo": {"B": b"..."}, "tags": {"SS": [...]}}.
TypedItem = dict[str, dict[str, Any]]


class BackupTables(Protocol):
    """The deployment's tables, named by their logical names in template.yaml (OrdersTable…),
    read and written item by item in DynamoDB's typed form, so nothing is converted on the way."""

    def names(self) -> list[str]: ...

    def key_names(self, table: str) -> tuple[str, ...]:
        """The table's key attributes: its partition key, then its sort key if it has one."""
        ...

    def scan(self, table: str) -> Iterator[TypedItem]:
        """Every item, a page at a time (never the whole table in one answer)."""
        ...

    def is_empty(self, table: str) -> bool: ...

    def write(self, table: str, items: Iterable[TypedItem]) -> int:
        """Puts every item (in batches); answers how many were written."""
        ...


class BackupObjects(Protocol):
    """Where backups are kept (the data bucket's backups/ prefix)."""

    def upload(self, key: str, body: BinaryIO, content_type: str) -> None:
        """Stores the file's contents from its current position (multipart if it is large)."""
        ...

    def download(self, key: str, into: BinaryIO) -> bool:
        """Writes the object into the file; False if there is no such object."""
        ...

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None:
        """The object, or None if there is none."""
        ...


# ---------------------------------------------------------------- the morning report
class TenantProfiles(Protocol):
    """Tenants' records (TenantsTable): their name and settings, such as where reports go."""

    def get(self, tenant_id: str) -> Tenant | None: ...


class Mailer(Protocol):
    """Sends e-mail from the deployment's verified sender (SES)."""

    def send(self, to: str, subject: str, text: str, html: str, reply_to: str | None = None) -> str:
        """Send one message; its id. Raises if it was not accepted."""
        ...


# ---------------------------------------------------------------- poison messages (every SQS worker)
class PoisonParking(Protocol):
    """A worker's dead-letter queue, for a message that can never be parsed: parked at once
    instead of failing every receive first."""

    def park(self, body: str, reason: str, attributes: Mapping[str, str]) -> None:
        """Keep the original body (and its string attributes) with why it was refused."""
        ...


# ---------------------------------------------------------------- claim checks (messages over SQS's limit)
class ClaimChecks(Protocol):
    """Where a message too large for SQS is kept while a small reference travels instead."""

    def put(self, queue: str, body: str) -> str:
        """Store a message body for a queue; the reference to send."""
        ...

    def get(self, reference: str) -> str | None:
        """The body stored under a reference, or None if it is gone (expired)."""


# ---------------------------------------------------------------- order follow-ups
class FollowUpLedger(Protocol):
    """Which follow-ups of an order are done or under way: their consumers' idempotency record,
    keyed by (tenant, order, kind)."""

    def claim(self, tenant_id: str, order_id: str, kind: str, now: datetime, lease_until: datetime) -> Claim:
        """Take the follow-up unless it is done, or claimed by someone whose lease runs past `now`."""
        ...

    def finish(self, tenant_id: str, order_id: str, result: FollowUpResult) -> None:
        """Record it done: every later claim answers DONE."""
        ...

    def release(self, tenant_id: str, order_id: str, kind: str) -> None:
        """Give a claim back after a failed effect, so the next delivery need not wait for the lease."""
        ...


class StockLedger(Protocol):
    """The catalogue's stock ledger (ProductsTable), for movements that already happened."""

    def record_movement(self, tenant_id: str, adjustment: StockAdjustment) -> StockAdjustment:
        """Add the ledger entry WITHOUT changing the stock (the checkout's hold took the units).
        Idempotent on `adjustment_id`: a second call answers the entry recorded first."""
        ...


class WebhookSender(Protocol):
    """HTTPS calls to a tenant's endpoint."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout_seconds: float) -> int:
        """POST `body`; the answer's status (redirects are not followed). Raises when no answer came
        (refused, timed out)."""
        ...


class TenantWebhooks(Protocol):
    """The tenant's webhook endpoint, on its record (TenantsTable)."""

    def set_webhook(self, tenant_id: str, webhook: TenantWebhook) -> bool:
        """Replace it; False if the tenant has no record."""
        ...
