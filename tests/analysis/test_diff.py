"""`lexgate diff`: three changes planted in a copy of the shipped packs (a CCPA amount, an
adequacy date, a PIPL threshold) are reported, exactly those, each with an example operation
the two bundles decide differently; identical copies differ in nothing; the law's own change
on 2025-01-01 (the CCPA CPI adjustment) is found across dates."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from lexgate.engine.analysis.diff import diff
from lexgate.engine.bundle import load_bundle
from lexgate.engine.cli import app
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 6, 1)

EDITS = [
    # one CCPA amount: the CPI-adjusted revenue threshold
    ("ccpa/regime.policy", "= USD 26,625,000\n", "= USD 27,000,000\n"),
    # one adequacy date: Brazil's decision moved from 26 Jan 2026 to 1 Dec 2026
    (
        "gdpr/transfers.policy",
        "from 2021-12-17 until 2026-01-26",
        "from 2021-12-17 until 2026-12-01",
    ),
    (
        "gdpr/transfers.policy",
        "from 2026-01-26 until 2031-12-27",
        "from 2026-12-01 until 2031-12-27",
    ),
    # one PIPL threshold: the volume that needs a CAC security assessment
    (
        "pipl/cross_border.policy",
        "exported_individuals >= 1,000,000",
        "exported_individuals >= 900,000",
    ),
]


def _copy(tmp_path: Path, edits) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    for name, old, new in edits:
        path = target / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, (name, old)
        path.write_text(text.replace(old, new), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def shipped():
    return load_bundle(ROOT / "policies")


def _listed(view, subject):
    return subject in view["violations"] or subject in view["obligations"]


def test_three_planted_changes_are_exactly_what_is_reported(shipped, tmp_path):
    changed = load_bundle(_copy(tmp_path, EDITS))
    report = diff(shipped, changed, DAY)
    causes = {
        (c.regime, c.declaration.kind, c.declaration.name)
        for c in report.decisive()
        if c.declaration is not None
    }
    assert causes == {
        ("CCPA", "parameter", "revenue_threshold"),
        ("GDPR", "parameter", "adequate_destinations"),
        ("PIPL", "rule", "security_assessment_2024"),
    }
    assert all(c.declaration is not None for c in report.decisive())
    assert set(report.unchanged()) == {"CA_BREACH", "EPRIVACY"}
    for cause in report.decisive():
        assert cause.effects
        for effect in cause.effects:
            example = effect.example
            assert example is not None and example["as_of"] == DAY.isoformat()
            # the example is valid operation JSON, decided again here, independently
            before = shipped.decide(example).regimes[effect.regime]
            after = changed.decide(example).regimes[effect.regime]
            assert str(before.status) == effect.old["status"]
            assert str(after.status) == effect.new["status"]
            if effect.kind == "scope":
                assert (str(before.status) == "not_applicable") != (
                    str(after.status) == "not_applicable"
                )
            else:
                names = lambda d: {v.rule for v in d.violations} | {o.rule for o in d.obligations}  # noqa: E731
                assert (effect.subject in names(before)) != (effect.subject in names(after))
            assert effect.agrees
            assert json.dumps(example).count(":") <= 16, example  # small: few stated facts


def test_identical_copies_differ_in_nothing(shipped, tmp_path):
    copy = load_bundle(_copy(tmp_path, []))
    report = diff(shipped, copy, DAY)
    assert report.changes == ()
    assert report.decisive() == []
    assert set(report.unchanged()) == set(report.regimes)


def test_across_dates_finds_the_ccpa_adjustments(shipped):
    report = diff(shipped, shipped, dt.date(2024, 12, 31), dt.date(2025, 1, 1))
    ccpa = {
        c.declaration.name: c for c in report.decisive() if c.regime == "CCPA" and c.declaration
    }
    for adjusted in (
        "revenue_threshold",
        "penalty_per_violation",
        "penalty_per_intentional_violation",
    ):
        assert adjusted in ccpa, sorted(ccpa)
        assert all(e.agrees for e in ccpa[adjusted].effects)
    scope = ccpa["revenue_threshold"].effects[0]
    revenue = scope.example["controller"]["annual_gross_revenue"]
    assert 25_000_000 < float(revenue["amount"]) <= 26_625_000  # between the two thresholds
    assert "GDPR" in report.unchanged()


def test_cli_json(tmp_path):
    copy = _copy(tmp_path, EDITS[:1])
    result = CliRunner().invoke(
        app,
        [
            "diff",
            str(ROOT / "policies"),
            str(copy),
            "--as-of",
            DAY.isoformat(),
            "--regime",
            "CCPA",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["bound"] == 2 and "2 entries" in data["bound_note"]
    [change] = data["changes"]
    assert change["declaration"]["name"] == "revenue_threshold"
    lines = (ROOT / "policies/ccpa/regime.policy").read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(lines, 1) if t.startswith("parameter revenue_threshold"))
    assert change["declaration"]["location"].endswith(f"ccpa/regime.policy:{line}:1")


def test_cli_needs_a_second_side():
    result = CliRunner().invoke(app, ["diff", str(ROOT / "policies")])
    assert result.exit_code == 2


def test_a_changed_deadline_is_a_change_of_what_is_owed(shipped, tmp_path):
    """Both sides list the rule, but what it imposes differs: reported with the two deadlines."""
    edit = (
        "ccpa/sale.policy",
        "within 15 business days after request.received_date",
        "within 10 business days after request.received_date",
    )
    changed = load_bundle(_copy(tmp_path, [edit]))
    report = diff(shipped, changed, DAY, regimes=["CCPA"])
    [cause] = report.decisive()
    assert cause.declaration.kind == "rule"
    [effect] = cause.effects
    assert effect.kind == "obligation" and effect.agrees
    assert "15 business days" in effect.message and "10 business days" in effect.message


def test_a_new_fact_and_a_rule_reading_it(shipped, tmp_path):
    """The new side's vocabulary has a fact the old one lacks: the example states it, and the
    old side is decided on the example without it (its law never reads it)."""
    target = _copy(tmp_path, [])
    (target / "common" / "planted.policy").write_text(
        'fact planted.flag: bool "A fact only the new vocabulary has"\n', encoding="utf-8"
    )
    (target / "gdpr" / "planted.policy").write_text(
        "part of GDPR\n\n"
        'rule planted_new "A new rule" cite "Planted Art. 1"\n'
        "  when planted.flag\n"
        "  violation when notice.provided = false\n",
        encoding="utf-8",
    )
    report = diff(shipped, load_bundle(target), DAY, regimes=["GDPR"])
    [cause] = report.decisive()
    assert (cause.declaration.kind, cause.declaration.name) == ("rule", "planted_new")
    [effect] = cause.effects
    assert effect.example["planted"]["flag"] is True
    assert "planted_new" in effect.new["violations"] and effect.agrees


def test_a_rule_not_translated_is_no_claim(shipped, tmp_path):
    target = _copy(tmp_path, [])
    (target / "gdpr" / "planted.policy").write_text(
        "part of GDPR\n\n"
        'rule planted_months "Six months after the breach" cite "Planted Art. 5"\n'
        "  when breach.aware_date + 6 months < as_of\n"
        "  violation when notice.provided = false\n",
        encoding="utf-8",
    )
    report = diff(shipped, load_bundle(target), DAY, regimes=["GDPR"])
    assert report.decisive() == []
    [item] = report.unanalysed()
    assert item.subject == "planted_months" and "months" in item.message
    assert "GDPR" not in report.unchanged()  # never "decided the same way" for it


def test_a_regime_only_one_side_has(shipped, tmp_path):
    target = _copy(tmp_path, [])
    shutil.rmtree(target / "ca_breach")
    report = diff(shipped, load_bundle(target), DAY)
    [removed] = [c for c in report.changes if c.kind == "regime_removed"]
    assert removed.regime == "CA_BREACH"
    assert "CA_BREACH" not in report.regimes
