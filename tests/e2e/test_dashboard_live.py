"""Today's numbers are live: on the local cloud, a checkout's order is in GET /dashboard/kpis within a
second of its 201 (the orders stream's consumer bumps the live counters; the route reads them with a
strongly consistent Query, never from a cache). The delays are printed, the figure the issue asks for.
"""

from __future__ import annotations

import statistics
import time
from decimal import Decimal

from tandem.adapters.catalog_table import CatalogTable
from tandem.models.catalog import Product
from tests.e2e.conftest import Running
from tests.e2e.test_checkout import _card
from tests.e2e.test_dashboard_browser import _kpis, _order

WARM_UP = 1  # the first checkout also starts the stream consumer's process: not timed
TIMED = 5


def _orders_today(running: Running, key: str) -> int:
    return int(_kpis(running, key, "?granularity=day")["kpis"]["orders"]["value"] or 0)


def test_a_checkout_is_in_the_dashboards_numbers_within_a_second(running: Running) -> None:
    key = running.tenant_with_key("livecount")
    CatalogTable(running.stack.physical["ProductsTable"], running.cloud.resource("dynamodb")).put(
        Product(
            tenant_id="livecount", sku="PAGE-MUG", name="Mug", price=Decimal("6.50"), currency="GBP", stock=50
        )
    )
    delays: list[float] = []
    for n in range(WARM_UP + TIMED):
        before = _orders_today(running, key)
        # Another buyer and card each time: the fraud rules' velocity counters block one buyer's burst.
        body = _order(_card(900 + n))
        body["customer"] = {**body["customer"], "email": f"live{n}@example.com"}
        placed = running.call("POST", "/orders", key=key, json=body, headers={"idempotency-key": f"live-{n}"})
        assert placed.status_code == 201, placed.text
        confirmed = time.monotonic()
        while (seen := _orders_today(running, key)) == before:
            assert time.monotonic() - confirmed < 30, "the order never reached the dashboard"
            time.sleep(0.02)
        assert seen == before + 1
        if n >= WARM_UP:
            delays.append(time.monotonic() - confirmed)

    print(f"\n  checkout 201 -> in GET /dashboard/kpis: median {statistics.median(delays) * 1000:.0f} ms, "
          f"max {max(delays) * 1000:.0f} ms over {TIMED} checkouts")  # fmt: skip
    # The median is the promise; one slow poll of a loaded emulator is printed, not failed on.
    assert statistics.median(delays) < 1.0, delays
    assert max(delays) < 5.0, delays
