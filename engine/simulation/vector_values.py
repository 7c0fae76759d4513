"""The vectorised back end's values: columns, the batch environment and exact fixed-point
arithmetic (vector_compiler.py compiles the IR to functions of these; its docstring states
each type's representation and the exactness bounds).

Unknown is a cleared bit in a column's `known` mask; rows whose exact result would not fit in
int64 are flagged in `Env.fallback` for the scalar back end, never wrapped around.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from .. import logic
from ..types import (
    BOOL,
    CODE,
    COUNT,
    DATE,
    NUMBER,
    PERCENT,
    DurationType,
    EnumType,
    ListType,
    MoneyType,
    SetType,
    Type,
)
from ..values import Duration, ExchangeRates, MissingRate, Money, Percent

# fixed-point scales of fact columns: digits after the decimal point an input value may carry
# before its row goes to the scalar evaluator (money in minor units; see docs/SIMULATION.md)
FACT_SCALE = {"money": 2, "percent": 6, "duration": 3, "number": 6, "count": 0, "date": 0}
INT_LIMIT = 2**62  # headroom below int64's 2**63 for one more addition without overflow


class Unsupported(Exception):
    """An IR construct this back end does not vectorise; its regime is evaluated by the scalar
    back end instead."""


# ---- columns --------------------------------------------------------------------------------


@dataclass(slots=True)
class BoolCol:
    values: np.ndarray  # bool
    known: np.ndarray  # bool


@dataclass(slots=True)
class NumCol:
    values: np.ndarray  # int64: the number times 10**scale
    known: np.ndarray
    scale: int


@dataclass(slots=True)
class CodeCol:
    values: np.ndarray  # int32 index into the universe; -1 where unknown
    known: np.ndarray


@dataclass(slots=True)
class BitsCol:
    words: np.ndarray  # uint64, shape (rows, words)
    known: np.ndarray


@dataclass(slots=True)
class ListCol:
    length: np.ndarray  # int64
    known: np.ndarray
    elements: list[dict[str, Any]]  # per position: field name -> column


Col = BoolCol | NumCol | CodeCol | BitsCol | ListCol

ONE = np.ones(1, dtype=bool)
ZERO = np.zeros(1, dtype=bool)


def true_col() -> BoolCol:
    return BoolCol(ONE, ONE)


def is_true(c: BoolCol) -> np.ndarray:
    mask: np.ndarray = c.known & c.values
    return mask


def is_false(c: BoolCol) -> np.ndarray:
    mask: np.ndarray = c.known & ~c.values
    return mask


def kleene_and(a: BoolCol, b: BoolCol) -> BoolCol:
    return BoolCol(*logic.and_masks(a.values, a.known, b.values, b.known))


def kleene_or(a: BoolCol, b: BoolCol) -> BoolCol:
    return BoolCol(*logic.or_masks(a.values, a.known, b.values, b.known))


def kleene_not(a: BoolCol) -> BoolCol:
    return BoolCol(*logic.not_masks(a.values, a.known))


class Codebook:
    """Country codes seen in the bundle and the data, each given a bit position."""

    def __init__(self, codes: set[str]):
        self.codes = sorted(codes)
        self.index = {c: i for i, c in enumerate(self.codes)}
        self.words = max(1, (len(self.codes) + 63) // 64)


def words_for(count: int) -> int:
    return max(1, (count + 63) // 64)


def bits_of(indices: list[int], words: int) -> np.ndarray:
    row = np.zeros((1, words), dtype=np.uint64)
    for i in indices:
        row[0, i // 64] |= np.uint64(1) << np.uint64(i % 64)
    return row


# ---- the evaluation environment --------------------------------------------------------------


@dataclass(kw_only=True)
class Env:
    """One batch of rows sharing an as-of date: the parameters in force that day are constants."""

    n: int
    facts: Callable[[str], Col | None]  # encoded fact column by path (None: column absent)
    as_of: dt.date
    params: Mapping[str, Any]
    rates: ExchangeRates
    countries: Codebook
    fallback: np.ndarray  # bool (n,): rows the scalar evaluator must redo
    bindings: dict[str, Any] = field(default_factory=dict)
    rate_scale: int = 6
    memo: dict[Any, Any] = field(default_factory=dict)  # definitions and tables, once per batch
    # the bundle's derivations over a view (derivations.py), applied again to completions
    derive: Callable[[Callable[[str], Any], Env], Callable[[str], Any]] | None = None
    # a completion's environment: the facts as the operation gave them (`is known` reads these)
    given: Callable[[str], Any] | None = None

    def flag(self, rows: np.ndarray) -> None:
        if rows.shape == (1,):
            rows = np.broadcast_to(rows, (self.n,))
        self.fallback |= rows


Fn = Callable[[Env], Any]


# ---- fixed-point helpers ----------------------------------------------------------------------


def decimal_scale(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int), "constants are finite"
    return max(0, -exponent)


def to_fixed(value: Decimal | int, scale: int) -> int:
    scaled = Decimal(value).scaleb(scale)
    assert scaled == scaled.to_integral_value(), "scale chosen to fit the constant"
    return int(scaled)


def rescale(col: NumCol, scale: int, env: Env) -> NumCol:
    if scale == col.scale:
        return col
    return NumCol(
        checked_mul(col.values, 10 ** (scale - col.scale), col.known, env), col.known, scale
    )


def checked_mul(a: np.ndarray, b: np.ndarray | int, known: np.ndarray, env: Env) -> np.ndarray:
    """a * b in int64; rows whose exact product would not fit go to the scalar evaluator."""
    bound_a = int(np.abs(a).max()) if a.size else 0
    bound_b = abs(b) if isinstance(b, int) else (int(np.abs(b).max()) if b.size else 0)
    if bound_a * bound_b < INT_LIMIT:  # the common case: one cheap check for the whole batch
        return a * b
    big = np.abs(a.astype(np.float64)) * np.abs(np.asarray(b, dtype=np.float64)) >= INT_LIMIT / 2
    env.flag(big & known)
    return np.where(big, 0, a) * np.where(big, 0, b)


def checked_add(
    a: np.ndarray, b: np.ndarray, known: np.ndarray, env: Env, sign: int = 1
) -> np.ndarray:
    bound = (int(np.abs(a).max()) if a.size else 0) + (int(np.abs(b).max()) if b.size else 0)
    total: np.ndarray
    if bound < INT_LIMIT:
        total = a + sign * b
        return total
    big = np.abs(a.astype(np.float64)) + np.abs(b.astype(np.float64)) >= INT_LIMIT / 2
    env.flag(big & known)
    total = np.where(big, 0, a) + sign * np.where(big, 0, b)
    return total


def _bound(col: NumCol) -> int:
    return int(np.abs(col.values).max()) if col.values.size else 0


def compact(col: NumCol) -> NumCol:
    """The same numbers at the smallest scale that holds them exactly: EUR amounts read at
    1/1,000,000 cent but all whole cents go back to scale 2. Keeps products of percentages and
    money inside 63 bits without rounding anything."""
    values = np.where(col.known, col.values, 0)
    for digits in range(col.scale, 0, -1):
        unit = 10**digits
        if not (values % unit).any():
            return NumCol(values // unit, col.known, col.scale - digits)
    return col


def aligned(a: NumCol, b: NumCol, env: Env) -> tuple[NumCol, NumCol]:
    if a.scale != b.scale:
        low, high = (a, b) if a.scale < b.scale else (b, a)
        if _bound(low) * 10 ** (high.scale - low.scale) >= INT_LIMIT:
            a, b = compact(a), compact(b)
    scale = max(a.scale, b.scale)
    return rescale(a, scale, env), rescale(b, scale, env)


def align_all(cols: list[NumCol], env: Env) -> list[NumCol]:
    """Columns at one common scale (compacted first when rescaling could overflow)."""
    scale = max((c.scale for c in cols), default=0)
    if any(_bound(c) * 10 ** (scale - c.scale) >= INT_LIMIT for c in cols):
        cols = [compact(c) for c in cols]
        scale = max((c.scale for c in cols), default=0)
    return [rescale(c, scale, env) for c in cols]


def multiplied(a: NumCol, b: NumCol, env: Env) -> NumCol:
    if _bound(a) * _bound(b) >= INT_LIMIT:
        a, b = compact(a), compact(b)
    known = a.known & b.known
    return NumCol(checked_mul(a.values, b.values, known, env), known, a.scale + b.scale)


def round_half_even(values: np.ndarray, shift: int) -> np.ndarray:
    """values / 10**shift rounded half-even: Decimal.quantize(ROUND_HALF_EVEN) on integers."""
    rounded: np.ndarray
    if shift <= 0:
        rounded = values * 10 ** (-shift)
        return rounded
    unit = 10**shift
    quotient, remainder = np.divmod(values, unit)  # floor division: remainder >= 0
    twice = 2 * remainder
    up = (twice > unit) | ((twice == unit) & (quotient % 2 == 1))
    rounded = quotient + up
    return rounded


# ---- constants ------------------------------------------------------------------------------


def number_of(value: Any) -> Decimal | int:
    """The exact number inside a scalar run-time value (money, percent, duration, count)."""
    if isinstance(value, Money | Duration):
        return value.amount
    if isinstance(value, Percent):
        return value.fraction
    if isinstance(value, dt.date):
        return value.toordinal()
    if isinstance(value, bool):
        raise Unsupported("a truth value used as a number")
    number: Decimal | int = value  # a count or a plain number
    return number


def is_numeric_type(t: Type) -> bool:
    return t in (COUNT, NUMBER, PERCENT, DATE) or isinstance(t, MoneyType | DurationType)


def fact_scale(t: Type) -> int:
    if isinstance(t, MoneyType):
        return FACT_SCALE["money"]
    if isinstance(t, DurationType):
        return FACT_SCALE["duration"]
    return FACT_SCALE[t.name if t.name in FACT_SCALE else "number"]


def constant_col(value: Any, t: Type, env: Env, scale: int | None = None) -> Col:
    """A scalar constant as a one-row column that broadcasts against any batch."""
    if t == BOOL:
        return BoolCol(np.array([bool(value)]), ONE)
    if is_numeric_type(t):
        number = number_of(value)
        s = scale if scale is not None else decimal_scale(Decimal(number))
        return NumCol(np.array([to_fixed(number, s)], dtype=np.int64), ONE, s)
    if isinstance(t, EnumType):
        return CodeCol(np.array([t.members.index(value)], dtype=np.int32), ONE)
    if t == CODE:
        index = env.countries.index.get(value, -1)
        if index < 0:  # a code in no column and no constant: it equals nothing we know of
            raise Unsupported(f"country `{value}` missing from the codebook")
        return CodeCol(np.array([index], dtype=np.int32), ONE)
    if isinstance(t, SetType):
        if isinstance(t.element, EnumType):
            members = t.element.members
            return BitsCol(bits_of([members.index(v) for v in value], words_for(len(members))), ONE)
        if t.element == CODE:
            indices = [env.countries.index[v] for v in value]
            return BitsCol(bits_of(indices, env.countries.words), ONE)
        raise Unsupported(f"a set of {t.element}")
    raise Unsupported(f"a constant of type {t}")


def broadcast_known(n: int, known: np.ndarray) -> np.ndarray:
    return np.broadcast_to(known, (n,)) if known.shape != (n,) else known


def _words(t: Type, env: Env) -> int:
    if isinstance(t, EnumType):
        return words_for(len(t.members))
    return env.countries.words


def unknown_col(t: Type, env: Env, scale: int = 0) -> Col:
    if t == BOOL:
        return BoolCol(ZERO, ZERO)
    if is_numeric_type(t):
        return NumCol(np.zeros(1, dtype=np.int64), ZERO, scale)
    if isinstance(t, EnumType) or t == CODE:
        return CodeCol(np.full(1, -1, dtype=np.int32), ZERO)
    if isinstance(t, SetType):
        return BitsCol(np.zeros((1, _words(t.element, env)), dtype=np.uint64), ZERO)
    if isinstance(t, ListType):
        return ListCol(np.zeros(1, dtype=np.int64), ZERO, [])
    raise Unsupported(f"facts of type {t}")


def _like(template: Col, values: np.ndarray, known: np.ndarray) -> Col:
    if isinstance(template, NumCol):
        return NumCol(values, known, template.scale)
    if isinstance(template, CodeCol):
        return CodeCol(values, known)
    if isinstance(template, BoolCol):
        return BoolCol(values, known)
    raise Unsupported("`if` over sets or lists")


def _neg(col: NumCol) -> NumCol:
    return NumCol(-col.values, col.known, col.scale)


def _code_bits(codes: np.ndarray, words: int) -> np.ndarray:
    out = np.zeros((codes.shape[0], words), dtype=np.uint64)
    valid = codes >= 0
    safe = np.where(valid, codes, 0)
    rows = np.arange(codes.shape[0])
    out[rows, safe // 64] = np.where(valid, np.uint64(1) << (safe % 64).astype(np.uint64), 0)
    return out


def _has_bit(words: np.ndarray, codes: np.ndarray) -> np.ndarray:
    valid = codes >= 0
    safe = np.where(valid, codes, 0)
    if words.shape[0] == 1:
        word = words[0, safe // 64]
    else:
        word = words[np.arange(words.shape[0]), safe // 64]
    present: np.ndarray = valid & (((word >> (safe % 64).astype(np.uint64)) & np.uint64(1)) == 1)
    return present


# ---- exchange rates ------------------------------------------------------------------------------


def _rate(env: Env, base: str, quote: str) -> Decimal | None:
    try:
        return env.rates.rate(base, quote, env.as_of)
    except MissingRate:
        return None


def _apply_rate(col: NumCol, rate: Decimal, scale: int, env: Env) -> NumCol:
    """Multiply by a dated rate exactly. A rate with more decimals than `scale` allows (an
    inverse or cross rate: a 40-digit quotient) cannot be fixed point: those rows go scalar."""
    rate_digits = decimal_scale(rate)
    if col.scale + rate_digits > scale:
        env.flag(col.known)
        return NumCol(np.zeros_like(col.values), col.known, scale)
    factor = to_fixed(rate, scale - col.scale)
    return NumCol(checked_mul(col.values, factor, col.known, env), col.known, scale)


@dataclass(slots=True)
class MoneyColumn:
    """A money fact as read from the data: fixed-point amounts in minor units and, per row, the
    currency code. Reading it in a regime's currency converts at the as-of date's rate."""

    amounts: NumCol
    currencies: np.ndarray  # object array of currency codes, or a single code for all rows
    single: str | None

    def in_currency(self, currency: str | None, scale: int, env: Env) -> NumCol:
        amounts = self.amounts
        if currency is None:
            raise Unsupported("money whose currency is fixed only at run time")
        if self.single is not None:
            if self.single == currency:
                return amounts
            rate = _rate(env, self.single, currency)
            if rate is None:
                return NumCol(np.zeros(1, dtype=np.int64), ZERO, scale)
            return _apply_rate(amounts, rate, scale, env)
        values = np.zeros(env.n, dtype=np.int64)
        known = np.zeros(env.n, dtype=bool)
        outer = env.fallback
        for code in sorted({c for c in self.currencies.tolist() if isinstance(c, str)}):
            rows = self.currencies == code
            env.fallback = np.zeros(env.n, dtype=bool)  # a rate's problem is its rows' only
            try:
                part = rescale(self.in_single(code).in_currency(currency, scale, env), scale, env)
            finally:
                outer |= env.fallback & rows
                env.fallback = outer
            values = np.where(rows, np.broadcast_to(part.values, (env.n,)), values)
            known = np.where(rows, np.broadcast_to(part.known, (env.n,)), known)
        return NumCol(values, known & amounts.known, scale)

    def in_single(self, code: str) -> MoneyColumn:
        return MoneyColumn(self.amounts, self.currencies, code)
