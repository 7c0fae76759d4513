"""Issue 12 item 14: `simulate` on a pandas-written Parquet file whose list column has the same
length in every row (one country each) crashed with "Buffer has wrong number of dimensions"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from lexgate.api.testing import shipped_policies


def test_a_parquet_list_column_of_equal_lengths_is_simulated(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "controller.establishments": [["DE"], ["FR"], ["US"]],
            "subjects.locations": [["DE", "FR"], ["FR", "IT"], ["US", "CA"]],
            "legal_basis": ["none", "consent", "none"],
        }
    )
    frame.to_parquet(tmp_path / "scenarios.parquet")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lexgate.engine",
            "simulate",
            str(tmp_path / "scenarios.parquet"),
            "--policies",
            str(shipped_policies()),
            "-o",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    results = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert len(results) == 3
