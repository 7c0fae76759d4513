"""Issue 11: decisive questions decide the status whatever the answers; remediations give the
status they promise; profiles supply organisation facts; all of it deterministic."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lexgate.engine import Bundle, OperationError, load_bundle
from lexgate.engine.types import ListType

from tests.conftest import ROOT
from tests.simulation.operations import Constants, operations, value_strategy, with_fact

AS_OF = dt.date(2025, 6, 1)
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def shipped() -> tuple[Bundle, Constants]:
    bundle = load_bundle(ROOT / "policies")
    return bundle, Constants(bundle)


def _answer(data: st.DataObject, bundle: Bundle, constants: Constants, path: str) -> Any:
    values = bundle.domains.of(path)
    if values is not None:
        return data.draw(st.sampled_from(values))
    info = bundle.checked.vocabulary.facts[path.split("[")[0]]
    if "[" in path:  # one field of one entry
        field = path.partition("].")[2]
        return data.draw(value_strategy(info.type.element.field(field), None, constants))
    if isinstance(info.type, ListType):
        # a complete answer: every field of every entry stated
        fields = {name: value_strategy(t, None, constants) for name, t in info.type.element.fields}
        return data.draw(st.lists(st.fixed_dictionaries(fields), max_size=2))
    return data.draw(value_strategy(info.type, info.unit, constants))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_answering_the_questions_with_any_values_decides_the_regime(
    shipped: tuple[Bundle, Constants], data: st.DataObject
) -> None:
    bundle, constants = shipped
    operation = data.draw(operations(bundle, constants))
    decision = bundle.decide(operation, as_of=AS_OF, questions=True)
    for name, regime in decision.regimes.items():
        if regime.status != "undetermined" or not regime.questions:
            continue
        answered = operation
        for question in regime.questions:
            answered = with_fact(
                answered, question.path, _answer(data, bundle, constants, question.path)
            )
        after = bundle.decide(answered, as_of=AS_OF).regimes[name]
        assert after.status != "undetermined", (
            name,
            [q.path for q in regime.questions],
            [(u.rule, u.missing) for u in after.undetermined_rules],
        )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_remediations_give_the_status_they_promise(
    shipped: tuple[Bundle, Constants], data: st.DataObject
) -> None:
    bundle, constants = shipped
    operation = data.draw(operations(bundle, constants))
    decision = bundle.decide(operation, as_of=AS_OF, remediate=True)
    for name, regime in decision.regimes.items():
        for remedy in regime.remediations:
            changed = operation
            for change in remedy.changes:
                value = change.after
                changed = with_fact(changed, change.path, value)
            after = bundle.decide(changed, as_of=AS_OF).regimes[name]
            assert after.status == remedy.status, (name, remedy.to_dict())
            assert not after.violations


def test_questions_and_remediations_are_deterministic(shipped: tuple[Bundle, Constants]) -> None:
    bundle, _ = shipped
    operation = json.loads((EXAMPLES / "newsletter.json").read_text())
    first = bundle.decide(operation, as_of=AS_OF, questions=True, remediate=True).to_dict()
    again = bundle.decide(operation, as_of=AS_OF, questions=True, remediate=True).to_dict()
    assert first == again


def test_a_profile_decides_the_newsletter_without_questions(
    shipped: tuple[Bundle, Constants],
) -> None:
    bundle, _ = shipped
    operation = json.loads((EXAMPLES / "newsletter.json").read_text())
    profile = bundle.load_profile(json.loads((EXAMPLES / "profile.json").read_text()), "acme-eu")
    decision = bundle.decide(operation, as_of=AS_OF, profile=profile, questions=True)
    assert decision.status in ("allowed", "allowed_with_obligations")
    assert not any(r.questions for r in decision.regimes.values())
    assert decision.profile is not None and "controller.establishments" in decision.profile.facts

    without = bundle.decide(operation, as_of=AS_OF, questions=True)
    assert without.status == "undetermined"
    assert any(r.questions for r in without.regimes.values())


def test_the_operation_wins_over_its_profile_and_says_so(
    shipped: tuple[Bundle, Constants],
) -> None:
    bundle, _ = shipped
    profile = bundle.load_profile({"controller": {"establishments": ["DE"]}}, "p", 3)
    decision = bundle.decide(
        {"controller": {"establishments": ["FR"]}}, as_of=AS_OF, profile=profile
    )
    assert decision.profile.overridden == ("controller.establishments",)
    assert decision.to_dict()["profile"]["version"] == 3


def test_an_operation_fact_in_a_profile_is_an_error_naming_it(
    shipped: tuple[Bundle, Constants],
) -> None:
    bundle, _ = shipped
    with pytest.raises(OperationError) as raised:
        bundle.load_profile({"subjects": {"count": 10}, "controller": {"ciio": False}})
    assert [e.path for e in raised.value.errors] == ["subjects.count"]


def test_overrides_are_validated_like_an_operation(shipped: tuple[Bundle, Constants]) -> None:
    bundle, _ = shipped
    with pytest.raises(OperationError) as raised:
        bundle.decide({"legal_basis": "none"}, as_of=AS_OF, overrides={"consent ": {}})
    assert raised.value.errors[0].path.startswith("consent ")


def test_no_basis_remediation_removes_the_exposure(shipped: tuple[Bundle, Constants]) -> None:
    bundle, _ = shipped
    operation = {
        "controller": {
            "establishments": ["DE"],
            "worldwide_turnover": {"amount": "1000000000", "currency": "EUR"},
        },
        "processing": {"locations": ["DE"]},
        "subjects": {"locations": ["DE"]},
        "purposes": ["marketing"],
        "legal_basis": "none",
        "data_categories": ["contact"],
    }
    gdpr = bundle.decide(operation, as_of=AS_OF, remediate=True).regimes["GDPR"]
    assert gdpr.status == "denied"
    changed = [tuple(c.path for c in r.changes) for r in gdpr.remediations]
    assert ("legal_basis",) in changed
    remedy = gdpr.remediations[changed.index(("legal_basis",))]
    assert remedy.exposure_removed.max.amount == 40_000_000


def test_scc_without_assessment_remediation_is_the_assessment(
    shipped: tuple[Bundle, Constants],
) -> None:
    bundle, _ = shipped
    operation = {
        "controller": {"establishments": ["IT"]},
        "processing": {"locations": ["IT"]},
        "subjects": {"locations": ["IT"]},
        "purposes": ["service_delivery"],
        "legal_basis": "contract",
        "data_categories": ["contact"],
        "transfers": [{"destination": "IN", "mechanism": "scc", "impact_assessment": False}],
    }
    gdpr = bundle.decide(operation, as_of=AS_OF, remediate=True).regimes["GDPR"]
    assert gdpr.status == "denied"
    assert any(
        any(c.path == "transfers[0].impact_assessment" and c.after is True for c in r.changes)
        for r in gdpr.remediations
    ), [r.to_dict()["text"] for r in gdpr.remediations]


def test_obligations_with_a_known_anchor_date_carry_their_due_date(
    shipped: tuple[Bundle, Constants],
) -> None:
    bundle, _ = shipped
    breach = {
        "controller": {"establishments": ["DE"]},
        "processing": {"locations": ["DE"]},
        "subjects": {"locations": ["DE"]},
        "purposes": ["service_delivery"],
        "legal_basis": "contract",
        "data_categories": ["contact"],
        "transfers": [],
        "breach": {"occurred": True, "risk": "high", "aware_date": "2025-05-30"},
    }
    gdpr = bundle.decide(breach, as_of=AS_OF).regimes["GDPR"]
    due = {o.rule: o.due for o in gdpr.obligations}
    assert due["breach_notification"] == dt.date(2025, 6, 2)  # 72 hours after 30 May

    request = {
        "controller": {
            "establishments": ["US-CA"],
            "for_profit": True,
            "annual_gross_revenue": {"amount": "40000000", "currency": "USD"},
        },
        "subjects": {"locations": ["US-CA"]},
        "purposes": ["sale"],
        "request": {
            "kind": "opt_out",
            "received_date": "2025-05-30",  # a Friday
            "opt_out_business_days": 3,
        },
    }
    ccpa = bundle.decide(request, as_of=AS_OF).regimes["CCPA"]
    due = {o.rule: o.due for o in ccpa.obligations if o.due is not None}
    # 15 business days from Friday 30 May 2025: Friday 20 June 2025
    assert due.get("opt_out_request_deadline") == dt.date(2025, 6, 20), due


def test_without_the_profile_a_few_questions_decide_the_newsletter(
    shipped: tuple[Bundle, Constants],
) -> None:
    bundle, _ = shipped
    operation = json.loads((EXAMPLES / "newsletter.json").read_text())
    decision = bundle.decide(operation, as_of=AS_OF, questions=True)
    asked = {
        name: [q.path for q in r.questions] for name, r in decision.regimes.items() if r.questions
    }
    assert asked and all(len(paths) <= 5 for paths in asked.values()), asked
    answers = {
        "controller": {"establishments": ["DE"]},
        "subjects": {"monitored": False, "targeted": True},
        "processing": {"locations": ["DE"]},
        "pipl": {
            "legal_basis": "consent",
            "pi_necessary_for_service": False,
            "service_refused_without_consent": False,
        },
    }
    paths = {p for ps in asked.values() for p in ps}
    assert paths <= {
        "controller.establishments",
        "subjects.monitored",
        "subjects.targeted",
        "processing.locations",
        "pipl.legal_basis",
        "pipl.pi_necessary_for_service",
        "pipl.service_refused_without_consent",
    }, paths
    answered = bundle.decide(operation, as_of=AS_OF, overrides=answers)
    assert answered.status in ("allowed", "allowed_with_obligations")


def test_a_ccpa_sale_without_the_opt_out_link_is_fixed_by_adding_it(
    shipped: tuple[Bundle, Constants],
) -> None:
    bundle, _ = shipped
    operation = {
        "controller": {
            "establishments": ["US-CA"],
            "for_profit": True,
            "annual_gross_revenue": {"amount": "40000000", "currency": "USD"},
        },
        "subjects": {"locations": ["US-CA"], "youngest_age": 30},
        "purposes": ["sale"],
        "data_categories": ["contact"],
        "ccpa": {"opt_out_link": False, "signal_frictionless": False},
        "violations": {"count": 10},
    }
    ccpa = bundle.decide(operation, as_of=AS_OF, remediate=True).regimes["CCPA"]
    assert ccpa.status == "denied"
    assert any(
        any(c.path == "ccpa.opt_out_link" and c.after is True for c in r.changes)
        for r in ccpa.remediations
    ), [r.to_dict()["text"] for r in ccpa.remediations]
