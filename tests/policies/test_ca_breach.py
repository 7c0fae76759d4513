"""The California breach-notification regime (policies/ca_breach, Civ. Code § 1798.82).

`lexgate test policies/ca_breach` as a pytest, plus the issue 17 item 6 checks stated directly:
the SB 446 deadlines apply from 2026-01-01 only, the duty binds a business below the CCPA
thresholds, and an operation without the scope facts is `undetermined` or `not_applicable`,
never an error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from lexgate.engine import Bundle, run_examples

CA = {"locations": ["US-CA"]}


def test_every_ca_breach_example_passes_and_every_rule_is_exercised(bundle: Bundle) -> None:
    report = run_examples(bundle, "CA_BREACH")
    failures = [f"{r.description}: {'; '.join(r.failures)}" for r in report.results if not r.passed]
    assert not failures, "\n".join(failures)
    coverage = report.coverage["CA_BREACH"]
    assert all(coverage.rules.values()), [name for name, hit in coverage.rules.items() if not hit]
    assert all(coverage.provisions.values()), [
        cite for cite, hit in coverage.provisions.items() if not hit
    ]


def test_every_ca_breach_example_states_its_date(bundle: Bundle) -> None:
    examples = bundle.checked.regimes["CA_BREACH"].examples
    undated = [e.description for e in examples if e.as_of is None]
    assert not undated, undated


def _breach(days: int, residents: int = 300, **extra: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "subjects": dict(CA),
        # a small business: below every CCPA threshold, still bound by § 1798.82
        "controller": {
            "establishments": ["US-CA"],
            "for_profit": True,
            "annual_gross_revenue": {"amount": "1000000", "currency": "USD"},
            "consumers_pi_traded": 1000,
            "pi_sale_revenue_share": "0%",
        },
        "breach": {
            "occurred": True,
            "data_categories": ["contact", "government_id"],
            "exfiltrated": True,
            "data_encrypted": False,
            "subjects": residents,
            "days_to_notify_subjects": days,
            "notice_delay_permitted": False,
        },
    }
    operation["breach"].update(extra)
    return operation


def _decide(bundle: Bundle, operation: dict[str, Any], on: str):  # type: ignore[no-untyped-def]
    return bundle.decide(operation, as_of=dt.date.fromisoformat(on), currency="USD")


@pytest.mark.parametrize(
    ("on", "days", "late"),
    [
        ("2025-12-31", 45, False),  # before SB 446: no day count
        ("2026-01-01", 30, False),  # 30 calendar days is in time
        ("2026-01-01", 31, True),
        ("2026-06-01", 45, True),
    ],
)
def test_sb_446_thirty_days_from_2026(bundle: Bundle, on: str, days: int, late: bool) -> None:
    decision = _decide(bundle, _breach(days), on)
    ca = decision.regimes["CA_BREACH"]
    violated = {v.rule for v in ca.violations}
    assert ("resident_notice_late" in violated) is late, (ca.status, violated)
    assert ca.status == ("denied" if late else "allowed")
    # the same small business is not a CCPA business: the duty is § 1798.82's own scope
    assert decision.regimes["CCPA"].status == "not_applicable"


@pytest.mark.parametrize(
    ("on", "residents", "sample_days", "late"),
    [
        ("2026-03-01", 501, 16, True),
        ("2026-03-01", 501, 15, False),
        ("2026-03-01", 500, 40, False),  # not more than 500 residents: no sample due
        ("2025-06-01", 501, 40, False),  # before SB 446: no 15-day limit
    ],
)
def test_attorney_general_sample_within_15_days_from_2026(
    bundle: Bundle, on: str, residents: int, sample_days: int, late: bool
) -> None:
    operation = _breach(10, residents, ag_sample_days=sample_days)
    ca = _decide(bundle, operation, on).regimes["CA_BREACH"]
    assert ("ag_sample_late" in {v.rule for v in ca.violations}) is late, ca.status


def test_without_scope_facts_the_regime_is_undetermined_or_not_applicable(bundle: Bundle) -> None:
    for operation in ({}, {"subjects": dict(CA)}, {"controller": {"establishments": ["DE"]}}):
        status = _decide(bundle, operation, "2026-03-01").regimes["CA_BREACH"].status
        assert status in {"undetermined", "not_applicable"}, (operation, status)


def test_a_breach_not_described_is_listed_as_not_assessed(bundle: Bundle) -> None:
    operation = {"subjects": dict(CA), "controller": {"establishments": ["US-CA"]}}
    ca = _decide(bundle, operation, "2026-03-01").regimes["CA_BREACH"]
    assert ca.status == "allowed"
    assert "breach" in {entry.topic for entry in ca.not_assessed}
