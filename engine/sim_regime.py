"""The evaluator's semantics (engine/evaluator.py) over columns: per row of a batch, a regime's
status and its exposure per payer, computed exactly as `CompiledRegime.evaluate` would.

The rule logic is the scalar evaluator's, restated with masks: a rule is violated where its
`when` and its violation condition hold and no exception to it applies (default logic, the
exception tree is static so the recursion is over rules, not rows); obligations make a regime
`allowed_with_obligations`; an unknown scope makes it `undetermined` even when a violation is
certain, and its exposure is still computed, as the scalar evaluator does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from engine import ir
from engine.decision import STATUS_ORDER
from engine.evaluator import CompiledRegime
from engine.vectorised import (
    ONE,
    ZERO,
    BoolCol,
    Compiled,
    Env,
    NumCol,
    VectorCompiler,
    align_all,
    broadcast_known,
    checked_add,
    is_false,
    is_true,
    kleene_and,
    kleene_not,
    kleene_or,
    true_col,
)

DENIED, UNDETERMINED, WITH_OBLIGATIONS, ALLOWED, NOT_APPLICABLE = range(5)
assert STATUS_ORDER[NOT_APPLICABLE] == "not_applicable"  # codes index STATUS_ORDER
INT64_MIN = np.iinfo(np.int64).min


@dataclass(slots=True)
class PayerExposure:
    has: np.ndarray  # bool: a violation put a line for this payer
    low: NumCol  # aggregated, in the regime's currency; known=False: could not be computed
    high: NumCol


@dataclass(slots=True)
class RegimeColumns:
    status: np.ndarray  # int8 index into STATUS_ORDER
    payers: dict[str, PayerExposure]


@dataclass(frozen=True, slots=True)
class _Rule:
    rule: ir.CheckedRule
    when: Compiled | None
    violation: Compiled | None
    obligations: tuple[Compiled | None, ...]


@dataclass(frozen=True, slots=True)
class _Fine:
    fine: ir.CheckedFine
    low: Compiled | None
    high: Compiled


class VectorRegime:
    """One regime compiled to column functions. Raises `Unsupported` at construction when the
    regime uses a construct the vectorised back end does not have."""

    def __init__(self, compiled: CompiledRegime,
                 common_parameters: Mapping[str, ir.CheckedParameter], rate_scale: int):
        self.scalar = compiled
        regime = compiled.regime
        self.regime = regime
        compiler = VectorCompiler(regime.defines, {**common_parameters, **regime.parameters},
                                  rate_scale)
        self.applies = tuple(compiler.compile(a.condition) for a in regime.applies)
        self.rules = {
            name: _Rule(
                rule,
                compiler.compile(rule.when) if rule.when is not None else None,
                compiler.compile(rule.violation) if rule.violation is not None else None,
                tuple(compiler.compile(o.condition) if o.condition is not None else None
                      for o in rule.obligations),
            )
            for name, rule in regime.rules.items()
        }
        self.fines = {
            name: _Fine(fine, compiler.compile(fine.low) if fine.low is not None else None,
                        compiler.compile(fine.high))
            for name, fine in regime.fines.items()
        }

    def params_on(self, day: dt.date) -> dict[str, object]:
        return self.scalar.parameters_on(day)

    # ---- evaluation -----------------------------------------------------------------------------

    def evaluate(self, env: Env) -> RegimeColumns:
        n, regime = env.n, self.regime
        if regime.in_force is not None and not regime.in_force.contains(env.as_of):
            return RegimeColumns(np.full(n, NOT_APPLICABLE, dtype=np.int8), {})
        applies = BoolCol(ZERO, ONE)  # false, then `or` over the clauses
        for clause in self.applies:
            applies = kleene_or(applies, clause.fn(env))
        applies_false = broadcast_known(n, is_false(applies))
        applies_unknown = broadcast_known(n, ~applies.known)

        violated_any = np.zeros(n, dtype=bool)
        undetermined_any = np.zeros(n, dtype=bool)
        obliged_any = np.zeros(n, dtype=bool)
        violations: list[tuple[ir.CheckedRule, np.ndarray]] = []
        for compiled in self.rules.values():
            rule = compiled.rule
            if rule.exception_to is not None or not rule.in_force(env.as_of):
                continue
            violated, undetermined, obliged = self._rule(compiled, env)
            violated_any |= violated
            undetermined_any |= undetermined
            obliged_any |= obliged
            violations.append((rule, violated))

        status = np.select(
            [applies_false, applies_unknown, violated_any, undetermined_any, obliged_any],
            [NOT_APPLICABLE, UNDETERMINED, DENIED, UNDETERMINED, WITH_OBLIGATIONS], ALLOWED,
        ).astype(np.int8)
        payers = self._exposure(violations, env, ~applies_false)
        return RegimeColumns(status, payers)

    def _rule(self, compiled: _Rule, env: Env) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(violated, undetermined, imposes an obligation) per row: `_rule_outcome`."""
        n = env.n
        triggered = compiled.when.fn(env) if compiled.when is not None else true_col()
        not_triggered = broadcast_known(n, is_false(triggered))
        obliged = np.zeros(n, dtype=bool)
        pending = np.zeros(n, dtype=bool)
        for condition in compiled.obligations:
            due = kleene_and(triggered, condition.fn(env) if condition is not None else true_col())
            obliged |= is_true(due)
            pending |= ~due.known
        if compiled.violation is None:
            undetermined = ~not_triggered & (pending | broadcast_known(n, ~triggered.known))
            return np.zeros(n, dtype=bool), undetermined, obliged
        violated = kleene_and(triggered, compiled.violation.fn(env))
        consulted = broadcast_known(n, ~is_false(violated))  # exceptions weighed only here
        applied = np.zeros(n, dtype=bool)
        for name in compiled.rule.exceptions:
            exception = self._exception_applies(name, env)
            applies_here = consulted & is_true(exception)
            applied |= applies_here
            obliged |= applies_here & self._exception_obligations(name, env)
            violated = kleene_and(violated, kleene_not(exception))
        violated_rows = broadcast_known(n, is_true(violated))
        excepted = ~violated_rows & applied
        undetermined = (~not_triggered & ~violated_rows & ~excepted
                        & (broadcast_known(n, ~violated.known) | pending))
        return violated_rows, undetermined, obliged

    def _exception_applies(self, name: str, env: Env) -> BoolCol:
        compiled = self.rules[name]
        if not compiled.rule.in_force(env.as_of):
            return BoolCol(ZERO, ONE)
        active = compiled.when.fn(env) if compiled.when is not None else true_col()
        for sub in compiled.rule.exceptions:
            active = kleene_and(active, kleene_not(self._exception_applies(sub, env)))
        return active

    def _exception_obligations(self, name: str, env: Env) -> np.ndarray:
        due = np.zeros(env.n, dtype=bool)
        for condition in self.rules[name].obligations:
            due |= is_true(condition.fn(env)) if condition is not None else True
        return due

    # ---- exposure -------------------------------------------------------------------------------

    def _exposure(self, violations: list[tuple[ir.CheckedRule, np.ndarray]], env: Env,
                  in_scope: np.ndarray) -> dict[str, PayerExposure]:
        """Per payer: `gravest` takes the largest line (unknown if any line is), `sum` adds."""
        lines: dict[str, list[tuple[np.ndarray, NumCol, NumCol]]] = {}
        amounts: dict[str, tuple[NumCol, NumCol]] = {}  # a fine's range is the same for each rule
        for rule, violated in violations:
            if not violated.any():
                continue
            for fine_name in rule.fines:
                fine = self.fines[fine_name]
                if fine_name not in amounts:
                    high = fine.high.fn(env)
                    if fine.fine.kind == "exactly":
                        low = high
                    elif fine.low is not None:
                        low = fine.low.fn(env)
                    else:
                        low = NumCol(np.zeros(1, dtype=np.int64), ONE, 0)
                    amounts[fine_name] = (low, high)
                low, high = amounts[fine_name]
                lines.setdefault(fine.fine.payer, []).append((violated & in_scope, low, high))
        gravest = self.regime.aggregate == "gravest"
        result = {}
        for payer, payer_lines in lines.items():
            has = np.zeros(env.n, dtype=bool)
            for violated, _, _ in payer_lines:
                has |= violated
            ends = []
            for end in (1, 2):
                ends_of_lines = [line[1] if end == 1 else line[2] for line in payer_lines]
                aligned: list[NumCol] = align_all(ends_of_lines, env)
                scale = aligned[0].scale
                total = np.full(env.n, INT64_MIN if gravest else 0, dtype=np.int64)
                unknown = np.zeros(env.n, dtype=bool)
                for line, amount in zip(payer_lines, aligned, strict=True):
                    violated = line[0]
                    values = np.broadcast_to(amount.values, (env.n,))
                    known = broadcast_known(env.n, amount.known)
                    unknown |= violated & ~known
                    chosen = violated & known
                    if gravest:
                        total = np.where(chosen, np.maximum(total, values), total)
                    else:
                        total = checked_add(total, np.where(chosen, values, 0), chosen, env)
                total = np.where(has, total, 0)
                ends.append(NumCol(total, has & ~unknown, scale))
            result[payer] = PayerExposure(has, ends[0], ends[1])
        return result
