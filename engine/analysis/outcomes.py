"""A regime's outcomes as formulas: whether it applies, and for each rule whether the evaluator
lists it as violated, certainly does not, or owes what it imposes — the evaluator's own steps
(engine/evaluator.py) in three-valued form.

- the regime is assessed when it is in force on the day and its scope is not certainly false;
- a base rule is assessed when it is in force and its topic (if any) is described (a fact of
  `described_by` stated or derived);
- violated: `when` and (`violation` or a duty stated unmet), unless an exception certainly
  applies; an exception applies when it is in force, its `when` holds and none of its own
  exceptions applies (recursively);
- a rule with neither `violation` nor duties "fires" when one of its obligations is due (the
  evaluator never consults exceptions for such a rule: nothing is violated to excuse).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import z3

from .. import ir
from .symbolic import Sym
from .translate import FALSE, TRUE, Translator, and3, const_bool, is_false, is_true, not3, or3


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleFormulas:
    name: str
    kind: str  # "violation" (listed under violations) or "obligation" (an obligation owed)
    assessed: Any  # in scope (not certainly out), in force, its topic described
    fires_alone: Any  # would fire if no exception applied
    fires: Any  # the evaluator lists it (violated, or an obligation owed)
    quiet: Any  # the evaluator certainly does not list it
    exceptions: dict[str, Sym]  # exception -> whether it applies (three-valued)
    triggered: Any  # assessed and its `when` certainly holds


def rule_kind(rule: ir.CheckedRule) -> str:
    return "violation" if rule.violation is not None or rule.duties else "obligation"


class RegimeFormulas:
    def __init__(self, translator: Translator, regime: ir.CheckedRegime, day: dt.date):
        self.t = translator
        self.regime = regime
        self.day = day
        in_force = regime.in_force is None or regime.in_force.contains(day)
        scope = const_bool(False)
        for clause in regime.applies:
            scope = or3(scope, translator.expr(clause.condition, {}))
        self.in_force = in_force
        self.scope = scope if in_force else const_bool(False)
        self._exceptions: dict[str, Sym] = {}

    def applies(self) -> Any:
        return is_true(self.scope)

    def out_of_scope(self) -> Any:
        return is_false(self.scope)

    def exception(self, name: str) -> Sym:
        found = self._exceptions.get(name)
        if found is not None:
            return found
        rule = self.regime.rules[name]
        if not rule.in_force(self.day):
            found = const_bool(False)
        else:
            active = self.t.expr(rule.when, {}) if rule.when is not None else const_bool(True)
            for sub in rule.exceptions:
                active = and3(active, not3(self.exception(sub)))
            found = active
        self._exceptions[name] = found
        return found

    def described(self, rule: ir.CheckedRule) -> Any:
        if rule.topic is None or rule.topic not in self.regime.topics:
            return TRUE
        paths = self.regime.topics[rule.topic].described_by
        return z3.Or(FALSE, *[self.t.fact(p).ok for p in paths])

    def rule(self, name: str) -> RuleFormulas:
        rule = self.regime.rules[name]
        t = self.t
        in_force = rule.in_force(self.day) and self.in_force
        assessed = z3.And(z3.BoolVal(in_force), z3.Not(self.out_of_scope()), self.described(rule))
        triggered = t.expr(rule.when, {}) if rule.when is not None else const_bool(True)
        kind = rule_kind(rule)
        exceptions = {e: self.exception(e) for e in rule.exceptions}
        if kind == "violation":
            stated = t.expr(rule.violation, {}) if rule.violation is not None else const_bool(False)
            gap = const_bool(False)
            for duty in rule.duties:
                gap = or3(gap, not3(t.expr(duty.met, {})))
            violated = and3(triggered, or3(stated, gap))
            alone = violated
            for e in exceptions.values():
                violated = and3(violated, not3(e))
            fires = z3.And(assessed, is_true(violated))
            quiet = z3.Or(z3.Not(assessed), is_false(violated))
            return RuleFormulas(
                name=name,
                kind=kind,
                assessed=assessed,
                fires_alone=z3.And(assessed, is_true(alone)),
                fires=fires,
                quiet=quiet,
                exceptions=exceptions,
                triggered=z3.And(assessed, is_true(triggered)),
            )
        due = const_bool(False)  # nothing to owe: never listed
        for obligation in rule.obligations:
            condition = (
                t.expr(obligation.condition, {})
                if obligation.condition is not None
                else const_bool(True)
            )
            due = or3(due, condition)
        owed = and3(triggered, due)
        fires = z3.And(assessed, is_true(owed))
        return RuleFormulas(
            name=name,
            kind=kind,
            assessed=assessed,
            fires_alone=fires,
            fires=fires,
            quiet=z3.Or(z3.Not(assessed), is_false(owed)),
            exceptions=exceptions,
            triggered=z3.And(assessed, is_true(triggered)),
        )


def base_rules(regime: ir.CheckedRegime) -> list[ir.CheckedRule]:
    return [r for r in regime.rules.values() if r.exception_to is None]


__all__ = ["TRUE", "RegimeFormulas", "RuleFormulas", "base_rules", "rule_kind"]
