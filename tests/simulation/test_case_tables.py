"""Issue 18: the hand-computed case tables of the packs (tests/policies/*_cases.json) through
both back ends — the vectorised kernel must answer every case as the scalar evaluator does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lexgate.engine import Bundle, load_bundle
from lexgate.engine.simulation.kernel import Kernel

from tests.conftest import ROOT
from tests.policies.test_ccpa_table import operation_of as ccpa_operation
from tests.simulation.agreement import disagreements

TABLES = Path(__file__).resolve().parents[1] / "policies"


def _operations(name: str) -> list[dict[str, Any]]:
    table = json.loads((TABLES / f"{name}_cases.json").read_text(encoding="utf-8"))
    operations = []
    for case in table["cases"]:
        operation = ccpa_operation(case) if name == "ccpa" else dict(case["operation"])
        operations.append({**operation, "as_of": case["as_of"]})
    return operations


@pytest.fixture(scope="module")
def shipped() -> tuple[Bundle, Kernel]:
    bundle = load_bundle(ROOT / "policies")
    return bundle, Kernel(bundle)


@pytest.mark.parametrize("name", ["gdpr", "pipl", "ccpa"])
def test_every_case_of_the_table_agrees_in_both_back_ends(
    shipped: tuple[Bundle, Kernel], name: str
) -> None:
    bundle, kernel = shipped
    operations = _operations(name)
    assert len(operations) >= 40
    problems = disagreements(bundle, kernel, operations)
    assert not problems, "\n".join(problems[:5])
