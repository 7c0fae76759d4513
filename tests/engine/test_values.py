"""Exact values: money arithmetic and rounding, dated exchange rates, calendar arithmetic."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from lexgate.engine.compiler import shift_date
from lexgate.engine.values import UNKNOWN, Duration, ExchangeRates, MissingRate, Money, RateEntry

EUR_USD = RateEntry(dt.date(2024, 12, 31), dt.date(2025, 5, 9), Decimal("1.0389"), "ECB")
EUR_CNY = RateEntry(dt.date(2024, 12, 31), dt.date(2025, 5, 9), Decimal("7.5833"), "ECB")
RATES = ExchangeRates({("EUR", "USD"): (EUR_USD,), ("EUR", "CNY"): (EUR_CNY,)})
DAY = dt.date(2025, 1, 15)


def test_money_never_mixes_currencies() -> None:
    with pytest.raises(ValueError, match="EUR with USD"):
        Money(Decimal(1), "EUR") + Money(Decimal(1), "USD")


def test_money_rounds_half_even_to_minor_units_only_when_reported() -> None:
    third = Money(Decimal(1) / 3, "EUR")
    assert third.amount != Decimal("0.33")
    assert third.rounded() == Money(Decimal("0.33"), "EUR")
    assert Money(Decimal("0.125"), "EUR").rounded().amount == Decimal("0.12")
    assert Money(Decimal("0.135"), "EUR").rounded().amount == Decimal("0.14")
    assert str(Money(Decimal("40000000"), "EUR")) == "EUR 40,000,000"


def test_direct_inverse_and_cross_rates() -> None:
    eur = Money(Decimal("1000000"), "EUR")
    assert RATES.convert(eur, "USD", DAY).amount == Decimal("1038900.0000")
    usd = RATES.convert(Money(Decimal("1038900"), "USD"), "EUR", DAY)
    assert usd.rounded().amount == Decimal("1000000.00")
    cny = RATES.convert(Money(Decimal("7.5833"), "CNY"), "USD", DAY)  # CNY -> EUR -> USD
    assert cny.rounded().amount == Decimal("1.04")


def test_no_rate_on_a_date_is_an_error_not_a_guess() -> None:
    with pytest.raises(MissingRate, match="EUR/USD in force on 2025-06-01"):
        RATES.convert(Money(Decimal(1), "EUR"), "USD", dt.date(2025, 6, 1))


@pytest.mark.parametrize(
    ("day", "duration", "sign", "expected"),
    [
        (dt.date(2024, 1, 31), Duration(Decimal(1), "months"), 1, dt.date(2024, 2, 29)),
        (dt.date(2024, 2, 29), Duration(Decimal(12), "months"), 1, dt.date(2025, 2, 28)),
        (dt.date(2025, 3, 31), Duration(Decimal(1), "months"), -1, dt.date(2025, 2, 28)),
        (dt.date(2025, 1, 1), Duration(Decimal(45 * 24), "hours"), 1, dt.date(2025, 2, 15)),
        (dt.date(2025, 1, 1), Duration(Decimal(36), "hours"), 1, UNKNOWN),
    ],
)
def test_calendar_arithmetic(day, duration, sign, expected) -> None:
    assert (
        shift_date(day, duration, sign) is expected or shift_date(day, duration, sign) == expected
    )
