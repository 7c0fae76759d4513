"""The CCPA pack against a table of hand-computed cases (tests/policies/ccpa_cases.json).

Each case is the table's `base` operation with some facts set or removed, decided as of a date;
the CCPA regime's status, its exact set of violated rules, and its exposure per payer (USD, to
the dollar) must match the hand computation recorded beside the case. Where the maximum is not
computable (null), `max_at_least` gives the floor the engine must report under it (issue 10: a
certain violation is at least one violation, never "at least 0").
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lexgate.engine import Bundle, Money

from tests.policies.tables import set_fact, unset_fact

CASES_FILE = Path(__file__).with_name("ccpa_cases.json")
TABLE = json.loads(CASES_FILE.read_text(encoding="utf-8"))
CASES = TABLE["cases"]


def operation_of(case: dict[str, Any]) -> dict[str, Any]:
    operation = copy.deepcopy(TABLE["base"])
    for path, value in case.get("set", {}).items():
        set_fact(operation, path, value)
    for path in case.get("unset", []):
        unset_fact(operation, path)
    return operation


def _usd(amount: str | None) -> Money | None:
    return None if amount is None else Money(Decimal(amount), "USD")


def _same(got: Money | None, want: Money | None) -> bool:
    if got is None or want is None:
        return got is want
    return got.currency == want.currency and got.amount == want.amount


def test_the_table_has_at_least_thirty_cases_with_unique_ids_and_computations() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)
    assert all(case.get("computation") for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_ccpa_case(bundle: Bundle, case: dict[str, Any]) -> None:
    as_of = dt.date.fromisoformat(case["as_of"])  # every case states its date: no "today"
    decision = bundle.decide(operation_of(case), as_of=as_of, currency="USD")
    ccpa = decision.regimes["CCPA"]
    hand = case["computation"]

    assert ccpa.status == case["status"], (
        f"{hand}: status {ccpa.status}, missing {ccpa.missing}, "
        f"violated {[v.rule for v in ccpa.violations]}"
    )
    assert sorted(v.rule for v in ccpa.violations) == sorted(case["violations"]), hand
    for rule in case.get("obligations", []):
        assert rule in {o.rule for o in ccpa.obligations}, f"{hand}: no obligation from {rule}"

    want = case["exposure"]
    assert set(ccpa.exposure) == set(want), f"{hand}: payers {sorted(ccpa.exposure)}"
    for payer, (low, high) in want.items():
        amount = ccpa.exposure[payer]
        assert _same(amount.min, _usd(low)), f"{hand}: {payer} min {amount.min}"
        assert _same(amount.max, _usd(high)), f"{hand}: {payer} max {amount.max}"
    for payer, floor in case.get("max_at_least", {}).items():
        amount = ccpa.exposure[payer]
        assert amount.max is None, f"{hand}: {payer} max {amount.max} is known"
        assert _same(amount.max_at_least, _usd(floor)), (
            f"{hand}: {payer} max at least {amount.max_at_least}"
        )
