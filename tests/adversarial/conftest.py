"""A real `lexgate serve` (uvicorn on a loopback port) that the adversarial tests attack, and
helpers that wait on conditions with generous deadlines (never on fixed sleeps)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from lexgate.api.testing import ServerProcess, shipped_policies

# Generous: these suites run on busy 2-core machines next to other work.
READY_TIMEOUT = 120.0


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll `condition` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(every)


@dataclass
class Target:
    server: ServerProcess
    key: str

    @property
    def url(self) -> str:
        return self.server.url

    def headers(self, **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json", **more}

    def post(self, body: bytes, path: str = "/v1/decisions", **headers: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}{path}", content=body, headers=self.headers(**headers), timeout=30
        )


def raw_exchange(port: int, data: bytes, timeout: float = 30.0) -> bytes:
    """Send raw bytes on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        chunks = []
        while True:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    workdir: Path = tmp_path_factory.mktemp("adversarial")
    server = ServerProcess(
        workdir, policies=shipped_policies(), args=("--header-timeout", "2", "--body-timeout", "2")
    )
    server.start(timeout=READY_TIMEOUT)
    try:
        assert server.admin_key
        yield Target(server, server.admin_key)
    finally:
        server.stop()
