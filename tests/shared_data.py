"""The shared, real data files (../shared/data beside the clone) and the independent readings the
lake's tests count them with: the csv module, never the code under test."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tandem.models.records import Order, OrderLine, OrderStatus

SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(newline="", encoding=encoding) as handle:
        return list(csv.DictReader(handle))


def exact_duplicates(rows: list[dict[str, str]]) -> int:
    """Rows equal, field for field, to an earlier row of the same file."""
    seen: set[tuple[str, ...]] = set()
    count = 0
    for row in rows:
        key = tuple(row.values())
        count += key in seen
        seen.add(key)
    return count


def retail_orders(days: list[str], tenant: str = "acme") -> list[Order]:
    """The Online Retail invoices of these days as orders (GBP, times as UTC): a cancellation
    (an invoice numbered C…) as a cancelled order; lines without a quantity or a price, or that are
    not goods, left out."""
    lines: dict[str, list[OrderLine]] = defaultdict(list)
    placed: dict[str, datetime] = {}
    for day in days:
        for row in read_rows(SHARED_DATA / "online_retail" / "by-day" / f"{day}.csv"):
            quantity, price = abs(int(row["Quantity"])), Decimal(row["UnitPrice"])
            # Not goods: bank charges and the like have a stock code with spaces, which no SKU has.
            if quantity == 0 or price <= 0 or not SKU.fullmatch(row["StockCode"]):
                continue
            invoice = row["InvoiceNo"]
            placed[invoice] = datetime.fromisoformat(row["InvoiceDate"]).replace(tzinfo=UTC)
            lines[invoice].append(OrderLine(sku=row["StockCode"], quantity=quantity, unit_price=price))
    return [
        Order(
            tenant_id=tenant,
            order_id=f"inv-{invoice}",
            created_at=placed[invoice],
            status=OrderStatus.CANCELLED if invoice.startswith("C") else OrderStatus.CONFIRMED,
            currency="GBP",
            lines=tuple(invoice_lines),
        )
        for invoice, invoice_lines in lines.items()
    ]
