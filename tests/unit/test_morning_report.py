"""The morning report: its figures on a hand-computed day, the e-mail's text, and the job's life
(queued once per tenant and day by the night, run by the worker, one e-mail however often)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tandem.logic import reports
from tandem.logic.inventory import suggestions_key
from tandem.logic.morning_report import (
    MorningQueueDeps,
    MorningReportDeps,
    build_report,
    money,
    morning_job_id,
    queue_morning_report,
    render_email,
)
from tandem.models.dashboard import DayRollup, RollupCell, SkuSales
from tandem.models.inventory import (
    InventoryCounts,
    InventorySettings,
    InventorySuggestions,
    InventoryWindow,
    SkuSuggestion,
)
from tandem.models.messages import ReportRequested
from tandem.models.morning_report import MorningReport
from tandem.models.records import JobStatus, ReportKind, Tenant
from tests.fakes import (
    FakeClock,
    FakeDocuments,
    FakeJobs,
    FakeLakeObjects,
    FakeMailer,
    FakeOrders,
    FakeQueue,
    FakeRollupStore,
    FakeTenantProfiles,
)

DAY = date(2026, 11, 24)  # a Tuesday
WEEK_BEFORE = date(2026, 11, 17)  # the Tuesday before
ADDRESS = "owner@acme.example"


def _cell(returns: int, units: int, value: str | None) -> RollupCell:
    return RollupCell(
        channel="web",
        country="GB",
        category="home",
        revenue={},
        revenue_tenant=Decimal(0),
        orders=0,
        units=0,
        returns=returns,
        returned_units=units,
        returned_value_tenant=None if value is None else Decimal(value),
        new_customers=0,
        returning_customers=0,
        guest_orders=0,
    )


def _sku(sku: str, units: int, revenue: str | None, orders: int = 1, returned: int = 0) -> SkuSales:
    return SkuSales(
        sku=sku,
        units=units,
        orders=orders,
        revenue_tenant=None if revenue is None else Decimal(revenue),
        returned_units=returned,
    )


def _rollup(
    day: date,
    orders: int,
    revenue: str | None,
    *,
    currency: str = "GBP",
    cells: list[RollupCell] | None = None,
    skus: list[SkuSales] | None = None,
    tenant: str = "acme",
) -> DayRollup:
    return DayRollup(
        tenant_id=tenant,
        day=day,
        currency=currency,
        orders=orders,
        revenue_tenant=None if revenue is None else Decimal(revenue),
        cells=cells or [],
        ad_spend={},
        roas=None,
        skus=skus or [],
        lookback_days=365,
        catalogue_date=None,
    )


def _suggestion(sku: str, stock: int | None, reorder_point: float, order: int | None) -> SkuSuggestion:
    below = None if stock is None else stock < reorder_point
    return SkuSuggestion(
        sku=sku,
        units_sold=10,
        units_returned=0,
        mean_daily_demand=1.0,
        sd_daily_demand=0.5,
        lead_time_days=7,
        safety_stock=1.0,
        reorder_point=reorder_point,
        order_up_to=reorder_point + 7,
        stock=stock,
        below_reorder_point=below,
        suggested_order=order if below else (None if stock is None else 0),
    )


def _inventory(day: date, items: list[SkuSuggestion], tenant: str = "acme") -> bytes:
    document = InventorySuggestions(
        tenant_id=tenant,
        date=day,
        computed_at=datetime(2026, 11, 25, 2, 5, tzinfo=UTC),
        window=InventoryWindow(start=day, end=day, days=28, days_read=28, lines_read=100),
        settings=InventorySettings(),
        z=1.644854,
        counts=InventoryCounts(skus=len(items), below_reorder_point=1, not_in_catalogue=1),
        items=items,
    )
    return document.model_dump_json().encode()


@dataclass
class World:
    rollups: FakeRollupStore = field(default_factory=FakeRollupStore)
    lake: FakeLakeObjects = field(default_factory=FakeLakeObjects)
    tenants: FakeTenantProfiles = field(default_factory=FakeTenantProfiles)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    jobs: FakeJobs = field(default_factory=FakeJobs)
    queue: FakeQueue = field(default_factory=FakeQueue)
    documents: FakeDocuments = field(default_factory=FakeDocuments)
    clock: FakeClock = field(default_factory=lambda: FakeClock(datetime(2026, 11, 25, 2, 10, tzinfo=UTC)))

    def night(self, tenant: str = "acme", day: date = DAY) -> dict[str, str | bool]:
        deps = MorningQueueDeps(jobs=self.jobs, queue=self.queue, tenants=self.tenants, clock=self.clock)
        return queue_morning_report(tenant, day, deps)

    def worker(self, message: ReportRequested, attempt: int = 1) -> reports.Job:
        deps = reports.ReportWorkerDeps(
            jobs=self.jobs,
            orders=FakeOrders(),
            documents=self.documents,
            max_attempts=3,
            zone=ZoneInfo("Europe/London"),
            clock=self.clock,
            morning=MorningReportDeps(
                rollups=self.rollups, lake=self.lake, tenants=self.tenants, mailer=self.mailer
            ),
        )
        return reports.run_report(message, attempt, deps)

    def deliver_all(self) -> None:
        """Every queued message delivered once, in order; the queue emptied."""
        messages, self.queue.sent = [m for m, _ in self.queue.sent], []
        for message in messages:
            assert isinstance(message, ReportRequested)
            self.worker(message)


@pytest.fixture
def world() -> World:
    w = World()
    w.tenants.add(Tenant(tenant_id="acme", name="Acme Mugs", report_email=ADDRESS))
    w.rollups.put_day(
        _rollup(
            DAY,
            4,
            "250.00",
            cells=[_cell(1, 2, "12.50"), _cell(2, 3, "7.25")],
            skus=[
                _sku("A", 3, "90.00", orders=2),
                _sku("B", 1, "100.00"),
                _sku("C", 2, "30.00"),
                _sku("D", 5, "30.00"),
                _sku("E", 1, "0.00"),
                _sku("F", 1, None),  # its rate missing: ranked after every known revenue
                _sku("G", 0, "0", orders=0, returned=2),  # only returned: not a product sold
            ],
        )
    )
    w.rollups.put_day(_rollup(WEEK_BEFORE, 5, "200.00"))
    w.rollups.put_day(_rollup(date(2026, 11, 23), 99, "9999.00"))  # another day: not compared
    w.lake.put(
        suggestions_key("acme", DAY),
        _inventory(
            DAY,
            [
                _suggestion("MUG", 2, 5.5, 9),
                _suggestion("TEA", 10, 3.0, None),
                _suggestion("XYZ", None, 4.0, None),
            ],
        ),
        "application/json",
    )
    return w


# ---------------------------------------------------------------- the figures
def test_the_report_compares_the_day_with_the_same_weekday_a_week_before(world: World) -> None:
    report = build_report("acme", "Acme Mugs", DAY, world.rollups, world.lake)

    assert (report.day.date, report.day.revenue, report.day.orders) == (DAY, Decimal("250.00"), 4)
    assert (report.week_before.date, report.week_before.revenue, report.week_before.orders) == (
        WEEK_BEFORE,
        Decimal("200.00"),
        5,
    )
    # (250 - 200) / 200 = +25 %; (4 - 5) / 5 = -20 %
    assert report.change.revenue_pct == Decimal("25.0")
    assert report.change.orders_pct == Decimal("-20.0")
    # by revenue, then units (D before C at 30.00), the unknown revenue last; G sold nothing
    assert [p.sku for p in report.top_products] == ["B", "A", "D", "C", "E"]
    assert report.top_products[1].model_dump() == {
        "sku": "A",
        "units": 3,
        "orders": 2,
        "revenue": Decimal("90.00"),
    }
    # 1 + 2 lines, 2 + 3 units, 12.50 + 7.25
    assert report.returns.model_dump() == {"lines": 3, "units": 5, "value": Decimal("19.75")}
    # MUG only: TEA is above its reorder point, XYZ's stock is unknown
    assert [a.model_dump() for a in report.stock_alerts] == [
        {"sku": "MUG", "stock": 2, "reorder_point": 5.5, "suggested_order": 9}
    ]
    assert report.stock_alerts_date == DAY


def test_without_the_earlier_day_the_change_says_no_data(world: World) -> None:
    world.rollups.stored.pop(("acme", WEEK_BEFORE))
    report = build_report("acme", "Acme Mugs", DAY, world.rollups, world.lake)
    assert not report.week_before.has_data
    assert (report.change.revenue_pct, report.change.orders_pct) == (None, None)
    _, text, _ = render_email(report)
    assert "Revenue: £250.00 (no data vs Tue 2026-11-17)" in text
    assert "Same weekday last week (Tue 2026-11-17): no data" in text


def test_a_day_without_a_rollup_or_suggestions_is_reported_as_empty(world: World) -> None:
    report = build_report("acme", "Acme Mugs", date(2026, 11, 30), world.rollups, FakeLakeObjects())
    assert (report.day.has_data, report.day.orders, report.top_products) == (False, 0, [])
    # the week before (23 November) has a rollup, but no change is claimed against a day not computed
    assert report.week_before.has_data
    assert report.change.revenue_pct is None
    _, text, _ = render_email(report)
    assert "No sales figures were made for the day (no rollup)." in text
    assert "  none sold" in text
    assert "  no inventory suggestions for the day" in text


def test_a_zero_week_before_has_no_percentage(world: World) -> None:
    world.rollups.put_day(_rollup(WEEK_BEFORE, 0, "0"))
    report = build_report("acme", "Acme Mugs", DAY, world.rollups, world.lake)
    assert (report.change.revenue_pct, report.change.orders_pct) == (None, None)
    assert "Revenue: £250.00 (n/a vs Tue 2026-11-17)" in render_email(report)[1]


def test_money_is_written_in_the_tenants_currency() -> None:
    assert money(Decimal("1234.5"), "GBP") == "£1,234.50"
    assert money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert money(Decimal("-3"), "USD") == "-$3.00"
    assert money(Decimal("1234.5"), "CHF") == "1,234.50 CHF"
    assert money(None, "GBP").startswith("unknown")


def test_the_email_gives_the_figures(world: World) -> None:
    subject, text, html = render_email(build_report("acme", "Acme Mugs", DAY, world.rollups, world.lake))
    assert subject == "Acme Mugs: Tue 2026-11-24: £250.00, 4 orders"
    for line in (
        "Revenue: £250.00 (+25.0% vs Tue 2026-11-17)",
        "Orders: 4 (-20.0% vs Tue 2026-11-17)",
        "Same weekday last week (Tue 2026-11-17): £200.00, 5 orders",
        "  1. B: £100.00, 1 units, 1 orders",
        "  2. A: £90.00, 3 units, 2 orders",
        "  5. E: £0.00, 1 units, 1 orders",
        "Returns: 3 lines, 5 units, £19.75",
        "  MUG: stock 2, reorder point 5.5, suggested order 9",
    ):
        assert line + "\n" in text, line
    assert "TEA" not in text
    assert "XYZ" not in text
    assert "  6." not in text
    assert "£250.00 (+25.0% vs Tue 2026-11-17)" in html
    assert html.startswith("<!DOCTYPE html>")


# ---------------------------------------------------------------- the job: queued once, mailed once
def test_the_night_queues_one_job_per_tenant_and_day_and_the_worker_mails_it(world: World) -> None:
    counts = world.night()
    job_id = morning_job_id("acme", DAY)
    assert counts == {"job_id": job_id, "queued": True, "job_status": "queued", "email": "to_report_email"}
    ((message, attributes),) = world.queue.sent
    assert isinstance(message, ReportRequested)
    assert (message.job_id, message.params.kind, message.params.date_from, message.params.date_to) == (
        job_id,
        ReportKind.MORNING_REPORT,
        DAY,
        DAY,
    )
    assert attributes == {"correlation_id": "night-2026-11-24-acme"}

    world.deliver_all()

    job = world.jobs.get("acme", job_id)
    assert job is not None
    assert job.status is JobStatus.SUCCEEDED
    assert job.result_key == f"reports/acme/{job_id}.json"
    (mail,) = world.mailer.sent
    assert mail.to == ADDRESS
    assert mail.subject == "Acme Mugs: Tue 2026-11-24: £250.00, 4 orders"
    stored = MorningReport.model_validate_json(world.documents.objects[job.result_key])
    assert stored.email is not None
    assert stored.email.model_dump() == {
        "to": ADDRESS,
        "sent": True,
        "message_id": "message-1",
        "note": None,
    }
    assert stored.day.revenue == Decimal("250.00")


def test_the_same_night_twice_sends_one_email(world: World) -> None:
    world.night()
    world.deliver_all()
    again = world.night()  # a re-run of the night for the same date
    assert again["queued"] is False
    assert again["job_status"] == "succeeded"
    assert world.queue.sent == []
    world.deliver_all()
    assert len(world.mailer.sent) == 1
    # another day is another report
    world.night(day=date(2026, 11, 25))
    world.deliver_all()
    assert len(world.mailer.sent) == 2


def test_an_operator_can_ask_for_the_email_again(world: World) -> None:
    world.night()
    world.deliver_all()
    deps = MorningQueueDeps(jobs=world.jobs, queue=world.queue, tenants=world.tenants, clock=world.clock)
    counts = queue_morning_report("acme", DAY, deps, resend=True)
    assert (counts["queued"], counts["job_status"]) == (True, "queued")
    world.deliver_all()
    assert len(world.mailer.sent) == 2
    job = world.jobs.get("acme", morning_job_id("acme", DAY))
    assert job is not None
    assert job.status is JobStatus.SUCCEEDED
    # and the night after that is back to once
    world.night()
    world.deliver_all()
    assert len(world.mailer.sent) == 2


def test_a_message_delivered_twice_sends_one_email(world: World) -> None:
    world.night()
    message = world.queue.sent[0][0]
    assert isinstance(message, ReportRequested)
    world.worker(message)
    world.worker(message, attempt=2)
    assert len(world.mailer.sent) == 1


def test_a_job_left_queued_by_a_crashed_night_is_queued_again(world: World) -> None:
    world.night()
    world.queue.sent.clear()  # the message lost: the job recorded, the send never happened
    counts = world.night()
    assert counts["queued"] is True
    assert len(world.queue.sent) == 1
    world.deliver_all()
    assert len(world.mailer.sent) == 1


def test_a_failed_send_is_retried_and_then_mails_once(world: World) -> None:
    world.night()
    message = world.queue.sent[0][0]
    assert isinstance(message, ReportRequested)
    world.mailer.fail_with = ConnectionError("SES unreachable")
    with pytest.raises(ConnectionError):
        world.worker(message)
    job = world.jobs.get("acme", message.job_id)
    assert job is not None
    assert job.status is JobStatus.QUEUED
    world.mailer.fail_with = None
    assert world.worker(message, attempt=2).status is JobStatus.SUCCEEDED
    assert len(world.mailer.sent) == 1


def test_a_tenant_without_an_address_gets_the_report_and_no_email(world: World) -> None:
    world.tenants.add(Tenant(tenant_id="acme", name="Acme Mugs"))
    counts = world.night()
    assert counts["email"] == "no_report_email"
    world.deliver_all()
    assert world.mailer.sent == []
    job = world.jobs.get("acme", morning_job_id("acme", DAY))
    assert job is not None
    assert job.status is JobStatus.SUCCEEDED
    assert job.result_key
    stored = json.loads(world.documents.objects[job.result_key])
    assert stored["email"] == {
        "to": None,
        "sent": False,
        "message_id": None,
        "note": "the tenant has no report_email: nothing sent",
    }
    assert stored["day"]["orders"] == 4


def test_an_address_the_mail_service_refuses_leaves_the_report_made(world: World) -> None:
    world.mailer.refuse.add(ADDRESS)
    world.night()
    world.deliver_all()
    job = world.jobs.get("acme", morning_job_id("acme", DAY))
    assert job is not None
    assert job.status is JobStatus.SUCCEEDED
    assert job.result_key
    stored = MorningReport.model_validate_json(world.documents.objects[job.result_key])
    assert stored.email is not None
    assert not stored.email.sent
    assert stored.email.note is not None
    assert "not verified" in stored.email.note


def test_the_job_ids_are_a_jobs_shape_and_differ_by_tenant_and_day() -> None:
    ids = {morning_job_id(t, d) for t in ("acme", "bravo") for d in (DAY, WEEK_BEFORE)}
    assert len(ids) == 4
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert morning_job_id("acme", DAY) == morning_job_id("acme", DAY)


def test_a_worker_built_without_the_morning_ports_fails_such_a_job(world: World) -> None:
    world.night()
    message = world.queue.sent[0][0]
    assert isinstance(message, ReportRequested)
    deps = reports.ReportWorkerDeps(
        jobs=world.jobs,
        orders=FakeOrders(),
        documents=world.documents,
        max_attempts=3,
        zone=ZoneInfo("UTC"),
        clock=world.clock,
    )
    job = reports.run_report(message, 1, deps)
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert world.mailer.sent == []
