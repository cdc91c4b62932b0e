"""tests/fakes.py keeps up with tandem.logic.ports: one fake per port, with the port's methods.

The annotated assignments are checked by a type checker (`mypy tests/unit/test_fakes.py`);
the test checks at run time that each fake has every member of its Protocol, with the
same parameter names, so a renamed or added port method fails here rather than in a
confusing test of the logic.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from typing_extensions import get_protocol_members

from tandem.logic import ports
from tandem.logic.errors import ConflictError, NotFoundError, OutOfStockError
from tandem.models.catalog import Product
from tandem.models.payments import DeclineCode, PaymentRequest
from tandem.models.records import Order, OrderLine, OrderStatus
from tests.fakes import (
    FakeAudit,
    FakeBackupObjects,
    FakeBackupTables,
    FakeBulkCurator,
    FakeCatalog,
    FakeCheckoutStore,
    FakeClaimChecks,
    FakeClock,
    FakeCounters,
    FakeDocuments,
    FakeFollowUpLedger,
    FakeFollowUps,
    FakeFraudSignals,
    FakeGateway,
    FakeIds,
    FakeJobs,
    FakeKeys,
    FakeLakeObjects,
    FakeLakeQuery,
    FakeMailer,
    FakeModelArtifacts,
    FakeModels,
    FakeNightRunner,
    FakeOrderEffects,
    FakeOrders,
    FakeParking,
    FakeParquet,
    FakePaymentWindow,
    FakePoisonParking,
    FakeQueue,
    FakeRawFiles,
    FakeRawUploads,
    FakeRenderer,
    FakeRisk,
    FakeRollupStore,
    FakeSanctions,
    FakeStreamReplay,
    FakeTableSizes,
    FakeTenantProfiles,
    FakeTenants,
    FakeTenantWebhooks,
    FakeVerdict,
    FakeWebhooks,
)

# Static: a type checker refuses any of these if a fake drifts from its port.
clock: ports.Clock = FakeClock()
new_id: ports.IdFactory = FakeIds()
jobs: ports.JobStore = FakeJobs()
job_listing: ports.JobListing = FakeJobs()
idle_jobs: ports.IdleJobs = FakeJobs()
queue: ports.MessageQueue = FakeQueue()
documents: ports.DocumentStore = FakeDocuments()
renderer: ports.ReportRenderer = FakeRenderer()
raw_files: ports.RawFiles = FakeRawFiles()
raw_uploads: ports.RawUploads = FakeRawUploads()
lake_objects: ports.LakeObjects = FakeLakeObjects()
lake_raw_files: ports.RawFiles = FakeLakeObjects()
night_runner: ports.NightRunner = FakeNightRunner()
parquet: ports.ParquetCodec = FakeParquet()
bulk: ports.BulkCurator = FakeBulkCurator()
tenants: ports.TenantDirectory = FakeTenants(["acme"])
keys: ports.ApiKeyStore = FakeKeys()
key_registry: ports.ApiKeyRegistry = FakeKeys()
order_source: ports.OrderSource = FakeOrders()
order_counts: ports.OrderCounts = FakeOrders()
order_sink: ports.OrderSink = FakeOrders()
order_store: ports.OrderStore = FakeOrders()
order_reviews: ports.OrderReviews = FakeOrders()
catalog_store: ports.CatalogStore = FakeCatalog()
stock_catalog: ports.StockCatalog = FakeCatalog()
checkout_store: ports.CheckoutStore = FakeCheckoutStore(FakeCatalog())
gateway: ports.PaymentGateway = FakeGateway()
signals: ports.FraudSignalStore = FakeFraudSignals()
blocklist: ports.Blocklist = FakeFraudSignals()
models: ports.ModelSource = FakeModels()
model_artifacts: ports.ModelArtifacts = FakeModelArtifacts()
sanctions: ports.SanctionsSource = FakeSanctions()
window: ports.PaymentWindow = FakePaymentWindow()
verdict: ports.ComplianceVerdict = FakeVerdict()
risk: ports.RiskChecks = FakeRisk()
counters: ports.LiveCounters = FakeCounters()
counter_reader: ports.LiveCounterReader = FakeCounters()
audit: ports.AuditTrail = FakeAudit()
follow_ups: ports.FollowUpPublisher = FakeFollowUps()
order_effects: ports.OrderEffectsStore = FakeOrderEffects()
parking: ports.EventParking = FakeParking()
replay: ports.StreamReplay = FakeStreamReplay()
rollups: ports.RollupStore = FakeRollupStore()
lake_query: ports.LakeQuery = FakeLakeQuery()
backup_tables: ports.BackupTables = FakeBackupTables({"T": ("pk",)})
backup_objects: ports.BackupObjects = FakeBackupObjects()
tenant_profiles: ports.TenantProfiles = FakeTenantProfiles()
mailer: ports.Mailer = FakeMailer()
poison_parking: ports.PoisonParking = FakePoisonParking()
claim_checks: ports.ClaimChecks = FakeClaimChecks()
follow_up_ledger: ports.FollowUpLedger = FakeFollowUpLedger()
stock_ledger: ports.StockLedger = FakeCatalog()
webhook_sender: ports.WebhookSender = FakeWebhooks()
tenant_webhooks: ports.TenantWebhooks = FakeTenantWebhooks()
table_sizes: ports.TableSizes = FakeTableSizes()

FAKES: dict[type[Any], Any] = {
    ports.JobStore: jobs,
    ports.JobListing: job_listing,
    ports.IdleJobs: idle_jobs,
    ports.MessageQueue: queue,
    ports.DocumentStore: documents,
    ports.ReportRenderer: renderer,
    ports.RawFiles: raw_files,
    ports.RawUploads: raw_uploads,
    ports.LakeObjects: lake_objects,
    ports.NightRunner: night_runner,
    ports.ParquetCodec: parquet,
    ports.BulkCurator: bulk,
    ports.RollupStore: rollups,
    ports.LakeQuery: lake_query,
    ports.TenantDirectory: tenants,
    ports.ApiKeyStore: keys,
    ports.ApiKeyRegistry: key_registry,
    ports.OrderSource: order_source,
    ports.OrderCounts: order_counts,
    ports.OrderSink: order_sink,
    ports.OrderStore: order_store,
    ports.OrderReviews: order_reviews,
    ports.CatalogStore: catalog_store,
    ports.StockCatalog: stock_catalog,
    ports.CheckoutStore: checkout_store,
    # A marker: whatever RiskChecks.gather returns; only its own assess looks inside.
    ports.RiskInputs: object(),
    ports.PaymentGateway: gateway,
    ports.FraudSignalStore: signals,
    ports.Blocklist: blocklist,
    ports.ModelSource: models,
    ports.ModelArtifacts: model_artifacts,
    ports.SanctionsSource: sanctions,
    ports.PaymentWindow: window,
    ports.ComplianceVerdict: verdict,
    ports.RiskChecks: risk,
    ports.LiveCounters: counters,
    ports.LiveCounterReader: counter_reader,
    ports.AuditTrail: audit,
    ports.FollowUpPublisher: follow_ups,
    ports.FollowUpLedger: follow_up_ledger,
    ports.StockLedger: stock_ledger,
    ports.WebhookSender: webhook_sender,
    ports.TenantWebhooks: tenant_webhooks,
    ports.OrderEffectsStore: order_effects,
    ports.EventParking: parking,
    ports.StreamReplay: replay,
    ports.BackupTables: backup_tables,
    ports.BackupObjects: backup_objects,
    ports.TenantProfiles: tenant_profiles,
    ports.Mailer: mailer,
    ports.PoisonParking: poison_parking,
    ports.ClaimChecks: claim_checks,
    ports.TableSizes: table_sizes,
}


def _protocols() -> list[type[Any]]:
    return [
        value
        for value in vars(ports).values()
        if inspect.isclass(value)
        and getattr(value, "_is_protocol", False)
        and value.__module__ == ports.__name__
    ]


def test_fakes_cover_every_port() -> None:
    assert set(_protocols()) == set(FAKES)


@pytest.mark.parametrize("port", list(FAKES), ids=lambda port: port.__name__)
def test_fakes_have_every_member_of_their_port_with_its_parameter_names(port: type[Any]) -> None:
    fake = FAKES[port]
    for name in sorted(get_protocol_members(port)):
        assert hasattr(fake, name), f"{type(fake).__name__} lacks {port.__name__}.{name}"
        expected = inspect.getattr_static(port, name)
        if isinstance(expected, property):
            continue
        wanted = list(inspect.signature(expected).parameters)[1:]  # without self
        assert list(inspect.signature(getattr(fake, name)).parameters) == wanted, f"{port.__name__}.{name}"


# --- the fakes behave as the adapters they stand in for ---------------------------------------------

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def _product(sku: str, stock: int, active: bool = True) -> Product:
    return Product(
        tenant_id="acme", sku=sku, name=sku, price=Decimal("1.00"), currency="GBP", stock=stock, active=active
    )


def test_fake_catalog_reserves_all_lines_or_none_like_the_table() -> None:
    # Given MUG 5, an inactive TEA and no SPOON
    catalog = FakeCatalog(_product("MUG", 5), _product("TEA", 9, active=False))
    # When a reservation has one short line per reason
    with pytest.raises(OutOfStockError) as raised:
        catalog.reserve("acme", {"MUG": 6, "TEA": 1, "SPOON": 1})
    # Then nothing is taken, and each short line says what is left (an inactive product has none)
    assert catalog.stock("acme") == {"MUG": 5, "TEA": 9}
    assert [d["ctx"] for d in raised.value.details] == [
        {"sku": "MUG", "requested": 6, "available": 5},
        {"sku": "TEA", "requested": 1, "available": 0},
        {"sku": "SPOON", "requested": 1, "available": 0},
    ]
    # and a reservation that fits is taken, and given back by release
    catalog.reserve("acme", {"MUG": 5})
    assert catalog.stock("acme")["MUG"] == 0
    catalog.release("acme", {"MUG": 5})
    assert catalog.stock("acme")["MUG"] == 5
    assert catalog.reserve_calls == [{"MUG": 6, "TEA": 1, "SPOON": 1}, {"MUG": 5}]
    assert catalog.release_calls == [{"MUG": 5}]


def test_fake_catalog_pages_in_sku_order() -> None:
    catalog = FakeCatalog(*(_product(sku, 1) for sku in ("C", "A", "B")))
    first, cursor = catalog.page("acme", 2, None)
    rest, end = catalog.page("acme", 2, cursor)
    assert ([p.sku for p in first], [p.sku for p in rest], end) == (["A", "B"], ["C"], None)


def test_fake_orders_page_newest_first_by_status() -> None:
    line = OrderLine(sku="MUG", quantity=1, unit_price=Decimal(1))
    store = FakeOrders()
    for hour, status in enumerate([OrderStatus.CONFIRMED, OrderStatus.CANCELLED, OrderStatus.CONFIRMED]):
        store.put(
            Order(
                tenant_id="acme", order_id=f"o{hour}", created_at=NOW + timedelta(hours=hour),
                status=status, currency="GBP", lines=(line,),
            )
        )  # fmt: skip
    first, cursor = store.page("acme", NOW, NOW + timedelta(days=1), OrderStatus.CONFIRMED, 1, None)
    rest, end = store.page("acme", NOW, NOW + timedelta(days=1), OrderStatus.CONFIRMED, 1, cursor)
    assert ([o.order_id for o in first], [o.order_id for o in rest], end) == (["o2"], ["o0"], None)
    assert store.get("acme", "o1") is not None


def test_fake_counters_answer_hours_with_the_numbers_of_the_orders_they_counted() -> None:
    hour = datetime(2026, 3, 1, 10, tzinfo=UTC)

    def order(order_id: str, at: datetime, *lines: tuple[str, int, str, str | None]) -> Order:
        sold = tuple(OrderLine(sku=s, quantity=q, unit_price=Decimal(p), category=c) for s, q, p, c in lines)
        return Order(
            tenant_id="acme", order_id=order_id, created_at=at, status=OrderStatus.CONFIRMED,
            currency="GBP", channel="web", country=None, lines=sold,
        )  # fmt: skip

    counters = FakeCounters()
    counters.add(order("o1", hour, ("MUG", 2, "6.50", "Kitchen"), ("TEA", 1, "3.25", None)))
    counters.add(order("o2", hour + timedelta(minutes=59), ("MUG", 1, "6.50", "Kitchen")))
    counters.add(order("o3", hour + timedelta(hours=1), ("TEA", 4, "3.25", None)))
    (ten,) = counters.hours("acme", hour, hour + timedelta(hours=1))  # the end is excluded
    assert (ten.hour, ten.orders, ten.units, ten.revenue) == (hour, 2, 4, {"GBP": Decimal("22.75")})
    assert [(c.category, c.country, c.orders, c.units, c.revenue) for c in ten.cells] == [
        ("Kitchen", "unknown", 2, 3, {"GBP": Decimal("19.50")}),
        ("unknown", "unknown", 1, 1, {"GBP": Decimal("3.25")}),
    ]
    assert [(s.sku, s.units, s.revenue) for s in ten.skus] == [
        ("MUG", 3, {"GBP": Decimal("19.50")}),
        ("TEA", 1, {"GBP": Decimal("3.25")}),
    ]
    assert [h.orders for h in counters.hours("acme", hour, hour + timedelta(hours=2))] == [2, 1]
    assert counters.hours("other", hour, hour + timedelta(hours=2)) == []


def test_fake_gateway_replays_a_key_and_voids_only_approvals_once() -> None:
    payment = PaymentRequest(amount_minor=100, currency="GBP", reference="r1", token="tok_visa")
    approving, declining = FakeGateway(), FakeGateway(DeclineCode.STOLEN_CARD)
    first = approving.authorize(payment, "k1")
    assert approving.authorize(payment, "k1") == first
    approving.void(first.authorization_id)
    approving.void(first.authorization_id)
    assert (len(approving.authorizations), approving.voids, approving.open_authorizations) == (
        1, [first.authorization_id], [],
    )  # fmt: skip
    declined = declining.authorize(payment, "k1")
    with pytest.raises(ConflictError):
        declining.void(declined.authorization_id)
    with pytest.raises(NotFoundError):
        declining.void("auth_unknown")
