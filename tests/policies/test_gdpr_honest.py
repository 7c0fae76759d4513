"""Issue 10 ("honest answers on partial facts") and issue 17 (items 5 and 7, GDPR readings) for
the GDPR pack: the "Done when" answers, checked through the same `Bundle.decide` as the API.

Each test names the provision and the reading it proves; the pack's `example` blocks say the same
in the policy language (policies/gdpr/*.policy). Operations state the facts that decide whether a
DPIA, a DPO, records, Art. 5(1)(b) and Art. 22 apply (`_DETERMINED`) only where a test needs the
rest of the answer to be settled; the organisation duties they leave unstated are obligations.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from lexgate.engine import Bundle

AS_OF = dt.date(2025, 6, 1)

_DETERMINED: dict[str, Any] = {
    "processing": {
        "further_purpose": False,
        "likely_risk": "low",
        "large_scale": False,
        "core_activity": False,
    },
    "automated_decision": {"used": False},
    "governance": {"records_of_processing": True},
}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _gdpr(bundle: Bundle, operation: dict[str, Any], as_of: dt.date = AS_OF) -> Any:
    return bundle.decide(operation, as_of=as_of).regimes["GDPR"]


def _violated(gdpr: Any) -> dict[str, str | None]:
    return {v.rule: v.cite for v in gdpr.violations}


def _obliged(gdpr: Any) -> set[str]:
    return {o.rule for o in gdpr.obligations}


def _simple(**facts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "controller": {"establishments": ["DE"], "public_authority": False},
        "legal_basis": "contract",
        "purposes": ["service_delivery"],
        "data_categories": ["contact"],
        "transfers": [],
    }
    return _merge(base, facts)


def test_notice_not_provided_source_unknown_is_denied_under_arts_13_14(bundle: Bundle) -> None:
    gdpr = _gdpr(bundle, _simple(notice={"provided": False}))
    assert gdpr.status == "denied"
    assert _violated(gdpr)["information_to_subjects"] == "Arts 13-14"
    assert "information_content" not in _violated(gdpr)


def test_a_defence_not_invoked_is_named_on_the_violation(bundle: Bundle) -> None:
    """House rule on `is known`: the Art. 13(4)/14(5) exceptions apply only when the controller
    invokes one (`notice.exception is known`). Not invoked, the violation stands, and it names
    each exception not applied with the facts that were not stated, so the gate is not silent."""
    gdpr = _gdpr(bundle, _simple(notice={"provided": False}))
    (violation,) = [v for v in gdpr.violations if v.rule == "information_to_subjects"]
    not_applied = {e.exception: e for e in violation.exceptions_not_applied}
    assert set(not_applied) == {
        "notice_already_informed",
        "notice_disproportionate_effort",
        "notice_required_by_law",
        "notice_professional_secrecy",
    }
    assert not_applied["notice_already_informed"].missing == ("notice.exception",)
    assert not_applied["notice_already_informed"].cite == "Art. 13(4); Art. 14(5)(a)"
    assert "not invoked" in not_applied["notice_already_informed"].notes[0]
    shown = violation.to_dict()["exceptions_not_applied"]
    assert shown[0]["missing"] and shown[0]["exception"] in not_applied
    # invoked (and not applicable: the data came from the subject), nothing is left unstated
    stated = _merge(
        _simple(),
        {
            "notice": {
                "provided": False,
                "exception": "professional_secrecy",
                "made_public": False,
            },
            "processing": {"collected_from_subject": True},
        },
    )
    (violation,) = [
        v for v in _gdpr(bundle, stated).violations if v.rule == "information_to_subjects"
    ]
    assert violation.exceptions_not_applied == ()


def test_art_14_5_exception_turns_on_the_collection_source(bundle: Bundle) -> None:
    """Arts 13(4)/14(5): (c)-(d) exist only in Art. 14, so with the source unknown the rule is
    undetermined; with the data not from the subject the exception applies."""
    invoked = _merge(
        _simple(**_DETERMINED), {"notice": {"provided": False, "exception": "required_by_law"}}
    )
    gdpr = _gdpr(bundle, invoked)
    assert gdpr.status == "undetermined"
    assert "processing.collected_from_subject" in gdpr.missing
    not_from_subject = _merge(invoked, {"processing": {"collected_from_subject": False}})
    assert "information_to_subjects" not in _violated(_gdpr(bundle, not_from_subject))


def _health_profiling(**facts: Any) -> dict[str, Any]:
    return _merge(
        {
            "controller": {"establishments": ["DE"], "public_authority": False},
            "legal_basis": "consent",
            "consent": {
                "given": True,
                "freely_given": True,
                "informed": True,
                "demonstrable": True,
                "withdrawable": True,
                "explicit": True,
            },
            "special_category_condition": "explicit_consent",
            "processing": {
                "information_society_service": False,
                "large_scale": True,
                "further_purpose": False,
                "core_activity": False,
            },
            "automated_decision": {"used": False},
            "purposes": ["profiling"],
            "data_categories": ["health"],
            "transfers": [],
        },
        facts,
    )


def test_health_profiling_without_a_word_on_the_dpia_owes_one(bundle: Bundle) -> None:
    gdpr = _gdpr(bundle, _health_profiling())
    assert gdpr.status == "allowed_with_obligations"
    assert "dpia" in _obliged(gdpr)


def test_health_profiling_with_dpia_false_breaches_art_35_1(bundle: Bundle) -> None:
    gdpr = _gdpr(bundle, _health_profiling(governance={"dpia": False}))
    assert gdpr.status == "denied"
    assert _violated(gdpr)["dpia"] == "Art. 35(1)"


def test_scc_transfer_to_india_without_assessment_breaches_art_46(bundle: Bundle) -> None:
    denied = _gdpr(
        bundle,
        _simple(transfers=[{"destination": "IN", "mechanism": "scc", "impact_assessment": False}]),
    )
    assert denied.status == "denied"
    assert _violated(denied)["transfer_impact_assessment"] == "Art. 46(1)"
    owed = _gdpr(
        bundle,
        _merge(_simple(**_DETERMINED), {"transfers": [{"destination": "IN", "mechanism": "scc"}]}),
    )
    assert owed.status == "allowed_with_obligations"
    assert "transfer_impact_assessment" in _obliged(owed)


def test_customer_database_without_access_control_breaches_art_32_1(bundle: Bundle) -> None:
    gdpr = _gdpr(
        bundle,
        _simple(data_categories=["contact", "identifiers"], security={"access_control": False}),
    )
    assert gdpr.status == "denied"
    assert _violated(gdpr)["security_of_processing"] == "Art. 32(1)"


def test_unencrypted_health_data_breaches_art_32_1_contact_data_does_not(bundle: Bundle) -> None:
    """lexgate's reading of Art. 32(1)(a) "as appropriate": encryption for high-risk categories."""
    measures = {"encryption": False, "access_control": True, "appropriate_measures": True}
    health = _gdpr(
        bundle,
        _simple(
            data_categories=["health"],
            special_category_condition="health_care",
            security=measures,
        ),
    )
    assert "security_of_processing" in _violated(health)
    contact = _gdpr(bundle, _merge(_simple(**_DETERMINED), {"security": measures}))
    assert "security_of_processing" not in _violated(contact)


