"""Decisive questions: for an undetermined regime, the fewest missing facts whose answers decide
its status (shared/DESIGN.md).

Each undetermined rule is decided once every missing fact it waits for is answered (then every
fact it reads is known). Often fewer do: one truth value or enumeration that, whatever its
answer, settles the rule (checked by deciding the rule with each value filled in, over the
completions of the rest). A greedy cover then picks facts that settle the most rules first,
and a rule no single fact settles contributes all its missing facts. A rule that is certain
stays certain whatever is answered (the answers are completions), so answering every question
— with any values, complete records for a list — decides the regime: a property test draws
answers and checks it. Questions come ordered by how many undetermined rules each settles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .completion import with_values
from .decision import RegimeDecision

if TYPE_CHECKING:
    from .bundle import Bundle

MAX_RULES = 40  # undetermined rules examined per regime; past that, their missing facts as asked


@dataclass(frozen=True, slots=True)
class Question:
    path: str
    type: str
    values: tuple[Any, ...] | None  # the allowed answers of a truth value or an enumeration
    question: str  # the vocabulary's description of the fact
    settles: tuple[str, ...]  # the undetermined rules the answer decides

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "type": self.type,
            "values": list(self.values) if self.values is not None else None,
            "question": self.question,
            "settles": list(self.settles),
        }


def decisive_questions(
    bundle: Bundle,
    regime: str,
    decision: RegimeDecision,
    facts: Mapping[str, Any],
    as_of: dt.date,
) -> tuple[Question, ...]:
    if decision.status != "undetermined":
        return ()
    compiled = bundle.regimes[regime]
    derive = bundle.derivations.fill if bundle.derivations else None
    inputs = bundle.derivations.inputs
    singles: dict[str, set[str]] = {}  # fact path -> rules its answer alone settles
    required: dict[str, set[str]] = {}  # fact path -> rules that need it (with others)
    for path in decision.scope_missing:  # the scope waits for these: all of them are asked
        required.setdefault(path, set()).add("(scope)")
    for index, undetermined in enumerate(decision.undetermined_rules):
        rule, missing = undetermined.rule, undetermined.missing
        alone = (
            []
            if index >= MAX_RULES
            else [
                path
                for path in missing
                if (values := bundle.domains.of(path)) is not None
                and all(
                    compiled.rule_settled(
                        rule, with_values(facts, {path: value}), as_of, bundle.rates, derive, inputs
                    )
                    for value in values
                )
            ]
        )
        for path in alone:
            singles.setdefault(path, set()).add(rule)
        if not alone:
            for path in missing:
                required.setdefault(path, set()).add(rule)
    chosen = set(required)
    covered = {rule for rules in required.values() for rule in rules}
    open_rules = {rule for rules in singles.values() for rule in rules} - covered
    open_rules -= {rule for path in chosen for rule in singles.get(path, ())}
    while open_rules:  # greedy cover: the answer settling most open rules first
        path = max(sorted(singles), key=lambda p: len(singles[p] & open_rules))
        chosen.add(path)
        open_rules -= singles[path]
    settles = {path: singles.get(path, set()) | required.get(path, set()) for path in chosen}
    # the scope first (if the regime does not apply, nothing else matters), then by reach
    ordered = sorted(chosen, key=lambda p: ("(scope)" not in settles[p], -len(settles[p]), p))
    return tuple(_question(bundle, path, tuple(sorted(settles[path]))) for path in ordered)


def _question(bundle: Bundle, path: str, rules: tuple[str, ...]) -> Question:
    vocabulary = bundle.checked.vocabulary
    head = path.split("[")[0]
    info = vocabulary.facts.get(head)
    if "[" in path and info is not None:
        field = path.partition("].")[2]
        element = getattr(info.type, "element", None)
        field_type = element.field(field) if element is not None else None
        type_name = str(field_type) if field_type is not None else "?"
        text = (
            f"{field.replace('_', ' ')} of entry {path.split('[')[1].split(']')[0]} of "
            f"{info.description or head}"
        )
    else:
        type_name = str(info.type) if info is not None else "?"
        text = (info.description if info is not None else None) or path
    return Question(path, type_name, bundle.domains.of(path), text, rules)
