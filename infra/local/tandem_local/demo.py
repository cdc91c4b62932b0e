"""Demo data for the local cloud: tenant `demo`, its API key, a catalogue and a few months of orders.

The orders are the UCI Online Retail slice in ../shared/data (a UK gift-ware shop,
Dec 2010 to Feb 2011), moved forward by whole weeks so they end this week (weekdays
and local times stay true). The shop's story: its old ERP took its orders until Tandem's
checkout took over CHECKOUT_WEEKS ago. So the last weeks are orders in the orders table
(loaded here: it keeps what is plainly an order line and counts what it leaves out), and the
earlier days are the ERP's daily files dropped into the lake's raw/ with the shop's catalogue,
CRM funnel and ad spend, for the intake worker and the night to curate (the ETL proper).
Without that folder, a seeded generator makes orders of the same shape, all in the table.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tandem.adapters.directory_tables import ApiKeysTable, TenantsTable
from tandem.adapters.orders_table import OrdersTable
from tandem.logic.auth import new_api_key
from tandem.logic.lake.layout import raw_key
from tandem.models.records import ALL_SCOPES, Order, OrderLine, OrderStatus, Tenant
from tandem_local import mail
from tandem_local.config import ROOT, LocalCloud
from tandem_local.stack import Stack

DEMO_TENANT = "demo"
# Where the demo shop's morning report is mailed (`tandem mail` shows what the local SES kept).
DEMO_REPORT_EMAIL = "owner@demo-gift-shop.example"
SHOP_ZONE = ZoneInfo("Europe/London")
RETAIL_DAYS = ROOT.parent / "shared" / "data" / "online_retail" / "by-day"
_OLIST = ROOT.parent / "shared" / "data" / "olist"
# The demo shop's other exports, for its lake: (source, file)
LAKE_EXPORTS = (
    ("erp_products", _OLIST / "olist_products_dataset.csv"),
    ("crm_leads", _OLIST / "olist_marketing_qualified_leads_dataset.csv"),
    ("crm_deals", _OLIST / "olist_closed_deals_dataset.csv"),
    ("ads_spend", ROOT.parent / "shared" / "data" / "ads" / "KAG_conversion_data.csv"),
)
# The demo's last weeks were taken by Tandem's checkout (DynamoDB); the earlier ones by its old ERP.
CHECKOUT_WEEKS = 4
_PRODUCT_CODE = re.compile(r"^\d{5}[A-Za-z]{0,2}$")  # postage, fees, discounts, vouchers are not products


@dataclass
class SeedReport:
    orders: int = 0
    products: int = 0
    source: str = ""
    first_day: date | None = None
    last_day: date | None = None
    skipped: Counter[str] = field(default_factory=Counter)
    lake_files: int = 0
    cutover: date | None = None


@dataclass
class _Product:
    name: str
    price: Decimal


def demo_api_key(cloud: LocalCloud) -> tuple[str, bool]:
    """The demo key: TANDEM_DEMO_API_KEY, else one generated once and kept in .local/ (git-ignored)."""
    if fixed := os.environ.get("TANDEM_DEMO_API_KEY"):
        return fixed, False
    stored = cloud.state_dir / "demo-api-key"
    if stored.exists():
        return stored.read_text().strip(), False
    secret, _ = new_api_key(DEMO_TENANT, "demo", ALL_SCOPES, datetime.now(UTC))
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(secret + "\n")
    stored.chmod(0o600)
    return secret, True


def register_demo_key(cloud: LocalCloud, stack: Stack) -> tuple[str, bool]:
    """Make the demo key (the one `tandem up` prints) valid now: tenant `demo`, the key's hash stored.

    Runs on every start: the emulator keeps its tables across restarts, and the key may have
    changed since they were written (TANDEM_DEMO_API_KEY set or changed, .local/demo-api-key
    removed). Earlier demo keys of the kept state are revoked, so the printed key is the one.
    """
    secret, generated = demo_api_key(cloud)
    dynamodb = cloud.resource("dynamodb")
    TenantsTable(stack.physical["TenantsTable"], dynamodb).put(
        Tenant(tenant_id=DEMO_TENANT, name="Demo Gift Shop", report_email=DEMO_REPORT_EMAIL)
    )
    # The morning report goes there; the emulator's SES, like AWS's sandbox, mails only verified addresses.
    mail.verify_address(cloud, DEMO_REPORT_EMAIL)
    _, key = new_api_key(DEMO_TENANT, "demo", ALL_SCOPES, datetime.now(UTC), secret=secret)
    table = dynamodb.Table(stack.physical["ApiKeysTable"])
    scan: dict[str, Any] = {
        "FilterExpression": "#tenant = :tenant AND #key = :demo AND #active = :active",
        "ExpressionAttributeNames": {"#tenant": "tenant_id", "#key": "key_id", "#active": "active"},
        "ExpressionAttributeValues": {":tenant": DEMO_TENANT, ":demo": "demo", ":active": True},
        "ProjectionExpression": "key_hash",
    }
    while True:
        page = table.scan(**scan)
        for item in page.get("Items", []):
            if item["key_hash"] != key.key_hash:
                table.update_item(
                    Key={"key_hash": item["key_hash"]},
                    UpdateExpression="SET #active = :inactive",
                    ExpressionAttributeNames={"#active": "active"},
                    ExpressionAttributeValues={":inactive": False},
                )
        if "LastEvaluatedKey" not in page:
            break
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    ApiKeysTable(stack.physical["ApiKeysTable"], dynamodb).put(key)
    return secret, generated


def _week_shift(last_day: date, today: date) -> timedelta:
    return timedelta(weeks=(today - last_day).days // 7)


def _retail_orders(folder: Path, today: date, report: SeedReport) -> tuple[list[Order], dict[str, _Product]]:
    files = sorted(folder.glob("*.csv"))
    shift = _week_shift(date.fromisoformat(files[-1].stem), today)
    lines: dict[str, list[OrderLine]] = {}
    placed: dict[str, tuple[datetime, str]] = {}
    products: dict[str, _Product] = {}
    seen: set[tuple[str, ...]] = set()
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                key = tuple(row.values())
                if key in seen:
                    report.skipped["duplicate row"] += 1
                    continue
                seen.add(key)
                invoice, code = row["InvoiceNo"].strip(), row["StockCode"].strip()
                if not _PRODUCT_CODE.match(code):
                    report.skipped["not a product (postage, fee, discount…)"] += 1
                    continue
                try:
                    quantity, price = abs(int(row["Quantity"])), Decimal(row["UnitPrice"])
                except (ValueError, InvalidOperation):
                    report.skipped["unreadable quantity or price"] += 1
                    continue
                if quantity == 0 or price <= 0:
                    report.skipped["zero quantity or price"] += 1
                    continue
                local = datetime.fromisoformat(row["InvoiceDate"]) + shift
                placed.setdefault(invoice, (local.replace(tzinfo=SHOP_ZONE), row["Country"].strip()))
                lines.setdefault(invoice, []).append(OrderLine(sku=code, quantity=quantity, unit_price=price))
                products[code] = _Product(name=" ".join(row["Description"].split()) or code, price=price)
    orders = [
        Order(
            tenant_id=DEMO_TENANT,
            order_id=f"inv-{invoice}",
            created_at=placed[invoice][0].astimezone(UTC),
            status=OrderStatus.CANCELLED if invoice.startswith("C") else OrderStatus.CONFIRMED,
            currency="GBP",
            lines=tuple(order_lines),
            country=placed[invoice][1],
            channel="web",
        )
        for invoice, order_lines in lines.items()
    ]
    report.source = f"UCI Online Retail ({len(files)} days from {folder})"
    return orders, products


def _synthetic_orders(
    today: date, report: SeedReport, days: int = 90
) -> tuple[list[Order], dict[str, _Product]]:
    rng = random.Random(2026)  # noqa: S311 - the same demo every time, not a secret
    products = {
        f"{10000 + n}": _Product(name=f"Demo product {n}", price=Decimal(rng.randint(50, 2500)) / 100)
        for n in range(60)
    }
    skus = sorted(products)
    orders: list[Order] = []
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset - 1)
        for n in range(rng.randint(20, 60)):
            moment = datetime(
                day.year, day.month, day.day, rng.randint(8, 20), rng.randint(0, 59), tzinfo=SHOP_ZONE
            )
            chosen = rng.sample(skus, rng.randint(1, 4))
            orders.append(
                Order(
                    tenant_id=DEMO_TENANT,
                    order_id=f"syn-{day:%Y%m%d}-{n:03d}",
                    created_at=moment.astimezone(UTC),
                    status=OrderStatus.CANCELLED if rng.random() < 0.03 else OrderStatus.CONFIRMED,
                    currency="GBP",
                    lines=tuple(
                        OrderLine(sku=s, quantity=rng.randint(1, 6), unit_price=products[s].price)
                        for s in chosen
                    ),
                    country=rng.choice(["United Kingdom"] * 8 + ["France", "Germany"]),
                    channel=rng.choice(["web", "web", "marketplace"]),
                )
            )
    report.source = f"synthetic ({RETAIL_DAYS} not found)"
    return orders, products


def is_seeded(cloud: LocalCloud, stack: Stack) -> bool:
    return DEMO_TENANT in set(
        TenantsTable(stack.physical["TenantsTable"], cloud.resource("dynamodb")).tenant_ids()
    )


def seed(cloud: LocalCloud, stack: Stack, today: date | None = None) -> tuple[SeedReport, str, bool]:
    """Write the demo tenant, key, catalogue and orders; safe to run again (the same items are rewritten)."""
    today = today or datetime.now(SHOP_ZONE).date()
    report = SeedReport()
    dynamodb = cloud.resource("dynamodb")
    secret, generated = register_demo_key(cloud, stack)

    if RETAIL_DAYS.is_dir() and any(RETAIL_DAYS.glob("*.csv")):
        orders, products = _retail_orders(RETAIL_DAYS, today, report)
    else:
        orders, products = _synthetic_orders(today, report)
    report.first_day = min(o.created_at.astimezone(SHOP_ZONE).date() for o in orders)
    report.last_day = max(o.created_at.astimezone(SHOP_ZONE).date() for o in orders)
    # The shop's history is its old ERP's (the lake); Tandem's checkout took its recent weeks (the
    # orders table). Each day is in one of the two, never both: the night's rollups count it once.
    report.cutover = cutover(report.last_day) if RETAIL_DAYS.is_dir() else report.first_day
    checkout = [o for o in orders if o.created_at.astimezone(SHOP_ZONE).date() >= report.cutover]
    report.orders = OrdersTable(stack.physical["OrdersTable"], dynamodb).put_many(checkout)
    report.products = _put_products(dynamodb.Table(stack.physical["ProductsTable"]), products)
    report.lake_files = seed_lake(cloud, stack, today, report.cutover)
    return report, secret, generated


def cutover(last_day: date) -> date:
    """The first day Tandem's checkout took the demo shop's orders: CHECKOUT_WEEKS before its last."""
    return last_day - timedelta(weeks=CHECKOUT_WEEKS) + timedelta(days=1)


def lake_drops(today: date, before: date) -> list[tuple[str, date, Path]]:
    """(source, day, file) of the demo's exports: the ERP's days before the cutover, each moved
    forward by the demo's whole weeks; the catalogue, the CRM funnel and the ad spend, filed under
    the ERP's first day (so every later night joins its lines to that catalogue)."""
    files = sorted(RETAIL_DAYS.glob("*.csv"))
    if not files:
        return []
    shift = _week_shift(date.fromisoformat(files[-1].stem), today)
    erp = [(date.fromisoformat(path.stem) + shift, path) for path in files]
    drops = [("erp_orders", day, path) for day, path in erp if day < before]
    drops += [(source, erp[0][0], path) for source, path in LAKE_EXPORTS if path.is_file()]
    return drops


