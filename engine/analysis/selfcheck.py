"""The translation checked against the evaluator, rule by rule: for each base rule, on the latest
stretch of law in which it can fire, the solver's example of the rule firing, of the rule
triggered but complied with, and of each of its exceptions applying; each example is decided by
the evaluator, which must agree (tests/analysis/test_agreement.py runs it on every rule of the
shipped packs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import z3

from ..bundle import Bundle
from ..tester import operation_from
from .analyze import Stretches
from .outcomes import RegimeFormulas, base_rules
from .problem import change_days, codes_of, intervals
from .symbolic import SymbolicOperation
from .translate import Translator, is_true
from .witness import check, decided, regime_view


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    regime: str
    rule: str
    claim: str  # fires | complies | excepted by NAME
    example: dict[str, Any]
    decision: dict[str, Any]
    agrees: bool


def agreements(bundle: Bundle, regime_name: str) -> Iterator[Agreement]:
    regime = bundle.checked.regimes[regime_name]
    stretches = Stretches(bundle, codes_of([bundle.checked]))
    # the scope, on the latest stretch of law: in scope, and certainly out of it
    start, end = intervals(change_days(bundle.checked, regime))[-1]
    latest = stretches.get(regime, start, end)
    for claim, goal, applicable in (
        ("applies", latest.formulas.applies(), True),
        ("out of scope", latest.formulas.out_of_scope(), False),
    ):
        answer = check(latest.op, goal, latest.as_of, extra=latest.extra)
        if answer.operation is not None:
            view = regime_view(decided(bundle, answer.operation), regime_name)
            yield Agreement(
                regime=regime_name,
                rule="",
                claim=claim,
                example=answer.operation,
                decision=view,
                agrees=(view["status"] != "not_applicable") is applicable,
            )
    for rule in base_rules(regime):
        for stretch in stretches.of_rule(regime, rule):
            formulas = stretch.formulas.rule(rule.name)
            key = "violations" if formulas.kind == "violation" else "obligations"
            goals: list[tuple[str, Any, bool]] = [
                ("fires", formulas.fires, True),
                ("complies", z3.And(formulas.triggered, formulas.quiet), False),
            ]
            goals += [
                (f"excepted by {name}", z3.And(formulas.fires_alone, is_true(applies)), False)
                for name, applies in formulas.exceptions.items()
                if formulas.kind == "violation"  # the evaluator excuses only a violation
            ]
            found = False
            for claim, goal, listed in goals:
                answer = check(stretch.op, goal, stretch.as_of, extra=stretch.extra)
                if answer.operation is None:
                    continue
                found = True
                view = regime_view(decided(bundle, answer.operation), regime_name)
                yield Agreement(
                    regime=regime_name,
                    rule=rule.name,
                    claim=claim,
                    example=answer.operation,
                    decision=view,
                    agrees=(rule.name in view[key]) is listed,
                )
            if found:
                break  # the latest stretch in which the rule can do anything


@dataclass(frozen=True, slots=True, kw_only=True)
class ExampleCheck:
    claims: int  # definite answers the formulas gave on the examples' operations
    disagreements: tuple[str, ...]  # example, rule, what the formula said
    skipped: int  # examples whose values the encoding cannot pin exactly


def example_agreements(bundle: Bundle, regime_name: str) -> ExampleCheck:
    """The formulas evaluated on the pack's own example operations (every fact pinned to the
    example's value, every other fact unknown) against the evaluator's decision of them: where a
    formula is definite, the evaluator must say the same. The examples are operations written
    by lawyers, not by the solver."""
    regime = bundle.checked.regimes[regime_name]
    codes = codes_of([bundle.checked])
    claims, skipped, wrong = 0, 0, []
    translated: dict[dt.date, tuple[SymbolicOperation, RegimeFormulas, dict[str, Any]]] = {}
    for example in regime.examples:
        facts, _ = bundle.schema.validate(operation_from(example.given))
        day = example.as_of or dt.date.today()
        if day not in translated:  # one translation per day, pinned per example
            op = SymbolicOperation(bundle.checked.vocabulary, codes)
            translator = Translator(op, bundle.checked, regime, day, bundle.rates)
            formulas = RegimeFormulas(translator, regime, day)
            translated[day] = (
                op,
                formulas,
                {r.name: formulas.rule(r.name) for r in base_rules(regime)},
            )
        op, formulas, rules = translated[day]
        pins = op.pin(facts)
        if pins is None:
            skipped += 1
            continue
        view = regime_view(bundle.decide_facts(facts, day), regime_name)
        solver = z3.Solver()
        solver.add(*op.constraints, *pins)
        goals: list[tuple[str, Any, bool]] = [
            ("scope", formulas.applies(), view["status"] != "not_applicable"),
            ("scope", formulas.out_of_scope(), view["status"] == "not_applicable"),
        ]
        for name, f in rules.items():
            key = "violations" if f.kind == "violation" else "obligations"
            goals += [(name, f.fires, name in view[key]), (name, f.quiet, name not in view[key])]
        for name, goal, evaluator_agrees in goals:
            solver.push()
            solver.add(goal)
            holds = solver.check() == z3.sat
            solver.pop()
            if holds:
                claims += 1
                if not evaluator_agrees:
                    wrong.append(f"{example.span} {name}: {view}")
    return ExampleCheck(claims=claims, disagreements=tuple(wrong), skipped=skipped)
