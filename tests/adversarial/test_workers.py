"""Issue 12 item 3 (workers that disagree) and issue 18 item 3 (a server process model without
patches: a port already in use is a clear error, a second `lexgate serve` on one port fails)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from lexgate.api.testing import ServerProcess, free_port, shipped_policies

from tests.adversarial.conftest import READY_TIMEOUT, wait_for

pytestmark = pytest.mark.slow
OPERATION = {"legal_basis": "none", "controller": {"establishments": ["DE"]}}
BROKEN = '\nrule broken "unterminated\n  violation when (\n'


def serve_command(port: int, workdir: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lexgate.engine",
        "serve",
        "--port",
        str(port),
        "--policies",
        str(shipped_policies()),
        "--log",
        f"sqlite:///{workdir / 'var' / 'lexgate.db'}",
        *args,
    ]


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            serve_command(port, tmp_path),
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=READY_TIMEOUT,
            check=False,
        )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_second_serve_on_the_same_port_fails(tmp_path: Path, workers: str) -> None:
    first = ServerProcess(
        tmp_path / "first", policies=shipped_policies(), args=("--workers", workers)
    )
    with first.start(timeout=READY_TIMEOUT):
        result = subprocess.run(
            serve_command(first.port, tmp_path / "second", "--workers", workers),
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=READY_TIMEOUT,
            check=False,
        )
        assert result.returncode == 2, result.stdout + result.stderr
        assert "already in use" in result.stderr
        # The first server still answers every connection (the second took no share).
        for _ in range(20):
            assert httpx.get(f"{first.url}/healthz", timeout=10).status_code == 200


def test_workers_agree_after_a_reload_followed_by_a_broken_file(tmp_path: Path) -> None:
    """The reproduction: a reload, then within ~50 ms a broken file. The other worker used to
    re-read the directory, fail, and keep its old bundle; now it loads the published snapshot."""
    policies = tmp_path / "policies"
    shutil.copytree(shipped_policies(), policies)
    target = sorted((policies / "gdpr").glob("*.policy"))[0]
    with ServerProcess(
        tmp_path, policies=policies, port=free_port(), args=("--workers", "2")
    ).start(timeout=READY_TIMEOUT) as server:
        headers = {"Authorization": f"Bearer {server.admin_key}"}
        original = httpx.get(f"{server.url}/v1/policies", headers=headers).json()["hash"]
        for attempt in range(3):
            target.write_text(target.read_text() + f"\n# reviewed {attempt}\n")
            reloaded = httpx.post(
                f"{server.url}/v1/policies:reload", headers=headers, timeout=READY_TIMEOUT
            )
            assert reloaded.status_code == 200, reloaded.text
            wanted = reloaded.json()["hash"]
            assert wanted != original
            good = target.read_text()
            target.write_text(good + BROKEN)  # right after the reload

            def every_worker_serves(wanted: str = wanted) -> bool:
                # New connections land on either worker: a streak of 40 with the new hash.
                for _ in range(40):
                    answer = httpx.post(
                        f"{server.url}/v1/decisions",
                        headers=headers,
                        json={"operation": OPERATION},
                        timeout=30,
                    )
                    if answer.json().get("bundle_hash") != wanted:
                        return False
                return True

            wait_for(
                every_worker_serves,
                READY_TIMEOUT,
                "every worker serves the reloaded bundle",
                every=0.2,
            )
            wait_for(
                lambda: httpx.get(f"{server.url}/readyz").status_code == 200,
                READY_TIMEOUT,
                "readyz",
            )
            target.write_text(good)
            original = wanted
