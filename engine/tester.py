"""`lexgate test`: run the `example` blocks of a bundle and measure coverage.

An example's `given` is turned into the operation JSON a CRM would send and goes through the same
validation as an API request, so examples also prove the vocabulary. Coverage counts a rule as
exercised when its `when` held in at least one example (violated, complied with, or excepted),
and a cited provision as exercised when one of its rules was.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from . import ir
from .ast import ExpectKind
from .bundle import Bundle
from .decision import Decision
from .diagnostics import LexgateError, Span
from .fold import constant_value
from .timebox import TimeLimitExceeded, run_limited
from .values import Money

EXERCISED = {"violated", "compliant", "excepted", "duty_open"}
# Examples decide in milliseconds; one that takes seconds has facts a rule's work explodes on.
EXAMPLE_TIME_LIMIT = 5.0


@dataclass(frozen=True, slots=True)
class ExampleResult:
    regime: str
    description: str
    span: Span
    failures: tuple[str, ...]
    decision: Decision | None

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class Coverage:
    rules: dict[str, bool] = field(default_factory=dict)  # rule -> exercised
    provisions: dict[str, bool] = field(default_factory=dict)  # cite -> exercised

    @staticmethod
    def percent(items: dict[str, bool]) -> float:
        return 100.0 * sum(items.values()) / len(items) if items else 100.0


@dataclass
class TestReport:
    results: list[ExampleResult]
    coverage: dict[str, Coverage]  # regime -> coverage

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def operation_from(given: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """{"controller.establishments": [...]} -> {"controller": {"establishments": [...]}}."""
    operation: dict[str, Any] = {}
    for path, value in given:
        *groups, leaf = path.split(".")
        target = operation
        for group in groups:
            target = target.setdefault(group, {})
        target[leaf] = value
    return operation


def _outcome(example: ir.CheckedExample, regime: Any) -> str:
    """What an example got, in the words of `expect`: the status, then the violations,
    obligations, missing facts and topics not assessed, when there are any, and the exposure
    bounds the example expects."""
    parts = [str(regime.status)]
    parts += [f"violation {r}" for r in sorted({v.rule for v in regime.violations})]
    parts += [f"obligation {r}" for r in sorted({o.rule for o in regime.obligations})]
    parts += [f"missing {m}" for m in regime.missing]
    parts += [f"not assessed {n.topic}" for n in regime.not_assessed]
    for kind, expected, _span in example.expect:
        if kind.startswith("exposure"):
            payer = expected[1]
            parts.append(f"{_bound(kind, payer)} = {_exposure(regime, kind, payer) or 'none'}")
    return ", ".join(parts)


def _bound(kind: str, payer: str) -> str:
    whose = "" if payer == "organisation" else f' for "{payer}"'
    return f"exposure {kind.removeprefix('exposure_').replace('_', ' ')}{whose}"


def _exposure(regime: Any, kind: str, payer: str) -> Money | None:
    amount = regime.exposure.get(payer)
    if amount is None:
        return None
    bounds: dict[str, Money | None] = {
        ExpectKind.EXPOSURE_MAX: amount.max,
        ExpectKind.EXPOSURE_MIN: amount.min,
        ExpectKind.EXPOSURE_MAX_AT_LEAST: amount.max_at_least,
    }
    return bounds.get(kind)


def _expected(example: ir.CheckedExample) -> str:
    """The example's `expect` clause, as written (amounts as values)."""
    words = []
    for kind, expected, _span in example.expect:
        if kind == ExpectKind.STATUS:
            words.append(str(expected))
        elif kind.startswith("exposure"):
            node, payer = expected
            words.append(f"{_bound(kind, payer)} = {constant_value(node)}")
        else:
            words.append(f"{kind.replace('_', ' ')} {expected}")
    return ", ".join(words)


def _check(example: ir.CheckedExample, decision: Decision) -> list[str]:
    """Each unmet expectation, then (when there is one) what was expected and what was got,
    whole: a lawyer sees at once which violations and obligations the example came to."""
    failures = _unmet(example, decision)
    if failures:
        failures.append(f"expected: {_expected(example)}")
        failures.append(f"got:      {_outcome(example, decision.regime(example.regime))}")
    return failures


