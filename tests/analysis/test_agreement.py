"""The solver translation agrees with the evaluator on every rule of the shipped packs: each
example operation the solver builds (a rule firing, a rule triggered and complied with, each
exception applying) is decided again by `Bundle.decide`, which must list the rule, or not, as
the solver claimed."""

from __future__ import annotations

from pathlib import Path

import pytest
from lexgate.engine.analysis.outcomes import base_rules
from lexgate.engine.analysis.selfcheck import agreements
from lexgate.engine.bundle import load_bundle

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(ROOT / "policies")


@pytest.mark.parametrize("regime", ["GDPR", "PIPL", "CCPA", "EPRIVACY", "CA_BREACH"])
def test_every_rule_agrees_with_the_evaluator(bundle, regime):
    results = list(agreements(bundle, regime))
    disagreements = [(a.rule, a.claim, a.example, a.decision) for a in results if not a.agrees]
    assert not disagreements
    # every base rule got at least one example, and most a firing one
    rules = {r.name for r in base_rules(bundle.checked.regimes[regime])}
    covered = {a.rule for a in results} - {""}
    assert {a.claim for a in results if not a.rule} == {"applies", "out of scope"}
    fired = {a.rule for a in results if a.claim == "fires"}
    assert covered == rules
    assert fired == rules  # no shipped rule is dead
    assert any(a.claim.startswith("excepted by") for a in results) or regime in (
        "EPRIVACY",
        "CA_BREACH",
    )


def test_examples_are_minimal_operation_json(bundle):
    """Examples state few facts: none of the GDPR firing examples needs more than a dozen."""
    sizes = []
    for a in agreements(bundle, "GDPR"):
        if a.claim == "fires":
            sizes.append(_count(a.example))
    assert sizes and max(sizes) <= 12, sizes


def _count(value):
    if isinstance(value, dict):
        return sum(_count(v) for k, v in value.items() if k != "as_of")
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return sum(_count(v) for v in value)
    return 1


@pytest.mark.parametrize("regime", ["GDPR", "PIPL", "CCPA", "EPRIVACY", "CA_BREACH"])
def test_formulas_agree_with_the_evaluator_on_every_pack_example(bundle, regime):
    """Operations written by lawyers, not chosen by the solver: every fact of each `example`
    pinned, the rest unknown; wherever a formula is definite (scope, each rule listed or
    certainly not), the evaluator decides the same."""
    from lexgate.engine.analysis.selfcheck import example_agreements

    checked = example_agreements(bundle, regime)
    assert checked.disagreements == ()
    assert checked.skipped == 0
    examples = len(bundle.checked.regimes[regime].examples)
    assert checked.claims >= 5 * examples  # the formulas are definite on most rules
