"""The dashboard page on the local cloud, in headless Chromium: the key, the tiles against
GET /dashboard/kpis, a checkout seen live, a report job down to its download link, screenshots.

Served by ApiFunction through API Gateway as in AWS (GET /, /assets/{name}); every number the
page shows comes from the API the test also asks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tandem.adapters.catalog_table import CatalogTable
from tandem.handlers.web_assets import ASSETS, CONTENT_SECURITY_POLICY
from tandem.models.catalog import Product
from tests.browser import Traffic, chromium, overflow_at_phone_width, require_browser, screenshots
from tests.e2e.conftest import Running

TILES = ("revenue", "orders", "units", "average_order_value", "new_customers", "returning_customers")


def _number(text: str) -> Decimal | None:
    """What a tile shows, as a number ('€1,234.50' -> 1234.50, '—' -> None)."""
    digits = re.sub(r"[^\d.\-]", "", text.replace("\u2212", "-"))
    return Decimal(digits) if digits else None


def _expected(kpi: dict[str, Any]) -> Decimal | None:
    value = kpi["value"]
    if value is None:
        return None
    if isinstance(value, str):  # money, shown to the cent as Intl.NumberFormat rounds (half away from zero)
        return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Decimal(value)


def _until(page: Any, check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out after {seconds:.0f} s waiting for {what}"
        page.wait_for_timeout(250)
    return found


def _tiles(page: Any) -> dict[str, Decimal | None]:
    return {name: _number(page.locator(f'.tile[data-kpi="{name}"] .value').inner_text()) for name in TILES}


def _kpis(running: Running, key: str, query: str) -> dict[str, Any]:
    answer = running.call("GET", f"/dashboard/kpis{query}", key=key)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _order(card: str = "4242424242424242") -> dict[str, Any]:
    return {
        "items": [{"sku": "PAGE-MUG", "quantity": 1}],
        "customer": {"email": "page@example.com", "name": "Ada Lovelace", "country": "GB"},
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Leeds",
            "postal_code": "LS1 1AA",
            "country": "GB",
        },
        "payment": {"card_number": card, "expiry": "12/30", "cvc": "123"},
        "currency": "GBP",
    }


def test_the_page_and_its_assets_are_served_publicly_with_their_headers(running: Running) -> None:
    for path in ("/", "/dashboard"):
        page = running.call("GET", path)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert page.headers["x-content-type-options"] == "nosniff"
    for name, content_type in ASSETS.items():
        asset = running.call("GET", f"/assets/{name}", headers={"accept-encoding": "gzip"})
        assert (asset.status_code, asset.headers["content-type"]) == (200, content_type), name
    assert running.call("GET", "/assets/nothing.js").status_code == 404


def test_the_dashboard_in_a_browser_follows_the_api_a_checkout_and_a_report(
    running: Running, tmp_path: Path
) -> None:
    require_browser()
    from playwright.sync_api import expect

    key = running.tenant_with_key("acme")
    CatalogTable(running.stack.physical["ProductsTable"], running.cloud.resource("dynamodb")).put(
        Product(tenant_id="acme", sku="PAGE-MUG", name="Mug", price=Decimal("6.50"), currency="GBP", stock=50)
    )
    traffic = Traffic()
    with chromium(tmp_path / "profile") as context:
        page = context.new_page()
        traffic.watch(page)
        kpi_queries: list[str] = []
        page.on("request", lambda r: "/dashboard/kpis" in r.url and kpi_queries.append(urlsplit(r.url).query))
        page.goto(f"{running.api}/")

        # Given the key, entered once
        page.get_by_label("API key", exact=True).fill(key)
        page.get_by_role("button", name="Open dashboard").click()
        page.locator('.tile[data-kpi="orders"]').wait_for(timeout=30_000)

        # When a filter changes, then the tiles show what GET /dashboard/kpis answers for it
        page.get_by_label("Compare with").select_option("previous_year")
        _until(page, lambda: any("previous_year" in q for q in kpi_queries), 15, "the filtered request")
        query = next(q for q in reversed(kpi_queries) if "previous_year" in q)
        assert parse_qs(query) == {"granularity": ["day"], "compare": ["previous_year"]}
        api = _kpis(running, key, f"?{query}")
        expected = {name: _expected(api["kpis"][name]) for name in TILES}
        _until(page, lambda: _tiles(page) == expected, 15, f"the tiles to show {expected}")

        # When an order is placed through the API, then the orders tile counts it within a refresh or two
        before = _expected(api["kpis"]["orders"]) or Decimal(0)
        placed = running.call(
            "POST", "/orders", key=key, json=_order(), headers={"idempotency-key": "page-1"}
        )
        assert placed.status_code == 201, placed.text
        _until(page, lambda: _tiles(page)["orders"] == before + 1, 45, "the orders tile to count the order")
        assert _tiles(page)["orders"] == _expected(_kpis(running, key, f"?{query}")["kpis"]["orders"])
        assert re.fullmatch(r"updated \d+ s ago", page.locator("#freshness").inner_text())

        # When a report is generated as a job, then its progress ends in a download link
        page.get_by_label("Kind").select_option("sales_summary")
        page.get_by_label("Format").select_option("csv")
        page.get_by_label("Always as a background job").check()
        page.get_by_role("button", name="Generate report").click()
        link = page.locator("#report-outcome a.download")
        expect(link).to_be_visible(timeout=90_000)
        job_id = re.search(r"Job (\S+):", page.locator(".job-status").inner_text())
        assert job_id
        job = running.call("GET", f"/reports/{job_id.group(1)}", key=key).json()
        assert job["status"] == "succeeded"
        assert urlsplit(link.get_attribute("href") or "").path == urlsplit(job["result"]["url"]).path
        expect(page.locator("#jobs td.status").first).to_have_text("succeeded")

        shots = screenshots(page, "dashboard-e2e")
        assert overflow_at_phone_width(page) == []

    assert all(shot.stat().st_size > 10_000 for shot in shots)
    assert traffic.foreign(running.api) == []
    assert traffic.page_errors == []
    assert not [e for e in traffic.console_errors if "Content Security Policy" in e]


@pytest.fixture(autouse=True)
def _no_proxy_for_the_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    # Chromium takes a proxy from the environment; the local cloud is on loopback.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
