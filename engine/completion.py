"""Exact unknowns: a rule's outcome is unknown only if some completion of the missing facts it
reads would change it (shared/DESIGN.md, "Evaluation semantics").

Kleene logic (engine/logic.py) is the fast first pass: sound, but it calls `(a and b) or (not a
and b)` unknown when `a` is. When a first pass comes out unknown, `settle` evaluates again with
the missing *finite* facts filled in — booleans and enumerations, top-level or fields of a list
entry — branching lazily, one fact at a time, on the facts that evaluation actually read
(a DPLL-style case split; see docs/LANGUAGE.md, "Exact unknowns"):

- every branch gives the same definite outcome -> that outcome is certain;
- two branches disagree in a way that matters -> the outcome is really unknown (exact: a witness
  pair exists); for a rule, violated in one branch and not in another (branches that differ only
  in what is owed join: the obligations some of them impose are owed conditionally, "if…");
- a branch is still unknown with no finite fact left to split on -> unknown: it waits for a
  number, a date, a set or a list the operation did not give (those are not enumerated);
- more than `BUDGET` completions -> unknown, the Kleene answer, and the trace says so. The count
  is static: the product of the domains of the finite facts the rule (with its exceptions) reads
  that the operation leaves missing (`completions`), so both back ends draw the line at the same
  place; under it the case split runs to the end (at most twice as many evaluations as
  completions, usually two or three).

Soundness does not depend on the split order: a definite answer from a branch holds for every
value of the facts left unknown in it, because Kleene evaluation is sound.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from . import ir
from .types import BOOL, EnumType, ListType, Type

# completions per question; beyond it, the Kleene answer. 256 covers the packs' widest rules
# (GDPR Art. 27 reads seven facts, 192 completions) at a bounded cost.
BUDGET = 256
UNDECIDED = object()  # an outcome that is itself unknown


@dataclass(frozen=True, slots=True)
class Settled:
    outcome: Any  # a definite outcome, or UNDECIDED
    evaluations: int
    over_budget: bool = False


class Domains:
    """The values a missing finite fact can take: (True, False) for a truth value, the members
    of an enumeration. Numbers, dates, sets and lists are not enumerated."""

    def __init__(self, vocabulary: ir.Vocabulary):
        self._top: dict[str, tuple[Any, ...]] = {}
        self._fields: dict[str, dict[str, tuple[Any, ...]]] = {}
        for path, info in vocabulary.facts.items():
            values = _values_of(info.type)
            if values:
                self._top[path] = values
            if isinstance(info.type, ListType):
                self._fields[path] = {
                    name: v for name, t in info.type.element.fields if (v := _values_of(t))
                }

    def of(self, path: str) -> tuple[Any, ...] | None:
        """The domain of a missing path as the evaluator names it (`transfers[0].mechanism`)."""
        found = self._top.get(path)
        if found is not None or "[" not in path:
            return found
        head, _, rest = path.partition("[")
        field = rest.partition("].")[2]
        return self._fields.get(head, {}).get(field)


def _values_of(t: Type) -> tuple[Any, ...] | None:
    if t == BOOL:
        return (True, False)
    if isinstance(t, EnumType):
        return tuple(t.members)
    return None


def with_values(facts: Mapping[str, Any], assignment: Mapping[str, Any]) -> dict[str, Any]:
    """`facts` with the assigned paths filled in; list fields (`transfers[0].mechanism`) set in
    a copy of their entry, never in the caller's data."""
    result = dict(facts)
    for path, value in assignment.items():
        if "[" not in path:
            result[path] = value
            continue
        head, _, rest = path.partition("[")
        index_text, _, field = rest.partition("].")
        entries = list(result[head])
        index = int(index_text)
        entries[index] = {**entries[index], field: value}
        result[head] = entries
    return result


def settle(
    evaluate: Callable[[Mapping[str, Any]], tuple[Hashable, set[str]]],
    first: tuple[Hashable, set[str]],
    domains: Domains,
    keep_unknown: frozenset[str] = frozenset(),
    completions: int = 1,
    budget: int | None = None,
    combine: Callable[[Any, Any], Any] | None = None,
) -> Settled:
    """The outcome over every completion of the missing finite facts.

    `evaluate(assignment)` evaluates with the assigned facts filled in and returns (outcome,
    the missing facts it read); `first` is its result for the empty assignment, already
    computed. An outcome of UNDECIDED means that evaluation was itself unknown.
    `keep_unknown` names facts never filled in (a duty's confirmations stay open questions);
    `completions` is the static count (`completions()`), checked against the budget.
    `combine(a, b)` joins two branches' outcomes, or gives UNDECIDED when they disagree in a way
    that matters (default: equal or UNDECIDED)."""
    outcome, missing = first
    if outcome is not UNDECIDED:
        return Settled(outcome, 1)
    if completions > (BUDGET if budget is None else budget):
        return Settled(UNDECIDED, 1, over_budget=True)
    seen: Any = UNDECIDED
    stack: list[tuple[dict[str, Any], set[str]]] = [({}, missing)]
    evaluations = 1
    while stack:
        assignment, read = stack.pop()
        split = _split_on(read, assignment, domains, keep_unknown)
        if split is None:
            return Settled(UNDECIDED, evaluations)
        path, values = split
        for value in reversed(values):
            branch = {**assignment, path: value}
            result, branch_missing = evaluate(branch)
            evaluations += 1
            if result is UNDECIDED:
                stack.append((branch, branch_missing))
            elif seen is UNDECIDED:
                seen = result
            else:
                seen = combine(seen, result) if combine else (seen if seen == result else UNDECIDED)
                if seen is UNDECIDED:
                    return Settled(UNDECIDED, evaluations)
    return Settled(seen, evaluations)


def completions(paths: tuple[str, ...], facts: Mapping[str, Any], domains: Domains) -> int:
    """How many completions the missing ones of `paths` (static reads: `transfers[].mechanism`
    for a list field) have in `facts`: the product of their domains' sizes."""
    count = 1
    for path in paths:
        if "[]" not in path:
            value = facts.get(path)
            if value is None:
                count *= len(domains.of(path) or ())
            continue
        head, _, field = path.partition("[].")
        entries = facts.get(head)
        if isinstance(entries, list):
            size = len(domains.of(f"{head}[0].{field}") or ())
            for entry in entries:
                if entry.get(field) is None:
                    count *= size
    return count


def _split_on(
    read: set[str],
    assignment: Mapping[str, Any],
    domains: Domains,
    keep_unknown: frozenset[str],
) -> tuple[str, tuple[Any, ...]] | None:
    for path in sorted(read):  # sorted: the same split order, so the same answer, every time
        if path in assignment or _stem(path) in keep_unknown:
            continue
        values = domains.of(path)
        if values:
            return path, values
    return None


def _stem(path: str) -> str:
    """`transfers[0].impact_assessment` -> `transfers[].impact_assessment` (the static name)."""
    if "[" not in path:
        return path
    head, _, rest = path.partition("[")
    return f"{head}[].{rest.partition('].')[2]}"
