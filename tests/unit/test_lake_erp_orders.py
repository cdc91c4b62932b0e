"""The `erp_orders` connector on every shared UCI Online Retail file, as published: nothing is
dropped silently, and the counts agree with an independent reading of the files (csv module)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tandem.logic.lake import erp_orders
from tandem.logic.lake.connectors import RowRejected, Rules, curate
from tandem.logic.lake.fx import FxTable
from tandem.logic.lake.returns import link_returns
from tandem.models.lake import LineKind
from tests.shared_data import SHARED_DATA, read_rows

RETAIL_DAYS = SHARED_DATA / "online_retail" / "by-day"
FILES = sorted(RETAIL_DAYS.glob("*.csv")) if RETAIL_DAYS.is_dir() else []
needs_data = pytest.mark.skipif(not FILES, reason="../shared/data is not beside this clone")
CONNECTOR = erp_orders.connector("Europe/London")


def _independently(rows: list[dict[str, str]]) -> Counter[str]:
    """What the file holds, counted without the connector: duplicates, then kinds of lines."""
    counts: Counter[str] = Counter()
    seen: set[tuple[str, ...]] = set()
    for row in rows:
        key = tuple(row.values())
        if key in seen:
            counts["duplicate"] += 1
            continue
        seen.add(key)
        code, invoice, quantity = row["StockCode"], row["InvoiceNo"], int(row["Quantity"])
        if not re.fullmatch(r"\d{5}[A-Za-z]{0,2}", code):
            counts["non_product"] += 1
        elif invoice.startswith("C"):
            counts["return"] += 1
        elif quantity < 0:
            counts["stock_adjustment"] += 1
        else:
            counts["sale"] += 1
        if not row["CustomerID"]:
            counts["guest"] += 1
    return counts


@needs_data
def test_every_shared_file_balances_and_agrees_with_an_independent_count() -> None:
    assert len(FILES) == 68
    totals: Counter[str] = Counter()
    for path in FILES:
        rows = read_rows(path)
        curated = curate(CONNECTOR, path.name, rows)
        manifest = curated.manifest
        expected = _independently(rows)
        # rows_in = curated + quarantined + duplicates, for every file
        assert manifest.rows_in == len(rows), path.name
        assert manifest.balanced, manifest
        assert manifest.duplicates_removed == expected["duplicate"], path.name
        kinds = Counter(row.kind.value for row in curated.rows)
        for kind in LineKind:
            assert kinds[kind.value] == expected[kind.value], (path.name, kind)
        assert manifest.rules_applied.get("guest_customer", 0) == expected["guest"], path.name
        # every line is on its file's day (local), in UTC
        day = datetime.strptime(path.stem, "%Y-%m-%d").date()  # noqa: DTZ007 - a calendar day
        assert all(row.ordered_at.tzinfo is UTC for row in curated.rows)
        assert all(
            row.ordered_at.astimezone(erp_orders.ZoneInfo("Europe/London")).date() == day
            for row in curated.rows
        )
        totals.update(expected)
        totals["quarantined"] += manifest.rows_quarantined
    # The slice's figures, as the data's README counts them
    assert (
        sum(totals[k] for k in ("sale", "return", "non_product", "stock_adjustment", "duplicate")) == 105_335
    )
    assert totals["duplicate"] == 975
    # The published files hold no row the connector must refuse; the refusals are tested below.
    assert totals["quarantined"] == 0


@needs_data
def test_customer_ids_lose_their_float_form_and_a_missing_one_is_a_guest() -> None:
    curated = curate(CONNECTOR, FILES[0].name, read_rows(FILES[0]))
    ids = {row.customer_id for row in curated.rows}
    assert "17850" in ids
    assert not [i for i in ids if i and not i.isdigit()]
    assert None in ids


def _clean(**fields: str | None) -> object:
    row: dict[str, str | None] = {
        "order_id": "536365", "sku": "85123A", "description": "  WHITE   HEART ", "quantity": "6",
        "ordered_at": "2010-12-01 08:26:00", "unit_price": "2.55", "customer_id": "17850.0",
        "country": "United Kingdom",
    }  # fmt: skip
    row.update(fields)
    return erp_orders.clean(row, Rules(), erp_orders.ZoneInfo("Europe/London"))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"order_id": None}, "missing_order_id"),
        ({"sku": "  "}, "missing_sku"),
        ({"quantity": "two"}, "bad_quantity"),
        ({"quantity": "1.5"}, "bad_quantity"),
        ({"quantity": "NaN"}, "bad_quantity"),
        ({"quantity": "0"}, "zero_quantity"),
        ({"unit_price": "£2.55"}, "bad_price"),
        ({"unit_price": "-11062.06"}, "negative_price"),
        ({"ordered_at": "12/31/2010 10:00"}, "bad_date"),  # month-first is never guessed
        ({"ordered_at": None}, "bad_date"),
    ],
)
def test_an_unusable_row_is_refused_with_its_reason(fields: dict[str, str | None], reason: str) -> None:
    with pytest.raises(RowRejected) as refused:
        _clean(**fields)
    assert refused.value.reason == reason


def test_a_refused_row_lands_in_quarantine_with_its_content_and_the_file_still_balances() -> None:
    header = {
        "InvoiceNo": "536365", "StockCode": "85123A", "Description": "X", "Quantity": "6",
        "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": "2.55", "CustomerID": "", "Country": "EIRE",
    }  # fmt: skip
    rows = [header, {**header, "UnitPrice": "-1"}, {**header, "Quantity": "x"}, header]
    curated = curate(CONNECTOR, "day.csv", rows)
    assert (curated.manifest.rows_in, curated.manifest.rows_curated) == (4, 1)
    assert curated.manifest.duplicates_removed == 1
    assert curated.manifest.quarantined_by_reason == {"bad_quantity": 1, "negative_price": 1}
    assert [(r.line, r.reason, r.row["UnitPrice"]) for r in curated.rejects] == [
        (3, "negative_price", "-1"),
        (4, "bad_quantity", "2.55"),
    ]
    assert curated.manifest.balanced


def test_day_first_dates_and_the_tenants_zone_give_utc() -> None:
    summer = _clean(ordered_at="15/07/2011 14:30")
    assert summer.ordered_at == datetime(2011, 7, 15, 13, 30, tzinfo=UTC)  # type: ignore[attr-defined]
    winter = _clean(ordered_at="01-12-2010 08:26")
    assert winter.ordered_at == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)  # type: ignore[attr-defined]


def test_cancellations_postage_and_write_offs_are_kept_apart_from_sales() -> None:
    assert _clean().kind is LineKind.SALE  # type: ignore[attr-defined]
    returned = _clean(order_id="C536379", quantity="-1")
    assert (returned.kind, returned.order_id, returned.quantity) == (LineKind.RETURN, "536379", -1)  # type: ignore[attr-defined]
    for code in ("POST", "DOT", "M", "BANK CHARGES", "gift_0001_40", "DCGS0003", "NEWFEE"):
        assert _clean(sku=code).kind is LineKind.NON_PRODUCT  # type: ignore[attr-defined]
    assert _clean(quantity="-12", unit_price="0").kind is LineKind.STOCK_ADJUSTMENT  # type: ignore[attr-defined]


def test_a_tenants_own_column_names_map_by_configuration() -> None:
    mapping = {**erp_orders.DEFAULT_MAPPING, "order_id": "Order", "sku": "Item", "unit_price": "Price"}
    row = {
        "Order": "A-1", "Item": "10002", "Description": "Pen", "Quantity": "3", "InvoiceDate": "2011-02-01",
        "Price": "1.20", "CustomerID": "42", "Country": "France",
    }  # fmt: skip
    [line] = curate(CONNECTOR, "export.csv", [row], mapping).rows
    assert (line.order_id, line.sku, line.amount, line.customer_id) == ("A-1", "10002", Decimal("3.60"), "42")


# --- amounts in the tenant's currency: the dated FX table ------------------------------------------

EUR_TENANT = FxTable(
    "EUR",
    [
        ("GBP", date(2010, 12, 1), Decimal("1.1800")),
        ("GBP", date(2010, 12, 3), Decimal("1.2000")),
    ],
)


@pytest.mark.parametrize(
    ("day", "rate"),
    [
        (date(2010, 12, 1), Decimal("1.1800")),
        (date(2010, 12, 2), Decimal("1.1800")),  # no rate that day: the last one before it
        (date(2010, 12, 3), Decimal("1.2000")),
        (date(2011, 1, 9), Decimal("1.2000")),
    ],
)
def test_the_rate_of_a_day_is_its_own_or_the_last_before_it(day: date, rate: Decimal) -> None:
    assert EUR_TENANT.rate("GBP", day) == rate
    assert EUR_TENANT.rate("EUR", day) == 1


def test_a_sale_older_than_every_rate_is_refused_not_guessed() -> None:
    with pytest.raises(RowRejected) as refused:
        EUR_TENANT.rate("GBP", date(2010, 11, 30))
    assert refused.value.reason == "no_fx_rate"
    with pytest.raises(RowRejected):
        EUR_TENANT.rate("USD", date(2011, 1, 1))


def test_prices_are_converted_at_the_rate_of_the_lines_local_day() -> None:
    fx = erp_orders.connector("Europe/London", source_currency="GBP", fx=EUR_TENANT)
    header = {
        "InvoiceNo": "536365", "StockCode": "85123A", "Description": "X", "Quantity": "6",
        "InvoiceDate": "2010-12-02 23:30:00", "UnitPrice": "2.55", "CustomerID": "17850.0", "Country": "EIRE",
    }  # fmt: skip
    early = {**header, "InvoiceDate": "2010-11-30 10:00:00"}
    curated = curate(fx, "day.csv", [header, early])
    [line] = curated.rows
    assert (line.currency, line.unit_price) == ("EUR", Decimal("3.0090"))  # 2.55 x 1.18, the 2nd's rate
    assert curated.manifest.rules_applied["fx_converted"] == 1
    assert curated.manifest.quarantined_by_reason == {"no_fx_rate": 1}
    assert curated.manifest.balanced


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        FxTable("EUR", [("GBP", date(2010, 12, 1), Decimal(0))])


# --- returns linked to their sales -----------------------------------------------------------------


@needs_data
def test_returns_are_linked_to_the_latest_earlier_sale_of_the_product_to_the_customer() -> None:
    lines = [row for path in FILES for row in curate(CONNECTOR, path.name, read_rows(path)).rows]
    linked, counts = link_returns(lines)
    # Independently: walk the raw rows in time order, remembering each customer's last sale per code
    raw = sorted(
        (row for path in FILES for row in {tuple(r.items()): r for r in read_rows(path)}.values()),
        key=lambda r: r["InvoiceDate"],
    )
    expected: Counter[str] = Counter()
    last: dict[tuple[str, str], str] = {}
    for row in raw:
        code, customer = row["StockCode"], row["CustomerID"]
        if not re.fullmatch(r"\d{5}[A-Za-z]{0,2}", code):
            continue
        if row["InvoiceNo"].startswith("C"):
            expected["linked" if customer and (customer, code) in last else "unlinked"] += 1
        elif int(row["Quantity"]) > 0 and customer:
            last[(customer, code)] = row["InvoiceNo"]
    assert (counts["return_linked"], counts["return_unlinked"]) == (expected["linked"], expected["unlinked"])
    assert counts["return_linked"] > 0
    returns = [line for line in linked if line.kind is LineKind.RETURN]
    assert all(line.original_order_id != line.order_id for line in returns if line.original_order_id)
    assert len(linked) == len(lines)
