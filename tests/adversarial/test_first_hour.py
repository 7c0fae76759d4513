"""Issue 12 item 18: `lexgate --version`; `serve --help` shows defaults and variables; the
README's simulate commands run as written (their inputs ship in examples/)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def lexgate(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lexgate.engine", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_version() -> None:
    result = lexgate("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"lexgate \d+\.\d+\.\d+\S*\n", result.stdout), result.stdout


def test_serve_help_shows_defaults_and_environment_variables() -> None:
    text = lexgate("serve", "--help").stdout
    for default, variable in [
        ("8080", "LEXGATE_PORT"),
        ("127.0.0.1", "LEXGATE_HOST"),
        ("10.0", "LEXGATE_HEADER_TIMEOUT_S"),
        ("1", "LEXGATE_WORKERS"),
    ]:
        assert f"default: {default}; env: {variable}" in text, (default, text)


def readme_simulate_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Simulation for analysts", 1)[1].split("```sh", 1)[1]
    return [
        line.strip()
        for line in block.split("```", 1)[0].splitlines()
        if line.strip().startswith("lexgate simulate")
    ]


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_simulate_commands())
def test_the_readme_simulate_commands_run_as_written(command: str, tmp_path: Path) -> None:
    args = shlex.split(command)[1:]
    args = [str(tmp_path / "out") if a == "out/" else a for a in args]
    result = (
        lexgate(*args, "--sample", "200")
        if "--sample" not in args and "--vary" not in args
        else lexgate(*args)
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
