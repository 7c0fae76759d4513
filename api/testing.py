"""Run a real `lexgate serve` in a subprocess on a free loopback port: for the API tests, the
crash test and bench/api_load.py (which must measure the server as it ships, not TestClient)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

KEY_PATTERN = re.compile(r"lxg_[0-9a-f]+_[A-Za-z0-9_-]+")
REPO = Path(__file__).resolve().parents[1]


def shipped_policies() -> Path:
    """The repository's policies; LEXGATE_TEST_POLICIES points the tests at another copy (a
    known-good snapshot while the working tree's policies are being edited)."""
    return Path(os.environ.get("LEXGATE_TEST_POLICIES") or REPO / "policies")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """`with ServerProcess(workdir, policies=…, log_url=…) as server:` waits until /readyz."""

    def __init__(
        self,
        workdir: Path,
        *,
        policies: Path,
        log_url: str | None = None,
        keys_url: str | None = None,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.policies = Path(policies)
        self.log_url = log_url or f"sqlite:///{self.workdir / 'var' / 'lexgate.db'}"
        self.keys_url = keys_url
        self.args = args
        self.env = env
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.output = self.workdir / f"server-{self.port}.log"
        self.admin_key: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "lexgate.engine",
            "serve",
            "--port",
            str(self.port),
            "--policies",
            str(self.policies),
            "--log",
            self.log_url,
            *self.args,
        ]
        if self.keys_url:
            command += ["--keys", self.keys_url]
        return command

    # Generous: a server that loads the full bundle on a busy 2-core machine can take a while.
    def start(self, timeout: float = 180.0) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        with self.output.open("ab") as sink:
            self.process = subprocess.Popen(
                self.command(), cwd=self.workdir, stdout=sink, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"server did not become ready in {timeout}s:\n{self.log()}")
        found = KEY_PATTERN.search(self.log())
        if found and self.admin_key is None:
            self.admin_key = found.group(0)
        return self

    def log(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run, as in a power cut of the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> Self:
        if self.process is not None and self.process.poll() is None:
            return self  # `with server.start(timeout=…):` — already running
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