def test_turnover_unknown_keeps_the_fixed_caps_as_floors(bundle: Bundle) -> None:
    upper = _gdpr(bundle, {"controller": {"establishments": ["DE"]}, "legal_basis": "none"})
    organisation = upper.exposure["organisation"]
    assert organisation.max is None
    assert organisation.max_at_least is not None
    assert (organisation.max_at_least.amount, organisation.max_at_least.currency) == (
        Decimal("20000000"),
        "EUR",
    )
    lower = _gdpr(bundle, _simple(governance={"privacy_by_design": False}))
    assert lower.exposure["organisation"].max_at_least.amount == Decimal("10000000")


def test_uk_controller_in_scope_in_2019_and_out_in_2021(bundle: Bundle) -> None:
    """Withdrawal Agreement Arts 126-127: Union law applied in the UK until 2020-12-31."""
    in_2019 = _gdpr(
        bundle,
        {"controller": {"establishments": ["GB"]}, "legal_basis": "none"},
        dt.date(2019, 6, 1),
    )
    assert in_2019.status == "denied"
    in_2021 = _gdpr(
        bundle,
        {
            "controller": {"establishments": ["GB"]},
            "subjects": {"locations": ["GB"], "targeted": False, "monitored": False},
            "legal_basis": "none",
        },
        dt.date(2021, 6, 1),
    )
    assert in_2021.status == "not_applicable"


