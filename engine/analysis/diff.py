"""`lexgate diff`: which operations two bundles (or one bundle on two dates) decide differently.

For each regime, three questions to the solver, each over one shared symbolic operation that
both sides read:
- scope: does some operation fall in the regime on one side and certainly out on the other?
- each rule (by name), among operations both sides hold in scope: does one side list it (as
  violated, or owing its obligation) where the other certainly does not?
- each fine (by name), among operations on which a rule imposing it is violated on both sides:
  can its amount (minimum or maximum) differ?
Each difference comes with an example operation (minimal: the solver asks for as few stated
facts as it can find) that both sides' evaluators decide again; the change is reported with
both decisions and whether they differ as the solver said (`agrees`). A rule the translation
does not cover is reported as not analysed, never as unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import z3

from .. import ir
from ..bundle import Bundle
from ..diagnostics import Span
from . import LIST_BOUND
from .analyze import statutory
from .causes import Declaration, changed, reads
from .outcomes import RegimeFormulas, base_rules
from .problem import codes_of
from .symbolic import SymbolicOperation, Untranslatable
from .translate import Translator, is_false, is_true
from .witness import check, regime_view

NO_CLAIM = ("not_analysed", "undecided")


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    regime: str
    subject: str  # "scope", a rule's name, or "fine NAME"
    kind: str  # scope | rule | fine | regime_added | regime_removed | not_analysed | undecided
    message: str
    span: Span | None
    example: dict[str, Any] | None = None
    old: dict[str, Any] | None = None  # the old side's decision of the example (the regime)
    new: dict[str, Any] | None = None
    agrees: bool | None = None  # the evaluators differ as the solver said

    def to_dict(self) -> dict[str, Any]:
        return {
            "regime": self.regime,
            "subject": self.subject,
            "kind": self.kind,
            "message": self.message,
            "location": str(self.span) if self.span else None,
            "span": self.span.to_dict() if self.span else None,
            "example": self.example,
            "old": self.old,
            "new": self.new,
            "agrees": self.agrees,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Cause:
    """One declaration that differs, with the answers it changes (none: a rewrite that decides
    every operation the same way)."""

    regime: str
    declaration: Declaration | None  # None: changes no differing declaration explains
    effects: tuple[Change, ...]

    def to_dict(self) -> dict[str, Any]:
        d = self.declaration
        return {
            "regime": self.regime,
            "declaration": None
            if d is None
            else {
                "kind": d.kind,
                "name": d.name,
                "detail": d.detail,
                "location": str(d.span) if d.span else None,
                "span": d.span.to_dict() if d.span else None,
            },
            "changes_decisions": bool(self.effects),
            "effects": [e.to_dict() for e in self.effects],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffReport:
    old: str
    new: str
    old_as_of: dt.date
    new_as_of: dt.date
    bound: int
    regimes: tuple[str, ...]  # compared
    changes: tuple[Change, ...]
    causes: tuple[Cause, ...] = ()

    def unchanged(self) -> list[str]:
        touched = {c.regime for c in self.changes}
        return [r for r in self.regimes if r not in touched]

    def unanalysed(self) -> list[Change]:
        """What no claim is made about: not translated, or undecided in the time limit."""
        return [c for c in self.changes if c.kind in NO_CLAIM]

    def decisive(self) -> list[Cause]:
        """The differing declarations that change some operation's decision."""
        return [c for c in self.causes if c.effects]

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "old_as_of": self.old_as_of.isoformat(),
            "new_as_of": self.new_as_of.isoformat(),
            "bound": self.bound,
            "bound_note": f"lists (transfers, disclosures) explored up to {self.bound} entries",
            "regimes": list(self.regimes),
            "unchanged": self.unchanged(),
            "changes": [c.to_dict() for c in self.decisive()],
            "without_effect": [c.to_dict() for c in self.causes if not c.effects],
            "no_claim": [c.to_dict() for c in self.unanalysed()],
        }


@dataclass(frozen=True, slots=True)
class _Side:
    bundle: Bundle
    day: dt.date
    label: str


