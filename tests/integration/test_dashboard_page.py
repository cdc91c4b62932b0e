"""The dashboard page, served by the real API handler (under moto) and driven in headless Chromium.

A small HTTP server on 127.0.0.1 turns each request into the HTTP API event API Gateway would
send (the route key from template.yaml's routes, our authorizer's context for the test key) and
answers with `api.handler`'s response. GET /dashboard/kpis answers a fixed answer of the route's
contract instead, made from a few orders and filtered by the query, so the test knows each number.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tandem.handlers import api
from tandem.handlers.web_assets import ASSETS, CONTENT_SECURITY_POLICY, WEB_ROOT
from tests.browser import ARTIFACTS, Traffic, chromium, overflow_at_phone_width, require_browser, screenshots
from tests.conftest import FakeLambdaContext
from tests.events import http_event, load_event
from tests.template_model import Resolver, functions

KEY = "tdm_page_test_key"
TODAY = date(2026, 12, 3)
# (day offset before TODAY, channel, country, sku, units, revenue): the fake answer's orders.
ORDERS = [
    (0, "web", "DE", "MUG", 2, "13.00"),
    (1, "web", "FR", "TEA", 1, "3.25"),
    (3, "marketplace", "DE", "MUG", 4, "26.00"),
    (5, "web", "DE", "POT", 1, "45.50"),
    (12, "pos", "GB", "TEA", 6, "19.50"),
    (20, "marketplace", "NL", "POT", 2, "91.00"),
    (35, "web", "DE", "MUG", 1, "6.50"),  # in the comparison period only
    (40, "pos", "GB", "POT", 1, "45.50"),
]


def _routes() -> list[tuple[str, re.Pattern[str], str]]:
    events = functions()["ApiFunction"]["Properties"]["Events"].values()
    routes = []
    for event in events:
        path = event["Properties"]["Path"]
        pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$")
        routes.append((event["Properties"]["Method"], pattern, path))
    return routes


def _totals(rows: list[tuple[int, str, str, str, int, str]]) -> dict[str, Any]:
    revenue = sum((Decimal(r[5]) for r in rows), Decimal(0))
    return {"orders": len(rows), "units": sum(r[4] for r in rows), "revenue": revenue}


def _kpi(value: Any, previous: Any, money: bool = False) -> dict[str, Any]:
    change = None
    if previous:
        change = f"{(Decimal(value) - Decimal(previous)) / Decimal(previous):.4f}"
    shown = (lambda v: f"{Decimal(v):.2f}") if money else int
    return {"value": shown(value), "previous": shown(previous), "change": change}


def kpis_answer(query: dict[str, str]) -> dict[str, Any]:
    """GET /dashboard/kpis per its contract (/tmp/kpis_contract.md), over ORDERS, filtered by the query."""
    to = date.fromisoformat(query.get("to", TODAY.isoformat()))
    start = date.fromisoformat(query.get("from", (to - timedelta(days=29)).isoformat()))
    days = (to - start).days + 1
    before_to = start - timedelta(days=1)
    before_from = before_to - timedelta(days=days - 1)

    def matching(first: date, last: date) -> list[tuple[int, str, str, str, int, str]]:
        return [
            row
            for row in ORDERS
            if first <= TODAY - timedelta(days=row[0]) <= last
            and query.get("channel") in (None, row[1])
            and query.get("country") in (None, row[2])
        ]

    now, then = matching(start, to), matching(before_from, before_to)
    current, previous = _totals(now), _totals(then)

    def aov(totals: dict[str, Any]) -> Decimal:
        return totals["revenue"] / totals["orders"] if totals["orders"] else Decimal(0)

    def breakdown(index: int) -> list[dict[str, Any]]:
        keys = sorted({row[index] for row in now})
        return [
            {"key": key, **{k: (f"{v:.2f}" if k == "revenue" else v) for k, v in t.items()}}
            for key in keys
            for t in [_totals([row for row in now if row[index] == key])]
        ]

    series = [
        {
            "start": (start + timedelta(days=n)).isoformat(),
            **{
                k: (f"{v:.2f}" if k == "revenue" else v)
                for k, v in _totals(
                    [r for r in now if TODAY - timedelta(days=r[0]) == start + timedelta(days=n)]
                ).items()
            },
        }
        for n in range(days)
    ]
    skus = sorted({row[3] for row in now})
    top = sorted(
        ({"sku": sku, **_totals([r for r in now if r[3] == sku])} for sku in skus),
        key=lambda p: p["revenue"],
        reverse=True,
    )
    return {
        "tenant_id": "acme",
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "period": {"from": start.isoformat(), "to": to.isoformat()},
        "comparison": {
            "mode": query.get("compare", "previous_period"),
            "from": before_from.isoformat(),
            "to": before_to.isoformat(),
        },
        "filters": {name: query.get(name) for name in ("channel", "country", "category")},
        "granularity": query.get("granularity", "day"),
        "kpis": {
            "revenue": _kpi(current["revenue"], previous["revenue"], money=True),
            "orders": _kpi(current["orders"], previous["orders"]),
            "units": _kpi(current["units"], previous["units"]),
            "average_order_value": _kpi(aov(current), aov(previous), money=True),
            "return_rate": {"value": "0.0500", "previous": "0.0400", "change": "0.2500"},
            "new_customers": {"value": 3, "previous": 2, "change": "0.5000"},
            "returning_customers": {"value": 2, "previous": 2, "change": "0.0000"},
            "ad_spend": {"value": None, "previous": None, "change": None},
            "roas": {"value": None, "previous": None, "change": None},
        },
        "series": series,
        "top_products": [{**p, "revenue": f"{p['revenue']:.2f}"} for p in top],
        "breakdowns": {"channel": breakdown(1), "country": breakdown(2)},
        "stock_alerts": [{"sku": "POT", "stock": 2, "reorder_point": "5.0", "order_quantity": 10}],
        "as_of": {"rollups": "2026-12-02", "live": "2026-12-03T07:41:09Z", "stock_alerts": "2026-12-02"},
    }


@dataclass
class PageServer:
    """The API on 127.0.0.1: what it was asked for /dashboard/kpis, and what it answered."""

    url: str
    kpi_queries: list[dict[str, str]] = field(default_factory=list)
    kpi_answers: list[dict[str, Any]] = field(default_factory=list)


def _event(method: str, target: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    parts = urlsplit(target)
    route = next(
        (path for verb, pattern, path in _routes() if verb == method and pattern.match(parts.path)), None
    )
    event = load_event("http_api_request") if route is None else http_event(method, parts.path, route=route)
    event["rawPath"] = event["requestContext"]["http"]["path"] = parts.path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route or parts.path}"
    event["headers"] = headers
    event["rawQueryString"] = parts.query
    query = parse_qs(parts.query)
    if query:
        event["queryStringParameters"] = {name: ",".join(values) for name, values in query.items()}
    event["body"] = body.decode() if body else None
    # Our authorizer's answer: the test key is acme's; any other key is refused, none is not checked.
    key = headers.get("x-api-key")
    authorizer: dict[str, Any] = {}
    if key == KEY:
        authorizer = {"tenant_id": "acme", "key_id": "acme-key", "scopes": "reports:read reports:write"}
    elif key:
        authorizer = {"auth_error": "unknown or revoked API key"}
    event["requestContext"]["authorizer"] = {"lambda": authorizer}
    return event


class _Api(BaseHTTPRequestHandler):
    """One request to the page's server: the API handler's answer, or the KPI route's fixed one."""

    state: PageServer  # set by the fixture

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        parts = urlsplit(self.path)
        if parts.path == "/dashboard/kpis":
            self._kpis(headers, parts.query)
            return
        response = api.handler(_event(self.command, self.path, headers, body), FakeLambdaContext())
        payload = response.get("body") or ""
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        self._send(response["statusCode"], response.get("headers", {}), data)

    def _kpis(self, headers: dict[str, str], query_text: str) -> None:
        if headers.get("x-api-key") != KEY:
            error = {"error": "unauthorized", "message": "unknown or revoked API key", "details": []}
            self._send(401, {"content-type": "application/json"}, json.dumps(error).encode())
            return
        query = {name: values[-1] for name, values in parse_qs(query_text).items()}
        answer = kpis_answer(query)
        self.state.kpi_queries.append(query)
        self.state.kpi_answers.append(answer)
        self._send(200, {"content-type": "application/json"}, json.dumps(answer).encode())

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def page_server(stack: Resolver) -> Iterator[PageServer]:
    state = PageServer("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Api", (_Api,), {"state": state}))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- the routes, through the handler


