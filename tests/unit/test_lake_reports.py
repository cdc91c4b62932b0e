"""The lake's report kinds over the fake LakeQuery: which partitions each reads (the period, plus what
it needs around it), that every filter is a bound parameter, the tables a lake without data gives,
and the worker's and the notifications' handling of these kinds. Their numbers are checked over
real Parquet with DuckDB in tests/integration/test_lake_reports.py."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tandem.logic.errors import PermanentJobError
from tandem.logic.lake.intake import config_key
from tandem.logic.lake_reports import (
    AD_EXPORT_LAG_DAYS,
    COHORT_LOOKBACK_DAYS,
    LakeReportDeps,
    compute_lake_report,
)
from tandem.logic.report_notifications import should_notify
from tandem.logic.reports import ReportWorkerDeps, report_key, run_report
from tandem.models.messages import ReportRequested
from tandem.models.records import (
    LAKE_REPORT_KINDS,
    FailureReason,
    Job,
    JobStatus,
    ReportFilters,
    ReportKind,
    ReportParams,
)
from tandem.models.reports import ReportDocument
from tests.fakes import FakeClock, FakeDocuments, FakeJobs, FakeLakeObjects, FakeLakeQuery, FakeOrders

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)
FROM, TO = date(2026, 11, 1), date(2026, 11, 30)
HOSTILE = "x' OR 1=1; DROP TABLE order_lines; --"


def _job(kind: ReportKind, filters: ReportFilters | None = None, job_id: str = "job-1") -> Job:
    params = ReportParams(kind=kind, date_from=FROM, date_to=TO, filters=filters or ReportFilters())
    return Job(tenant_id="acme", job_id=job_id, params=params, created_at=NOW, updated_at=NOW)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _deps(query: FakeLakeQuery, objects: FakeLakeObjects | None = None) -> LakeReportDeps:
    return LakeReportDeps(query=query, objects=objects or FakeLakeObjects())


def test_product_performance_reads_the_period_and_the_latest_catalogue_before_its_end() -> None:
    query = FakeLakeQuery(
        partitions={("acme", "products"): [date(2026, 10, 1), date(2026, 11, 15), date(2026, 12, 1)]}
    )
    compute_lake_report(_job(ReportKind.PRODUCT_PERFORMANCE), _deps(query))
    [(tenant, reads, _)] = query.calls
    assert tenant == "acme"
    assert reads == {"order_lines": _days(FROM, TO), "products": [date(2026, 11, 15)]}


def test_cohorts_read_the_customers_of_the_lookback_before_the_period() -> None:
    query = FakeLakeQuery()
    compute_lake_report(_job(ReportKind.CUSTOMER_COHORTS), _deps(query))
    [(_, reads, _)] = query.calls
    assert reads["customers"] == _days(FROM - timedelta(days=COHORT_LOOKBACK_DAYS), TO)
    assert reads["order_lines"] == _days(FROM, TO)
    assert reads["products"] == []  # no catalogue: every category is 'unknown'


def test_roas_reads_the_ad_exports_of_the_period_and_the_lag_after_it() -> None:
    exports = [FROM - timedelta(days=1), FROM, TO, TO + timedelta(days=AD_EXPORT_LAG_DAYS), date(2027, 6, 1)]
    query = FakeLakeQuery(partitions={("acme", "ad_spend"): exports})
    compute_lake_report(_job(ReportKind.MARKETING_ROAS), _deps(query))
    [(_, reads, _)] = query.calls
    assert reads["ad_spend"] == [FROM, TO, TO + timedelta(days=AD_EXPORT_LAG_DAYS)]


@pytest.mark.parametrize("kind", sorted(LAKE_REPORT_KINDS))
def test_filters_are_bound_parameters_never_sql_text(kind: ReportKind) -> None:
    query = FakeLakeQuery()
    filters = ReportFilters(channel=HOSTILE, country=HOSTILE, category=HOSTILE)
    compute_lake_report(_job(kind, filters), _deps(query))
    [(_, _, statements)] = query.calls
    for sql, parameters in statements:
        assert HOSTILE not in sql
        # each statement binds exactly the names its text uses
        assert all(f"${name}" in sql for name in parameters)
    bound = [p for _, parameters in statements for p in parameters.items()]
    assert ("country", HOSTILE) in bound


def test_the_tenants_channels_currency_and_rates_are_bound_from_its_lake_json() -> None:
    objects = FakeLakeObjects()
    config = {
        "currency": "EUR",
        "channels": {"erp_orders": "store", "checkout": "web"},
        "fx_rates": [{"currency": "GBP", "day": "2026-10-01", "rate": "1.15"}],
    }
    objects.put(config_key("acme"), json.dumps(config).encode(), "application/json")
    query = FakeLakeQuery()
    document = compute_lake_report(_job(ReportKind.PRODUCT_PERFORMANCE), _deps(query, objects))
    [(_, _, [(_, parameters), _])] = query.calls
    assert parameters["channel_sources"] == ["checkout", "erp_orders"]
    assert parameters["channel_names"] == ["web", "store"]
    assert (parameters["currency"], parameters["fx_currencies"], parameters["fx_rates"]) == (
        "EUR",
        ["GBP"],
        ["1.15"],
    )
    assert document.currency == "EUR"


@pytest.mark.parametrize("kind", sorted(LAKE_REPORT_KINDS))
def test_a_lake_without_data_gives_empty_tables_and_no_made_up_figure(kind: ReportKind) -> None:
    document = compute_lake_report(_job(kind), _deps(FakeLakeQuery()))
    assert document.kind is kind
    assert document.tables
    assert all(table.rows == [] for table in document.tables)
    assert all(len(row) == len(t.columns) for t in document.tables for row in t.rows)
    assert all(figure.value in (0, Decimal(0), None) for figure in document.figures)
    assert document.notes


def test_a_campaign_without_a_rate_has_no_spend_and_the_report_says_so() -> None:
    # a campaign's ad rows, 2 of which had no FX rate: its spend is unknown, so is the total
    campaigns = [("facebook", "916", 3, 1000, 10, Decimal("12.50"), 2, 4, 1)]
    query = FakeLakeQuery(answers=[campaigns, [], [(FROM, Decimal("100.00"), 0)]])
    document = compute_lake_report(_job(ReportKind.MARKETING_ROAS), _deps(query))
    figures = {figure.name: figure.value for figure in document.figures}
    assert (figures["ad_spend"], figures["revenue"], figures["blended_roas"]) == (
        None,
        Decimal("100.0000"),
        None,
    )
    [row] = document.tables[0].rows
    assert row[5] is None  # spend
    assert row[-2] == Decimal("100.0000")  # all the (platform's) conversions: all the revenue
    assert row[-1] is None  # no ROAS without a spend
    assert any("2 ad rows had no FX rate" in note for note in document.notes)


def test_without_its_port_or_for_another_kind_the_job_cannot_be_computed() -> None:
    with pytest.raises(PermanentJobError):
        compute_lake_report(_job(ReportKind.PRODUCT_PERFORMANCE), None)
    with pytest.raises(PermanentJobError):
        compute_lake_report(_job(ReportKind.SALES_SUMMARY), _deps(FakeLakeQuery()))


def _worker(jobs: FakeJobs, documents: FakeDocuments, lake: LakeReportDeps | None) -> ReportWorkerDeps:
    return ReportWorkerDeps(
        jobs=jobs,
        orders=FakeOrders(),
        documents=documents,
        max_attempts=3,
        zone=ZoneInfo("Europe/London"),
        clock=FakeClock(NOW),
        lake_reports=lake,
    )


@pytest.mark.parametrize("kind", sorted(LAKE_REPORT_KINDS))
def test_the_worker_stores_the_kinds_document_as_json_under_the_jobs_key(kind: ReportKind) -> None:
    jobs, documents = FakeJobs(), FakeDocuments()
    job = _job(kind)
    jobs.create(job)
    done = run_report(
        ReportRequested(tenant_id="acme", job_id=job.job_id, params=job.params),
        1,
        _worker(jobs, documents, _deps(FakeLakeQuery())),
    )
    key = report_key("acme", job.job_id)
    assert (done.status, done.result_key, done.progress) == (JobStatus.SUCCEEDED, key, 100)
    assert documents.content_types[key] == "application/json"
    assert ReportDocument.model_validate_json(documents.objects[key]).kind is kind


def test_a_worker_built_without_the_lake_fails_such_a_job_at_once() -> None:
    jobs, documents = FakeJobs(), FakeDocuments()
    job = _job(ReportKind.CUSTOMER_COHORTS)
    jobs.create(job)
    done = run_report(
        ReportRequested(tenant_id="acme", job_id=job.job_id, params=job.params),
        1,
        _worker(jobs, documents, None),
    )
    assert (done.status, done.failure_reason) == (JobStatus.FAILED, FailureReason.CANNOT_COMPUTE)
    assert documents.objects == {}


@pytest.mark.parametrize("kind", [ReportKind.SALES_SUMMARY, *sorted(LAKE_REPORT_KINDS)])
def test_every_kind_post_reports_accepts_is_announced_when_it_ends(kind: ReportKind) -> None:
    ended = _job(kind).model_copy(update={"status": JobStatus.SUCCEEDED})
    assert should_notify(ended)
    assert not should_notify(ended.model_copy(update={"notified": {"webhook": "delivered", "email": "sent"}}))
    assert should_notify(ended.model_copy(update={"notified": {"webhook": "delivered"}}))  # e-mail due
    assert not should_notify(_job(kind))  # still queued


@pytest.mark.parametrize("kind", [ReportKind.MORNING_REPORT, ReportKind.TABLE_EXPORT])
def test_the_morning_report_and_table_exports_are_not_announced(kind: ReportKind) -> None:
    assert not should_notify(_job(kind).model_copy(update={"status": JobStatus.SUCCEEDED}))
