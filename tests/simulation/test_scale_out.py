"""Issue 16: the simulation scales out the Dask way and gives the same answer whatever the
number of workers. Scenarios are generated on the workers from the seed, Parquet inputs read
there, results written there and summarised there; the same seed gives the same rows, the same
per-row results and the same summary in this process and on 1, 2 and 3 workers."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lexgate.engine import Bundle, load_bundle
from lexgate.engine.simulation import partitions
from lexgate.engine.simulation.cluster import Outcome, execute
from lexgate.engine.simulation.scenarios import ScenarioSpec, parse_distribution, parse_sweep
from lexgate.engine.simulation.summary import summarise
from lexgate.engine.simulation.tasks import compare

GDPR_MINI = Path(__file__).resolve().parents[2] / "bench" / "gdpr_mini"
AS_OF = dt.date(2025, 6, 1)
BASE = {"controller": {"establishments": ["DE"]}}


@pytest.fixture(scope="module")
def mini() -> Bundle:
    return load_bundle(GDPR_MINI)


def _spec(bundle: Bundle, seed: int = 11) -> ScenarioSpec:
    return ScenarioSpec.build(
        BASE,
        [parse_sweep("controller.worldwide_turnover=1e6..1e10:log:6")],
        [
            parse_distribution("legal_basis~choice(none:0.3,contract:0.4,consent:0.3)"),
            parse_distribution("special_category_condition~choice(none:0.5,explicit_consent:0.5)"),
            parse_distribution("controller.worldwide_turnover~lognormal(17,2.5)"),
            parse_distribution("controller.establishments~choice(DE:0.6,US:0.4)"),
            parse_distribution("data_categories~choice(health:0.5,contact:0.5)"),
        ],
        400,
        seed,
        bundle.checked.vocabulary,
        "EUR",
    )


def _run(bundle: Bundle, pieces: list[Any], workers: int, out: Path) -> Outcome:
    return execute(
        [bundle],
        pieces,
        as_of=AS_OF,
        output=str(out),
        sweep_column="controller.worldwide_turnover.amount",
        collect=True,
        workers=workers,
    )


def test_generated_rows_do_not_depend_on_the_partitioning(mini: Bundle) -> None:
    spec = _spec(mini)
    whole = spec.rows(0, spec.size, mini.checked.vocabulary)
    cut = pd.concat(p.load(mini.checked.vocabulary) for p in partitions.generated(spec, 333))
    pd.testing.assert_frame_equal(whole, cut)
    other = _spec(mini, seed=12).rows(0, spec.size, mini.checked.vocabulary)
    assert not whole.equals(other)


def test_same_seed_same_rows_and_results_with_0_1_2_3_workers(mini: Bundle, tmp_path: Path) -> None:
    spec = _spec(mini)
    pieces = partitions.generated(spec, 500)  # 2,400 rows in 5 partitions
    outcomes, written = [], []
    for workers in (0, 1, 2, 3):
        out = tmp_path / f"w{workers}"
        outcomes.append(_run(mini, pieces, workers, out))
        assert sorted(p.name for p in out.iterdir()) == [f"part-0000{i}.parquet" for i in range(5)]
        written.append(pd.read_parquet(out))
    first = outcomes[0]
    assert first.result is not None and len(first.result) == spec.size == len(written[0])
    # the inputs the workers generated are the rows of the spec
    inputs = written[0][list(spec.rows(0, 1, mini.checked.vocabulary).columns)]
    expected = spec.rows(0, spec.size, mini.checked.vocabulary).reset_index(drop=True)
    pd.testing.assert_frame_equal(inputs, expected, check_dtype=False)
    statuses = first.result["status"].astype(str).value_counts()
    assert len(statuses) > 1  # the rows differ, so the comparison below means something
    for outcome, table in zip(outcomes[1:], written[1:], strict=True):
        assert outcome.result is not None
        pd.testing.assert_frame_equal(outcome.result, first.result)
        pd.testing.assert_frame_equal(table, written[0])
        assert outcome.summaries == first.summaries
        assert outcome.merged.sweep == first.merged.sweep


def test_the_reduced_summary_is_the_summary_of_the_collected_rows(
    mini: Bundle, tmp_path: Path
) -> None:
    spec = _spec(mini)
    outcome = _run(mini, partitions.generated(spec, 700), 0, tmp_path / "out")
    assert outcome.result is not None
    whole = summarise(
        outcome.result, outcome.currencies, codes=outcome.codes[0], facts=outcome.facts[0]
    )
    assert outcome.summaries[0] == whole
    exposure = outcome.result["exposure_max_minor"].dropna().to_numpy(np.float64) / 100
    figures = whole["total"]["exposure_max"]
    assert figures["p95"] == pytest.approx(float(np.quantile(exposure, 0.95)), rel=1e-12)
    assert figures["median"] == pytest.approx(float(np.median(exposure)), rel=1e-12)
    assert figures["mean"] == pytest.approx(float(exposure.mean()), rel=1e-9)
    undetermined = float((outcome.result["status"].astype(str) == "undetermined").mean())
    assert whole["undetermined_share"] == pytest.approx(undetermined)
    # the rule columns, counted on the workers, decoded with the lookup table
    violated = whole["regimes"]["GDPR"]["rules_violated"]
    assert violated and all(0 < share <= 1 for share in violated.values())
    bits = {entry["rule"]: entry["bit"] for entry in outcome.codes[0]["GDPR"]}
    for rule, share in violated.items():
        rows = (outcome.result["GDPR.violated"].to_numpy() >> np.uint64(bits[rule])) & np.uint64(1)
        assert share == pytest.approx(rows.mean())


def test_parquet_inputs_are_read_by_the_workers_row_group_by_row_group(
    mini: Bundle, tmp_path: Path
) -> None:
    spec = _spec(mini)
    frame = spec.rows(0, spec.size, mini.checked.vocabulary)
    source = tmp_path / "operations.parquet"
    frame.to_parquet(source, index=False, row_group_size=700)
    pieces = partitions.parquet(source)
    assert [p.rows for p in pieces] == [700, 700, 700, 300]
    local = _run(mini, partitions.in_memory(frame, 1000), 0, tmp_path / "local")
    remote = _run(mini, pieces, 2, tmp_path / "remote")
    assert local.result is not None and remote.result is not None
    pd.testing.assert_frame_equal(remote.result, local.result)
    assert remote.summaries == local.summaries


def test_other_payers_such_as_the_edpb_estimate_are_summarised_exactly(tmp_path: Path) -> None:
    bundle = load_bundle(Path(__file__).resolve().parents[2] / "policies")
    spec = ScenarioSpec.build(
        {
            "controller": {"establishments": ["DE"]},
            "legal_basis": "none",
            "data_categories": ["contact"],
            "conduct": {"intentional": False},
        },
        [parse_sweep("controller.worldwide_turnover=1e6..1e11:log:20")],
        [
            parse_distribution("processing.large_scale~choice(true:0.5,false:0.5)"),
            parse_distribution("conduct.seriousness~choice(low:0.3,medium:0.3,high:0.4)"),
        ],
        50,
        5,
        bundle.checked.vocabulary,
        "EUR",
    )
    outcome = _run(bundle, partitions.generated(spec, 400), 0, tmp_path / "out")
    assert outcome.result is not None
    payers = outcome.summaries[0]["regimes"]["GDPR"]["payers"]
    (payer,) = [p for p in payers if p.startswith("estimate")]  # the EDPB Guidelines' estimate
    column = outcome.result[f"GDPR.exposure_max_minor[{payer}]"].dropna()
    assert (column > 0).any()
    figures = payers[payer]["exposure_max"]
    expected = column.to_numpy(np.float64) / 100
    assert figures["p90"] == pytest.approx(float(np.quantile(expected, 0.9)), rel=1e-12)
    assert figures["max"] == pytest.approx(float(expected.max()))
    assert not outcome.result["scalar_fallback"].any()  # the estimate lines are vectorised


QUIET = ["--no-dashboard"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_cli_on_a_scheduler_started_by_hand(tmp_path: Path) -> None:
    """`dask scheduler` and `dask worker` started as an operator would; `lexgate simulate
    --cluster tcp://…` writes the same rows as a run without workers."""
    from distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    port = str(_free_port())
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    started = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
            stdout=(logs / "scheduler").open("w"),
            stderr=subprocess.STDOUT,
        )
    ]
    try:
        with Client(address, timeout=60) as client:  # retries until the scheduler listens
            started.append(
                subprocess.Popen(
                    [dask, "worker", address, "--nthreads", "1", "--nworkers", "2", *QUIET],
                    stdout=(logs / "worker").open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
            client.wait_for_workers(2, timeout=120)
        runs = {}
        for name, extra in (("here", []), ("cluster", ["--cluster", address])):
            command = [
                sys.executable,
                "-m",
                "lexgate.engine",
                "simulate",
                "-p",
                str(GDPR_MINI),
                "--base",
                str(_base(tmp_path)),
                "--vary",
                "controller.worldwide_turnover=1e6..1e10:log:8",
                "--sample",
                "40",
                "--dist",
                "legal_basis~choice(none:0.5,contract:0.5)",
                "--seed",
                "9",
                "--as-of",
                "2025-06-01",
                "--no-plots",
                "-o",
                str(tmp_path / name),
                *extra,
            ]
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            runs[name] = pd.read_parquet(tmp_path / name / "results.parquet")
        assert len(runs["here"]) == 320
        pd.testing.assert_frame_equal(runs["cluster"], runs["here"])
        summaries = [json.loads((tmp_path / name / "summary.json").read_text()) for name in runs]
        for summary in summaries:
            summary["inputs"].pop("workers")
        assert summaries[0] == summaries[1]
    finally:
        for process in reversed(started):
            process.terminate()
            process.wait(timeout=60)


def _base(folder: Path) -> Path:
    path = folder / "base.json"
    path.write_text(json.dumps({**BASE, "data_categories": ["contact"]}))
    return path


def test_a_reform_runs_in_the_same_tasks_and_matches_two_separate_runs(
    mini: Bundle, tmp_path: Path
) -> None:
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
    pieces = partitions.generated(_spec(mini), 700)
    both = execute([mini, reform], pieces, as_of=AS_OF, collect=True, workers=2)
    alone = [execute([b], pieces, as_of=AS_OF, collect=True) for b in (mini, reform)]
    assert both.result is not None and alone[0].result is not None and alone[1].result is not None
    pd.testing.assert_frame_equal(both.result, compare(alone[0].result, alone[1].result))
    assert both.summaries[0] == alone[0].summaries[0]
    reform_summary = dict(both.summaries[1])
    assert reform_summary == alone[1].summaries[0]
    base, changed = both.summaries[0]["total"], both.summaries[1]["total"]
    assert changed["exposure_max"]["max"] > base["exposure_max"]["max"]
    assert both.merged.changed == int(both.result["status_changed"].sum())


def test_an_empty_table_gives_an_empty_result_and_a_summary_of_nothing(
    mini: Bundle, tmp_path: Path
) -> None:
    empty = pd.DataFrame({"legal_basis": pd.Series([], dtype=object)})
    outcome = _run(mini, partitions.in_memory(empty), 0, tmp_path / "out")
    assert outcome.result is not None and len(outcome.result) == 0
    assert "GDPR.violated" in outcome.result.columns
    assert outcome.summaries[0]["scenarios"] == 0
    assert "exposure_max" not in outcome.summaries[0]["total"]
    assert "legal_basis" in pd.read_parquet(tmp_path / "out").columns
