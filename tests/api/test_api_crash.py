"""Crash test: load on a real server, `kill -9`, restart. Every decision whose response was
received is in the log, `lexgate log verify` passes, and altering one stored byte makes verify
fail at exactly that entry."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from lexgate.api.testing import ServerProcess, shipped_policies

OPERATION = {
    "legal_basis": "none",
    "controller": {"establishments": ["DE"]},
    "subjects": {"count": 1000},
}
CLIENTS = 16


# The server is killed once this many answers have arrived (or after GIVE_UP seconds): a
# condition, not a fixed time, so a busy machine only makes the test slower, never wrong.
ANSWERS_BEFORE_KILL = 300
GIVE_UP = 180.0


async def hammer(server: ServerProcess, answers: int = ANSWERS_BEFORE_KILL) -> list[str]:
    """Concurrent clients until the server is killed (once `answers` decisions have been
    answered); ids of decisions whose answer arrived."""
    received: list[str] = []
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    stop_at = time.monotonic() + GIVE_UP

    async def client() -> None:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as http:
            while True:
                try:
                    response = await http.post("/v1/decisions", json={"operation": OPERATION})
                except httpx.HTTPError:
                    return  # the server is gone: this request was never acknowledged
                assert response.status_code == 200, response.text
                received.append(response.json()["decision_id"])
                if time.monotonic() > stop_at + 60:
                    return

    async def killer() -> None:
        while len(received) < answers and time.monotonic() < stop_at:
            await asyncio.sleep(0.01)
        server.kill()

    await asyncio.gather(killer(), *(client() for _ in range(CLIENTS)))
    return received


def verify(log_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lexgate.engine", "log", "verify", "--log", log_url],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


@pytest.mark.slow
def test_acknowledged_decisions_survive_kill_9(tmp_path: Path) -> None:
    crash_and_recover(tmp_path)


def crash_and_recover(tmp_path: Path) -> None:
    """The whole crash scenario (also run under CPU stress by tests/adversarial)."""
    server = ServerProcess(tmp_path, policies=shipped_policies())
    server.start()
    try:
        received = asyncio.run(hammer(server))
    finally:
        server.kill()
    assert len(received) >= ANSWERS_BEFORE_KILL, "the load did not get going"

    restarted = ServerProcess(tmp_path, policies=shipped_policies(), log_url=server.log_url)
    restarted.admin_key = server.admin_key
    with restarted:
        path = server.log_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as database:
            logged = {row[0] for row in database.execute("SELECT decision_id FROM decision_log")}
        lost = set(received) - logged
        assert not lost, f"{len(lost)} acknowledged decisions are not in the log"
        headers = {"Authorization": f"Bearer {server.admin_key}"}
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=60) as http:
            for decision_id in received[-20:]:  # the last answers before the kill, over HTTP
                assert http.get(f"/v1/decisions/{decision_id}").status_code == 200
            # The restarted server appends to the same chain.
            assert http.post("/v1/decisions", json={"operation": OPERATION}).status_code == 200

    intact = verify(server.log_url, tmp_path)
    assert intact.returncode == 0, intact.stderr
    assert "hash chain intact" in intact.stdout

    database = sqlite3.connect(server.log_url.removeprefix("sqlite:///"))
    try:
        total = database.execute("SELECT count(*) FROM decision_log").fetchone()[0]
        target = total // 2
        stored = bytearray(
            database.execute(
                "SELECT decision FROM decision_log WHERE seq = ?", (target,)
            ).fetchone()[0]
        )
        position = stored.index(b'"denied"') + 1
        stored[position] = ord("D")  # one byte: "denied" -> "Denied"
        with database:
            database.execute(
                "UPDATE decision_log SET decision = ? WHERE seq = ?", (bytes(stored), target)
            )
    finally:
        database.close()
    tampered = verify(server.log_url, tmp_path)
    assert tampered.returncode == 1
    assert f"first bad entry is {target} " in tampered.stderr, tampered.stderr
