"""Fine exposure of a violation, with exact bounds when facts are missing.

A fine line's maximum is the fine formula's value. When a fact it reads is missing, the range is
the hull over the completions that matter (shared/DESIGN.md):

- a missing finite fact (intent, serious circumstances) is enumerated (engine/completion.py):
  `max` is the worst case over its values, `max_at_least` the smallest (the cap is certainly
  at least that);
- a missing number (turnover, a count) leaves `max` unknown, but where the formula is monotone
  non-decreasing in it (it only passes through `+`, `*`, `of`, `max`, `min`, `sum`,
  `convert` and the branches of `if`; every amount, count and percentage of an operation is
  non-negative, see vocabulary.py) its lowest value gives a floor of the maximum, reported as
  `max_at_least`: the fixed caps (EUR 20 million, RMB 50 million) when turnover is unknown.
  `max` is the worst case over the completions, so its floor is the largest floor a completion
  gives; it is shown only while the maximum itself is unknown.

Per payer, the regime's aggregation then applies (`gravest`: GDPR Art. 83(3); `sum`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from . import ir
from .ast import Aggregation, FineKind, LoopKind
from .completion import BUDGET, Domains, completions
from .decision import Amount, ExposureLine
from .ir import OpCode
from .types import COUNT, NUMBER, PERCENT, DurationType, MoneyType
from .values import UNKNOWN, Duration, ExchangeRates, MissingRate, Money, Percent

_MONOTONE = frozenset({OpCode.ADD, OpCode.MUL, OpCode.OF, OpCode.MAX, OpCode.MIN, OpCode.CONVERT})


def monotone_floors(
    node: ir.Node, defines: Mapping[str, ir.CheckedDefine], currency: str
) -> dict[str, Any]:
    """Fact path -> its lowest value, for each numeric fact the formula is monotone
    non-decreasing in (the value to put in its place for a floor of the maximum)."""
    good: dict[str, Any] = {}
    bad: set[str] = set()
    seen: set[str] = set()

    def visit(current: ir.Node, monotone: bool) -> None:
        if isinstance(current, ir.Fact):
            lowest = _lowest(current, currency)
            if monotone and lowest is not None:
                good.setdefault(current.path, lowest)
            else:
                bad.add(current.path)
        elif isinstance(current, ir.Define):
            if current.name not in seen and current.name in defines:
                seen.add(current.name)  # a definition is monotone or not wherever it is read
                visit(defines[current.name].value, monotone)
        elif isinstance(current, ir.Op):
            if current.op in (OpCode.KNOWN, OpCode.MISSING):
                return  # asks whether a fact was given, not its value
            if current.op is OpCode.IF:
                condition, then, otherwise = current.args
                visit(condition, False)
                visit(then, monotone)
                visit(otherwise, monotone)
                return
            keeps = monotone and current.op in _MONOTONE
            for arg in current.args:
                visit(arg, keeps)
        elif isinstance(current, ir.Loop):
            visit(current.collection, False)
            if current.condition is not None:
                visit(current.condition, False)
            if current.value is not None:
                visit(current.value, monotone and current.kind == LoopKind.SUM)
        else:
            for child in current.children():
                visit(child, False)

    visit(node, True)
    return {path: value for path, value in good.items() if path not in bad}


def _lowest(fact: ir.Fact, currency: str) -> Any:
    t = fact.type
    if isinstance(t, MoneyType):
        return Money(Decimal(0), fact.currency or t.currency or currency)
    if t == COUNT:
        return 0
    if t in (NUMBER,):
        return Decimal(0)
    if t == PERCENT:
        return Percent(Decimal(0))
    if isinstance(t, DurationType):
        return Duration(Decimal(0), t.dimension)
    return None


class FineLine:
    """A compiled fine: its formula's ends and the definitions shown as steps."""

    def __init__(
        self,
        fine: ir.CheckedFine,
        low: Callable[[Any], Any] | None,
        high: Callable[[Any], Any],
        steps: tuple[tuple[str, Callable[[Any], Any]], ...],
        floors: dict[str, Any],
        finite_reads: tuple[str, ...] = (),
    ):
        self.finite_reads = finite_reads  # finite facts the formula reads (static names)
        self.fine = fine
        self.low = low
        self.high = high
        self.steps = steps
        self.floors = floors

    def ends(self, ctx: Any) -> tuple[Any, Any]:
        high = self.high(ctx)
        if self.fine.kind == FineKind.EXACTLY:
            return high, high
        if self.low is not None:
            return self.low(ctx), high
        return Money(Decimal(0), self.fine.currency), high

    def line(
        self,
        context: Callable[[Mapping[str, Any]], Any],
        facts: Mapping[str, Any],
        domains: Domains,
        reporting: str,
    ) -> ExposureLine:
        """The line for a certain violation. `context(assignment)` makes an evaluation context
        for the operation's facts with `assignment` filled in (`{}`: the facts as given)."""
        ctx = context({})
        ctx.missing = set()
        low, high = self.ends(ctx)
        missing = ctx.missing
        floor = None
        if high is UNKNOWN or low is UNKNOWN:
            low, high, floor = self._bounds(context, facts, domains, missing)
        amount = Amount(
            min=low,
            max=high,
            reporting_min=convert(low, reporting, ctx.rates, ctx.as_of),
            reporting_max=convert(high, reporting, ctx.rates, ctx.as_of),
            max_at_least=floor,
            reporting_max_at_least=convert(floor, reporting, ctx.rates, ctx.as_of),
        )
        ctx.missing = set()  # steps are shown, not what the amount waited for
        steps = tuple((name, step(ctx)) for name, step in self.steps)
        fine = self.fine
        return ExposureLine(
            fine=fine.name,
            title=fine.title,
            payer=fine.payer,
            cite=fine.cite,
            amount=amount,
            missing=tuple(sorted(missing)),
            notes=fine.notes,
            steps=steps,
        )

    def _bounds(
        self,
        context: Callable[[Mapping[str, Any]], Any],
        facts: Mapping[str, Any],
        domains: Domains,
        missing: set[str],
    ) -> tuple[Money | None, Money | None, Money | None]:
        """(min, max, max_at_least) over the completions of the missing facts."""
        if completions(self.finite_reads, facts, domains) > BUDGET:
            return None, None, None  # too many: nothing claimed (the vectorised back end agrees)
        finite = sorted(p for p in missing if domains.of(p))
        assignments: list[dict[str, Any]] = [{}]
        for path in finite:
            values = domains.of(path) or ()
            assignments = [{**a, path: v} for a in assignments for v in values]
        lows, highs, floors = [], [], []
        for assignment in assignments:
            low, high = self.ends(context(assignment))
            lows.append(None if low is UNKNOWN else low)
            highs.append(None if high is UNKNOWN else high)
            if high is UNKNOWN:
                lowest = {
                    p: v
                    for p, v in self.floors.items()
                    if p not in assignment and _absent(facts, p)
                }
                floor_high = self.ends(context({**assignment, **lowest}))[1] if lowest else UNKNOWN
                floors.append(None if floor_high is UNKNOWN else floor_high)
            else:
                floors.append(high)
        low = None if None in lows else min(lows, key=_amount)  # type: ignore[arg-type]
        high = None if None in highs else max(highs, key=_amount)  # type: ignore[arg-type]
        # `max` is the worst case over the completions; when it is unknown, it is at least the
        # largest floor any completion guarantees (a completion without a floor adds nothing)
        known_floors = [f for f in floors if f is not None]
        floor = max(known_floors, key=_amount) if known_floors else None
        if high is not None:
            floor = None  # the worst case is known: a floor is for an unknown maximum only
        return low, high, floor


