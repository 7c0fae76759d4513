"""The command line: exit codes a script can rely on, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

OPERATIONS = {
    "denied": ({"controller": {"establishments": ["DE"]}, "legal_basis": "none"}, 3),
    "undetermined": ({"controller": {"establishments": ["DE"]}}, 4),
    "not_applicable": (
        {
            "controller": {"establishments": ["BR"]},
            "subjects": {"locations": ["BR"], "targeted": False, "monitored": False},
            "processing": {"locations": ["BR"]},
        },
        0,
    ),
}


def _lexgate(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lexgate.engine", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        input=stdin,
    )


@pytest.mark.parametrize("status", sorted(OPERATIONS))
def test_eval_exit_code_follows_the_status(status: str, tmp_path: Path) -> None:
    operation, code = OPERATIONS[status]
    path = tmp_path / "op.json"
    path.write_text(json.dumps(operation))
    result = _lexgate("eval", str(path), "--as-of", "2025-06-01", "--format", "json")
    assert result.returncode == code, result.stderr
    assert json.loads(result.stdout)["status"] == status


def test_bad_operation_is_exit_2_with_the_field_path() -> None:
    result = _lexgate("eval", "-", stdin='{"transfers": [{"mechanism": "sccs"}]}')
    assert result.returncode == 2
    assert "transfers[0].mechanism: expected one of" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_file_and_bad_date_are_usage_errors() -> None:
    assert _lexgate("eval", "/nonexistent.json").returncode == 2
    result = _lexgate("eval", "examples/no_basis.json", "--as-of", "2025-02-30")
    assert result.returncode == 2 and "--as-of" in result.stderr


def test_schema_prints_the_operation_schema() -> None:
    result = _lexgate("schema")
    assert result.returncode == 0
    assert "Transfer" in json.loads(result.stdout)["$defs"]
