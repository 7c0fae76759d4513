"""Contradictions: two rules no organisation can comply with at once, and two examples that
expect different answers for what is the same operation.

Contradictory obligations. Facts split into the situation (what the operation is) and what the
organisation controls (`vocabulary.controllable`: consent, notices, safeguards…). Two rules
contradict each other when some situation triggers both and *no* choice of the controllable
facts complies with both, while each alone can be complied with. That is an exists-forall
question, answered by counterexample-guided search (a few rounds of two solvers: one proposes a
situation, the other looks for a way to comply with both in it). Only pairs whose compliance
reads a common controllable fact are asked (others can be complied with independently), on the
latest stretch of law in which both are in force.

Contradictory examples. An example's answer depends only on the facts its regime reads (rules,
scope, fines, topics, derivations); two examples of one regime and date whose givens agree on
those facts are the same operation, and must not expect different statuses, violations or
exposure.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import z3

from .. import ir
from ..ast import ExpectKind
from ..reads import facts_read
from .findings import Finding, FindingKind
from .outcomes import RegimeFormulas, RuleFormulas, base_rules, rule_kind
from .problem import codes_of
from .symbolic import SymbolicOperation, Untranslatable, stem
from .translate import Translator
from .witness import SOLVE_MS, decided, regime_view

if TYPE_CHECKING:
    from ..bundle import Bundle
    from .analyze import Stretches

ROUNDS = 6  # situations tried per pair before the pair is left alone


def _compliance_reads(regime: ir.CheckedRegime, rule: ir.CheckedRule) -> set[str]:
    table = {(regime.name, n): d.value for n, d in regime.defines.items()}
    table.update({("", n): d.value for n, d in regime.defines.items()})
    nodes = [n for n in (rule.violation,) if n is not None] + [d.met for d in rule.duties]
    return set(facts_read(nodes, table))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Side:
    regime: str
    rule: ir.CheckedRule
    formulas: RuleFormulas


@dataclass(frozen=True, slots=True)
class _Setting:
    """A shared symbolic operation and its day (a solver variable, or a fixed date)."""

    op: SymbolicOperation
    as_of: Any
    extra: tuple[Any, ...]


def contradictory_obligations(
    bundle: Bundle, stretches: Stretches, regime: ir.CheckedRegime
) -> list[Finding]:
    """Pairs of rules of one regime, on the latest stretch of law with both in force."""
    controllable = bundle.checked.vocabulary.controllable
    rules = [r for r in base_rules(regime) if rule_kind(r) == "violation"]
    reads = {r.name: _compliance_reads(regime, r) & controllable for r in rules}
    findings: list[Finding] = []
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            if not reads[a.name] & reads[b.name]:
                continue
            stretch = next((s for s in stretches.of_rule(regime, a) if b.in_force(s.start)), None)
            if stretch is None:
                continue
            try:
                setting = _Setting(stretch.op, stretch.as_of, stretch.extra)
                sides = (
                    _Side(regime=regime.name, rule=a, formulas=stretch.formulas.rule(a.name)),
                    _Side(regime=regime.name, rule=b, formulas=stretch.formulas.rule(b.name)),
                )
                found = _pair(bundle, setting, sides, controllable)
            except Untranslatable:
                continue  # reported for the rule itself
            if found is not None:
                findings.append(found)
    return findings


def contradictory_across(
    bundle: Bundle, regimes: list[ir.CheckedRegime], day: dt.date
) -> list[Finding]:
    """Pairs of rules of two regimes that both apply to one operation, on `day` (an operation
    in scope of both: a Chinese export by a company established in the Union…)."""
    controllable = bundle.checked.vocabulary.controllable
    codes = codes_of([bundle.checked])
    rules = [
        (regime, rule, _compliance_reads(regime, rule) & controllable)
        for regime in regimes
        for rule in base_rules(regime)
        if rule_kind(rule) == "violation" and rule.in_force(day)
    ]
    findings: list[Finding] = []
    for i, (ra, a, reads_a) in enumerate(rules):
        for rb, b, reads_b in rules[i + 1 :]:
            if ra.name == rb.name or not reads_a & reads_b:
                continue
            op = SymbolicOperation(bundle.checked.vocabulary, codes)
            try:
                fa = _formulas(bundle, op, ra, day).rule(a.name)
                fb = _formulas(bundle, op, rb, day).rule(b.name)
                setting = _Setting(op, z3.IntVal(day.toordinal()), ())
                sides = (
                    _Side(regime=ra.name, rule=a, formulas=fa),
                    _Side(regime=rb.name, rule=b, formulas=fb),
                )
                found = _pair(bundle, setting, sides, controllable)
            except Untranslatable:
                continue
            if found is not None:
                findings.append(found)
    return findings


def _formulas(
    bundle: Bundle, op: SymbolicOperation, regime: ir.CheckedRegime, day: dt.date
) -> RegimeFormulas:
    translator = Translator(op, bundle.checked, regime, day, bundle.rates)
    return RegimeFormulas(translator, regime, day)


def _pair(
    bundle: Bundle,
    setting: _Setting,
    sides: tuple[_Side, _Side],
    controllable: frozenset[str],
) -> Finding | None:
    """The exists-forall question for one pair, by counterexample-guided search."""
    fa, fb = sides[0].formulas, sides[1].formulas
    op = setting.op
    controls = [v for p, vs in op.variables.items() if stem(p) in controllable for v in vs]
    situation = [v for p, vs in op.variables.items() if stem(p) not in controllable for v in vs]
    if not z3.is_int_value(setting.as_of):
        situation.append(setting.as_of)
    outer = z3.Solver()
    outer.set(timeout=SOLVE_MS)
    outer.add(fa.triggered, fb.triggered, *op.constraints, *setting.extra)
    both = z3.And(fa.quiet, fb.quiet)
    for _ in range(ROUNDS):
        if outer.check() != z3.sat:
            return None
        model = outer.model()
        fixed = [v == model.eval(v, model_completion=True) for v in situation]
        base = [*op.constraints, *setting.extra, *fixed]
        inner = _solve(both, *base)
        if inner is None:
            return None  # undecided: no claim
        if inner is False:
            if _solve(fa.quiet, *base) and _solve(fb.quiet, *base):
                return _finding(bundle, setting, sides, base)
            outer.add(z3.Not(z3.And(*fixed)))
            continue
        pairs = [(c, inner.eval(c, model_completion=True)) for c in controls]
        outer.add(z3.Not(z3.substitute(both, *pairs)) if pairs else z3.BoolVal(False))
    return None


def _solve(*goals: Any) -> Any:
    """A model, False (unsatisfiable) or None (undecided)."""
    solver = z3.Solver()
    solver.set(timeout=SOLVE_MS)
    solver.add(*goals)
    result = solver.check()
    if result == z3.sat:
        return solver.model()
    return False if result == z3.unsat else None


def _finding(
    bundle: Bundle, setting: _Setting, sides: tuple[_Side, _Side], base: list[Any]
) -> Finding:
    a, b = sides
    model = _solve(z3.Or(a.formulas.fires, b.formulas.fires), *base)
    certain = bool(model)
    if not certain:
        # no choice makes either rule certainly violated here: some leave it undetermined,
        # none complies with both for certain; the example shows one such choice
        model = _solve(*base)
    example = view = agrees = None
    if model:
        day = dt.date.fromordinal(model.eval(setting.as_of, model_completion=True).as_long())
        example = setting.op.operation(model, day)
        decision = decided(bundle, example)
        views = {s.regime: regime_view(decision, s.regime) for s in sides}
        view = views[b.regime] if a.regime == b.regime else views
        listed = any(s.rule.name in views[s.regime]["violations"] for s in sides)
        agrees = listed if certain else None
    where = "" if a.regime == b.regime else f" ({a.regime} and {b.regime})"
    return Finding(
        kind=FindingKind.CONTRADICTORY_OBLIGATIONS,
        regime=b.regime,
        rule=b.rule.name,
        message=f"rules `{a.rule.name}` and `{b.rule.name}`{where} contradict each other: in "
        "the example's situation no choice of what the organisation controls complies with both",
        span=b.rule.span,
        related=(a.rule.span,),
        example=example,
        decision=view,
        agrees=agrees,
    )


# ---- examples ---------------------------------------------------------------------------------


def _regime_reads(bundle: ir.CheckedBundle, regime: ir.CheckedRegime) -> set[str]:
    heads: set[str] = set()
    paths: list[str] = []
    for rule in regime.rules.values():
        paths += rule.facts_read
    for clause in regime.applies:
        paths += clause.facts_read
    for fine in regime.fines.values():
        paths += fine.facts_read
    for topic in regime.topics.values():
        paths += topic.described_by
    for derivation in bundle.derivations:
        paths += [*derivation.facts_read, derivation.path]
    for path in paths:
        heads.add(path.split("[]")[0])
    return heads


def _expectations(example: ir.CheckedExample) -> dict[tuple[str, str], str]:
    """(kind, subject) -> the expected value, comparable across examples."""
    found: dict[tuple[str, str], str] = {}
    for kind, value, _ in example.expect:
        if kind is ExpectKind.STATUS:
            found[("status", "")] = str(value)
        elif kind in (ExpectKind.VIOLATION, ExpectKind.NO_VIOLATION):
            found[("violation", str(value))] = str(kind)
        elif kind in (ExpectKind.EXPOSURE_MIN, ExpectKind.EXPOSURE_MAX):
            node = value[0] if isinstance(value, tuple) else value
            found[(str(kind), "")] = repr(getattr(node, "value", node))
    return found


def contradictory_examples(bundle: ir.CheckedBundle, regimes: Iterable[str]) -> list[Finding]:
    findings: list[Finding] = []
    for name in regimes:
        regime = bundle.regimes[name]
        reads = _regime_reads(bundle, regime)
        seen: dict[tuple[Any, ...], ir.CheckedExample] = {}
        for example in regime.examples:
            given = tuple(
                sorted(
                    (path, json.dumps(value, sort_keys=True, default=str))
                    for path, value in example.given
                    if path in reads
                )
            )
            key = (example.regime, example.as_of, given)
            earlier = seen.get(key)
            if earlier is None:
                seen[key] = example
                continue
            mine, theirs = _expectations(example), _expectations(earlier)
            clash = sorted(k for k in mine.keys() & theirs.keys() if mine[k] != theirs[k])
            if clash:
                what = ", ".join(f"{k[0]} {k[1]}".strip() for k in clash)
                findings.append(
                    Finding(
                        kind=FindingKind.CONTRADICTORY_EXAMPLES,
                        regime=name,
                        rule=None,
                        message=f'example "{example.description}" contradicts example '
                        f'"{earlier.description}" ({earlier.span}): the same operation for '
                        f"{name}, different expectations ({what})",
                        span=example.span,
                        related=(earlier.span,),
                    )
                )
    return findings