def _unmet(example: ir.CheckedExample, decision: Decision) -> list[str]:
    regime = decision.regime(example.regime)
    violated = {v.rule for v in regime.violations}
    obliged = {o.rule for o in regime.obligations}
    failures = []
    for kind, expected, _span in example.expect:
        if kind == ExpectKind.STATUS and regime.status != expected:
            details = []
            if regime.violations:
                details.append(f"violations: {', '.join(sorted(violated))}")
            if regime.obligations:
                details.append(f"obligations from: {', '.join(sorted(obliged))}")
            if regime.undetermined_rules:
                undecided = ", ".join(
                    f"{u.rule} ({', '.join(u.missing) or 'missing facts'})"
                    for u in regime.undetermined_rules
                )
                details.append(f"undetermined: {undecided}")
            detail = f" ({'; '.join(details)})" if details else ""
            failures.append(f"expected {expected}, got {regime.status}{detail}")
        elif kind == ExpectKind.VIOLATION and expected not in violated:
            failures.append(
                f"expected a violation of `{expected}`; violated: "
                f"{', '.join(sorted(violated)) or 'nothing'}"
            )
        elif kind == ExpectKind.NO_VIOLATION and expected in violated:
            failures.append(f"expected no violation of `{expected}`, but it is violated")
        elif kind == ExpectKind.OBLIGATION and expected not in obliged:
            failures.append(
                f"expected an obligation from `{expected}`; obligations from: "
                f"{', '.join(sorted(obliged)) or 'nothing'}"
            )
        elif kind == ExpectKind.MISSING and expected not in regime.missing:
            failures.append(
                f"expected `{expected}` to be missing; missing: "
                f"{', '.join(regime.missing) or 'nothing'}"
            )
        elif kind == ExpectKind.NOT_ASSESSED and expected not in {
            n.topic for n in regime.not_assessed
        }:
            failures.append(
                f"expected topic `{expected}` not to be assessed; not assessed: "
                f"{', '.join(n.topic for n in regime.not_assessed) or 'nothing'}"
            )
        elif kind.startswith("exposure"):
            node, payer = expected
            want: Money = constant_value(node)
            amount = regime.exposure.get(payer)
            got = None
            if amount is not None:
                got = {
                    ExpectKind.EXPOSURE_MAX: amount.max,
                    ExpectKind.EXPOSURE_MIN: amount.min,
                    ExpectKind.EXPOSURE_MAX_AT_LEAST: amount.max_at_least,
                }[kind]
            if got is None or got.currency != want.currency or got.amount != want.amount:
                bound = kind.removeprefix("exposure_").replace("_", " ")
                whose = "" if payer == "organisation" else f" for {payer}"
                failures.append(f"expected exposure {bound}{whose} {want}, got {got or 'none'}")
    return failures


def run_examples(
    bundle: Bundle, regime: str | None = None, time_limit: float = EXAMPLE_TIME_LIMIT
) -> TestReport:
    """Run the examples (each within `time_limit` seconds: an example that takes longer fails,
    so neither `lexgate test` nor a reload can hang on one)."""
    results = []
    exercised: dict[str, set[str]] = defaultdict(set)
    for checked in bundle.checked.regimes.values():
        if regime is not None and checked.name.lower() != regime.lower():
            continue
        for example in checked.examples:
            as_of = example.as_of or dt.date.today()
            try:
                facts, _ = bundle.schema.validate(operation_from(example.given))
            except LexgateError as error:
                results.append(
                    ExampleResult(
                        checked.name,
                        example.description,
                        example.span,
                        tuple(
                            f"the example's facts are invalid: {d.message}"
                            for d in error.diagnostics
                        ),
                        None,
                    )
                )
                continue
            try:
                decision = run_limited(
                    time_limit,
                    functools.partial(
                        bundle.decide_facts,
                        facts,
                        as_of,
                        checked.currency,
                        explain=True,
                        regimes=[checked.name],
                    ),
                )
            except TimeLimitExceeded:
                results.append(
                    ExampleResult(
                        checked.name,
                        example.description,
                        example.span,
                        (
                            f"the example took longer than its time limit of {time_limit:g} s "
                            "(a rule's work grows too fast with the example's facts)",
                        ),
                        None,
                    )
                )
                continue
            for trace in decision.regime(checked.name).trace:
                if trace.outcome in EXERCISED:
                    exercised[checked.name].add(trace.rule)
                exercised[checked.name].update(trace.exceptions)
            results.append(
                ExampleResult(
                    checked.name,
                    example.description,
                    example.span,
                    tuple(_check(example, decision)),
                    decision,
                )
            )
    coverage = {}
    for checked in bundle.checked.regimes.values():
        if regime is not None and checked.name.lower() != regime.lower():
            continue
        rules = {name: name in exercised[checked.name] for name in checked.rules}
        provisions: dict[str, bool] = {}
        for name, rule in checked.rules.items():
            if rule.cite:
                provisions[rule.cite] = provisions.get(rule.cite, False) or rules[name]
        coverage[checked.name] = Coverage(rules, provisions)
    return TestReport(results, coverage)