def test_norway_only_from_20_july_2018(bundle: Bundle) -> None:
    """EEA Joint Committee Decision No 154/2018, in force 20 July 2018."""
    operation = {
        "controller": {"establishments": ["NO"]},
        "subjects": {"locations": ["NO"], "targeted": False, "monitored": False},
        "legal_basis": "none",
    }
    assert _gdpr(bundle, operation, dt.date(2018, 7, 19)).status == "not_applicable"
    assert _gdpr(bundle, operation, dt.date(2018, 7, 20)).status == "denied"


def _teen(country: str, age: int) -> dict[str, Any]:
    return _merge(
        _simple(**_DETERMINED),
        {
            "controller": {"establishments": [country]},
            "legal_basis": "consent",
            "consent": {
                "given": True,
                "freely_given": True,
                "informed": True,
                "demonstrable": True,
                "withdrawable": True,
                "guardian": False,
            },
            "processing": {"information_society_service": True},
            "subjects": {"youngest_age": age, "locations": [country]},
        },
    )


def test_fifteen_year_old_in_slovenia_needs_a_parent_until_zvop_2(bundle: Bundle) -> None:
    assert "child_consent" in _violated(_gdpr(bundle, _teen("SI", 15), dt.date(2021, 6, 1)))
    assert "child_consent" not in _violated(_gdpr(bundle, _teen("SI", 15), dt.date(2023, 1, 26)))


def test_national_ages_start_with_their_laws(bundle: Bundle) -> None:
    """CZ 15 from 2019-04-24, BG 14 from 2019-03-02 (16 before)."""
    assert "child_consent" in _violated(_gdpr(bundle, _teen("CZ", 15), dt.date(2019, 4, 23)))
    assert "child_consent" not in _violated(_gdpr(bundle, _teen("CZ", 15), dt.date(2019, 4, 24)))
    assert "child_consent" in _violated(_gdpr(bundle, _teen("BG", 14), dt.date(2019, 3, 1)))
    assert "child_consent" not in _violated(_gdpr(bundle, _teen("BG", 14), dt.date(2019, 3, 2)))


def test_undescribed_events_are_listed_not_passed(bundle: Bundle) -> None:
    gdpr = _gdpr(bundle, _simple(**_DETERMINED))
    assert {n.topic for n in gdpr.not_assessed} == {"breach", "requests", "orders"}
    described = _gdpr(bundle, _merge(_simple(**_DETERMINED), {"breach": {"occurred": False}}))
    assert "breach" not in {n.topic for n in described.not_assessed}


def test_a_late_notification_is_a_violation_in_itself(bundle: Bundle) -> None:
    """lexgate's reading of Art. 33(1): after 72 hours, an infringement (reasons are the
    authority's to weigh); the stated hours imply the authority was notified."""
    late = _gdpr(
        bundle,
        _simple(
            breach={"occurred": True, "risk": "low", "hours_to_authority": 80, "documented": True}
        ),
    )
    assert late.violations and _violated(late)["breach_notification"] == "Art. 33(1)"
    in_time = _gdpr(
        bundle,
        _merge(
            _simple(**_DETERMINED),
            {
                "breach": {
                    "occurred": True,
                    "risk": "low",
                    "hours_to_authority": 48,
                    "documented": True,
                }
            },
        ),
    )
    assert "breach_notification" not in _violated(in_time)
    assert "breach_notification" not in _obliged(in_time)