def diff(
    old: Bundle,
    new: Bundle,
    old_as_of: dt.date,
    new_as_of: dt.date | None = None,
    regimes: Iterable[str] | None = None,
    labels: tuple[str, str] = ("old", "new"),
) -> DiffReport:
    """Compare two bundles on one date, or one bundle (old is new) on two dates."""
    a = _Side(old, old_as_of, labels[0])
    b = _Side(new, new_as_of or old_as_of, labels[1])
    old_regimes, _ = statutory(old.checked)
    new_regimes, _ = statutory(new.checked)
    names_old = {r.name for r in old_regimes}
    names_new = {r.name for r in new_regimes}
    wanted = set(regimes) if regimes is not None else names_old | names_new
    changes: list[Change] = []
    causes: list[Cause] = []
    for name in sorted((names_old ^ names_new) & wanted):
        added = name in names_new
        regime = (new if added else old).checked.regimes[name]
        changes.append(
            Change(
                regime=name,
                subject="regime",
                kind="regime_added" if added else "regime_removed",
                message=f"regime {name} is {'only in the new' if added else 'only in the old'}"
                " bundle",
                span=regime.rules[next(iter(regime.rules))].span if regime.rules else None,
            )
        )
    compared = sorted(names_old & names_new & wanted)
    codes = codes_of([old.checked, new.checked])
    for name in compared:
        found = _regime(a, b, name, codes)
        changes += found
        causes += _causes(a, b, name, found)
    causes += [
        Cause(regime=c.regime, declaration=None, effects=(c,))
        for c in changes
        if c.kind in ("regime_added", "regime_removed")
    ]
    return DiffReport(
        old=a.label,
        new=b.label,
        old_as_of=a.day,
        new_as_of=b.day,
        bound=LIST_BOUND,
        regimes=tuple(compared),
        changes=tuple(changes),
        causes=tuple(causes),
    )


def _causes(a: _Side, b: _Side, name: str, found: list[Change]) -> list[Cause]:
    """The regime's changes grouped under the declarations that differ and that they read."""
    declarations = changed(a.bundle.checked, b.bundle.checked, name, a.day, b.day)
    new_regime = b.bundle.checked.regimes[name]
    old_regime = a.bundle.checked.regimes[name]
    explained: set[int] = set()
    causes = []
    found = [c for c in found if c.kind not in NO_CLAIM]  # listed apart: `unanalysed()`
    for declaration in declarations:
        effects = []
        for index, change in enumerate(found):
            kind = change.kind
            read = reads(new_regime, change.subject, kind) | reads(old_regime, change.subject, kind)
            if declaration.key in read:
                effects.append(change)
                explained.add(index)
        causes.append(Cause(regime=name, declaration=declaration, effects=tuple(effects)))
    rest = tuple(c for i, c in enumerate(found) if i not in explained)
    if rest:
        causes.append(Cause(regime=name, declaration=None, effects=rest))
    return causes


