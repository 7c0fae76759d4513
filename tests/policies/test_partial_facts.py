"""Issue 10, "Done when": honest answers on partial facts, through the public API.

Each case is also an `example` in its pack; here the answers are checked by citation, so a rule
renamed in a pack does not hide a wrong answer.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from lexgate.engine import Bundle, load_bundle

from tests.conftest import ROOT

AS_OF = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return load_bundle(ROOT / "policies")


def _regime(bundle: Bundle, operation: dict[str, Any], name: str) -> Any:
    return bundle.decide(operation, as_of=AS_OF).regimes[name]


def _cites(regime: Any) -> str:
    return " | ".join(v.cite or "" for v in regime.violations)


def _obligation_cites(regime: Any) -> str:
    return (
        " | ".join(o.cite or "" for o in regime.obligations)
        + " | "
        + " | ".join(f"{o.rule}" for o in regime.obligations)
    )


EU_CONTROLLER = {
    "controller": {
        "establishments": ["DE"],
        "worldwide_turnover": {"amount": "500000000", "currency": "EUR"},
    },
    "subjects": {"locations": ["DE"], "count": 20000},
    "purposes": ["service_delivery"],
    "legal_basis": "contract",
    "data_categories": ["contact"],
    "transfers": [],
}


def test_notice_not_provided_is_denied_whatever_the_collection_source(bundle: Bundle) -> None:
    operation = {**EU_CONTROLLER, "notice": {"provided": False}}
    gdpr = _regime(bundle, operation, "GDPR")
    assert gdpr.status == "denied"
    assert "13" in _cites(gdpr) or "14" in _cites(gdpr), _cites(gdpr)


def test_large_scale_health_profiling_without_a_word_on_the_dpia_is_not_allowed(
    bundle: Bundle,
) -> None:
    operation = {
        **EU_CONTROLLER,
        "purposes": ["profiling"],
        "data_categories": ["health"],
        "processing": {"large_scale": True},
    }
    gdpr = _regime(bundle, operation, "GDPR")
    assert gdpr.status != "allowed"
    dpia_owed = any("35" in (o.cite or "") or "dpia" in o.rule for o in gdpr.obligations)
    dpia_asked = "governance.dpia" in gdpr.missing
    assert dpia_owed or dpia_asked, (gdpr.status, _obligation_cites(gdpr), gdpr.missing)

    stated = {**operation, "governance": {"dpia": False}}
    gdpr = _regime(bundle, stated, "GDPR")
    assert gdpr.status == "denied"
    assert "35(1)" in _cites(gdpr), _cites(gdpr)


SCC_TO_INDIA = {
    **EU_CONTROLLER,
    "transfers": [{"destination": "IN", "mechanism": "scc"}],
}


def test_scc_transfer_with_the_assessment_stated_not_done_is_denied(bundle: Bundle) -> None:
    operation = {
        **SCC_TO_INDIA,
        "transfers": [{"destination": "IN", "mechanism": "scc", "impact_assessment": False}],
    }
    gdpr = _regime(bundle, operation, "GDPR")
    assert gdpr.status == "denied"
    assert "46" in _cites(gdpr) or "44" in _cites(gdpr), _cites(gdpr)


def test_scc_transfer_with_the_assessment_unstated_carries_the_duty(bundle: Bundle) -> None:
    gdpr = _regime(bundle, SCC_TO_INDIA, "GDPR")
    assert not any("46" in (v.cite or "") or "44" in (v.cite or "") for v in gdpr.violations)
    transfer_rules = {
        u.rule for u in gdpr.undetermined_rules if "46" in (u.cite or "") or "44" in (u.cite or "")
    }
    assert not transfer_rules, transfer_rules
    assert any("46" in (o.cite or "") or "44" in (o.cite or "") for o in gdpr.obligations), (
        _obligation_cites(gdpr)
    )


def test_access_control_stated_absent_is_a_security_violation(bundle: Bundle) -> None:
    operation = {**EU_CONTROLLER, "security": {"access_control": False}}
    gdpr = _regime(bundle, operation, "GDPR")
    assert gdpr.status == "denied"
    assert "32(1)" in _cites(gdpr), _cites(gdpr)

    china = {
        "controller": {"establishments": ["CN"]},
        "processing": {"locations": ["CN"]},
        "subjects": {"locations": ["CN"], "count": 20000},
        "purposes": ["service_delivery"],
        "data_categories": ["contact"],
        "security": {"access_control": False},
        "transfers": [],
    }
    pipl = _regime(bundle, china, "PIPL")
    assert pipl.status == "denied"
    assert "51" in _cites(pipl) or "DSL Art. 27" in _cites(pipl), _cites(pipl)


def test_a_sale_of_data_of_known_14_year_olds_without_consent_is_denied(bundle: Bundle) -> None:
    operation = {
        "controller": {
            "establishments": ["US-CA"],
            "for_profit": True,
            "annual_gross_revenue": {"amount": "40000000", "currency": "USD"},
        },
        "subjects": {
            "locations": ["US-CA"],
            "youngest_age": 14,
            "age_actual_knowledge": True,
            "count": 1000,
        },
        "purposes": ["sale"],
        "consent": {"given": False},
    }
    ccpa = _regime(bundle, operation, "CCPA")
    assert ccpa.status == "denied"
    assert "1798.120(c)" in _cites(ccpa), _cites(ccpa)


def test_unknown_intent_gives_the_intentional_worst_case(bundle: Bundle) -> None:
    operation = {
        "controller": {
            "establishments": ["US-CA"],
            "for_profit": True,
            "annual_gross_revenue": {"amount": "40000000", "currency": "USD"},
        },
        "subjects": {
            "locations": ["US-CA"],
            "youngest_age": 14,
            "age_actual_knowledge": True,
            "count": 1000,
        },
        "purposes": ["sale"],
        "consent": {"given": False},
        "violations": {"count": 1000},
    }
    ccpa = _regime(bundle, operation, "CCPA")
    line = next(
        line
        for v in ccpa.violations
        if "1798.120(c)" in (v.cite or "")
        for line in v.exposure
        if line.payer == "organisation"
    )
    assert line.amount.max is not None
    # the 2025 CPI-adjusted amounts: USD 7,988 intentional or involving minors' PI, per violation
    assert line.amount.max.amount == Decimal(7988) * 1000, line.amount.max


def test_unknown_turnover_leaves_the_fixed_caps_as_floors(bundle: Bundle) -> None:
    operation = {**EU_CONTROLLER, "legal_basis": "none"}
    operation["controller"] = {"establishments": ["DE"]}
    gdpr = _regime(bundle, operation, "GDPR")
    organisation = gdpr.exposure["organisation"]
    assert organisation.max is None
    assert organisation.max_at_least is not None
    assert organisation.max_at_least.amount >= 20_000_000

    china = {
        "controller": {"establishments": ["CN"]},
        "processing": {"locations": ["CN"]},
        "subjects": {"locations": ["CN"], "count": 20000},
        "purposes": ["service_delivery"],
        "data_categories": ["contact"],
        "security": {"access_control": False},
        "prc_enforcement": {"serious_circumstances": True},
        "transfers": [],
    }
    pipl = _regime(bundle, china, "PIPL")
    lines = [
        line
        for v in pipl.violations
        for line in v.exposure
        if line.payer == "organisation" and "66" in (line.cite or "")
    ]
    assert lines, [(v.rule, [x.cite for x in v.exposure]) for v in pipl.violations]
    floors = [line.amount.max_at_least for line in lines if line.amount.max is None]
    assert floors and all(f is not None and f.amount >= 50_000_000 for f in floors), floors


def test_topics_an_operation_does_not_describe_are_reported(bundle: Bundle) -> None:
    gdpr = _regime(bundle, EU_CONTROLLER, "GDPR")
    topics = {n.topic for n in gdpr.not_assessed}
    assert "breach" in topics
    assert all(n.reason and n.rules for n in gdpr.not_assessed)


def test_no_silent_gates_left_in_the_packs(bundle: Bundle) -> None:
    """`is known` survives only in rules that say why (the checker's W0401 otherwise)."""
    assert not [w for w in bundle.checked.warnings if w.code == "W0401"], [
        f"{w.span}: {w.message}" for w in bundle.checked.warnings if w.code == "W0401"
    ]