def _get(path: str, headers: dict[str, str] | None = None, route: str | None = None) -> dict[str, Any]:
    event = http_event("GET", path, route=route, tenant=None, headers=headers)
    event["headers"].pop("content-type")
    return api.handler(event, FakeLambdaContext())


@pytest.mark.parametrize("path", ["/", "/dashboard"])
def test_the_page_is_public_html_with_a_strict_content_security_policy(path: str) -> None:
    response = _get(path)
    headers = response["headers"]
    assert response["statusCode"] == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-cache"
    assert response["body"] == (WEB_ROOT / "index.html").read_text()
    # No inline script or style the policy would refuse: every script and style is a file of /assets.
    page = response["body"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "<style" not in page
    assert " style=" not in page
    assert set(re.findall(r'(?:src|href)="/assets/([^"]+)"', page)) <= set(ASSETS)


def test_every_allow_listed_asset_is_served_with_its_type_and_nothing_else_is() -> None:
    for name, content_type in ASSETS.items():
        response = _get(f"/assets/{name}", route="/assets/{name}")
        assert response["statusCode"] == 200, f"{name}: {response['body'][:200]} (run `make web`?)"
        assert response["headers"]["Content-Type"] == content_type, name
        assert response["headers"]["X-Content-Type-Options"] == "nosniff", name
        assert response["body"] == (WEB_ROOT / "assets" / name).read_text(), name
    for name in ("index.html", "secret.py", "..%2F..%2Fhandlers%2Fapi%2F__init__.py", "chart.umd.min.js.map"):
        response = _get(f"/assets/{name}", route="/assets/{name}")
        assert (response["statusCode"], json.loads(response["body"])["error"]) == (404, "not_found"), name


def test_an_unchanged_asset_answers_304_and_a_browser_that_accepts_gzip_gets_it_compressed() -> None:
    first = _get("/assets/dashboard.js", route="/assets/{name}")
    etag = first["headers"]["ETag"]
    again = _get("/assets/dashboard.js", {"If-None-Match": etag}, route="/assets/{name}")
    assert (again["statusCode"], again["body"]) == (304, "")
    assert (
        _get("/assets/dashboard.js", {"If-None-Match": '"other"'}, route="/assets/{name}")["statusCode"]
        == 200
    )
    gzipped = _get("/assets/chart.umd.min.js", {"Accept-Encoding": "gzip, br"}, route="/assets/{name}")
    assert gzipped["isBase64Encoded"]
    assert gzipped["headers"]["Content-Encoding"] == "gzip"
    assert (
        gzip.decompress(base64.b64decode(gzipped["body"]))
        == (WEB_ROOT / "assets/chart.umd.min.js").read_bytes()
    )


def test_the_page_routes_are_public_and_left_out_of_the_openapi_document() -> None:
    assert {"/", "/dashboard", "/assets/{name}"} <= api.PUBLIC_PATHS
    document = json.loads(_get("/openapi.json")["body"])
    assert not {"/", "/dashboard", "/assets/{name}"} & set(document["paths"])
    # A public route with a parameter does not make its neighbours public.
    refused = _get("/reports/x", route="/reports/{job_id}")
    assert refused["statusCode"] == 401


# ---------------------------------------------------------------- the page, in Chromium


def _tile(page: Any, kpi: str) -> tuple[str, str]:
    tile = page.locator(f'.tile[data-kpi="{kpi}"]')
    return tile.locator(".value").inner_text(), tile.locator(".delta").inner_text()


def _until(page: Any, check: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the page did not ask in time"
        page.wait_for_timeout(100)


def _euros(value: str) -> str:
    return f"€{Decimal(value):,.2f}"


def _percent(change: str) -> str:
    # Intl.NumberFormat rounds half away from zero
    number = (Decimal(change) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    arrow, sign = ("▲", "+") if number > 0 else ("▼", "\u2212") if number < 0 else ("■", "±")
    return f"{arrow} {sign}{abs(number)}%"


def test_the_page_asks_for_the_key_shows_the_answer_and_filters_without_another_host(
    page_server: PageServer, tmp_path: Path
) -> None:
    require_browser()
    from playwright.sync_api import expect

    traffic = Traffic()
    with chromium(tmp_path / "profile") as context:
        page = context.new_page()
        traffic.watch(page)
        page.goto(f"{page_server.url}/")

        # Given no key yet, then the page asks for one and shows nothing else
        assert page.get_by_label("API key", exact=True).is_visible()
        assert page.locator("#main").is_hidden()
        assert page.evaluate("document.activeElement.id") == "api-key"  # typed into at once
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-page-key-desktop.png"))

        # When a wrong key is entered, then the API's refusal is shown and the key asked again
        page.get_by_label("API key", exact=True).fill("tdm_wrong")
        page.get_by_role("button", name="Open dashboard").click()
        page.locator("#key-error").wait_for(state="visible")
        assert "unknown or revoked API key" in page.locator("#key-error").inner_text()
        assert page.evaluate("sessionStorage.getItem('tandem.apiKey')") is None

        # When the right key is entered (keyboard only), then the tiles show the API's answer
        page.get_by_label("API key", exact=True).fill(KEY)
        page.get_by_label("API key", exact=True).press("Enter")
        page.locator('.tile[data-kpi="revenue"]').wait_for()
        answer = page_server.kpi_answers[-1]
        kpis = answer["kpis"]
        assert _tile(page, "revenue") == (
            _euros(kpis["revenue"]["value"]),
            _percent(kpis["revenue"]["change"]),
        )
        assert _tile(page, "orders")[0] == str(kpis["orders"]["value"])
        assert _tile(page, "average_order_value")[0] == _euros(kpis["average_order_value"]["value"])
        assert _tile(page, "return_rate") == ("5.0%", "▲ +25.0%")  # a higher return rate is bad news
        assert "bad" in (page.locator('.tile[data-kpi="return_rate"] .delta').get_attribute("class") or "")
        assert _tile(page, "ad_spend") == ("—", "no comparison")
        assert page.evaluate("sessionStorage.getItem('tandem.apiKey')") == KEY
        assert page.evaluate("localStorage.length") == 0
        top = page.locator("#top-products tr").all_inner_texts()
        assert [row.split("\t")[0] for row in top] == [p["sku"] for p in answer["top_products"]]
        assert page.locator("#stock-alerts tr").all_inner_texts() == ["POT\t2\t5\t10"]
        assert page.locator("#chart-series").is_visible()  # drawn by Chart.js, served from /assets
        assert page.evaluate("typeof window.Chart") == "function"

        # When filters change, then the next request carries them and the tiles follow its answer
        asked = len(page_server.kpi_queries)
        page.get_by_label("Granularity").first.select_option("week")
        page.get_by_label("Channel").first.fill("web")
        page.get_by_label("Country").first.fill("de")
        page.get_by_label("Country").first.press("Enter")
        _until(
            page, lambda: len(page_server.kpi_queries) > asked and "country" in page_server.kpi_queries[-1]
        )
        last = page_server.kpi_queries[-1]
        assert last == {
            "channel": "web",
            "country": "DE",
            "granularity": "week",
            "compare": "previous_period",
        }
        web_de = page_server.kpi_answers[-1]["kpis"]
        assert web_de["orders"]["value"] == 2  # MUG today and POT 5 days ago: the web's German orders
        # (waits are Playwright's locators: a predicate string would be eval, which the page's CSP refuses)
        expect(page.locator('.tile[data-kpi="revenue"] .value')).to_have_text(
            _euros(web_de["revenue"]["value"])
        )
        assert _tile(page, "orders")[0] == "2"

        # And the live refresh asks again by itself, saying how fresh the numbers are
        before = len(page_server.kpi_queries)
        _until(page, lambda: len(page_server.kpi_queries) > before, seconds=8)
        assert re.fullmatch(r"updated \d+ s ago", page.locator("#freshness").inner_text())

        # When a report is generated, then the inline answer (a small period) or the job shows
        page.get_by_label("Kind").select_option("sales_summary")
        page.get_by_role("button", name="Generate report").click()
        page.get_by_text("Answered at once").wait_for()
        page.get_by_label("Always as a background job").check()
        page.get_by_role("button", name="Generate report").click()
        page.locator(".job-status").wait_for()
        assert "queued" in page.locator(".job-status").inner_text()
        expect(page.locator("#jobs td.status").first).to_be_visible()

        # And a report the API refuses says why
        page.get_by_label("Kind").select_option("product_performance")
        page.locator("#r-from").fill("2025-01-01")
        page.locator("#r-to").fill("2026-12-01")
        page.get_by_role("button", name="Generate report").click()
        page.get_by_text("The report was not requested").wait_for()
        assert "366 days" in page.locator("#report-outcome").inner_text()

        # At a phone's width nothing runs off the side
        for shot in screenshots(page, "dashboard-page"):
            assert shot.stat().st_size > 10_000
        assert overflow_at_phone_width(page) == []

    assert traffic.foreign(page_server.url) == []
    assert traffic.page_errors == []
    assert not [e for e in traffic.console_errors if "Content Security Policy" in e]
    assert any(url.endswith("/assets/chart.umd.min.js") for url in traffic.requests)
