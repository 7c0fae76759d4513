"""The server with `--log postgresql://…` (keys in the same database) on a throwaway
PostgreSQL server (tests/api/conftest.py): decisions, batch, audit reads, verify, restart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from lexgate.api.testing import ServerProcess, shipped_policies

if TYPE_CHECKING:
    from tests.api.conftest import PostgresServer

OPERATION = {"legal_basis": "none", "controller": {"establishments": ["DE"]}}


def test_server_on_postgresql(postgres_server: PostgresServer, tmp_path: Path) -> None:
    url = postgres_server.create_database()
    with ServerProcess(tmp_path, policies=shipped_policies(), log_url=url) as server:
        assert server.admin_key
        headers = {"Authorization": f"Bearer {server.admin_key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
            single = http.post("/v1/decisions", json={"operation": OPERATION})
            assert single.status_code == 200, single.text
            batch = http.post("/v1/decisions:batch", json={"operations": [OPERATION] * 5})
            assert batch.status_code == 200, batch.text
            ids = [single.json()["decision_id"]] + [
                r["decision_id"] for r in batch.json()["results"]
            ]
            for decision_id in ids:
                entry = http.get(f"/v1/decisions/{decision_id}")
                assert entry.status_code == 200
                assert entry.json()["decision"]["status"] == "denied"
            assert http.get("/readyz").json()["log"] == "ok"
    # Nothing is written locally with a PostgreSQL log but the checkpoint signing key, which
    # must live outside the database (owner-only).
    local = sorted(p.name for p in (tmp_path / "var").iterdir())
    assert local == ["log-signing-key"], local
    assert (tmp_path / "var" / "log-signing-key").stat().st_mode & 0o777 == 0o600

    # A second start on the same database keeps the keys and prints no new admin key.
    with ServerProcess(tmp_path / "again", policies=shipped_policies(), log_url=url) as again:
        assert again.admin_key is None
        response = httpx.get(f"{again.url}/v1/decisions/{ids[0]}", headers=headers)
        assert response.status_code == 200

    verified = subprocess.run(
        [sys.executable, "-m", "lexgate.engine", "log", "verify", "--log", url],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,  # the servers' var/ (the signing key), not whatever the checkout holds
    )
    assert verified.returncode == 0, verified.stderr
    assert "ok: 6 entries" in verified.stdout