def _regime(a: _Side, b: _Side, name: str, codes: frozenset[str]) -> list[Change]:
    old_regime, new_regime = a.bundle.checked.regimes[name], b.bundle.checked.regimes[name]
    # facts either side knows: a fact only the new vocabulary has is read by the new side only
    old_facts, new_facts = a.bundle.checked.vocabulary.facts, b.bundle.checked.vocabulary.facts
    vocabulary = dataclasses.replace(b.bundle.checked.vocabulary, facts={**old_facts, **new_facts})
    op = SymbolicOperation(vocabulary, codes)
    try:
        fa = RegimeFormulas(_translator(op, a, old_regime), old_regime, a.day)
        fb = RegimeFormulas(_translator(op, b, new_regime), new_regime, b.day)
    except Untranslatable as error:
        return [_not_analysed(name, "scope", str(error), None)]
    changes: list[Change] = []
    scope_goal = z3.Or(
        z3.And(is_true(fa.scope), is_false(fb.scope)),
        z3.And(is_false(fa.scope), is_true(fb.scope)),
    )
    if not _same(fa.scope, fb.scope):
        span = new_regime.applies[0].span if new_regime.applies else None
        changes += _witness(a, b, op, name, "scope", "scope", scope_goal, span, _scope_claim)
    in_scope = z3.And(is_true(fa.scope), is_true(fb.scope))
    old_rules = {r.name for r in base_rules(old_regime)}
    for rule in base_rules(new_regime):
        if rule.name not in old_rules:
            continue
        try:
            ra, rb = fa.rule(rule.name), fb.rule(rule.name)
        except Untranslatable as error:
            changes.append(_not_analysed(name, rule.name, str(error), rule.span))
            continue
        try:
            changes += _obligations(
                a, b, op, name, (fa, fb), (old_regime.rules[rule.name], rule), in_scope
            )
        except Untranslatable as error:
            changes.append(_not_analysed(name, rule.name, str(error), rule.span))
        if ra.kind == rb.kind and z3.eq(ra.fires, rb.fires) and z3.eq(ra.quiet, rb.quiet):
            continue  # the same formula: the same answer on every operation
        goal = z3.And(in_scope, z3.Or(z3.And(ra.fires, rb.quiet), z3.And(ra.quiet, rb.fires)))
        changes += _witness(
            a,
            b,
            op,
            name,
            rule.name,
            "rule",
            goal,
            rule.span,
            _rule_claim(rule.name, ra.kind, rb.kind),
        )
    changes += _rules_added(a, b, op, name, old_regime, new_regime, fa, fb, in_scope)
    changes += _fines(a, b, op, name, old_regime, new_regime, fa, fb, in_scope)
    return changes


def _translator(op: SymbolicOperation, side: _Side, regime: ir.CheckedRegime) -> Translator:
    return Translator(op, side.bundle.checked, regime, side.day, side.bundle.rates)


def _same(x: Any, y: Any) -> bool:
    return bool(z3.eq(x.value, y.value) and z3.eq(x.ok, y.ok))


def _not_analysed(regime: str, subject: str, why: str, span: Span | None) -> Change:
    return Change(
        regime=regime,
        subject=subject,
        kind="not_analysed",
        message=f"{subject} is not analysed: it {why}; no result is claimed for it",
        span=span,
    )


