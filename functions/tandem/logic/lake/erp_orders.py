"""`erp_orders`: order lines from a shop's management system (ERP), one row per line.

The default mapping is the UCI Online Retail export (`InvoiceNo`, `StockCode`, `Description`,
`Quantity`, `InvoiceDate`, `UnitPrice`, `CustomerID`, `Country`); a tenant whose export names
them otherwise passes its own mapping. The rules, each named (as counted in the manifest):

- `trimmed_text`: blanks around a description or a country removed, inner runs of blanks made one;
- `customer_id_normalised`: a float-formatted id (`17850.0`) written as the integer it is;
- `guest_customer`: no customer id: the line is a guest's;
- `time_to_utc`: the export's local time (the tenant's zone) turned into UTC; ISO dates
  (`2010-12-01 08:26:00`) and day-first ones (`01/12/2010 08:26`, `01-12-2010 08:26`) are read;
- `cancellation_as_return`: a `C` invoice is a return of the invoice's lines (its 'C' dropped);
- `non_product_apart`: a line whose code is not a product's (5 digits and up to 2 letters:
  postage `POST`, `DOT`, manual `M`, samples `S`, carriage `C2`, discount `D`, `AMAZONFEE`,
  `BANK CHARGES`, vouchers `gift_…`, `DCGS…`, and any code not seen before) is kept apart;
- `negative_quantity_as_adjustment`: a negative quantity outside a cancellation is a stock
  adjustment (damages, write-offs), not a sale;
- `fx_converted`: a price in another currency than the tenant's, converted at the rate of the
  line's (local) day from the dated FX table (tandem.logic.lake.fx).

Refused (quarantine reason codes): `missing_order_id`, `missing_sku`, `bad_quantity`
(not an integer), `zero_quantity`, `bad_price` (not a decimal), `negative_price`, `bad_date`,
`no_fx_rate` (no rate on or before the line's day).
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from tandem.logic.lake.connectors import Connector, RowRejected, Rules
from tandem.logic.lake.fx import FxTable
from tandem.logic.lake.values import amount, local_and_utc, order_and_sku, trimmed
from tandem.models.lake import LineKind, OrderLineRow

DEFAULT_MAPPING = {
    "order_id": "InvoiceNo",
    "sku": "StockCode",
    "description": "Description",
    "quantity": "Quantity",
    "ordered_at": "InvoiceDate",
    "unit_price": "UnitPrice",
    "customer_id": "CustomerID",
    "country": "Country",
}
PRODUCT_CODE = re.compile(r"^\d{5}[A-Za-z]{0,2}$")
_INTEGER_FLOAT = re.compile(r"^(\d+)\.0+$")
# Tried in order: ISO first (the UCI export), then day-first (European exports), never month-first.
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
)


@dataclass(frozen=True)
class ErpOrdersSettings:
    """One tenant's erp_orders settings, for the SQL implementation (tandem.logic.ports.BulkCurator)."""

    zone: ZoneInfo
    currency: str
    fx: FxTable


def connector(
    zone: str = "Europe/London", source_currency: str = "GBP", fx: FxTable | None = None
) -> Connector[OrderLineRow]:
    """The connector for a tenant whose exports carry local times in `zone` and prices in
    `source_currency`; `fx` converts them to the tenant's currency (none: they are the tenant's)."""
    tz = ZoneInfo(zone)
    table = fx or FxTable(source_currency)
    return Connector(
        name="erp_orders",
        row_model=OrderLineRow,
        default_mapping=DEFAULT_MAPPING,
        clean=lambda row, rules: clean(row, rules, tz, source_currency, table),
        settings=ErpOrdersSettings(tz, source_currency, table),
    )


def clean(
    row: dict[str, str | None], rules: Rules, zone: ZoneInfo, currency: str = "GBP", fx: FxTable | None = None
) -> OrderLineRow:
    invoice, sku = order_and_sku(row, rules)
    quantity = quantity_of(row.get("quantity"))
    unit_price = amount(row.get("unit_price"), "unit price", bad="bad_price", negative="negative_price")
    local, ordered_at = local_and_utc(row.get("ordered_at"), DATE_FORMATS, zone)
    rules.applied("time_to_utc")
    table = fx or FxTable(currency)
    if currency != table.tenant_currency:
        unit_price = table.convert(unit_price, currency, local.date())
        rules.applied("fx_converted")

    cancelled = invoice[0] in "Cc" and invoice[1:].isdigit()
    if cancelled:
        invoice = invoice[1:]
        rules.applied("cancellation_as_return")
    if not PRODUCT_CODE.match(sku):
        kind = LineKind.NON_PRODUCT
        rules.applied("non_product_apart")
    elif cancelled:
        kind = LineKind.RETURN
    elif quantity < 0:
        kind = LineKind.STOCK_ADJUSTMENT
        rules.applied("negative_quantity_as_adjustment")
    else:
        kind = LineKind.SALE
    return OrderLineRow(
        order_id=invoice,
        sku=sku,
        description=trimmed(row.get("description"), rules),
        quantity=quantity,
        unit_price=unit_price,
        currency=table.tenant_currency,
        ordered_at=ordered_at,
        customer_id=customer(row.get("customer_id"), rules),
        country=trimmed(row.get("country"), rules),
        kind=kind,
    )


def customer(value: str | None, rules: Rules) -> str | None:
    tidy = (value or "").strip()
    if not tidy:
        rules.applied("guest_customer")
        return None
    if whole := _INTEGER_FLOAT.match(tidy):
        rules.applied("customer_id_normalised")
        return whole.group(1)
    return tidy


def quantity_of(value: str | None) -> int:
    text = (value or "").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RowRejected("bad_quantity", f"{text!r} is not a number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise RowRejected("bad_quantity", f"{text!r} is not a whole number")
    if number == 0:
        raise RowRejected("zero_quantity", "a line of 0 units")
    return int(number)
