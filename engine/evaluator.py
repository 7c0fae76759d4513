"""Stage 4: compiled regime + facts + as-of date -> `RegimeDecision`.

Semantics (shared/DESIGN.md, docs/LANGUAGE.md):
- a regime out of force, or whose `applies when` is certainly false, is `not_applicable`;
- a rule whose topic the operation does not describe is *not assessed*, and the decision lists
  the topic (`not_assessed`) instead of passing it silently;
- each other rule is evaluated with Kleene logic first; an unknown outcome is settled over the
  completions of the missing finite facts (engine/completion.py), so a rule is unknown only if
  two completions disagree;
- a rule's `duty … met when C` is violated when C is false (a stated gap); when C is unknown the
  duty stands as an obligation, naming the facts that would confirm it;
- exceptions override their rule the way statutes do (default logic), recursively;
- status: any certain violation -> `denied`; else any unknown rule (or an unknown scope) ->
  `undetermined`; else duties and obligations -> `allowed_with_obligations`; else `allowed`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import ir
from .compiler import Compiler, Context, Fn
from .completion import UNDECIDED, Domains, Settled, completions, settle, with_values
from .decision import (
    ExposureLine,
    NotAssessed,
    Obligation,
    Outcome,
    RegimeDecision,
    RuleTrace,
    Status,
    UndeterminedRule,
    Violation,
)
from .exposure import FineLine, aggregate, monotone_floors
from .fold import constant_value
from .logic import and3, not3, or3
from .reads import kleene_exact
from .values import UNKNOWN, ExchangeRates
from .verdicts import (
    _COMPLIANT,
    _NOT_TRIGGERED,
    _VIOLATED,
    Verdict,
    _exception_obligations,
    exceptions_not_applied,
    facts_of,
    finite_reads,
    joined,
    owed,
    settle_note,
)

Derive = Callable[[Mapping[str, Any]], Mapping[str, Any]]
# answers remembered per regime for inputs that recur (which topics are absent): a bound, so
# odd inputs cannot grow a long-running service's memory
_MAX_REMEMBERED = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledRule:
    rule: ir.CheckedRule
    when: Fn | None
    violation: Fn | None
    obligations: tuple[tuple[ir.CheckedObligation, Fn | None], ...]
    duties: tuple[tuple[ir.CheckedDuty, Fn], ...]
    confirmations: frozenset[str]  # facts the duties read: never filled in by a completion
    kleene_exact: bool  # read-once over finite facts: completions cannot settle more
    # stated false and no duty stated unmet: no completion violates it (no exception of it
    # imposes obligations of its own, and no derivation fills a duty's confirmation)
    never_violated: bool
    finite_reads: tuple[str, ...]  # finite facts a completion may fill in (static names)


class CompiledRegime:
    def __init__(
        self,
        regime: ir.CheckedRegime,
        common_parameters: Mapping[str, ir.CheckedParameter],
        domains: Domains,
        derived: frozenset[str] = frozenset(),
    ):
        self.regime = regime
        self.domains = domains
        compiler = Compiler(regime.defines)
        defines = {name: d.value for name, d in regime.defines.items()}

        def finite(path: str) -> bool:
            return domains.of(path.replace("[]", "[0]")) is not None

        self.applies = tuple((a, compiler.compile(a.condition)) for a in regime.applies)
        self.applies_exact = kleene_exact([a.condition for a in regime.applies], defines, finite)
        self._applies_reads = tuple(
            sorted({p for a in regime.applies for p in a.facts_read if finite(p)})
        )
        self.rules: dict[str, CompiledRule] = {}
        for name, rule in regime.rules.items():
            self.rules[name] = CompiledRule(
                rule=rule,
                when=compiler.compile(rule.when) if rule.when is not None else None,
                violation=compiler.compile(rule.violation) if rule.violation is not None else None,
                obligations=tuple(
                    (o, compiler.compile(o.condition) if o.condition is not None else None)
                    for o in rule.obligations
                ),
                duties=tuple((d, compiler.compile(d.met)) for d in rule.duties),
                confirmations=frozenset(path for d in rule.duties for path in d.facts_read),
                # read-once: three-valued logic already says whether it is violated; with no
                # obligation or duty there is nothing else a completion could settle
                kleene_exact=not rule.obligations
                and not rule.duties
                and not any(regime.rules[e].obligations for e in rule.exceptions)
                and kleene_exact(self._rule_nodes(rule, regime), defines, finite),
                never_violated=not _exception_obligations(rule, regime)
                and not {p for d in rule.duties for p in d.facts_read} & derived,
                finite_reads=finite_reads(rule, regime, finite),
            )
        self.base_rules = tuple(r for r in self.rules.values() if r.rule.exception_to is None)
        # answers that do not depend on the facts, built once
        self._applies_reasons = tuple(
            f"applies: {clause.cite or 'scope condition'}" for clause, _ in self.applies
        )
        cites = ", ".join(dict.fromkeys(c.cite for c, _ in self.applies if c.cite)) or "its scope"
        self._out_of_scope = self._decision(
            Status.NOT_APPLICABLE, (f"none of the scope conditions holds ({cites})",)
        )
        self.fines = {
            name: FineLine(
                fine,
                compiler.compile(fine.low) if fine.low is not None else None,
                compiler.compile(fine.high),
                tuple((step, compiler.definition(step)) for step in fine.steps),
                monotone_floors(fine.high, regime.defines, fine.currency),
                tuple(p for p in fine.facts_read if finite(p)),
            )
            for name, fine in regime.fines.items()
        }
        self._parameters = [
            (name, [(period, constant_value(node)) for period, node, _ in p.values])
            for name, p in {**common_parameters, **regime.parameters}.items()
        ]
        self._topic_rules = {
            topic: tuple(r.rule.name for r in self.base_rules if r.rule.topic == topic)
            for topic in regime.topics
        }
        self._topic_paths = tuple((name, t.described_by) for name, t in regime.topics.items())
        # which topics an operation leaves out -> what the decision says of them: one answer
        # per combination seen, bounded (the answer does not depend on the facts' values)
        self._absent_topics: dict[
            tuple[str, ...], tuple[tuple[NotAssessed, ...], frozenset[str]]
        ] = {}

    @staticmethod
    def _rule_nodes(rule: ir.CheckedRule, regime: ir.CheckedRegime) -> list[ir.Node]:
        """What a rule's verdict reads besides its duties: its own conditions and, recursively,
        its exceptions'."""
        nodes = [n for n in (rule.when, rule.violation) if n is not None]
        nodes += [o.condition for o in rule.obligations if o.condition is not None]
        for name in rule.exceptions:
            nodes += CompiledRegime._rule_nodes(regime.rules[name], regime)
        return nodes

    @lru_cache(maxsize=512)  # noqa: B019 - bounded; one entry per distinct as-of date
    def rules_on(self, day: dt.date) -> tuple[tuple[CompiledRule, bool], ...]:
        """The base rules, each with whether it is in force on `day`."""
        return tuple((compiled, compiled.rule.in_force(day)) for compiled in self.base_rules)

    @lru_cache(maxsize=512)  # noqa: B019 - bounded; one entry per distinct as-of date
    def parameters_on(self, day: dt.date) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, dated in self._parameters:
            for period, value in dated:
                if period.contains(day):
                    values[name] = value
                    break
        return values

    # ---- one rule under one set of facts ------------------------------------------------------

    def _exception_applies(self, name: str, ctx: Context, obligations: list[Obligation]) -> Any:
        """An exception applies when its `when` holds and no exception to it applies; the
        obligations it carries are added when it certainly applies."""
        compiled = self.rules[name]
        if not compiled.rule.in_force(ctx.as_of):
            return False
        active = compiled.when(ctx) if compiled.when is not None else True
        if active is False:
            return False
        for sub in compiled.rule.exceptions:
            active = and3(active, not3(self._exception_applies(sub, ctx, [])))
        if active is True:
            for obligation, condition in compiled.obligations:
                if (condition(ctx) if condition is not None else True) is True:
                    obligations.append(owed(name, obligation, ctx))
        return active

    def _verdict(self, compiled: CompiledRule, ctx: Context) -> Verdict | None:
        """The rule's verdict under `ctx`'s facts, or None when Kleene logic leaves it unknown."""
        triggered = compiled.when(ctx) if compiled.when is not None else True
        if triggered is False:
            return _NOT_TRIGGERED
        return self._triggered_verdict(compiled, ctx, triggered)

    def _triggered_verdict(
        self, compiled: CompiledRule, ctx: Context, triggered: Any
    ) -> Verdict | None:
        """`_verdict` once the rule's `when` gave `triggered` (true or unknown)."""
        rule = compiled.rule
        obligations: list[Obligation] = []
        maybe: list[ir.CheckedObligation] = []  # owed in some completions
        for obligation, condition in compiled.obligations:
            due = and3(triggered, condition(ctx) if condition is not None else True)
            if due is True:
                obligations.append(owed(rule.name, obligation, ctx))
            elif due is UNKNOWN:
                maybe.append(obligation)
        pending = bool(maybe)
        stated = compiled.violation(ctx) if compiled.violation is not None else False
        open_duties = []
        gap: Any = False
        if compiled.duties:
            for duty, met in compiled.duties:
                value = met(ctx)
                gap = or3(gap, not3(value))
                if value is UNKNOWN:
                    open_duties.append(duty)
            violated = and3(triggered, or3(stated, gap))
        else:
            violated = and3(triggered, stated)
        applied: list[str] = []
        exception_unknown = False
        if violated is not False:
            for name in rule.exceptions:
                exception = self._exception_applies(name, ctx, obligations)
                if exception is True:
                    applied.append(name)
                exception_unknown |= exception is UNKNOWN
                violated = and3(violated, not3(exception))
        if violated is True:
            return (
                Verdict(Outcome.VIOLATED, carried=tuple(obligations)) if obligations else _VIOLATED
            )
        if applied:
            return Verdict(Outcome.EXCEPTED, tuple(obligations), tuple(applied))
        if (
            (pending or violated is UNKNOWN)
            and stated is False
            and gap is not True
            and (compiled.never_violated)
        ):
            # No completion can violate it: the violation condition is false whatever the
            # missing facts are, and its duties' confirmations are never filled in. Whatever it
            # may impose is owed, conditionally where the missing facts decide it.
            return self._owed_if(
                compiled, ctx, triggered, obligations, maybe, open_duties, exception_unknown
            )
        if pending:
            return None
        if violated is False:
            if not obligations:
                return _COMPLIANT if triggered is True else _NOT_TRIGGERED
            outcome = Outcome.COMPLIANT if triggered is True else Outcome.NOT_TRIGGERED
            return Verdict(outcome, tuple(obligations))
        # unknown: only the duties' confirmations missing, nothing else in doubt -> the duties
        # stand as obligations (a duty not stated as met is owed, not a question of the law)
        if triggered is True and stated is False and not exception_unknown and open_duties:
            for duty in open_duties:
                obligations.append(owed(rule.name, duty, ctx))
            return Verdict(Outcome.DUTY_OPEN, tuple(obligations))
        return None

    def _owed_if(
        self,
        compiled: CompiledRule,
        ctx: Context,
        triggered: Any,
        certain: list[Obligation],
        maybe: list[ir.CheckedObligation],
        open_duties: list[ir.CheckedDuty],
        exception_unknown: bool,
    ) -> Verdict:
        rule = compiled.rule
        duties_certain = triggered is True and not exception_unknown
        # what the owed-if-so obligations wait for; most rules here are duties owed outright
        depends_on: tuple[str, ...] = ()
        if maybe or not duties_certain:
            depends_on = tuple(sorted(p for p in ctx.missing if p not in compiled.confirmations))
        imposed = list(certain)
        imposed += [owed(rule.name, o, ctx, depends_on) for o in maybe]
        duty_if = () if duties_certain else depends_on
        imposed += [owed(rule.name, d, ctx, duty_if) for d in open_duties]
        if open_duties:
            return Verdict(Outcome.DUTY_OPEN, tuple(imposed))
        return Verdict(Outcome.COMPLIANT, tuple(imposed)) if imposed else _COMPLIANT

    def _settle(
        self, compiled: CompiledRule, ctx: Context, context: Callable[[Mapping[str, Any]], Context]
    ) -> tuple[Verdict | None, tuple[str, ...], Settled | None]:
        """A rule the first pass left unknown, over the completions of the missing facts:
        (verdict or None if still unknown, the missing facts it waits for, how it went)."""
        missing = ctx.missing
        if compiled.kleene_exact:
            return None, tuple(sorted(missing)), None

        def evaluate(assignment: Mapping[str, Any]) -> tuple[Any, set[str]]:
            branch = context(assignment)
            result = self._verdict(compiled, branch)
            return (UNDECIDED if result is None else result), branch.missing

        settled = settle(
            evaluate,
            (UNDECIDED, missing),
            self.domains,
            compiled.confirmations,
            completions(compiled.finite_reads, ctx.given, self.domains),
            combine=joined,
        )
        if settled.outcome is UNDECIDED:
            return None, tuple(sorted(missing)), settled
        verdict = settled.outcome
        if verdict.certain is None:
            # settled over completions: what a branch carried need not hold for the operation
            return Verdict(verdict.outcome, verdict.obligations), (), settled
        depends_on = tuple(sorted(p for p in missing if p not in compiled.confirmations))
        obligations = tuple(
            o if o in verdict.certain else dataclasses.replace(o, if_facts=depends_on)
            for o in verdict.obligations
        )
        return Verdict(verdict.outcome, obligations), (), settled

    # ---- the regime ---------------------------------------------------------------------------

    def contexts(
        self,
        facts: Mapping[str, Any],
        as_of: dt.date,
        rates: ExchangeRates,
        derive: Derive | None = None,
        derive_inputs: frozenset[str] = frozenset(),
    ) -> tuple[Context, Callable[[Mapping[str, Any]], Context]]:
        """The first pass's context for `facts`, and a maker of contexts with some missing
        facts filled in (a completion). Definitions the first pass evaluated without reading
        any filled-in fact keep their values (a definition reads the same facts whatever the
        others are), so a completion re-evaluates only what the assignment can change."""
        ctx = Context(facts, as_of, self.parameters_on(as_of), rates)

        def context(assignment: Mapping[str, Any]) -> Context:
            if not assignment:
                return ctx
            completed = with_values(facts, assignment)
            changed = set(assignment)
            if derive is not None and not changed.isdisjoint(derive_inputs):
                derived = dict(derive(completed))
                changed.update(p for p, v in derived.items() if completed.get(p) is not v)
                completed = derived
            return ctx.completion(completed, changed)

        return ctx, context

    def rule_settled(
        self,
        name: str,
        facts: Mapping[str, Any],
        as_of: dt.date,
        rates: ExchangeRates,
        derive: Derive | None = None,
        derive_inputs: frozenset[str] = frozenset(),
    ) -> bool:
        """Whether rule `name` has a definite verdict on `facts` (engine/questions.py asks it
        of facts with an answer filled in)."""
        compiled = self.rules[name]
        ctx, context = self.contexts(facts, as_of, rates, derive, derive_inputs)
        ctx.missing = set()
        verdict = self._verdict(compiled, ctx)
        if verdict is None:
            verdict = self._settle(compiled, ctx, context)[0]
        return verdict is not None

    def evaluate(
        self,
        facts: Mapping[str, Any],
        as_of: dt.date,
        rates: ExchangeRates,
        reporting_currency: str,
        explain: bool = False,
        derive: Derive | None = None,
        derive_inputs: frozenset[str] = frozenset(),
    ) -> RegimeDecision:
        """Decide `facts` (validated, derivations applied). `derive` re-applies the bundle's
        derivations to a completion that fills in one of `derive_inputs`, so a filled-in fact
        fills in the facts derived from it."""
        regime = self.regime
        ctx, context = self.contexts(facts, as_of, rates, derive, derive_inputs)

        if regime.in_force is not None and not regime.in_force.contains(as_of):
            return self._decision(
                Status.NOT_APPLICABLE,
                (
                    f"{regime.name} is in force from {regime.in_force.start.isoformat()}"
                    + (f" until {regime.in_force.end.isoformat()}" if regime.in_force.end else "")
                    + f"; the operation is assessed as of {as_of.isoformat()}",
                ),
            )
        applies, reasons, scope_missing = self._applies(ctx, context)
        if applies is False:
            return self._out_of_scope

        not_assessed, skipped = self._topics(facts)
        violations: list[Violation] = []
        obligations: list[Obligation] = []
        undetermined: list[UndeterminedRule] = []
        missing: set[str] = set(scope_missing)
        trace: list[RuleTrace] = []
        # a fine's line depends on the operation, not on the rule violated: several violations
        # of one regime (an unlawful transfer without a basis...) share it, computed once
        fine_lines: dict[str, ExposureLine] = {}
        for compiled, in_force in self.rules_on(as_of):  # exceptions: inside their rule
            rule = compiled.rule
            if not in_force or rule.name in skipped:
                if explain:
                    outcome = Outcome.NOT_IN_FORCE if not in_force else Outcome.NOT_ASSESSED
                    trace.append(self._trace(rule, outcome, facts))
                continue
            ctx.missing = set()
            when = compiled.when
            triggered = when(ctx) if when is not None else True
            if triggered is False:  # the commonest outcome, decided without a call
                if explain:
                    trace.append(self._trace(rule, Outcome.NOT_TRIGGERED, facts))
                continue
            verdict = self._triggered_verdict(compiled, ctx, triggered)
            rule_missing: tuple[str, ...] = ()
            note = None
            if verdict is None:
                verdict, rule_missing, settled = self._settle(compiled, ctx, context)
                note = settle_note(settled)
            if verdict is None:
                undetermined.append(
                    UndeterminedRule(rule.name, rule.title, rule.cite, rule_missing, note)
                )
                missing.update(rule_missing)
                outcome = Outcome.UNDETERMINED
            else:
                outcome = verdict.outcome
                obligations.extend(verdict.obligations or verdict.carried)
                if outcome is Outcome.VIOLATED:
                    violations.append(
                        self._violation(compiled, facts, context, reporting_currency, fine_lines)
                    )
            if explain:
                excepted = verdict.excepted if verdict is not None else ()
                trace.append(self._trace(rule, outcome, facts, rule_missing, excepted, note))

        if applies is UNKNOWN:
            status = Status.UNDETERMINED
            reasons.append("whether the regime applies depends on missing facts")
        elif violations:
            status = Status.DENIED
        elif undetermined:
            status = Status.UNDETERMINED
        elif obligations:
            status = Status.ALLOWED_WITH_OBLIGATIONS
        else:
            status = Status.ALLOWED
        lines = [line for v in violations for line in v.exposure]
        exposure = (
            aggregate(lines, regime.aggregate, as_of, rates, reporting_currency) if lines else {}
        )
        return RegimeDecision(
            regime=regime.name,
            title=regime.title,
            status=status,
            reasons=tuple(reasons),
            violations=tuple(violations),
            obligations=tuple(obligations),
            missing=tuple(sorted(missing)),
            exposure=exposure,
            currency=regime.currency,
            aggregation=regime.aggregate,
            aggregation_cite=regime.aggregate_cite,
            undetermined_rules=tuple(undetermined),
            not_assessed=not_assessed,
            scope_missing=tuple(sorted(scope_missing)),
            trace=tuple(trace),
            notes=regime.notes,
            kind=regime.kind,
        )

    def _applies(
        self, ctx: Context, context: Callable[[Mapping[str, Any]], Context]
    ) -> tuple[Any, list[str], tuple[str, ...]]:
        """(whether the regime applies, the scope clauses that hold, facts it waits for)."""
        applies: Any = False
        reasons = []
        for index, (_, condition) in enumerate(self.applies):
            value = condition(ctx)
            applies = or3(applies, value)
            if value is True:
                reasons.append(self._applies_reasons[index])
        if applies is not UNKNOWN:
            return applies, reasons, ()
        missing = set(ctx.missing)
        if self.applies_exact:
            return UNKNOWN, reasons, tuple(sorted(missing))

        def evaluate(assignment: Mapping[str, Any]) -> tuple[Any, set[str]]:
            branch = context(assignment)
            value: Any = False
            for _, condition in self.applies:
                value = or3(value, condition(branch))
            return (UNDECIDED if value is UNKNOWN else value), branch.missing

        settled = settle(
            evaluate,
            (UNDECIDED, missing),
            self.domains,
            completions=completions(self._applies_reads, ctx.given, self.domains),
        )
        if settled.outcome is UNDECIDED:
            return UNKNOWN, reasons, tuple(sorted(missing))
        if settled.outcome is True:
            reasons.append("applies whichever way the missing scope facts are answered")
        return settled.outcome, reasons, ()

    def _topics(self, facts: Mapping[str, Any]) -> tuple[tuple[NotAssessed, ...], frozenset[str]]:
        """The topics the operation does not describe, and the rules left unassessed."""
        get = facts.get
        absent = tuple(
            name for name, paths in self._topic_paths if all(get(path) is None for path in paths)
        )
        known = self._absent_topics.get(absent)
        if known is None:
            not_assessed: list[NotAssessed] = []
            skipped: set[str] = set()
            for name in absent:
                topic = self.regime.topics[name]
                rules = self._topic_rules[name]
                skipped.update(rules)
                stated = ", ".join(f"`{path}`" for path in topic.described_by)
                not_assessed.append(
                    NotAssessed(
                        name,
                        topic.title,
                        f"the operation does not state {stated}",
                        topic.cite,
                        rules,
                    )
                )
            known = (tuple(not_assessed), frozenset(skipped))
            if len(self._absent_topics) < _MAX_REMEMBERED:
                self._absent_topics[absent] = known
        return known

    # ---- exposure -----------------------------------------------------------------------------

    def _violation(
        self,
        compiled: CompiledRule,
        facts: Mapping[str, Any],
        context: Callable[[Mapping[str, Any]], Context],
        reporting: str,
        fine_lines: dict[str, ExposureLine] | None = None,
    ) -> Violation:
        rule = compiled.rule
        if fine_lines is None:
            fine_lines = {}
        for name in rule.fines:
            if name not in fine_lines:
                fine_lines[name] = self.fines[name].line(context, facts, self.domains, reporting)
        lines = tuple(fine_lines[name] for name in rule.fines)
        return Violation(
            rule=rule.name,
            title=rule.title,
            cite=rule.cite,
            exposure=lines,
            facts=facts_of(rule.facts_read, facts),
            notes=rule.notes,
            severity=rule.severity,
            exceptions_not_applied=exceptions_not_applied(
                rule, {n: self.rules[n].rule for n in rule.exceptions}, facts
            ),
        )

    def _decision(self, status: Status, reasons: tuple[str, ...]) -> RegimeDecision:
        regime = self.regime
        return RegimeDecision(
            regime=regime.name,
            title=regime.title,
            status=status,
            reasons=reasons,
            exposure={},
            currency=regime.currency,
            aggregation=regime.aggregate,
            aggregation_cite=regime.aggregate_cite,
            notes=regime.notes,
            kind=regime.kind,
        )

    def _trace(
        self,
        rule: ir.CheckedRule,
        outcome: Outcome,
        facts: Mapping[str, Any],
        missing: tuple[str, ...] = (),
        excepted: tuple[str, ...] = (),
        note: str | None = None,
    ) -> RuleTrace:
        return RuleTrace(
            rule=rule.name,
            title=rule.title,
            cite=rule.cite,
            outcome=outcome,
            facts=facts_of(rule.facts_read, facts),
            missing=missing,
            exceptions=excepted,
            note=note,
        )