def _scope_claim(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return bool((old["status"] == "not_applicable") != (new["status"] == "not_applicable"))


def _rule_claim(rule: str, kind: str, new_kind: str | None = None) -> Any:
    key = "violations" if kind == "violation" else "obligations"
    new_key = (
        key if new_kind is None else "violations" if new_kind == "violation" else "obligations"
    )

    def claim(old: dict[str, Any], new: dict[str, Any]) -> bool:
        return bool((rule in old[key]) != (rule in new[new_key]))

    return claim


def _witness(
    a: _Side,
    b: _Side,
    op: SymbolicOperation,
    regime: str,
    subject: str,
    kind: str,
    goal: Any,
    span: Span | None,
    claim: Any,
) -> list[Change]:
    answer = check(op, goal)
    if answer.status == "unsat":
        return []
    if answer.status != "sat" or answer.operation is None:
        return [
            Change(
                regime=regime,
                subject=subject,
                kind="undecided",
                message=f"{subject}: the solver could not decide whether it changed "
                "(time limit or nonlinear arithmetic); no result is claimed",
                span=span,
            )
        ]
    example = dict(answer.operation)
    if a.day == b.day:
        example["as_of"] = a.day.isoformat()  # self-contained: decided as shown
    old_decision = a.bundle.decide(_known_to(a.bundle, example), as_of=a.day, explain=True)
    new_decision = b.bundle.decide(_known_to(b.bundle, example), as_of=b.day, explain=True)
    old = regime_view(old_decision, regime)
    new = regime_view(new_decision, regime)
    if kind == "fine":
        old["fines"] = _fine_amounts(old_decision, regime, subject.removeprefix("fine "))
        new["fines"] = _fine_amounts(new_decision, regime, subject.removeprefix("fine "))
    return [
        Change(
            regime=regime,
            subject=subject,
            kind=kind,
            message=_describe(subject, kind, old, new),
            span=span,
            example=example,
            old=old,
            new=new,
            agrees=bool(claim(old, new)),
        )
    ]


def _known_to(bundle: Bundle, operation: dict[str, Any]) -> dict[str, Any]:
    """The example without the facts this side's vocabulary does not declare: its law never
    reads them (its translation has no variable for them), and its schema would refuse them."""
    facts = bundle.checked.vocabulary.facts

    def keep(node: dict[str, Any], prefix: str) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for key, value in node.items():
            path = prefix + key
            if path in facts or (not prefix and key == "as_of"):
                kept[key] = value
            elif isinstance(value, dict) and any(p.startswith(path + ".") for p in facts):
                inner = keep(value, path + ".")
                if inner:
                    kept[key] = inner
        return kept

    return keep(operation, "")


def _describe(subject: str, kind: str, old: dict[str, Any], new: dict[str, Any]) -> str:
    if kind == "scope":
        return f"scope changed: {old['status']} before, {new['status']} after"
    if kind == "fine":
        return f"{subject}: {_amounts(old)} before, {_amounts(new)} after"
    if kind == "obligation":
        owed_before = [o[1:] for o in old["owed"] if o[0] == subject]
        owed_after = [o[1:] for o in new["owed"] if o[0] == subject]
        return (
            f"rule `{subject}` imposes {owed_before or 'nothing'} before, "
            f"{owed_after or 'nothing'} after"
        )
    key = "violations" if subject in old["violations"] + new["violations"] else "obligations"
    before = "listed" if subject in old[key] else "not listed"
    after = "listed" if subject in new[key] else "not listed"
    what = "violated" if key == "violations" else "owing its obligations"
    return f"rule `{subject}` ({what}): {before} before, {after} after"


def _obligations(
    a: _Side,
    b: _Side,
    op: SymbolicOperation,
    name: str,
    formulas: tuple[RegimeFormulas, RegimeFormulas],
    rules: tuple[ir.CheckedRule, ir.CheckedRule],
    in_scope: Any,
) -> list[Change]:
    """What a rule imposes, where it is owed on both sides: an obligation whose text, deadline
    or anchor changed is a different decision even if the rule is listed on both."""

    def content(rule: ir.CheckedRule) -> list[Any]:
        return [(o.text, o.within, o.anchor) for o in rule.obligations]

    old_rule, new_rule = rules
    if content(old_rule) == content(new_rule):
        return []
    fa, fb = formulas
    ra, rb = fa.rule(old_rule.name), fb.rule(new_rule.name)
    pairs: list[tuple[ir.CheckedObligation | None, ir.CheckedObligation | None]] = list(
        itertools.zip_longest(old_rule.obligations, new_rule.obligations)
    )
    due: list[Any] = []
    for oa, ob in pairs or [(None, None)]:
        due_a = _due(fa, ra, oa)
        due_b = _due(fb, rb, ob)
        if (
            oa is None
            or ob is None
            or (oa.text, oa.within, oa.anchor) != (ob.text, ob.within, ob.anchor)
        ):
            due.append(z3.And(due_a, due_b))
    definite = z3.And(z3.Or(ra.fires, ra.quiet), z3.Or(rb.fires, rb.quiet))
    goal = z3.And(in_scope, definite, z3.Or(*due) if due else z3.BoolVal(False))
    rule = new_rule.name

    def claim(old: dict[str, Any], new: dict[str, Any]) -> bool:
        return [o for o in old["owed"] if o[0] == rule] != [o for o in new["owed"] if o[0] == rule]

    return _witness(a, b, op, name, rule, "obligation", goal, new_rule.span, claim)


def _due(formulas: RegimeFormulas, rule: Any, obligation: ir.CheckedObligation | None) -> Any:
    if obligation is None:
        return rule.triggered
    if obligation.condition is None:
        return rule.triggered
    return z3.And(rule.triggered, is_true(formulas.t.expr(obligation.condition, {})))


def _amounts(view: dict[str, Any]) -> str:
    lines = view.get("fines") or []
    if not lines:
        return "not imposed"
    first = lines[0]

    def money(m: Any) -> str:
        return f"{m['currency']} {m['amount']}" if m else "unknown"

    return f"{money(first['min'])} to {money(first['max'])} (rule `{first['rule']}`)"


def _fine_amounts(decision: Any, regime: str, fine: str) -> list[dict[str, Any]]:
    found = decision.regimes.get(regime)
    amounts: list[dict[str, Any]] = []
    for violation in found.violations if found is not None else ():
        for line in violation.exposure:
            if line.fine == fine:
                amounts.append({"rule": violation.rule, **line.amount.to_dict()})
    return amounts


def _rules_added(
    a: _Side,
    b: _Side,
    op: SymbolicOperation,
    name: str,
    old_regime: ir.CheckedRegime,
    new_regime: ir.CheckedRegime,
    fa: RegimeFormulas,
    fb: RegimeFormulas,
    in_scope: Any,
) -> list[Change]:
    old_rules = {r.name: r for r in base_rules(old_regime)}
    new_rules = {r.name: r for r in base_rules(new_regime)}
    changes: list[Change] = []
    for rule_name in sorted(old_rules.keys() ^ new_rules.keys()):
        added = rule_name in new_rules
        rule = (new_rules if added else old_rules)[rule_name]
        try:
            formulas = (fb if added else fa).rule(rule_name)
        except Untranslatable as error:
            changes.append(_not_analysed(name, rule_name, str(error), rule.span))
            continue
        changes += _witness(
            a,
            b,
            op,
            name,
            rule_name,
            "rule",
            z3.And(in_scope, formulas.fires),
            rule.span,
            _rule_claim(rule_name, formulas.kind),
        )
    return changes


def _fines(
    a: _Side,
    b: _Side,
    op: SymbolicOperation,
    name: str,
    old_regime: ir.CheckedRegime,
    new_regime: ir.CheckedRegime,
    fa: RegimeFormulas,
    fb: RegimeFormulas,
    in_scope: Any,
) -> list[Change]:
    changes: list[Change] = []
    old_rules = {r.name for r in base_rules(old_regime)}
    for fine_name, new_fine in new_regime.fines.items():
        old_fine = old_regime.fines.get(fine_name)
        if old_fine is None:
            continue
        users = [
            r.name
            for r in base_rules(new_regime)
            if fine_name in r.fines
            and r.name in old_rules
            and fine_name in old_regime.rules[r.name].fines
        ]
        if not users:
            continue
        try:
            ends_a = _ends(fa, old_fine)
            ends_b = _ends(fb, new_fine)
            both = z3.Or(*[z3.And(fa.rule(u).fires, fb.rule(u).fires) for u in users])
        except Untranslatable as error:
            changes.append(_not_analysed(name, f"fine {fine_name}", str(error), new_fine.span))
            continue
        if all(_same(x, y) for x, y in zip(ends_a, ends_b, strict=True)):
            continue
        differ = z3.Or(
            *[z3.And(x.ok, y.ok, x.value != y.value) for x, y in zip(ends_a, ends_b, strict=True)]
        )
        subject = f"fine {fine_name}"

        def claim(old: dict[str, Any], new: dict[str, Any]) -> bool:
            return bool(old.get("fines") != new.get("fines"))

        changes += _witness(
            a, b, op, name, subject, "fine", z3.And(in_scope, both, differ), new_fine.span, claim
        )
    return changes


def _ends(formulas: RegimeFormulas, fine: ir.CheckedFine) -> tuple[Any, Any]:
    """(low, high) of a fine as the evaluator computes them (exposure.FineLine.ends)."""
    t = formulas.t
    high = t.expr(fine.high, {})
    if str(fine.kind) == "exactly":
        return high, high
    if fine.low is not None:
        return t.expr(fine.low, {}), high
    return t.constant(0, fine.high.type), high
