"""Issue 10: a rule is unknown only when some completion of the missing facts would change it.

Soundness: whenever the engine says a rule is certainly violated (or certainly not violated),
every completion of the missing facts it reads agrees. Exactness: when the missing facts a rule
waits for are all truth values or enumerations (within the completion budget), an undetermined
rule has two completions that disagree. Both are checked on generated operations with random
facts left out (the simulation's generator: each fact present or missing), deciding each
completion afresh through the public API.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lexgate.engine import Bundle, load_bundle
from lexgate.engine.decision import Outcome
from lexgate.engine.reads import uses_knownness
from lexgate.engine.types import ListType

from tests.conftest import ROOT
from tests.simulation.operations import (
    Constants,
    operations,
    record_strategy,
    value_strategy,
    with_fact,
)

CERTAINLY_NOT = {Outcome.COMPLIANT, Outcome.NOT_TRIGGERED, Outcome.EXCEPTED}


@pytest.fixture(scope="module")
def shipped() -> tuple[Bundle, Constants]:
    bundle = load_bundle(os.environ.get("LEXGATE_POLICIES", str(ROOT / "policies")))
    return bundle, Constants(bundle)


def _rule_outcomes(bundle: Bundle, operation: dict[str, Any]) -> dict[tuple[str, str], Any]:
    decision = bundle.decide(operation, explain=True)
    return {
        (name, trace.rule): trace.outcome
        for name, regime in decision.regimes.items()
        if regime.status != "not_applicable"
        for trace in regime.trace
    }


def _meta_rules(bundle: Bundle) -> set[tuple[str, str]]:
    """Rules that ask whether a fact was given (`is known`): about the description, not the
    world, so a completion may legitimately answer them differently."""
    found = set()
    for name, regime in bundle.checked.regimes.items():
        table = {(name, d): body.value for d, body in regime.defines.items()}
        for rule in regime.rules.values():
            nodes = [n for n in (rule.when, rule.violation) if n is not None]
            if uses_knownness(nodes, table):
                found.add((name, rule.name))
    return found


def _missing_paths(bundle: Bundle, operation: dict[str, Any]) -> list[str]:
    decision = bundle.decide(operation)
    return sorted(
        {
            m
            for r in decision.regimes.values()
            for m in r.missing
            if not m.startswith(("parameter ", "exchange rate "))
        }
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_certain_outcomes_hold_in_every_drawn_completion(
    shipped: tuple[Bundle, Constants], data: st.DataObject
) -> None:
    bundle, constants = shipped
    operation = data.draw(operations(bundle, constants))
    before = _rule_outcomes(bundle, operation)
    meta = _meta_rules(bundle)
    facts = bundle.checked.vocabulary.facts
    completed = operation
    for path in _missing_paths(bundle, operation):
        info = facts.get(path.split("[")[0]) if "[" not in path else None
        if info is None:
            continue  # list fields and table keys: left missing in this completion
        if isinstance(info.type, ListType):
            strategy = st.lists(record_strategy(info.type.element, constants), max_size=2)
        else:
            strategy = value_strategy(info.type, info.unit, constants)
        completed = with_fact(completed, path, data.draw(strategy))
    after = _rule_outcomes(bundle, completed)
    for key, outcome in before.items():
        if key in meta or key not in after or after[key] == Outcome.NOT_ASSESSED:
            continue
        if outcome == Outcome.VIOLATED:
            assert after[key] == Outcome.VIOLATED, (key, operation, completed)
        elif outcome in CERTAINLY_NOT:
            assert after[key] in CERTAINLY_NOT | {Outcome.DUTY_OPEN}, (key, operation, completed)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_undetermined_rules_have_two_disagreeing_completions(
    shipped: tuple[Bundle, Constants], data: st.DataObject
) -> None:
    bundle, constants = shipped
    operation = data.draw(operations(bundle, constants))
    decision = bundle.decide(operation)
    meta = _meta_rules(bundle)
    checked = 0
    for name, regime in decision.regimes.items():
        for rule in regime.undetermined_rules:
            if (name, rule.rule) in meta or (rule.note and "more than" in rule.note):
                continue
            domains = [bundle.domains.of(path) for path in rule.missing]
            if not rule.missing or any(d is None for d in domains):
                continue  # waits for a number, a set or a list: exactness is not claimed
            if len(list(itertools.product(*domains))) > 32 or checked >= 3:
                continue
            checked += 1
            seen = set()
            for values in itertools.product(*domains):
                completed = operation
                for path, value in zip(rule.missing, values, strict=True):
                    completed = with_fact(completed, path, value)
                outcome = _rule_outcomes(bundle, completed).get((name, rule.rule))
                seen.add(outcome)
                if len(seen) > 1:
                    break
            assert len(seen) > 1, (name, rule.rule, rule.missing, operation)
