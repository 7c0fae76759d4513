"""Issue 12 item 17 and its "done when": the kill -9 crash test and the reload-under-load test
pass 5 times in a row while other processes keep every core busy. Opt-in (`make test-stress`,
or LEXGATE_STRESS=1), because it deliberately saturates the machine for minutes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lexgate.api.testing import ServerProcess, shipped_policies

from tests.api import test_server_reload
from tests.api.test_api_crash import crash_and_recover

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("LEXGATE_STRESS"),
        reason="saturates every core for minutes: run `make test-stress`",
    ),
]
RUNS = int(os.environ.get("LEXGATE_STRESS_RUNS", "5"))  # the issue asks for 5 in a row


@pytest.fixture(scope="module")
def busy_cores() -> Iterator[None]:
    """One spinning process per core, for the whole module (a `stress --cpu N`)."""
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


@pytest.mark.parametrize("run", range(RUNS))
def test_crash_test_under_cpu_stress(busy_cores: None, tmp_path: Path, run: int) -> None:
    crash_and_recover(tmp_path)


@pytest.mark.parametrize("run", range(RUNS))
def test_reload_under_load_under_cpu_stress(busy_cores: None, tmp_path: Path, run: int) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(shipped_policies(), policies)
    with ServerProcess(tmp_path, policies=policies) as server:
        test_server_reload.test_reload_never_mixes_bundles_under_load(server, policies)
