"""`lexgate simulate`, its inputs, `Bundle.simulate`, comparison and the Dask runner."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from lexgate.engine import Bundle, load_bundle
from lexgate.engine.simulation import runner as sim
from lexgate.engine.simulation.report import decode_bits, decode_rules
from lexgate.engine.simulation.scenarios import parse_distribution, parse_sweep, scenarios

GDPR_MINI = Path(__file__).resolve().parents[2] / "bench" / "gdpr_mini"
AS_OF = dt.date(2025, 6, 1)
BASE = {
    "controller": {"establishments": ["DE"]},
    "legal_basis": "none",
    "data_categories": ["health"],
    "transfers": [{"destination": "IN", "mechanism": "none"}],
}


@pytest.fixture(scope="module")
def mini() -> Bundle:
    return load_bundle(GDPR_MINI)


def _scenarios(bundle: Bundle, n: int = 3000, seed: int = 7) -> pd.DataFrame:
    return scenarios(
        BASE,
        [parse_sweep("controller.worldwide_turnover=1e6..1e10:log:10")],
        [
            parse_distribution("legal_basis~choice(none:0.3,contract:0.7)"),
            parse_distribution("special_category_condition~choice(none:0.5,explicit_consent:0.5)"),
        ],
        n // 10,
        seed,
        bundle.checked.vocabulary,
        "EUR",
    )


def test_seed_reproduces_scenarios(mini: Bundle) -> None:
    pd.testing.assert_frame_equal(_scenarios(mini), _scenarios(mini))
    assert not _scenarios(mini).equals(_scenarios(mini, seed=8))


def test_bundle_simulate_matches_the_exact_caps(mini: Bundle) -> None:
    frame = pd.DataFrame(
        {
            "controller.establishments": ["DE", "DE", "US"],
            "controller.worldwide_turnover.amount": [1e9, 100e6, 1e9],
            "controller.worldwide_turnover.currency": ["EUR", "EUR", "EUR"],
            "legal_basis": ["none", "none", "none"],
            # stated, so that no rule waits for a completion of a missing fact (those rows would be
            # settled by the scalar back end, and this test is about the vectorised caps)
            "data_categories": ["contact", "contact", "contact"],
            "special_category_condition": ["none", "none", "none"],
        }
    )
    result = mini.simulate(frame, as_of=AS_OF)
    assert list(result["status"].astype(str)) == ["denied", "denied", "not_applicable"]
    assert list(result["GDPR.exposure_max_minor"]) == [40_000_000_00, 20_000_000_00, 0]
    assert not result["scalar_fallback"].any()


def test_dask_two_workers_equal_single_process(mini: Bundle) -> None:
    frame = _scenarios(mini, 4000)
    single = sim.run(mini, frame, as_of=AS_OF, partition=700)
    distributed = sim.run(mini, frame, as_of=AS_OF, workers=2, partition=700)
    pd.testing.assert_frame_equal(single, distributed)


def test_compare_reports_the_change(mini: Bundle, tmp_path: Path) -> None:
    reform_dir = tmp_path / "reform"
    for file in GDPR_MINI.rglob("*.policy"):
        target = reform_dir / file.relative_to(GDPR_MINI)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            file.read_text()
            .replace("4% of", "6% of")
            .replace("expect denied, exposure max = EUR 40 million", "expect denied")
        )
    reform = load_bundle(reform_dir)
    frame = _scenarios(mini, 1000)
    joined = sim.compare(sim.run(mini, frame, as_of=AS_OF), sim.run(reform, frame, as_of=AS_OF))
    assert (joined["delta.exposure_max_minor"] >= 0).all()
    assert (joined["delta.exposure_max_minor"] > 0).any()
    assert not joined["status_changed"].any()


def test_cli_sweep_writes_results_summary_plots_and_report(tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    base.write_text(json.dumps(BASE))
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "lexgate.engine",
        "simulate",
        "-p",
        str(GDPR_MINI),
        "--base",
        str(base),
        "--vary",
        "controller.worldwide_turnover=1e6..1e10:log:20",
        "--sample",
        "50",
        "--dist",
        "legal_basis~choice(none:0.5,contract:0.5)",
        "--seed",
        "3",
        "--as-of",
        "2025-06-01",
        "-o",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    results = pd.read_parquet(out / "results.parquet")
    assert len(results) == 1000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenarios"] == 1000
    assert set(summary["total"]["exposure_max"]) == {"mean", "median", "p90", "p95", "p99", "max"}
    assert summary["total"]["exposure_max"]["max"] == 400_000_000
    for name in ("exposure_vs_fact.png", "exposure_distribution.png", "status_by_regime.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.html").read_text()
    assert "data:image/png;base64" in report
    # the run's inputs are recorded, so the report says how to reproduce it
    assert summary["inputs"]["seed"] == 3 and summary["inputs"]["sample"] == 50
    assert "controller.worldwide_turnover=1e6..1e10:log:20" in report
    assert 0 <= summary["undetermined_share"] <= 1
    # per-row rule columns, decoded with the lookup table written beside them
    rules = json.loads((out / "rules.json").read_text())["baseline"]
    decoded = decode_rules(results, rules, "GDPR", "violated")
    denied = results["GDPR.status"].astype(str) == "denied"
    assert decoded[denied].map(len).gt(0).all()
    assert decoded[~denied].map(len).eq(0).all()
    shares = summary["regimes"]["GDPR"]["rules_violated"]
    for rule, share in shares.items():
        assert share == pytest.approx(decoded.map(lambda names, r=rule: r in names).mean())
    # the facts to ask for: missing, and read by an undetermined rule (or an unknown scope)
    facts = json.loads((out / "facts.json").read_text())["baseline"]["GDPR"]
    asked = decode_bits(results, "GDPR.missing", facts)
    open_rule = results["GDPR.undetermined"].to_numpy() != 0  # denied rows may have one too
    undetermined = (results["GDPR.status"].astype(str) == "undetermined").to_numpy()
    assert asked[open_rule | undetermined].map(len).gt(0).all()
    assert asked[~(open_rule | undetermined)].map(len).eq(0).all()
    assert "special_category_condition" in facts
    for fact, share in summary["regimes"]["GDPR"]["facts_missing"].items():
        assert share == pytest.approx(asked.map(lambda names, f=fact: f in names).mean())


def test_cli_reads_jsonl_and_csv(tmp_path: Path) -> None:
    operations = tmp_path / "ops.jsonl"
    operations.write_text(
        "\n".join(
            json.dumps(o)
            for o in [
                {
                    **BASE,
                    "controller": {
                        "establishments": ["DE"],
                        "worldwide_turnover": {"amount": "1000000000.50", "currency": "EUR"},
                    },
                },
                {
                    "controller": {"establishments": ["FR"]},
                    "legal_basis": "contract",
                    "transfers": [],
                },
            ]
        )
    )
    for source in (operations, tmp_path / "ops.csv"):
        if source.suffix == ".csv":
            pd.read_parquet(tmp_path / "first" / "results.parquet")[
                [
                    c
                    for c in pd.read_parquet(tmp_path / "first" / "results.parquet").columns
                    if ("." in c and not c.startswith("GDPR.")) or c == "legal_basis"
                ]
            ].to_csv(source, index=False)
        out = tmp_path / ("first" if source.suffix == ".jsonl" else "second")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "lexgate.engine",
                "simulate",
                str(source),
                "-p",
                str(GDPR_MINI),
                "--as-of",
                "2025-06-01",
                "-o",
                str(out),
                "--no-plots",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        results = pd.read_parquet(out / "results.parquet")
        assert list(results["status"]) == ["denied", "undetermined"]
        assert results["exposure_max_minor"].iloc[0] == 40_000_000_02
