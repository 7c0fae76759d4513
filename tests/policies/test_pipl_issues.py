"""The PIPL "Done when" statements of issues 10 (honest answers on partial facts) and 17 (core
duties, the Network Data Security Management Regulations, cross-border routes), one test each.

They run on the shipped bundle, so a change in another pack cannot hide a PIPL regression.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from lexgate.engine import Bundle

AS_OF = dt.date(2025, 6, 1)

CRM: dict[str, Any] = {
    "controller": {"establishments": ["CN"], "individuals_processed": 50000},
    "subjects": {"locations": ["CN"]},
    "pipl": {"legal_basis": "contract"},
    "data_categories": ["contact"],
    "purposes": ["service_delivery"],
    "transfers": [],
    "disclosures": [],
    "automated_decision": {"used": False},
}


def _pipl(bundle: Bundle, operation: dict[str, Any], as_of: dt.date = AS_OF) -> Any:
    return bundle.decide(operation, as_of=as_of).regimes["PIPL"]


def _with(**parts: Any) -> dict[str, Any]:
    operation = {key: value for key, value in CRM.items()}
    for key, value in parts.items():
        if isinstance(value, dict) and isinstance(operation.get(key), dict):
            operation[key] = {**operation[key], **value}
        else:
            operation[key] = value
    return operation


def _cites(decision: Any) -> set[str]:
    return {v.cite for v in decision.violations}


def test_crm_without_notice_processor_contract_or_security_is_denied(bundle: Bundle) -> None:
    decision = _pipl(
        bundle,
        _with(
            disclosures=[{"recipient_kind": "processor", "contract_in_place": False}],
            notice={"provided": False},
            security={"access_control": False, "encryption": False, "pseudonymised": False},
        ),
    )
    assert decision.status.value == "denied"
    assert {"Art. 17(1)", "Art. 21(1)", "Art. 51"} <= _cites(decision)


def test_customer_database_without_access_control_is_denied(bundle: Bundle) -> None:
    decision = _pipl(bundle, _with(security={"access_control": False}))
    assert decision.status.value == "denied"
    assert {"Art. 51", "DSL Art. 27"} <= _cites(decision)


def test_nothing_said_about_measures_gives_obligations_not_silence(bundle: Bundle) -> None:
    decision = _pipl(bundle, CRM)
    assert decision.status.value == "allowed_with_obligations"
    owed = {o.rule for o in decision.obligations}
    assert {"notice", "retention_minimum", "security_measures", "dsl_security_duty"} <= owed
    assert {n.topic for n in decision.not_assessed} == {
        "breach",
        "requests",
        "deletion",
        "processing_change",
    }


def test_statutory_duty_export_is_allowed_from_2025(bundle: Bundle) -> None:
    export = _with(
        pipl={"legal_basis": "statutory_duty", "notice_exempt": False},
        purposes=["legal_compliance"],
        cn_export={"necessary_for": "statutory_duty"},
        transfers=[
            {
                "destination": "US",
                "cn_mechanism": "none",
                "subjects": 200000,
                "sensitive_subjects": 0,
                "important_data": False,
            }
        ],
    )
    after = _pipl(bundle, export)
    assert after.status.value == "allowed_with_obligations"
    assert not after.violations
    before = _pipl(bundle, export, dt.date(2024, 6, 1))
    assert [v.rule for v in before.violations] == ["export_mechanism"]


def test_missing_processing_location_leaves_the_scope_undetermined(bundle: Bundle) -> None:
    operation = {
        "controller": {"establishments": ["DE"]},
        "subjects": {"locations": ["DE"], "targeted": True, "monitored": False},
    }
    assert _pipl(bundle, operation).status.value == "undetermined"
    operation["processing"] = {"locations": ["DE"]}
    assert _pipl(bundle, operation).status.value == "not_applicable"


def test_serious_case_with_turnover_unknown_has_the_fixed_cap_as_floor(bundle: Bundle) -> None:
    decision = _pipl(
        bundle, _with(pipl={"legal_basis": "none"}, prc_enforcement={"serious_circumstances": True})
    )
    organisation = decision.exposure["organisation"]
    assert organisation.max is None
    assert organisation.max_at_least.amount == Decimal("50000000")


def test_findings_and_turnover_unknown_floor_is_the_fixed_cap(bundle: Bundle) -> None:
    decision = _pipl(bundle, _with(pipl={"legal_basis": "none"}))
    organisation = decision.exposure["organisation"]
    assert organisation.max is None
    assert organisation.max_at_least.amount == Decimal("50000000")


def test_erasure_refused_without_ground_is_denied_without_a_day_count(bundle: Bundle) -> None:
    decision = _pipl(
        bundle,
        _with(
            request={"kind": "erasure", "days_to_respond": 400},
            pipl={
                "legal_basis": "contract",
                "request_refused": True,
                "refusal_grounded": False,
                "refusal_reasons_given": True,
            },
        ),
    )
    assert [v.rule for v in decision.violations] == ["rights_request"]
    still_open = _pipl(bundle, _with(request={"kind": "access", "days_to_respond": 400}))
    assert not still_open.violations  # 及时: the PIPL sets no day count
