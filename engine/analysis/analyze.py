"""`lexgate analyze`: rules that can never fire, exceptions that swallow their rule (or never
apply), contradictory obligations and examples, provisions cited by no satisfiable rule.

"Never" means on no operation (lists up to LIST_BOUND entries) and on no day the rule is in
force: the days are cut at every date something the rule reads changes (its periods, the
parameters and rates it reads), and within each stretch `as_of` is a solver variable too.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import z3

from .. import ir
from ..bundle import Bundle
from . import LIST_BOUND
from .conflicts import contradictory_across, contradictory_examples, contradictory_obligations
from .findings import Finding, FindingKind, Report
from .outcomes import RegimeFormulas, RuleFormulas, base_rules
from .problem import FAR_PAST, codes_of, intervals, rule_nodes
from .symbolic import SymbolicOperation, Untranslatable
from .translate import Translator, is_true
from .witness import check, decided, regime_view


@dataclass(frozen=True, slots=True, kw_only=True)
class Stretch:
    """One stretch of days with the same law: its translation and solver variables."""

    start: dt.date
    end: dt.date
    op: SymbolicOperation
    formulas: RegimeFormulas
    as_of: Any
    extra: tuple[Any, ...]


class Stretches:
    def __init__(self, bundle: Bundle, codes: frozenset[str]):
        self.bundle = bundle
        self.codes = codes
        self._cache: dict[tuple[str, dt.date, dt.date], Stretch] = {}

    def get(self, regime: ir.CheckedRegime, start: dt.date, end: dt.date) -> Stretch:
        key = (regime.name, start, end)
        found = self._cache.get(key)
        if found is None:
            op = SymbolicOperation(self.bundle.checked.vocabulary, self.codes)
            as_of = z3.Int("as_of")
            extra = (as_of >= start.toordinal(), as_of < end.toordinal())
            translator = Translator(
                op, self.bundle.checked, regime, start, self.bundle.rates, as_of
            )
            found = Stretch(
                start=start,
                end=end,
                op=op,
                formulas=RegimeFormulas(translator, regime, start),
                as_of=as_of,
                extra=extra,
            )
            self._cache[key] = found
        return found

    def of_rule(self, regime: ir.CheckedRegime, rule: ir.CheckedRule) -> Iterator[Stretch]:
        """The stretches in which the rule and its regime are in force, latest first."""
        for start, end in reversed(intervals(rule_days(self.bundle.checked, regime, rule))):
            if rule.in_force(start) and (
                regime.in_force is None or regime.in_force.contains(start)
            ):
                yield self.get(regime, start, end)


def rule_days(
    bundle: ir.CheckedBundle, regime: ir.CheckedRegime, rule: ir.CheckedRule
) -> list[dt.date]:
    """The days on which something the rule (with its exceptions and its regime's scope) reads
    changes."""
    nodes = [c.condition for c in regime.applies]
    periods: list[Any] = []
    pending = [rule]
    while pending:
        current = pending.pop()
        nodes += rule_nodes(current)
        periods += current.periods  # an exception's own period cuts the rule's days too
        pending += [regime.rules[e] for e in current.exceptions]
    params, reads_money = set(), False
    seen: set[str] = set()
    while nodes:
        for node in ir.walk(nodes.pop()):
            if isinstance(node, ir.Param):
                params.add(node.name)
            elif isinstance(node, ir.Define) and node.name not in seen:
                seen.add(node.name)
                nodes.append(regime.defines[node.name].value)
            elif (isinstance(node, ir.Fact | ir.Field) and node.currency is not None) or (
                isinstance(node, ir.Op) and node.op is ir.OpCode.CONVERT
            ):
                reads_money = True
    if regime.in_force is not None:
        periods.append(regime.in_force)
    for name in params:
        parameter = regime.parameters.get(name) or bundle.parameters.get(name)
        if parameter is not None:
            periods += [p for p, _, _ in parameter.values]
    if reads_money:
        periods += [p for values in bundle.rates.values() for p, _, _ in values]
    days = {FAR_PAST}
    for period in periods:
        days.add(max(period.start, FAR_PAST))
        if period.end is not None:
            days.add(period.end)
    return sorted(days)


def statutory(bundle: ir.CheckedBundle) -> tuple[list[ir.CheckedRegime], list[str]]:
    chosen, skipped = [], []
    for name, regime in bundle.regimes.items():
        if str(getattr(regime, "kind", "statutory")) == "statutory":
            chosen.append(regime)
        else:
            skipped.append(name)
    return chosen, skipped


def analyze(
    bundle: Bundle, regimes: Iterable[str] | None = None, as_of: dt.date | None = None
) -> Report:
    """Every finding for the bundle's statutory regimes (or `regimes`). Rules of different
    regimes are paired on `as_of` (default: today), rules of one regime on every day."""
    started = time.perf_counter()
    checked = bundle.checked
    stretches = Stretches(bundle, codes_of([checked]))
    chosen, skipped = statutory(checked)
    if regimes is not None:
        wanted = set(regimes)
        chosen = [r for r in chosen if r.name in wanted]
    findings: list[Finding] = []
    rules = exceptions = 0
    for regime in chosen:
        alive: set[str] = set()
        dead: list[ir.CheckedRule] = []
        for rule in base_rules(regime):
            rules += 1
            exceptions += len(rule.exceptions)
            try:
                found, lives = _rule_findings(bundle, stretches, regime, rule)
            except Untranslatable as error:
                findings.append(_not_analysed(regime, rule, str(error)))
                continue
            findings += found
            (alive.add(rule.name) if lives else dead.append(rule))
        findings += _provisions(regime, alive, dead)
        findings += contradictory_obligations(bundle, stretches, regime)
    findings += contradictory_across(bundle, chosen, as_of or dt.date.today())
    findings += contradictory_examples(checked, [r.name for r in chosen])
    findings += [
        Finding(
            kind=FindingKind.DISAGREEMENT,
            regime=f.regime,
            rule=f.rule,
            message=f"the evaluator decided the example of this finding otherwise than the "
            f"solver claimed ({f.kind}): a bug in the translation, please report it",
            span=f.span,
            example=f.example,
            decision=f.decision,
            agrees=False,
        )
        for f in list(findings)
        if f.agrees is False
    ]
    return Report(
        findings=tuple(findings),
        bound=LIST_BOUND,
        rules=rules,
        exceptions=exceptions,
        regimes=tuple(r.name for r in chosen),
        skipped=tuple(skipped),
        seconds=time.perf_counter() - started,
    )


def _not_analysed(regime: ir.CheckedRegime, rule: ir.CheckedRule, why: str) -> Finding:
    return Finding(
        kind=FindingKind.NOT_ANALYSED,
        regime=regime.name,
        rule=rule.name,
        message=f"rule `{rule.name}` is not analysed: it {why}; no result is claimed for it",
        span=rule.span,
    )


def _rule_findings(
    bundle: Bundle, stretches: Stretches, regime: ir.CheckedRegime, rule: ir.CheckedRule
) -> tuple[list[Finding], bool]:
    """(findings, whether the rule can fire)."""
    findings: list[Finding] = []
    alone: list[tuple[Stretch, RuleFormulas]] = []  # stretches where it fires without exceptions
    fires = False
    undecided = False
    for stretch in stretches.of_rule(regime, rule):
        formulas = stretch.formulas.rule(rule.name)
        answer = check(stretch.op, formulas.fires_alone, minimise=False, extra=stretch.extra)
        if answer.status == "unknown":
            undecided = True
        if answer.status != "sat":
            continue
        alone.append((stretch, formulas))
        if not fires:
            fired = check(stretch.op, formulas.fires, minimise=False, extra=stretch.extra)
            fires = fired.status == "sat"
            undecided |= fired.status == "unknown"
    if undecided and not fires:
        findings.append(
            Finding(
                kind=FindingKind.UNDECIDED,
                regime=regime.name,
                rule=rule.name,
                message=f"the solver could not decide whether rule `{rule.name}` can fire "
                "(time limit or nonlinear arithmetic); no result is claimed",
                span=rule.span,
            )
        )
        return findings, True
    if not alone:
        findings.append(
            Finding(
                kind=FindingKind.DEAD_RULE,
                regime=regime.name,
                rule=rule.name,
                message=f"rule `{rule.name}` can never fire: no operation (lists up to "
                f"{LIST_BOUND} entries) on any day it is in force satisfies it",
                span=rule.span,
            )
        )
        return findings, False
    swallowed = False
    for name in rule.exceptions:
        exception = regime.rules[name]
        if not any(
            check(
                s.op,
                z3.And(f.fires_alone, z3.Not(is_true(f.exceptions[name]))),
                minimise=False,
                extra=s.extra,
            ).status
            != "unsat"
            for s, f in alone
        ):
            swallowed = True
            findings.append(_swallowing(bundle, regime, rule, exception, alone[0]))
        elif not any(
            check(
                s.op,
                z3.And(f.fires_alone, is_true(f.exceptions[name])),
                minimise=False,
                extra=s.extra,
            ).status
            != "unsat"
            for s, f in alone
        ):
            findings.append(
                Finding(
                    kind=FindingKind.DEAD_EXCEPTION,
                    regime=regime.name,
                    rule=name,
                    message=f"exception `{name}` never applies when rule `{rule.name}` would fire",
                    span=exception.span,
                    related=(rule.span,),
                )
            )
    if not fires and not swallowed:
        findings.append(
            Finding(
                kind=FindingKind.EXCEPTIONS_COVER_RULE,
                regime=regime.name,
                rule=rule.name,
                message=f"rule `{rule.name}` can never fire: its exceptions "
                f"({', '.join(rule.exceptions)}) together cover every case it would fire in",
                span=rule.span,
                related=tuple(regime.rules[e].span for e in rule.exceptions),
            )
        )
    return findings, fires


def _swallowing(
    bundle: Bundle,
    regime: ir.CheckedRegime,
    rule: ir.CheckedRule,
    exception: ir.CheckedRule,
    where: tuple[Stretch, RuleFormulas],
) -> Finding:
    stretch, formulas = where
    answer = check(stretch.op, formulas.fires_alone, stretch.as_of, extra=stretch.extra)
    example = answer.operation
    view, agrees = None, None
    if example is not None:
        decision = decided(bundle, example)
        view = regime_view(decision, regime.name)
        excepted = [
            t for t in decision.regimes[regime.name].trace if exception.name in t.exceptions
        ]
        agrees = rule.name not in view["violations"] and bool(excepted)
    return Finding(
        kind=FindingKind.SWALLOWING_EXCEPTION,
        regime=regime.name,
        rule=exception.name,
        message=f"exception `{exception.name}` applies whenever rule `{rule.name}` would "
        f"fire: the rule is dead",
        span=exception.span,
        related=(rule.span,),
        example=example,
        decision=view,
        agrees=agrees,
    )


def _provisions(
    regime: ir.CheckedRegime, alive: set[str], dead: list[ir.CheckedRule]
) -> list[Finding]:
    """Provisions (a rule's `cite`) that only dead rules cite."""
    cited_alive = {regime.rules[n].cite for n in alive}
    found = []
    for rule in dead:
        if rule.cite and rule.cite not in cited_alive:
            found.append(
                Finding(
                    kind=FindingKind.PROVISION_WITHOUT_RULE,
                    regime=regime.name,
                    rule=rule.name,
                    message=f"provision `{rule.cite}` is cited by no rule that can fire",
                    span=rule.span,
                )
            )
            cited_alive.add(rule.cite)  # once per provision
    return found
