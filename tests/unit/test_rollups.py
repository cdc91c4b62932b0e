import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tandem.logic.errors import InvalidRequestError
from tandem.logic.rollups import RollupDeps, RollupFailedError, day_to_roll_up, rollup_key, run_daily_rollups
from tests.factories import order
from tests.fakes import FakeClock, FakeDocuments, FakeOrders, FakeTenants

LONDON = ZoneInfo("Europe/London")


def test_day_to_roll_up_is_yesterday_in_the_schedules_zone() -> None:
    # 02:00 in London in summer is 01:00 UTC: "yesterday" is London's
    assert day_to_roll_up(None, datetime(2026, 7, 15, 1, 0, tzinfo=UTC), LONDON) == date(2026, 7, 14)
    # just after midnight UTC but still the evening before in New York
    assert day_to_roll_up(
        None, datetime(2026, 7, 15, 2, 0, tzinfo=UTC), ZoneInfo("America/New_York")
    ) == date(2026, 7, 13)


def test_day_to_roll_up_accepts_any_past_day_and_refuses_unfinished_ones() -> None:
    fired = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert day_to_roll_up(date(2011, 2, 28), fired, LONDON) == date(2011, 2, 28)
    for unfinished in (date(2026, 11, 28), date(2026, 12, 1)):
        with pytest.raises(InvalidRequestError):
            day_to_roll_up(unfinished, fired, LONDON)


def _orders() -> FakeOrders:
    return FakeOrders(
        [
            order(datetime(2026, 7, 14, 8, tzinfo=UTC), ("A", 1, "4.00")),
            order(datetime(2026, 7, 14, 23, 30, tzinfo=UTC), ("A", 1, "4.00")),  # 15 July in London
            order(datetime(2026, 7, 14, 9, tzinfo=UTC), ("B", 2, "3.00"), tenant="bravo"),
        ]
    )


def _deps(tenants: FakeTenants, orders: FakeOrders, documents: FakeDocuments) -> RollupDeps:
    return RollupDeps(tenants=tenants, orders=orders, documents=documents, zone=LONDON, clock=FakeClock())


def test_run_daily_rollups_writes_one_document_per_tenant_and_is_repeatable() -> None:
    documents = FakeDocuments()
    tenants = FakeTenants(["bravo", "acme", "empty"])
    keys = run_daily_rollups(date(2026, 7, 14), None, _deps(tenants, _orders(), documents))
    assert keys == [rollup_key(t, date(2026, 7, 14)) for t in ("acme", "bravo", "empty")]
    acme = json.loads(documents.objects[keys[0]])
    assert (acme["orders"], acme["by_currency"]["GBP"]["revenue"]) == (1, "4.00")
    assert json.loads(documents.objects[keys[2]])["orders"] == 0
    first = dict(documents.objects)
    run_daily_rollups(date(2026, 7, 14), None, _deps(tenants, _orders(), documents))
    assert documents.objects == first


def test_run_daily_rollups_isolates_a_failing_tenant_and_reports_it() -> None:
    class OrdersFailingFor(FakeOrders):
        def between(self, tenant_id, start, end):  # type: ignore[no-untyped-def]
            if tenant_id == "bravo":
                raise TimeoutError
            return super().between(tenant_id, start, end)

    documents = FakeDocuments()
    with pytest.raises(RollupFailedError) as failure:
        run_daily_rollups(
            date(2026, 7, 14),
            None,
            _deps(FakeTenants(["acme", "bravo"]), OrdersFailingFor(_orders().orders), documents),
        )
    assert failure.value.failed == ["bravo"]
    assert list(documents.objects) == [rollup_key("acme", date(2026, 7, 14))]
