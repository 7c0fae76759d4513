"""A rule's verdict under one set of facts, and how completions' verdicts join.

Split from engine/evaluator.py: the evaluator makes verdicts, engine/completion.py joins them
over completions of the missing facts, and the vectorised back end mirrors the same kinds
(engine/simulation/regimes.py `VectorRegime.state`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from . import ir
from .compiler import Context, shift_date
from .completion import BUDGET, UNDECIDED, Settled
from .decision import ExceptionNotApplied, Obligation, Outcome


class VerdictKind(StrEnum):
    """What completions compare: not triggered, compliant and excepted are all clear."""

    VIOLATED = "violated"
    DUTY = "duty"  # a duty left open
    CLEAR = "clear"


_KIND = {
    Outcome.VIOLATED: VerdictKind.VIOLATED,
    Outcome.DUTY_OPEN: VerdictKind.DUTY,
    Outcome.COMPLIANT: VerdictKind.CLEAR,
    Outcome.NOT_TRIGGERED: VerdictKind.CLEAR,
    Outcome.EXCEPTED: VerdictKind.CLEAR,
}


class Verdict:
    """One rule's outcome under one (possibly partial) set of facts: its kind (violated, a duty
    left open, clear — not triggered, compliant and excepted are all clear) and what it imposes.
    Two completions' verdicts join (`joined`) unless one is violated and the other is not. A
    violated rule's obligations are carried for the decision but not compared: violated is
    violated. (A plain class: one is made per rule per decision, so it is kept cheap.)"""

    __slots__ = ("carried", "certain", "excepted", "kind", "obligations", "outcome")

    def __init__(
        self,
        outcome: Outcome,
        obligations: tuple[Obligation, ...] = (),
        excepted: tuple[str, ...] = (),
        carried: tuple[Obligation, ...] = (),
    ):
        self.outcome = outcome
        self.obligations = obligations
        self.excepted = excepted
        self.carried = carried
        self.kind = _KIND[outcome]
        # a join of completions (`joined`): the obligations every one of them imposes
        self.certain: tuple[Obligation, ...] | None = None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Verdict)
            and self.kind == other.kind
            and self.obligations == other.obligations
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.obligations))


def joined(a: Verdict, b: Verdict) -> Any:
    """Two completions' verdicts as one: violated in both is violated; violated in one only is
    undecided; otherwise the rule is not violated whichever way, and what it imposes in either
    is owed (the obligations not imposed in both are conditional, marked by `settled`)."""
    if a.kind == VerdictKind.VIOLATED or b.kind == VerdictKind.VIOLATED:
        return a if a.kind == b.kind else UNDECIDED
    if a == b:
        return a
    kind = Outcome.DUTY_OPEN if VerdictKind.DUTY in (a.kind, b.kind) else Outcome.COMPLIANT
    merged = Verdict(kind, tuple(dict.fromkeys(a.obligations + b.obligations)))
    # obligations every branch imposes so far, to tell certain from conditional ones
    certain_a = a.certain if a.certain is not None else a.obligations
    merged.certain = tuple(o for o in certain_a if o in b.obligations)
    return merged


_NOT_TRIGGERED = Verdict(Outcome.NOT_TRIGGERED)
_COMPLIANT = Verdict(Outcome.COMPLIANT)
_VIOLATED = Verdict(Outcome.VIOLATED)


def finite_reads(
    rule: ir.CheckedRule, regime: ir.CheckedRegime, finite: Callable[[str], bool]
) -> tuple[str, ...]:
    """The finite facts a rule and its exceptions read, less its duties' confirmations: what a
    completion may fill in (the vectorised back end counts and fills the same ones)."""
    found = set(rule.facts_read)
    pending = list(rule.exceptions)
    while pending:
        exception = regime.rules[pending.pop()]
        found.update(exception.facts_read)
        pending.extend(exception.exceptions)
    confirmations = {p for d in rule.duties for p in d.facts_read}
    return tuple(sorted(p for p in found if finite(p) and p not in confirmations))


def settle_note(settled: Settled | None) -> str | None:
    if settled is None:
        return None
    if settled.over_budget:
        return (
            f"the missing facts have more than {BUDGET} completions: "
            "three-valued logic's answer kept"
        )
    if settled.outcome is UNDECIDED:
        return f"the missing facts decide it ({settled.evaluations} completions evaluated)"
    return f"certain whichever way the missing facts are answered ({settled.evaluations} checked)"


def _exception_obligations(rule: ir.CheckedRule, regime: ir.CheckedRegime) -> bool:
    """Whether an exception to `rule` (at any depth) imposes obligations of its own."""
    pending = list(rule.exceptions)
    while pending:
        exception = regime.rules[pending.pop()]
        if exception.obligations:
            return True
        pending.extend(exception.exceptions)
    return False


def due_date(ctx: Context, anchor: str | None, within: Any) -> dt.date | None:
    """The date a deadline falls on: `within` counted from the anchor date fact. Hours count
    in whole days (72 hours after a day is three days after it); business days skip Saturdays
    and Sundays (public holidays are not known to lexgate: the date is then early, never
    late)."""
    if anchor is None or within is None:
        return None
    start = ctx.given.get(anchor)
    if not isinstance(start, dt.date):
        return None
    if within.dimension == "business_days":
        day, left = start, int(within.amount)
        while left > 0:
            day += dt.timedelta(days=1)
            if day.weekday() < 5:
                left -= 1
        return day
    due = shift_date(start, within, 1)
    return due if isinstance(due, dt.date) else None


# Obligations already built, by (rule, clause, if_facts, due date): a decision imposes a dozen,
# the same ones operation after operation, and building a frozen record costs more than finding
# it. The clause itself is kept with its obligation, so an id is never mistaken for another's.
_OWED: dict[tuple[str, int, tuple[str, ...], dt.date | None], tuple[object, Obligation]] = {}
_OWED_MAX = 4096


def owed(
    rule: str,
    source: ir.CheckedObligation | ir.CheckedDuty,
    ctx: Context,
    if_facts: tuple[str, ...] = (),
) -> Obligation:
    """The obligation an `obligation` clause or an open `duty` imposes on this operation: a duty
    names the facts that would confirm it; `if_facts` marks one owed conditionally."""
    due = due_date(ctx, source.anchor, source.within)
    key = (rule, id(source), if_facts, due)
    known = _OWED.get(key)
    if known is not None and known[0] is source:
        return known[1]
    obligation = Obligation(
        rule=rule,
        text=source.text,
        within=source.within,
        cite=source.cite,
        confirm=source.facts_read if isinstance(source, ir.CheckedDuty) else (),
        if_facts=if_facts,
        due=due,
    )
    if len(_OWED) >= _OWED_MAX:
        _OWED.clear()
    _OWED[key] = (source, obligation)
    return obligation


def facts_of(paths: tuple[str, ...], facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts a rule read and their values (None: missing; made JSON-ready only when the
    decision is serialised). List fields show the whole list."""
    shown: dict[str, Any] = {}
    for path in paths:
        key = path.split("[]")[0]
        if key not in shown:
            shown[key] = facts.get(key)
    return shown


def exceptions_not_applied(
    rule: ir.CheckedRule, exceptions: Mapping[str, ir.CheckedRule], facts: Mapping[str, Any]
) -> tuple[ExceptionNotApplied, ...]:
    """The violated rule's exceptions that read facts the operation does not state. A violation
    stands only when no exception applies, so such an exception evaluated false without them: a
    defence gated by `is known` (GDPR Art. 13(4)/14(5)) that the caller has not invoked. Naming
    it and the missing facts keeps the gate from passing in silence."""
    found = []
    for name in rule.exceptions:
        exception = exceptions[name]
        read = facts_of(exception.facts_read, facts)
        missing = tuple(sorted(path for path, value in read.items() if value is None))
        if missing:
            found.append(
                ExceptionNotApplied(
                    exception=name,
                    title=exception.title,
                    cite=exception.cite,
                    missing=missing,
                    notes=exception.notes,
                )
            )
    return tuple(found)
