"""Synthetic ERP order lines in UCI Online Retail's columns and values, for bench.nightly.

Deterministic: the same (seed, file index, rows) gives the same bytes. What a file holds,
modelled on ../shared/data/online_retail (see its README for the real counts):

- invoices of 1-39 lines (about 20), all lines of an invoice at one local time of the day
  (07:30-20:00), products drawn without repetition from a catalogue of 4,000 (5 digits and
  sometimes a letter; upper-case descriptions, a few with blanks around, inner double blanks, a
  comma (quoted) or a quote (escaped), a few empty), realistic prices and pack quantities;
- 34 % of invoices by guests (empty CustomerID), the others by one of 4,300 customers written
  float-formatted (`17850.0`), each with a country (90 % United Kingdom);
- 2 % of invoices are cancellations (`C…`, 1-3 lines, negative quantities); 0.2 % are stock
  write-offs (a negative quantity, price 0, no customer); 5 % of sales carry a postage or other
  non-product line (`POST`, `DOT`, `M`, `C2`, `BANK CHARGES`);
- about 0.9 % of lines written twice in a row (exact duplicates), about 0.1 % dirty: one field
  spoiled so the connector must refuse the row (no order id, no code, `abc` or `0` units, a
  price `1,25` or negative, an impossible date, an extra field).

A file's counts (rows written, duplicates, dirty rows) come back with it, so the benchmark can
check that the transform accounted for every row.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

HEADER = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
SCHEMA = {  # the bare engine's explicit schema (DuckDB types) for these columns
    "InvoiceNo": "VARCHAR",
    "StockCode": "VARCHAR",
    "Description": "VARCHAR",
    "Quantity": "INTEGER",
    "InvoiceDate": "TIMESTAMP",
    "UnitPrice": "DECIMAL(18,4)",
    "CustomerID": "VARCHAR",
    "Country": "VARCHAR",
}

_WORDS = (  # noqa: SIM905 - a list of words reads better as text
    "WHITE HANGING HEART T-LIGHT HOLDER METAL LANTERN CREAM CUPID HEARTS COAT HANGER KNITTED "
    "UNION FLAG HOT WATER BOTTLE RED WOOLLY HOTTIE SET OF 3 CAKE TINS PANTRY DESIGN GLASS STAR "
    "FROSTED VINTAGE JUMBO BAG PINK POLKADOT PAPER CHAIN KIT 50'S CHRISTMAS REGENCY CAKESTAND "
    "TIER ALARM CLOCK BAKELIKE GREEN LUNCH BOX SPACEBOY CHILDRENS DOORMAT HOME SWEET NATURAL "
    "SLATE HEART CHALKBOARD PARTY BUNTING ASSORTED COLOUR BIRD ORNAMENT WOODEN FRAME ANTIQUE"
).split()
_PRICES = (  # noqa: SIM905 - as above
    "0.29 0.42 0.55 0.65 0.85 1.25 1.45 1.65 1.95 2.10 2.55 2.95 3.39 3.75 4.25 4.95 5.95 7.95 "
    "8.50 9.95 12.75 16.95"
).split()
_PRICE_WEIGHTS = (4, 6, 6, 5, 9, 10, 6, 9, 6, 5, 7, 6, 4, 5, 4, 5, 3, 3, 2, 2, 1, 1)
_QUANTITIES = (1, 2, 3, 4, 6, 8, 10, 12, 24, 25, 36, 48, 72, 96, 144)
_QUANTITY_WEIGHTS = (20, 12, 8, 8, 12, 4, 4, 14, 6, 3, 2, 2, 1, 1, 1)
_COUNTRIES = (
    ("United Kingdom", 900),
    ("Germany", 20),
    ("France", 18),
    ("EIRE", 16),
    ("Spain", 6),
    ("Netherlands", 5),
    ("Belgium", 5),
    ("Switzerland", 4),
    ("Portugal", 3),
    ("Australia", 3),
    ("Norway", 2),
    ("Italy", 2),
    ("Channel Islands", 2),
    ("Finland", 2),
    ("Cyprus", 1),
    ("Sweden", 1),
    ("Japan", 1),
    ("Unspecified", 1),
)
# (code, description, prices): lines whose code is not a product's
_NON_PRODUCT = (
    ("POST", "POSTAGE", ("18", "15", "40")),
    ("DOT", "DOTCOM POSTAGE", ("11.17", "85.58", "163.13")),
    ("M", "Manual", ("0.85", "2.55", "295")),
    ("C2", "CARRIAGE", ("50",)),
    ("BANK CHARGES", "Bank Charges", ("15",)),
)
_WRITE_OFFS = ("damages", "thrown away", "check", "?", "wet damaged")
# One field spoiled (column index, value); None: one field too many (a malformed row).
_DIRT: tuple[tuple[int, str] | None, ...] = (
    (0, ""),  # missing_order_id
    (1, ""),  # missing_sku
    (3, "abc"),  # bad_quantity
    (3, "0"),  # zero_quantity
    (5, "1,25"),  # bad_price
    (5, "-2.55"),  # negative_price
    (4, "2010-13-45 10:00:00"),  # bad_date
    None,  # malformed_row
)
CATALOGUE_SEED = 352  # UCI's dataset id
DUPLICATE_RATE = 0.009
DIRTY_RATE = 0.001


@dataclass(frozen=True)
class Written:
    path: Path
    rows: int  # data lines, duplicates and dirty rows included
    duplicates: int  # lines equal to the line before them
    dirty: int  # distinct lines the connector must refuse


@dataclass(frozen=True)
class _Catalogue:
    products: list[tuple[str, str, str]]  # code, description, price
    customers: list[tuple[str, str]]  # CustomerID as exported, country


@cache
def _catalogue() -> _Catalogue:
    rng = random.Random(CATALOGUE_SEED)
    codes: set[str] = set()
    while len(codes) < 4_000:
        suffix = rng.choice("ABCDEFGHJKLMNPRSTW") if rng.random() < 0.2 else ""
        codes.add(f"{rng.randrange(10_000, 99_999)}{suffix}")
    products = []
    for code in sorted(codes):
        description = " ".join(rng.sample(_WORDS, rng.randint(2, 5)))
        shape = rng.random()
        if shape < 0.03:
            description += " "  # a trailing blank, as about a fifth of the real rows have
        elif shape < 0.04:
            description = description.replace(" ", "  ", 1)
        elif shape < 0.05:
            description += ", ASSORTED"
        elif shape < 0.052:
            description = f'DOORMAT "{description}"'
        elif shape < 0.055:
            description = ""
        products.append((code, description, rng.choices(_PRICES, _PRICE_WEIGHTS)[0]))
    names, weights = zip(*_COUNTRIES, strict=True)
    ids = rng.sample(range(12_346, 18_288), 4_300)
    customers = [(f"{i}.0", rng.choices(names, weights)[0]) for i in ids]
    return _Catalogue(products, customers)


class _Writer:
    """Lines for one file: counts duplicates and dirty rows as it writes, stops at `rows`."""

    def __init__(self, out: Any, rows: int, rng: random.Random) -> None:  # out: a csv writer
        self.out, self.limit, self.rng = out, rows, rng
        self.rows = self.duplicates = self.dirty = 0

    @property
    def full(self) -> bool:
        return self.rows >= self.limit

    def line(self, fields: list[str]) -> None:
        if self.full:
            return
        if self.rng.random() < DIRTY_RATE:
            spoil = self.rng.choice(_DIRT)
            fields = [*fields, "extra"] if spoil is None else _spoiled(fields, *spoil)
            self.dirty += 1
        self.out.writerow(fields)
        self.rows += 1
        if self.rng.random() < DUPLICATE_RATE and not self.full:
            self.out.writerow(fields)
            self.rows += 1
            self.duplicates += 1


def _spoiled(fields: list[str], column: int, value: str) -> list[str]:
    spoiled = list(fields)
    spoiled[column] = value
    return spoiled


def write_order_lines(path: Path, rows: int, file_index: int, day: date, seed: int) -> Written:
    """One CSV of `rows` order lines of `day`; invoices numbered from a range of their own per file."""
    catalogue = _catalogue()
    rng = random.Random(f"{seed}:{file_index}:{rows}")
    names, weights = zip(*_COUNTRIES, strict=True)
    invoice = 536_365 + file_index * (rows // 10 + 100)  # more numbers than the file can use
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = _Writer(csv.writer(handle, lineterminator="\n"), rows, rng)
        writer.out.writerow(HEADER)
        while not writer.full:
            minute = rng.randrange(7 * 60 + 30, 20 * 60)
            at = f"{day.isoformat()} {minute // 60:02d}:{minute % 60:02d}:00"
            guest = rng.random() < 0.34
            customer, country = (
                ("", rng.choices(names, weights)[0]) if guest else rng.choice(catalogue.customers)
            )
            kind = rng.random()
            if kind < 0.02:  # a cancellation of 1-3 lines
                for code, description, price in rng.sample(catalogue.products, rng.randint(1, 3)):
                    quantity = -rng.choices(_QUANTITIES, _QUANTITY_WEIGHTS)[0]
                    writer.line(
                        [f"C{invoice}", code, description, str(quantity), at, price, customer, country]
                    )
            elif kind < 0.022:  # a stock write-off: no customer, no price
                code, _, _ = rng.choice(catalogue.products)
                reason = rng.choice(_WRITE_OFFS)
                writer.line([str(invoice), code, reason, str(-rng.randint(1, 200)), at, "0", "", country])
            else:
                for code, description, price in rng.sample(catalogue.products, rng.randint(1, 39)):
                    quantity = rng.choices(_QUANTITIES, _QUANTITY_WEIGHTS)[0]
                    writer.line(
                        [str(invoice), code, description, str(quantity), at, price, customer, country]
                    )
                if rng.random() < 0.05:
                    code, description, prices = rng.choice(_NON_PRODUCT)
                    line = [str(invoice), code, description, str(rng.randint(1, 3)), at, rng.choice(prices)]
                    writer.line([*line, customer, country])
            invoice += 1
    return Written(path, writer.rows, writer.duplicates, writer.dirty)


def night_of_order_lines(
    folder: Path, rows: int, file_rows: int, day: date, seed: int, cache: dict[Path, Written]
) -> list[Written]:
    """`rows` order lines of one day in files of `file_rows` (the last one may be shorter). A file
    is named by its index and rows, so a smaller night reuses a larger one's files (`cache`)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, start in enumerate(range(0, rows, file_rows)):
        count = min(file_rows, rows - start)
        path = folder / f"orders-{index:04d}-{count}.csv"
        if path not in cache:
            cache[path] = write_order_lines(path, count, index, day, seed)
        written.append(cache[path])
    return written
