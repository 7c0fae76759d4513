"""Stage 4: compiled regime + facts + as-of date -> `RegimeDecision`.

Semantics (shared/DESIGN.md): a regime out of force or whose `applies when` is false is
`not_applicable` (with the reason); any certain violation makes it `denied`; otherwise an
unknown rule outcome makes it `undetermined` (naming the missing facts); otherwise duties make it
`allowed_with_obligations`, else `allowed`. Exceptions override their rule the way statutes do
(default logic): the rule is violated only if no exception to it applies, recursively.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine import ir
from engine.compiler import Compiler, Context, Fn, kleene_and, kleene_not, kleene_or
from engine.decision import (
    Amount,
    ExposureLine,
    Obligation,
    RegimeDecision,
    RuleTrace,
    Violation,
)
from engine.values import UNKNOWN, ExchangeRates, MissingRate, Money


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: ir.CheckedRule
    when: Fn | None
    violation: Fn | None
    obligations: tuple[tuple[ir.CheckedObligation, Fn | None], ...]

    def in_force(self, day: dt.date) -> bool:
        return not self.rule.periods or self.rule.in_force(day)


@dataclass(frozen=True, slots=True)
class CompiledFine:
    fine: ir.CheckedFine
    low: Fn | None
    high: Fn
    steps: tuple[tuple[str, Fn], ...] = ()


def constant_value(node: ir.Node) -> Any:
    """Evaluate a fact-free expression (a parameter value, an expected exposure) once."""
    ctx = Context({}, dt.date.min, {}, ExchangeRates({}))
    return Compiler({}).compile(node)(ctx)


class CompiledRegime:
    def __init__(
        self, regime: ir.CheckedRegime, common_parameters: Mapping[str, ir.CheckedParameter]
    ):
        self.regime = regime
        compiler = Compiler(regime.defines)
        self.applies = tuple((a, compiler.compile(a.condition)) for a in regime.applies)
        self.rules: dict[str, CompiledRule] = {}
        for name, rule in regime.rules.items():
            self.rules[name] = CompiledRule(
                rule,
                compiler.compile(rule.when) if rule.when is not None else None,
                compiler.compile(rule.violation) if rule.violation is not None else None,
                tuple(
                    (o, compiler.compile(o.condition) if o.condition is not None else None)
                    for o in rule.obligations
                ),
            )
        self.base_rules = tuple(r for r in self.rules.values() if r.rule.exception_to is None)
        # answers that do not depend on the facts, built once
        self._applies_reasons = tuple(
            f"applies: {clause.cite or 'scope condition'}" for clause, _ in self.applies
        )
        cites = ", ".join(dict.fromkeys(c.cite for c, _ in self.applies if c.cite)) or "its scope"
        self._out_of_scope = self._decision(
            "not_applicable", (f"none of the scope conditions holds ({cites})",)
        )
        self.fines = {
            name: CompiledFine(
                fine,
                compiler.compile(fine.low) if fine.low is not None else None,
                compiler.compile(fine.high),
                tuple((step, compiler.definition(step)) for step in fine.steps),
            )
            for name, fine in regime.fines.items()
        }
        self._parameters = [
            (name, [(period, constant_value(node)) for period, node, _ in p.values])
            for name, p in {**common_parameters, **regime.parameters}.items()
        ]

    @lru_cache(maxsize=512)  # noqa: B019 - bounded; one entry per distinct as-of date
    def rules_on(self, day: dt.date) -> tuple[tuple[CompiledRule, bool], ...]:
        """The base rules, each with whether it is in force on `day`."""
        return tuple((compiled, compiled.in_force(day)) for compiled in self.base_rules)

    @lru_cache(maxsize=512)  # noqa: B019 - bounded; one entry per distinct as-of date
    def parameters_on(self, day: dt.date) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, dated in self._parameters:
            for period, value in dated:
                if period.contains(day):
                    values[name] = value
                    break
        return values

    # ---- rules --------------------------------------------------------------------------------

    def _exception_applies(self, name: str, ctx: Context) -> Any:
        """An exception applies when its `when` holds and no exception to it applies."""
        compiled = self.rules[name]
        if not compiled.rule.in_force(ctx.as_of):
            return False
        active = compiled.when(ctx) if compiled.when is not None else True
        if active is False:
            return False
        for sub in compiled.rule.exceptions:
            active = kleene_and(active, kleene_not(self._exception_applies(sub, ctx)))
        return active

    def evaluate(
        self,
        facts: Mapping[str, Any],
        as_of: dt.date,
        rates: ExchangeRates,
        reporting_currency: str,
        explain: bool = False,
    ) -> RegimeDecision:
        regime = self.regime
        ctx = Context(facts, as_of, self.parameters_on(as_of), rates)
        if regime.in_force is not None and not regime.in_force.contains(as_of):
            return self._decision(
                "not_applicable",
                (
                    f"{regime.name} is in force from {regime.in_force.start.isoformat()}"
                    + (f" until {regime.in_force.end.isoformat()}" if regime.in_force.end else "")
                    + f"; the operation is assessed as of {as_of.isoformat()}",
                ),
            )
        applies: Any = False
        reasons = []
        for index, (_, condition) in enumerate(self.applies):
            value = condition(ctx)
            applies = kleene_or(applies, value)
            if value is True:
                reasons.append(self._applies_reasons[index])
        if applies is False:
            return self._out_of_scope

        violations: list[Violation] = []
        obligations: list[Obligation] = []
        undetermined: list[str] = []
        missing: set[str] = set(ctx.missing) if applies is UNKNOWN else set()
        trace: list[RuleTrace] = []
        for compiled, in_force in self.rules_on(as_of):  # exceptions: inside their rule
            rule = compiled.rule
            if not in_force:
                if explain:
                    trace.append(self._trace(rule, "not_in_force", facts, ()))
                continue
            ctx.missing = set()
            when = compiled.when
            triggered = when(ctx) if when is not None else True
            if triggered is False:  # the commonest outcome, decided without a call
                if explain:
                    trace.append(self._trace(rule, "not_triggered", facts, ()))
                continue
            outcome, excepted = self._rule_outcome(compiled, ctx, obligations, triggered)
            rule_missing = tuple(sorted(ctx.missing)) if outcome == "undetermined" else ()
            if outcome == "violated":
                violations.append(self._violation(compiled, ctx, facts, reporting_currency))
            elif outcome == "undetermined":
                undetermined.append(rule.name)
                missing.update(rule_missing)
            if explain:
                trace.append(self._trace(rule, outcome, facts, rule_missing, excepted))

        if applies is UNKNOWN:
            status = "undetermined"
            reasons.append("whether the regime applies depends on missing facts")
        elif violations:
            status = "denied"
        elif undetermined:
            status = "undetermined"
        elif obligations:
            status = "allowed_with_obligations"
        else:
            status = "allowed"
        exposure = (
            self._aggregate(violations, as_of, rates, reporting_currency) if violations else {}
        )
        return RegimeDecision(
            regime.name,
            regime.title,
            status,
            tuple(reasons),
            tuple(violations),
            tuple(obligations),
            tuple(sorted(missing)),
            exposure,
            regime.currency,
            regime.aggregate,
            regime.aggregate_cite,
            tuple(undetermined),
            tuple(trace),
            regime.notes,
        )

    def _rule_outcome(
        self, compiled: CompiledRule, ctx: Context, obligations: list[Obligation], triggered: Any
    ) -> tuple[str, tuple[str, ...]]:
        """(outcome, exceptions that applied) of a rule whose `when` gave `triggered` (true or
        unknown). Appends the obligations the rule imposes."""
        rule = compiled.rule
        pending = False
        for obligation, condition in compiled.obligations:
            due = kleene_and(triggered, condition(ctx) if condition is not None else True)
            if due is True:
                obligations.append(
                    Obligation(rule.name, obligation.text, obligation.within, obligation.cite)
                )
            pending |= due is UNKNOWN
        if compiled.violation is None:
            return ("undetermined" if pending or triggered is UNKNOWN else "compliant"), ()
        violated = kleene_and(triggered, compiled.violation(ctx))
        applied: list[str] = []
        if violated is not False:
            for name in rule.exceptions:
                exception = self._exception_applies(name, ctx)
                if exception is True:
                    applied.append(name)
                    self._exception_obligations(name, ctx, obligations)
                violated = kleene_and(violated, kleene_not(exception))
        if violated is True:
            return "violated", ()
        if applied:
            return "excepted", tuple(applied)
        if violated is UNKNOWN or pending:
            return "undetermined", ()
        return ("compliant" if triggered is True else "not_triggered"), ()

    def _exception_obligations(
        self, name: str, ctx: Context, obligations: list[Obligation]
    ) -> None:
        compiled = self.rules[name]
        for obligation, condition in compiled.obligations:
            if (condition(ctx) if condition is not None else True) is True:
                obligations.append(
                    Obligation(name, obligation.text, obligation.within, obligation.cite)
                )

    # ---- exposure -----------------------------------------------------------------------------

    def _violation(
        self, compiled: CompiledRule, ctx: Context, facts: Mapping[str, Any], reporting: str
    ) -> Violation:
        rule = compiled.rule
        lines = []
        for fine_name in rule.fines:
            fine = self.fines[fine_name]
            ctx.missing = set()
            high = fine.high(ctx)
            if fine.fine.kind == "exactly":
                low = high
            elif fine.low is not None:
                low = fine.low(ctx)
            else:
                low = Money(Decimal(0), fine.fine.currency)
            low = None if low is UNKNOWN else low
            high = None if high is UNKNOWN else high
            amount = Amount(
                low,
                high,
                _convert(low, reporting, ctx.rates, ctx.as_of),
                _convert(high, reporting, ctx.rates, ctx.as_of),
            )
            line_missing = tuple(sorted(ctx.missing))
            ctx.missing = set()  # steps are shown, not what the amount waited for
            steps = tuple((name, step(ctx)) for name, step in fine.steps)
            lines.append(
                ExposureLine(
                    fine.fine.name,
                    fine.fine.title,
                    fine.fine.payer,
                    fine.fine.cite,
                    amount,
                    line_missing,
                    fine.fine.notes,
                    steps,
                )
            )
        return Violation(
            rule.name,
            rule.title,
            rule.cite,
            tuple(lines),
            _facts_of(rule.facts_read, facts),
            rule.notes,
        )

    def _aggregate(
        self, violations: list[Violation], as_of: dt.date, rates: ExchangeRates, reporting: str
    ) -> dict[str, Amount]:
        """Per payer: `gravest` caps the total at the gravest infringement's maximum (GDPR
        Art. 83(3), same or linked processing operations); `sum` adds the lines up."""
        by_payer: dict[str, list[ExposureLine]] = {}
        for violation in violations:
            for line in violation.exposure:
                by_payer.setdefault(line.payer, []).append(line)
        result = {}
        for payer, lines in by_payer.items():
            lows = [line.amount.min for line in lines]
            highs = [line.amount.max for line in lines]
            known = [h for h in highs if h is not None]
            if self.regime.aggregate == "gravest":
                low = None if None in lows else max(lows, key=_amount)  # type: ignore[arg-type]
                floor = max(known, key=_amount) if known else None
            else:
                low = _sum(lows)
                floor = _sum(known) if known else None  # type: ignore[arg-type]
            high = floor if len(known) == len(highs) else None
            at_least = floor if high is None else None
            result[payer] = Amount(
                low,
                high,
                _convert(low, reporting, rates, as_of),
                _convert(high, reporting, rates, as_of),
                at_least,
                _convert(at_least, reporting, rates, as_of),
            )
        return result

    def _decision(self, status: str, reasons: tuple[str, ...]) -> RegimeDecision:
        regime = self.regime
        return RegimeDecision(
            regime.name,
            regime.title,
            status,
            reasons,
            (),
            (),
            (),
            {},
            regime.currency,
            regime.aggregate,
            regime.aggregate_cite,
            notes=regime.notes,
        )

    def _trace(
        self,
        rule: ir.CheckedRule,
        outcome: str,
        facts: Mapping[str, Any],
        missing: tuple[str, ...],
        excepted: tuple[str, ...] = (),
    ) -> RuleTrace:
        return RuleTrace(
            rule.name,
            rule.title,
            rule.cite,
            outcome,
            _facts_of(rule.facts_read, facts),
            missing,
            excepted,
        )


def _amount(money: Money) -> Decimal:
    return money.amount


def _sum(values: list[Money | None]) -> Money | None:
    if any(v is None for v in values):
        return None
    total = values[0]
    for value in values[1:]:
        total = total + value  # type: ignore[operator]
    return total


def _convert(
    value: Money | None, currency: str, rates: ExchangeRates, day: dt.date
) -> Money | None:
    if value is None or value.currency == currency:
        return value
    try:
        return rates.convert(value, currency, day)
    except MissingRate:
        return None


def _facts_of(paths: tuple[str, ...], facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts a rule read and their values (None: missing; made JSON-ready only when the
    decision is serialised). List fields show the whole list."""
    shown: dict[str, Any] = {}
    for path in paths:
        key = path.split("[]")[0]
        if key not in shown:
            shown[key] = facts.get(key)
    return shown
