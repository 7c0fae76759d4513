"""The PIPL pack against a table of hand-computed cases (tests/policies/pipl_cases.json).

Each case gives an operation and an as-of date; the PIPL regime's status, its exact set of violated
rules, and the exposure range per payer ("organisation", "responsible individuals") in CNY, to the
yuan, must match the hand computation recorded beside the case. `null` for a payer means the range
cannot be computed (a figure the pack does not encode); an empty exposure means no fine line.
`{"max": null, "max_at_least": X, "min": Y}` means the maximum is unknown (a missing turnover) and
X is its floor (the fixed RMB 50 million of Art. 66(2)). `"not_assessed": [...]` lists the topics
the decision must report as not assessed (issue 10: no silent gates).

The table covers the same 50,000-person export before and after the CAC 2024 Provisions (and on
the eve and the day of 22 March 2024), sensitive PI of 9,999 / 10,000 / 10,001 people, the
1,000,000 and 100,000 boundaries, Hong Kong as a destination, the Art. 5 exemptions, the 2022
Measures' previous-year count, a CIIO exporting one person's data (2025 and after the 2026 CSL
amendment), important data under the DSL, a minor of 13 and of 14, both Art. 66 tiers and the
alternative caps, and the PIPO date. JSON, so no YAML dependency.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lexgate.engine import Bundle
from lexgate.engine.tester import run_examples

CASES_FILE = Path(__file__).with_name("pipl_cases.json")
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]


def test_the_table_has_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30
    assert len({c["id"] for c in CASES}) == len(CASES)


def _yuan(money: Any) -> Decimal | None:
    if money is None:
        return None
    assert money.currency == "CNY"
    return money.amount


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(bundle: Bundle, case: dict[str, Any]) -> None:
    decision = bundle.decide(case["operation"], as_of=dt.date.fromisoformat(case["as_of"]))
    pipl = decision.regimes["PIPL"]
    expect = case["expect"]
    context = f"{case['description']} — {case['computation']}"
    assert pipl.status == expect["status"], (
        context,
        pipl.missing,
        [v.rule for v in pipl.violations],
    )
    assert sorted(v.rule for v in pipl.violations) == expect["violations"], context
    assert set(pipl.exposure) == set(expect["exposure"]), (context, pipl.exposure)
    for payer, want in expect["exposure"].items():
        got = pipl.exposure[payer]
        if want is None:
            assert got.max is None, (context, payer, got)
            continue
        if want.get("max") is None:
            assert got.max is None, (context, payer, got)
            assert _yuan(got.max_at_least) == Decimal(want["max_at_least"]), (context, payer, got)
        else:
            assert _yuan(got.max) == Decimal(want["max"]), (context, payer, got.max)
        assert _yuan(got.min) == Decimal(want["min"]), (context, payer, got.min)
    if "not_assessed" in expect:
        assert sorted(n.topic for n in pipl.not_assessed) == sorted(expect["not_assessed"]), (
            context,
            pipl.not_assessed,
        )


def test_every_violation_is_cited_and_every_fine_line_has_a_payer(bundle: Bundle) -> None:
    regime = bundle.checked.regimes["PIPL"]
    for name, rule in regime.rules.items():
        assert rule.cite, name
    payers = {fine.payer for fine in regime.fines.values()}
    assert payers == {"organisation", "responsible individuals"}


def test_examples_pass_and_exercise_every_rule(bundle: Bundle) -> None:
    report = run_examples(bundle, "PIPL")
    failed = [(r.description, r.failures) for r in report.results if not r.passed]
    assert not failed, failed
    coverage = report.coverage["PIPL"]
    assert all(coverage.rules.values()), [n for n, ok in coverage.rules.items() if not ok]
