"""Internal rules as a regime (policies/internal): off by default, enabled by a profile, their
findings kept apart from the law's. The statutory regimes' answers must not move by a cent
when the internal pack is switched on."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from lexgate.engine import Bundle
from lexgate.engine.vocabulary import OperationError

from tests.conftest import ROOT

AS_OF = dt.date(2026, 11, 30)
PROFILE = json.loads((ROOT / "examples" / "profile.json").read_text())
SALES_EXPORT: dict[str, Any] = {
    "actor": {"role": "sales"},
    "subjects": {"locations": ["DE"], "count": 10000, "youngest_age": 18},
    "purposes": ["marketing"],
    "data_categories": ["contact"],
    "legal_basis": "legitimate_interests",
    "export": {
        "records": 10000,
        "fields": ["name", "email", "phone"],
        "masked_fields": [],
        "dpo_approved": False,
    },
    "automated_decision": {"used": False},
    "transfers": [],
}


def _profiles(bundle: Bundle) -> tuple[Any, Any]:
    without = {k: v for k, v in PROFILE.items() if k != "enable"}
    return (
        bundle.load_profile(without, "acme"),
        bundle.load_profile({**without, "enable": ["INTERNAL"]}, "acme"),
    )


def test_internal_pack_is_off_by_default(bundle: Bundle) -> None:
    assert bundle.checked.regimes["INTERNAL"].kind == "internal"
    assert "INTERNAL" not in bundle.enabled()
    decision = bundle.decide(SALES_EXPORT, as_of=AS_OF)
    assert decision.internal is None and "INTERNAL" not in decision.regimes
    assert "internal" not in decision.to_dict()


def test_a_sales_export_of_10000_records_is_denied_internally_only(bundle: Bundle) -> None:
    plain, enabled = _profiles(bundle)
    before = bundle.decide(SALES_EXPORT, as_of=AS_OF, profile=plain)
    after = bundle.decide(SALES_EXPORT, as_of=AS_OF, profile=enabled)

    assert after.internal_status == "denied"
    internal = after.internal["INTERNAL"] if after.internal else None
    assert internal is not None
    violated = {v.rule: v for v in internal.violations}
    assert set(violated) == {"export_dpo_approval", "export_identifier_masking"}
    assert violated["export_dpo_approval"].severity == "high"
    assert all(v.exposure == () and v.cite for v in internal.violations)  # severity, no fine

    # the law's answer is the same, to the figure: status, regimes, exposure
    assert after.status == before.status
    assert set(after.regimes) == set(before.regimes)
    for name, regime in before.regimes.items():
        assert after.regimes[name].to_dict() == regime.to_dict(), name
    assert after.exposure == before.exposure
    data = after.to_dict()
    assert data["internal"]["status"] == "denied"
    assert "INTERNAL" not in data["regimes"] and data["profile"]["enable"] == ["INTERNAL"]


def test_masking_needs_the_masked_fields_stated(bundle: Bundle) -> None:
    _, enabled = _profiles(bundle)
    operation = {**SALES_EXPORT, "export": {"records": 100, "fields": ["name", "phone"]}}
    undecided = bundle.decide(operation, as_of=AS_OF, profile=enabled, questions=True)
    internal = undecided.regime("INTERNAL")
    assert internal.status == "undetermined"
    assert "export.masked_fields" in internal.missing
    masked = {**operation, "export": {**operation["export"], "masked_fields": ["phone"]}}
    assert bundle.decide(masked, as_of=AS_OF, profile=enabled).internal_status == "allowed"


def test_enable_names_internal_regimes_only(bundle: Bundle) -> None:
    with pytest.raises(OperationError) as error:
        bundle.load_profile({"enable": ["GDPR", "INTERNL"]})
    paths = [e.path for e in error.value.errors]
    assert paths == ["enable[0]", "enable[1]"]
    assert "not an internal regime" in error.value.errors[1].message
    with pytest.raises(OperationError):
        bundle.load_profile({"enable": "INTERNAL"})


def test_the_profile_schema_documents_enable(bundle: Bundle) -> None:
    schema = bundle.schema.profile_json_schema()
    assert schema["properties"]["enable"]["type"] == "array"
