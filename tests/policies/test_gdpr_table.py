"""The GDPR pack against a table of hand-computed cases (tests/policies/gdpr_cases.json).

Each case gives an operation and an as-of date; the GDPR regime's status, its exact set of violated
rules, the citations of those rules, and the statutory cap of the organisation's exposure (EUR, to
the cent where the percentage limb gives cents) must match the hand computation recorded beside
the case. The table covers the tier boundaries (turnover exactly EUR 500m and EUR 1bn), Art. 83(3)
aggregation, the DPF before and on 2023-07-10, and a child of 14 in a Member State whose age is 13
(Denmark) and 16 (Germany); since issue 10/17 also the honest answers on partial facts (no notice
with the collection source unknown, a DPIA or a transfer assessment stated as not done, access
control stated absent) and the dated territory and ages (UK 2019/2021, Slovenia 2021/2023). Cases
that were `allowed` state the facts that decide whether a DPIA, a DPO, records, Art. 5(1)(b) and
Art. 22 apply, and are `allowed_with_obligations`: the organisation duties they leave unstated are
owed (each case's computation says so).

The file also checks that every rule's fine matches the tier Art. 83(4)-(6) puts its article in,
and that the pack's own `example` blocks pass and exercise every rule.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lexgate.engine import Bundle
from lexgate.engine.tester import run_examples

CASES_FILE = Path(__file__).with_name("gdpr_cases.json")
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]


def test_the_table_has_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(bundle: Bundle, case: dict[str, Any]) -> None:
    decision = bundle.decide(case["operation"], as_of=dt.date.fromisoformat(case["as_of"]))
    gdpr = decision.regimes["GDPR"]
    expect = case["expect"]
    context = f"{case['description']} — {case['computation']}"
    assert gdpr.status == expect["status"], (
        context,
        gdpr.missing,
        [v.rule for v in gdpr.violations],
    )
    assert sorted(v.rule for v in gdpr.violations) == sorted(expect["violations"]), context
    assert sorted(v.cite or "" for v in gdpr.violations) == sorted(expect["articles"]), context
    organisation = gdpr.exposure.get("organisation")
    if expect["cap"] is None:
        assert organisation is None, context
    else:
        assert organisation is not None and organisation.max is not None, context
        assert organisation.max.currency == "EUR"
        assert organisation.max.amount == Decimal(expect["cap"]), (context, organisation.max)


# ---- Art. 83(4)-(6): every article in its tier ------------------------------------------------

LOWER = {8, 11, *range(25, 40), 42, 43}  # 83(4)(a): "Articles 8, 11, 25 to 39 and 42 and 43"
UPPER = {5, 6, 7, 9, *range(12, 23), *range(44, 50)}  # 83(5)(a)-(c)
ORDERS = {58}  # 83(5)(e) and 83(6): orders under Art. 58(2)


def _first_article(cite: str) -> int:
    match = re.search(r"Arts?\.? (\d+)", cite)
    assert match, cite
    return int(match.group(1))


def test_every_rule_carries_the_tier_of_its_article(bundle: Bundle) -> None:
    regime = bundle.checked.regimes["GDPR"]
    checked = 0
    for name, rule in regime.rules.items():
        if rule.exception_to is not None or not rule.fines:
            continue
        article = _first_article(rule.cite or "")
        statutory = [f for f in rule.fines if not f.startswith("edpb_")]
        estimates = [f for f in rule.fines if f.startswith("edpb_")]
        if article in LOWER:
            assert statutory == ["lower"] and estimates == ["edpb_estimate_lower"], name
        elif article in UPPER:
            assert statutory == ["upper"] and estimates == ["edpb_estimate_upper"], name
        elif article in ORDERS:
            assert statutory == ["order"] and estimates == ["edpb_estimate_upper"], name
        else:
            pytest.fail(f"rule `{name}` cites Art. {article}, which no Art. 83 tier lists")
        checked += 1
    assert checked >= 30


def test_examples_pass_and_exercise_every_rule(bundle: Bundle) -> None:
    report = run_examples(bundle, "GDPR")
    failures = [(r.description, r.failures) for r in report.results if not r.passed]
    assert not failures
    coverage = report.coverage["GDPR"]
    assert Coverage_percent(coverage.rules) == 100.0, [
        n for n, ok in coverage.rules.items() if not ok
    ]


def Coverage_percent(items: dict[str, bool]) -> float:
    return 100.0 * sum(items.values()) / len(items) if items else 100.0
