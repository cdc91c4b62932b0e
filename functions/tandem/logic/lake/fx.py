"""A dated FX table: amounts in a source's currency turned into the tenant's, at the day's rate.

Rates are "units of the tenant's currency per unit of the source's", one per currency and day;
a day without a rate of its own takes the last rate before it (weekends, holidays), never a
later one: a rate published after the sale did not exist when the sale was made. A sale older
than every rate of its currency has none: the row is refused (`no_fx_rate`), not guessed.
"""

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from tandem.logic.lake.connectors import RowRejected

# Money keeps this many decimals after a conversion (the lake's unit prices: 4, like the catalogue's).
PLACES = Decimal("0.0001")


class FxTable:
    def __init__(self, tenant_currency: str, rates: Iterable[tuple[str, date, Decimal]] = ()) -> None:
        self.tenant_currency = tenant_currency
        by_currency: dict[str, dict[date, Decimal]] = {}
        for currency, day, rate in rates:
            if rate <= 0:
                raise ValueError(f"a rate must be positive: {currency} {day} {rate}")
            by_currency.setdefault(currency, {})[day] = rate
        self._days = {c: sorted(days) for c, days in by_currency.items()}
        self._rates = by_currency

    def rate(self, currency: str, on: date) -> Decimal:
        """Tenant currency per unit of `currency` on `on`; RowRejected("no_fx_rate") if none is known."""
        if currency == self.tenant_currency:
            return Decimal(1)
        days = self._days.get(currency, [])
        index = bisect_right(days, on)
        if index == 0:
            raise RowRejected("no_fx_rate", f"no {currency}→{self.tenant_currency} rate on or before {on}")
        return self._rates[currency][days[index - 1]]

    def convert(self, amount: Decimal, currency: str, on: date) -> Decimal:
        return (amount * self.rate(currency, on)).quantize(PLACES)
