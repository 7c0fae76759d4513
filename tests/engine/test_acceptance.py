"""The acceptance checks of the policy-language issue, through the public API and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal

from lexgate.engine import Bundle, Money

from tests.conftest import ROOT

AS_OF = dt.date(2025, 6, 1)


def _no_basis(turnover: str) -> dict:
    return {
        "controller": {
            "establishments": ["DE"],
            "worldwide_turnover": {"amount": turnover, "currency": "EUR"},
        },
        "legal_basis": "none",
    }


def test_no_basis_turnover_one_billion_caps_at_forty_million(bundle: Bundle) -> None:
    decision = bundle.decide(_no_basis("1000000000"), as_of=AS_OF)
    gdpr = decision.regimes["GDPR"]
    assert gdpr.status == "denied"
    (violation,) = [v for v in gdpr.violations if v.rule == "lawful_basis"]
    assert violation.cite == "Art. 6(1)"
    assert gdpr.exposure["organisation"].max == Money(Decimal("40000000"), "EUR")


def test_no_basis_turnover_hundred_million_caps_at_twenty_million(bundle: Bundle) -> None:
    gdpr = bundle.decide(_no_basis("100000000"), as_of=AS_OF).regimes["GDPR"]
    assert gdpr.exposure["organisation"].max == Money(Decimal("20000000"), "EUR")


def test_missing_fact_is_undetermined_and_named(bundle: Bundle) -> None:
    operation = {
        "controller": {"establishments": ["DE"]},
        "data_categories": ["contact"],
        "purposes": ["service_delivery"],
        "transfers": [],
        "breach": {"occurred": False},
    }
    gdpr = bundle.decide(operation, as_of=AS_OF).regimes["GDPR"]
    assert gdpr.status == "undetermined"
    assert "legal_basis" in gdpr.missing


def test_cli_eval_prints_denied_and_exact_cap(tmp_path) -> None:
    operation = tmp_path / "op.json"
    operation.write_text(json.dumps(_no_basis("1000000000")))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lexgate.engine",
            "eval",
            str(operation),
            "--format",
            "json",
            "--as-of",
            "2025-06-01",
            "--policies",
            str(ROOT / "policies"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    decision = json.loads(result.stdout)
    gdpr = decision["regimes"]["GDPR"]
    assert gdpr["status"] == "denied"
    assert gdpr["violations"][0]["cite"] == "Art. 6(1)"
    assert gdpr["exposure"]["organisation"]["max"] == {"amount": "40000000.00", "currency": "EUR"}
