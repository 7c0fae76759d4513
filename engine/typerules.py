"""The type rules of the operators (part of stage 2): the result type of `a op b` with units,
and what the set relations expect on each side. engine/exprcheck.py applies them."""

from __future__ import annotations

from collections.abc import Callable

from .ir import OpCode
from .types import (
    COUNT,
    DATE,
    DURATION_TYPES,
    ERROR,
    NUMBER,
    PERCENT,
    DurationType,
    MoneyType,
    SetType,
    Type,
    compatible,
    is_numeric,
)

VERBS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "of": "take"}


def ordered(t: Type) -> bool:
    return is_numeric(t) or isinstance(t, MoneyType | DurationType) or t in (PERCENT, DATE, ERROR)


def _element(t: Type) -> Type | None:
    return t.element if isinstance(t, SetType) else None


# (the right side's type from the left's, the left's from the right's, what the right must be)
SET_RELATIONS: dict[
    OpCode,
    tuple[
        Callable[[Type], Type | None], Callable[[Type], Type | None], Callable[[Type], Type | None]
    ],
] = {
    OpCode.MEETS: (lambda t: t, lambda t: t, lambda t: t),
    OpCode.CONTAINS: (_element, lambda t: SetType("set", t), _element),
}


# The result type of `a op b` per arithmetic operator, or None when the units do not allow it.


def _additive(a: Type, b: Type) -> Type | None:
    if a == DATE and isinstance(b, DurationType) and b.dimension != "business_days":
        return DATE
    if is_numeric(a) and is_numeric(b):
        return COUNT if a == b == COUNT else NUMBER
    if isinstance(a, MoneyType) and isinstance(b, MoneyType) and compatible(a, b):
        return a
    if isinstance(a, DurationType) and a == b:
        return a
    if a == b == PERCENT:
        return PERCENT
    return None


def _difference(a: Type, b: Type) -> Type | None:
    if a == b == DATE:
        return DURATION_TYPES["hours"]
    return _additive(a, b)


def _product(a: Type, b: Type) -> Type | None:
    money_a, money_b = isinstance(a, MoneyType), isinstance(b, MoneyType)
    if is_numeric(a) and is_numeric(b):
        return COUNT if a == b == COUNT else NUMBER
    if money_a and (is_numeric(b) or b == PERCENT):
        return a
    if money_b and (is_numeric(a) or a == PERCENT):
        return b
    if isinstance(a, DurationType) and is_numeric(b):
        return a
    if isinstance(b, DurationType) and is_numeric(a):
        return b
    if PERCENT in (a, b) and (is_numeric(a) or is_numeric(b)):
        return NUMBER
    return None


def _quotient(a: Type, b: Type) -> Type | None:
    money_a, money_b = isinstance(a, MoneyType), isinstance(b, MoneyType)
    if is_numeric(a) and is_numeric(b):
        return NUMBER
    if money_a and is_numeric(b):
        return a
    if money_a and money_b and compatible(a, b):
        return NUMBER
    if isinstance(a, DurationType) and is_numeric(b):
        return a
    return None


def _share(a: Type, b: Type) -> Type | None:
    if a != PERCENT:
        return None
    if isinstance(b, MoneyType):
        return b
    if is_numeric(b):
        return NUMBER
    if b == PERCENT:
        return PERCENT
    return None


ARITHMETIC: dict[OpCode, Callable[[Type, Type], Type | None]] = {
    OpCode.ADD: _additive,
    OpCode.SUB: _difference,
    OpCode.MUL: _product,
    OpCode.DIV: _quotient,
    OpCode.OF: _share,
}
