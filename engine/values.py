"""Run-time values: exact money, percentages and durations, the unknown value, and dated FX.

Money is `Decimal` + ISO 4217 currency and never touches float. Arithmetic keeps full precision;
rounding happens only where a figure is reported (`Money.rounded`, to the currency's minor unit,
half-even), so a chain of conversions never accumulates rounding error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Final

MINOR_UNITS = {"EUR": 2, "USD": 2, "CNY": 2, "GBP": 2, "CHF": 2, "JPY": 0}
KNOWN_CURRENCIES = frozenset(MINOR_UNITS)
PRECISION = 40  # digits: turnover in the trillions times a rate with 10 decimals stays exact


class _Unknown:
    """The third truth value, and the value of any expression that reads a missing fact."""

    __slots__ = ()
    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "unknown"

    def __bool__(self) -> bool:  # guard against silently treating unknown as false
        raise TypeError("unknown has no truth value; test `is UNKNOWN` first")


UNKNOWN: Final = _Unknown()


class CurrencyMismatch(ValueError):
    pass


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount: Decimal
    currency: str

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def scale(self, factor: Decimal | int) -> Money:
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def rounded(self) -> Money:
        """Rounded to the currency's minor unit (half-even), for reporting."""
        exponent = Decimal(1).scaleb(-MINOR_UNITS.get(self.currency, 2))
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return Money(self.amount.quantize(exponent, rounding=ROUND_HALF_EVEN), self.currency)

    def to_json(self) -> dict[str, str]:
        # exact and unrounded here; decisions report `rounded()` values ("40000000.00")
        return {"amount": format(self.amount, "f"), "currency": self.currency}

    def __str__(self) -> str:
        amount = self.rounded().amount
        text = f"{amount:,.{MINOR_UNITS.get(self.currency, 2)}f}"
        if text.endswith(".00"):
            text = text[:-3]
        return f"{self.currency} {text}"


@dataclass(frozen=True, slots=True)
class Percent:
    fraction: Decimal  # 4% == Percent(Decimal("0.04"))

    def __lt__(self, other: Percent) -> bool:
        return self.fraction < other.fraction

    def __le__(self, other: Percent) -> bool:
        return self.fraction <= other.fraction

    def __gt__(self, other: Percent) -> bool:
        return self.fraction > other.fraction

    def __ge__(self, other: Percent) -> bool:
        return self.fraction >= other.fraction

    def __str__(self) -> str:
        return f"{format_decimal(self.fraction * 100)}%"


_UNIT_DISPLAY = {"hours": "hours", "months": "months", "business_days": "business days"}


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time in the base unit of its dimension (hours, months or business days)."""

    amount: Decimal
    dimension: str

    def __lt__(self, other: Duration) -> bool:
        return self.amount < other.amount

    def __le__(self, other: Duration) -> bool:
        return self.amount <= other.amount

    def __gt__(self, other: Duration) -> bool:
        return self.amount > other.amount

    def __ge__(self, other: Duration) -> bool:
        return self.amount >= other.amount

    def __add__(self, other: Duration) -> Duration:
        return Duration(self.amount + other.amount, self.dimension)

    def __sub__(self, other: Duration) -> Duration:
        return Duration(self.amount - other.amount, self.dimension)

    def __str__(self) -> str:
        if self.dimension == "hours" and self.amount % 24 == 0 and self.amount >= 48:
            return f"{format_decimal(self.amount / 24)} days"
        if self.dimension == "months" and self.amount % 12 == 0 and self.amount >= 12:
            return f"{format_decimal(self.amount / 12)} years"
        return f"{format_decimal(self.amount)} {_UNIT_DISPLAY[self.dimension]}"

    def to_json(self) -> dict[str, str]:
        return {"amount": format_decimal(self.amount), "unit": self.dimension}


def format_decimal(value: Decimal) -> str:
    """Plain notation without exponent or trailing zeros: 20000000, 0.04, 1.5 (any size)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class MissingRate(LookupError):
    def __init__(self, base: str, quote: str, day: dt.date):
        self.base, self.quote, self.day = base, quote, day
        super().__init__(f"no exchange rate {base}/{quote} in force on {day.isoformat()}")


@dataclass(frozen=True, slots=True)
class RateEntry:
    start: dt.date
    end: dt.date | None
    rate: Decimal  # one unit of base is worth `rate` units of quote
    cite: str | None


class ExchangeRates:
    """Dated exchange rates declared in policies (`rate EUR to USD`), with inverse and
    cross-rates through a common base, e.g. CNY -> USD via EUR."""

    def __init__(self, rates: dict[tuple[str, str], tuple[RateEntry, ...]]):
        self._rates = rates

    def _direct(self, base: str, quote: str, day: dt.date) -> tuple[Decimal, str | None] | None:
        for entry in self._rates.get((base, quote), ()):
            if entry.start <= day and (entry.end is None or day < entry.end):
                return entry.rate, entry.cite
        for entry in self._rates.get((quote, base), ()):
            if entry.start <= day and (entry.end is None or day < entry.end):
                with localcontext() as ctx:
                    ctx.prec = PRECISION
                    return Decimal(1) / entry.rate, entry.cite
        return None

    def rate(self, base: str, quote: str, day: dt.date) -> Decimal:
        if base == quote:
            return Decimal(1)
        direct = self._direct(base, quote, day)
        if direct is not None:
            return direct[0]
        pivots = {c for pair in self._rates for c in pair} - {base, quote}
        for pivot in sorted(pivots):
            first = self._direct(base, pivot, day)
            second = self._direct(pivot, quote, day)
            if first is not None and second is not None:
                with localcontext() as ctx:
                    ctx.prec = PRECISION
                    return first[0] * second[0]
        raise MissingRate(base, quote, day)

    def convert(self, money: Money, currency: str, day: dt.date) -> Money:
        if money.currency == currency:
            return money
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return Money(money.amount * self.rate(money.currency, currency, day), currency)

    def pairs(self) -> list[tuple[str, str]]:
        return sorted(self._rates)
