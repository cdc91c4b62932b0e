"""Every port of the use cases: what the logic needs from the outside world, as small Protocols.

Adapters (tandem.adapters) implement them over AWS; tests/fakes.py implements each
in memory. The logic imports only from here, never an adapter: `make lint` checks
that with an import contract (pyproject.toml, [tool.importlinter]).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from tandem.models.audit import AuditEntry
from tandem.models.catalog import Product
from tandem.models.fraud import FraudAssessment, FraudModel, SignalSnapshot
from tandem.models.payments import Authorization, PaymentRequest
from tandem.models.records import ApiKey, Job, Order, OrderStatus

if TYPE_CHECKING:
    from tandem.logic.checkout import CheckoutAttempt
    from tandem.logic.compliance import SanctionsIndex

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


# ---------------------------------------------------------------- jobs, queues, documents
class JobStore(Protocol):
    def create(self, job: Job) -> None: ...

    def get(self, tenant_id: str, job_id: str) -> Job | None: ...

    def save(self, job: Job, expected_version: int) -> bool:
        """Store `job` if the stored one still has `expected_version`; False if it changed meanwhile."""
        ...


class MessageQueue(Protocol):
    def send(self, message: BaseModel, attributes: Mapping[str, str]) -> None: ...


class DocumentStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def link(self, key: str, ttl_seconds: int) -> str:
        """A URL that lets its holder GET the document for `ttl_seconds`."""
        ...


# ---------------------------------------------------------------- tenants and keys
class TenantDirectory(Protocol):
    def tenant_ids(self) -> Iterable[str]: ...


class ApiKeyStore(Protocol):
    def get(self, key_hash: str) -> ApiKey | None: ...


# ---------------------------------------------------------------- orders
class OrderSource(Protocol):
    def between(self, tenant_id: str, start: datetime, end: datetime) -> Iterable[Order]:
        """Orders created in [start, end)."""
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


# ---------------------------------------------------------------- catalogue and stock
class CatalogStore(Protocol):
    def get(self, tenant_id: str, sku: str) -> Product | None: ...

    def put(self, product: Product) -> None: ...

    def page(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Product], str | None]: ...


class StockCatalog(Protocol):
    def get_many(self, tenant_id: str, skus: list[str]) -> dict[str, Product]: ...

    def reserve(self, tenant_id: str, quantities: Mapping[str, int]) -> None:
        """Take every line from stock or none (OutOfStockError)."""
        ...

    def release(self, tenant_id: str, quantities: Mapping[str, int]) -> None: ...


# ---------------------------------------------------------------- payments
class PaymentGateway(Protocol):
    def authorize(self, request: PaymentRequest, idempotency_key: str) -> Authorization:
        """Reserve the amount on the card. The same key returns the first answer and never charges twice.

        Returns a declined Authorization when the issuer says no; raises
        GatewayUnavailableError when there is no answer.
        """
        ...

    def void(self, authorization_id: str) -> None:
        """Release an approved authorization (compensation when a later checkout step fails)."""
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


class RiskChecks(Protocol):
    def fraud(self, attempt: CheckoutAttempt) -> FraudAssessment: ...

    def compliance(self, attempt: CheckoutAttempt) -> ComplianceVerdict: ...

    def record(self, order: Order, attempt: CheckoutAttempt) -> None:
        """A confirmed order joins the histories later checks compare against."""
        ...


# ---------------------------------------------------------------- after a checkout
class LiveCounters(Protocol):
    def add(self, order: Order) -> None: ...


class AuditTrail(Protocol):
    def append(self, entry: AuditEntry) -> None: ...