def seed_lake(cloud: LocalCloud, stack: Stack, today: date, before: date) -> int:
    """The demo tenant's exports dropped into raw/, as its own systems would drop them: the intake
    worker curates them into the lake in the background (S3 → IngestQueue → IngestWorkerFunction),
    and `tandem up` then runs the night over the demo's days (tandem batch run nightly).

    An ERP file is moved to its new day (its InvoiceDate moved, every other byte as published);
    the other exports go in unchanged.
    """
    if not RETAIL_DAYS.is_dir():
        return 0
    s3, bucket = cloud.client("s3"), stack.outputs["DataBucketName"]
    files = sorted(RETAIL_DAYS.glob("*.csv"))
    shift = _week_shift(date.fromisoformat(files[-1].stem), today) if files else timedelta()
    drops = lake_drops(today, before)
    for source, day, path in drops:
        body = _moved(path.read_bytes(), shift) if source == "erp_orders" else path.read_bytes()
        name = f"{day.isoformat()}.csv" if source == "erp_orders" else path.name
        s3.put_object(
            Bucket=bucket,
            Key=raw_key(DEMO_TENANT, source, day, name),
            Body=body,
            ServerSideEncryption="AES256",
        )
    return len(drops)


def _moved(body: bytes, shift: timedelta) -> bytes:
    """An Online Retail day with its InvoiceDate moved by `shift`; a date that does not read as the
    export's own format stays as it was (the worker quarantines it, as it would the original)."""
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    column = rows[0].index("InvoiceDate") if rows and "InvoiceDate" in rows[0] else None
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    for index, row in enumerate(rows):
        if index and column is not None and column < len(row):
            with contextlib.suppress(ValueError):
                row[column] = (datetime.fromisoformat(row[column]) + shift).strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow(row)
    return out.getvalue().encode()


def _put_products(table: object, products: dict[str, _Product]) -> int:
    rng = random.Random(7)  # noqa: S311 - demo stock levels
    with table.batch_writer() as batch:  # type: ignore[attr-defined]
        for sku, product in sorted(products.items()):
            batch.put_item(
                Item={
                    "tenant_id": DEMO_TENANT,
                    "sku": sku,
                    "name": product.name,
                    "price": product.price,
                    "currency": "GBP",
                    "stock": rng.randint(0, 500),
                    "active": True,
                }
            )
    return len(products)
