"""What would make it allowed: the smallest changes to controllable facts (policies/common/
levels.policy) that take a denied or undetermined regime to `allowed` or
`allowed_with_obligations`, each with the exposure it removes.

A bounded, deterministic search: candidate changes are the values of the controllable truth
values and enumerations that the regime's violated or undetermined rules read (their
exceptions' and duties' facts included; a list field entry by entry). Single changes first;
then, from the sets that got closest (fewest violations, then fewest undetermined rules), sets
of two and three. The first size that reaches the goal is returned, in a stable order; if none
does within three changes, the smallest sets that remove every violation are returned with the
facts they still wait for (`conditions`: "set the legal basis to contract, with its
conditions"). Every change set is decided by the ordinary evaluator, so what is promised is
what the decision says. Limits: `MAX_EVALUATIONS` decisions and `TIME_BUDGET` seconds.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .completion import with_values
from .decision import Amount, RegimeDecision, Status, to_json_value
from .values import UNKNOWN

if TYPE_CHECKING:
    from .bundle import Bundle

MAX_CHANGES = 3
MAX_EVALUATIONS = 400
TIME_BUDGET = 0.5  # seconds per regime
BEAM = 8  # change sets kept per size
SHOWN = 5  # remediations returned at most
GOAL = (Status.ALLOWED, Status.ALLOWED_WITH_OBLIGATIONS)


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    before: Any  # None: not stated
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "from": to_json_value(self.before),
            "to": to_json_value(self.after),
        }

    def text(self) -> str:
        after = to_json_value(self.after)
        return f"set {self.path} to {after if not isinstance(after, bool) else str(after).lower()}"


@dataclass(frozen=True, slots=True)
class Remediation:
    changes: tuple[Change, ...]
    status: Status  # the regime's status with the changes
    conditions: tuple[str, ...]  # facts the regime still waits for (status undetermined)
    exposure_removed: Amount | None  # the organisation's exposure that goes away

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": [c.to_dict() for c in self.changes],
            "text": "; ".join(c.text() for c in self.changes),
            "status": self.status,
            "conditions": list(self.conditions),
            "exposure_removed": self.exposure_removed.to_dict()
            if self.exposure_removed is not None
            else None,
        }


def remediations(
    bundle: Bundle,
    regime: str,
    decision: RegimeDecision,
    facts: Mapping[str, Any],
    as_of: dt.date,
    currency: str,
) -> tuple[Remediation, ...]:
    if decision.status not in (Status.DENIED, Status.UNDETERMINED):
        return ()
    compiled = bundle.regimes[regime]
    derive = bundle.derivations.fill if bundle.derivations else None
    candidates = _candidates(bundle, regime, decision, facts)
    started, evaluations = time.monotonic(), 0

    def decide(changes: tuple[Change, ...]) -> RegimeDecision:
        nonlocal evaluations
        evaluations += 1
        changed = with_values(facts, {c.path: c.after for c in changes})
        if derive is not None:
            changed = dict(derive(changed))
        return compiled.evaluate(
            changed, as_of, bundle.rates, currency, False, derive, bundle.derivations.inputs
        )

    def exhausted() -> bool:
        return evaluations >= MAX_EVALUATIONS or time.monotonic() - started > TIME_BUDGET

    frontier: list[tuple[Change, ...]] = [()]
    fallback: list[tuple[tuple[Change, ...], RegimeDecision]] = []
    for _ in range(MAX_CHANGES):
        reached: list[tuple[tuple[Change, ...], RegimeDecision]] = []
        scored = []
        seen: set[frozenset[tuple[str, Any]]] = set()
        for base in frontier:
            for change in candidates:
                if any(c.path == change.path for c in base):
                    continue
                changes = tuple(sorted((*base, change), key=lambda c: c.path))
                key = frozenset((c.path, repr(c.after)) for c in changes)
                if key in seen or exhausted():
                    continue
                seen.add(key)
                result = decide(changes)
                if result.status in GOAL:
                    reached.append((changes, result))
                elif not result.violations and decision.violations:
                    fallback.append((changes, result))
                scored.append(((len(result.violations), len(result.undetermined_rules)), changes))
        if reached:
            return _shown(reached, decision)
        if exhausted() or not scored:
            break
        scored.sort(key=lambda s: (s[0], [(c.path, repr(c.after)) for c in s[1]]))
        frontier = [changes for _, changes in scored[:BEAM]]
    if fallback:
        size = min(len(c) for c, _ in fallback)
        return _shown([(c, r) for c, r in fallback if len(c) == size], decision)
    return ()


def _shown(
    found: list[tuple[tuple[Change, ...], RegimeDecision]], before: RegimeDecision
) -> tuple[Remediation, ...]:
    rank = {status: i for i, status in enumerate(Status)}
    ordered = sorted(
        found,
        key=lambda f: (len(f[0]), -rank[f[1].status], [(c.path, repr(c.after)) for c in f[0]]),
    )
    removed = before.organisation_exposure
    return tuple(
        Remediation(
            changes,
            result.status,
            tuple(sorted({m for u in result.undetermined_rules for m in u.missing})),
            removed,
        )
        for changes, result in ordered[:SHOWN]
    )


def _candidates(
    bundle: Bundle, regime: str, decision: RegimeDecision, facts: Mapping[str, Any]
) -> list[Change]:
    checked = bundle.checked.regimes[regime]
    controllable = bundle.checked.vocabulary.controllable
    rules = [v.rule for v in decision.violations] + [u.rule for u in decision.undetermined_rules]
    paths: set[str] = set()
    for name in rules:
        pending = [name]
        while pending:
            rule = checked.rules[pending.pop()]
            paths.update(p for p in rule.facts_read if p in controllable)
            for duty in rule.duties:
                paths.update(p for p in duty.facts_read if p in controllable)
            pending.extend(rule.exceptions)
    changes = []
    for path in sorted(paths):
        for concrete, current in _entries(path, facts):
            for value in bundle.domains.of(concrete) or ():
                if value != current:
                    changes.append(Change(concrete, current, value))
    return changes


def _entries(path: str, facts: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(concrete path, its current value or None) for a fact or each entry of a list field."""
    if "[]." not in path:
        value = facts.get(path)
        return [(path, None if value is UNKNOWN else value)]
    head, _, field = path.partition("[].")
    entries = facts.get(head)
    if not isinstance(entries, list):
        return []
    return [(f"{head}[{i}].{field}", entry.get(field)) for i, entry in enumerate(entries)]
