"""Hypothesis strategies for operations, derived from a bundle's vocabulary and the constants in
its rules, so the agreement test covers whatever the packs declare today: values sit on and next
to every threshold a policy mentions (EUR 20 million, 4%, 72 hours, the dates laws change)."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from lexgate.engine import Bundle, ir
from lexgate.engine.fold import constant_value
from lexgate.engine.simulation.kernel import _children
from lexgate.engine.types import (
    BOOL,
    CODE,
    COUNT,
    DATE,
    NUMBER,
    PERCENT,
    TEXT,
    UNITS,
    DurationType,
    EnumType,
    ListType,
    MoneyType,
    RecordType,
    SetType,
    Type,
)
from lexgate.engine.values import Duration, Money, Percent

COUNTRIES = ["DE", "FR", "IE", "NO", "US", "US-CA", "CN", "IN", "JP", "GB", "BR", "CH", "KR", "HK"]
CURRENCIES = ["EUR", "EUR", "EUR", "USD", "CNY"]


class Constants:
    """Numbers, codes and dates that appear in a bundle's checked IR."""

    def __init__(self, bundle: Bundle):
        self.numbers: set[Decimal] = {Decimal(0), Decimal(1)}
        self.money: set[Decimal] = set()
        self.percents: set[Decimal] = set()
        self.countries: set[str] = set(COUNTRIES)
        self.dates: set[dt.date] = {dt.date(2025, 6, 1), dt.date(2024, 1, 1)}
        checked = bundle.checked
        # the currencies an operation may use: a declared rate, or a regime's own (vocabulary.py)
        accepted = {c for pair in checked.rates for c in pair} | {"EUR"}
        accepted |= {r.currency for r in checked.regimes.values()}
        self.currencies = [c for c in CURRENCIES if c in accepted]
        for regime in checked.regimes.values():
            if regime.in_force is not None:
                self._period(regime.in_force)
            for rule in regime.rules.values():
                for period in rule.periods:
                    self._period(period)
                for node in (rule.when, rule.violation, *(o.condition for o in rule.obligations)):
                    self._walk(node)
            for clause in regime.applies:
                self._walk(clause.condition)
            for define in regime.defines.values():
                self._walk(define.value)
            for fine in regime.fines.values():
                self._walk(fine.low)
                self._walk(fine.high)
            for parameter in regime.parameters.values():
                self._parameter(parameter)
        for parameter in checked.parameters.values():
            self._parameter(parameter)
        for values in checked.rates.values():
            for period, _, _ in values:
                self._period(period)
        # turnover at which a percentage tier equals a fixed cap: 20m / 4% = 500m
        for amount in list(self.money):
            for fraction in self.percents:
                if fraction:
                    self.money.add((amount / fraction).quantize(Decimal("0.01")))
        self.countries = {c for c in self.countries if len(c) >= 2}

    def _period(self, period: Any) -> None:
        for day in (period.start, period.end):
            if day is not None:
                self.dates |= {day - dt.timedelta(days=1), day}

    def _parameter(self, parameter: ir.CheckedParameter) -> None:
        for period, node, _ in parameter.values:
            self._period(period)
            self._value(constant_value(node))

    def _walk(self, node: ir.Node | None) -> None:
        if node is None:
            return
        if isinstance(node, ir.Const):
            self._value(node.value)
        for child in _children(node):
            self._walk(child)

    def _value(self, value: Any) -> None:
        if isinstance(value, Money):
            self.money.add(value.amount)
        elif isinstance(value, Percent):
            self.percents.add(value.fraction)
        elif isinstance(value, Duration):
            self.numbers.add(value.amount)
        elif isinstance(value, bool):
            return
        elif isinstance(value, int | Decimal):
            self.numbers.add(Decimal(value))
        elif isinstance(value, str) and value[:2].isupper():
            self.countries.add(value)
        elif isinstance(value, dt.date):
            self.dates.add(value)
        elif isinstance(value, frozenset | set | dict):
            for item in value:
                self._value(item)


def _near(values: set[Decimal]) -> list[Decimal]:
    out = set()
    for v in values:
        out |= {v, v + 1, max(v - 1, Decimal(0))}
    return sorted(out)


def value_strategy(t: Type, unit: str | None, c: Constants) -> st.SearchStrategy[Any]:
    if t == BOOL:
        return st.booleans()
    if t == COUNT:
        return st.one_of(
            st.sampled_from([int(v) for v in _near(c.numbers) if v == int(v)]),
            st.integers(0, 10**7),
        )
    if t == NUMBER:
        return st.decimals(0, 10**6, places=2).map(str)
    if isinstance(t, MoneyType):
        amounts = st.one_of(
            st.sampled_from(_near(c.money) or [Decimal(0)]),
            st.decimals(0, 10**11, places=2),
            st.decimals(0, 10**6, places=3),  # sub-cent amounts: the exact scalar path
        )
        return st.fixed_dictionaries(
            {"amount": amounts.map(str), "currency": st.sampled_from(c.currencies)}
        )
    if t == PERCENT:
        return st.one_of(
            st.sampled_from(sorted(c.percents) or [Decimal("0.5")]), st.decimals(0, 1, places=4)
        ).map(str)
    if isinstance(t, DurationType):
        factor = UNITS[unit][1] if unit else 1
        near = [v / factor for v in _near(c.numbers)]
        return st.one_of(st.sampled_from(near), st.integers(0, 5000).map(Decimal)).map(str)
    if isinstance(t, EnumType):
        return st.sampled_from(t.members)
    if t == CODE:
        return st.sampled_from(sorted(c.countries))
    if isinstance(t, SetType):
        element = value_strategy(t.element, None, c)
        return st.lists(element, max_size=4, unique=True)
    if t == DATE:
        return st.sampled_from(sorted(c.dates)).map(dt.date.isoformat)
    if t == TEXT:
        return st.text(max_size=5)
    raise TypeError(f"no strategy for {t}")


def record_strategy(record: RecordType, c: Constants) -> st.SearchStrategy[dict[str, Any]]:
    fields = {name: value_strategy(t, None, c) for name, t in record.fields}
    return st.fixed_dictionaries({}, optional=fields)


@st.composite
def operations(draw: st.DrawFn, bundle: Bundle, constants: Constants) -> dict[str, Any]:
    """An operation as API JSON: each fact present or missing, values near the thresholds."""
    operation: dict[str, Any] = {}
    facts = bundle.checked.vocabulary.facts
    for path, info in facts.items():
        if not draw(st.booleans()):
            continue  # missing: unknown
        if isinstance(info.type, ListType):
            value: Any = draw(st.lists(record_strategy(info.type.element, constants), max_size=3))
        else:
            value = draw(value_strategy(info.type, info.unit, constants))
        node = operation
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    operation["as_of"] = draw(st.sampled_from(sorted(constants.dates))).isoformat()
    return operation


def with_fact(operation: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of operation JSON with `path` set (`a.b`, or `transfers[0].mechanism` inside an
    entry that exists): how the tests fill in a completion or answer a question."""
    result = copy.deepcopy(operation)
    head, _, rest = path.partition("[")
    node = result
    *groups, leaf = head.split(".")
    for group in groups:
        node = node.setdefault(group, {})
    if rest:
        index, _, field = rest.partition("].")
        node[leaf][int(index)][field] = value
    else:
        node[leaf] = value
    return result