def _absent(facts: Mapping[str, Any], path: str) -> bool:
    value = facts.get(path)
    return value is None or value is UNKNOWN


def _amount(money: Money) -> Decimal:
    return money.amount


def convert(value: Money | None, currency: str, rates: ExchangeRates, day: dt.date) -> Money | None:
    if value is None or value.currency == currency:
        return value
    try:
        return rates.convert(value, currency, day)
    except MissingRate:
        return None


def aggregate(
    lines: list[ExposureLine],
    method: Aggregation,
    as_of: dt.date,
    rates: ExchangeRates,
    reporting: str,
) -> dict[str, Amount]:
    """Per payer: `gravest` caps the total at the gravest infringement's maximum (GDPR
    Art. 83(3), same or linked processing operations); `sum` adds the lines up. A line whose
    maximum is unknown contributes its floor (`max_at_least`) to the total's floor."""
    by_payer: dict[str, list[ExposureLine]] = {}
    for line in lines:
        by_payer.setdefault(line.payer, []).append(line)
    result = {}
    for payer, payer_lines in by_payer.items():
        lows = [line.amount.min for line in payer_lines]
        highs = [line.amount.max for line in payer_lines]
        floors = [
            line.amount.max if line.amount.max is not None else line.amount.max_at_least
            for line in payer_lines
        ]
        known_floors = [f for f in floors if f is not None]
        if method == Aggregation.GRAVEST:
            low = None if None in lows else max(lows, key=_amount)  # type: ignore[arg-type]
            floor = max(known_floors, key=_amount) if known_floors else None
        else:
            low = _sum(lows)
            floor = _sum(known_floors) if known_floors else None  # type: ignore[arg-type]
        high = floor if None not in highs else None
        at_least = floor if high is None else None
        result[payer] = Amount(
            min=low,
            max=high,
            reporting_min=convert(low, reporting, rates, as_of),
            reporting_max=convert(high, reporting, rates, as_of),
            max_at_least=at_least,
            reporting_max_at_least=convert(at_least, reporting, rates, as_of),
        )
    return result


def _sum(values: list[Money | None]) -> Money | None:
    if not values or any(v is None for v in values):
        return None
    total = values[0]
    for value in values[1:]:
        total = total + value  # type: ignore[operator]
    return total
