"""Issue 11 over real HTTP: organisation profiles are versioned, chained in the decision log
like decisions, and merged under the operations that name them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
from lexgate.api.keys import open_key_store
from lexgate.api.testing import ServerProcess, shipped_policies

from tests.conftest import ROOT

PROFILE = json.loads((ROOT / "examples" / "profile.json").read_text())
NEWSLETTER = json.loads((ROOT / "examples" / "newsletter.json").read_text())


def _verify(log_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lexgate.engine", "log", "verify", "--log", log_url],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_profiles_are_versioned_used_logged_and_verified(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, policies=shipped_policies())
    with server:
        store = open_key_store(server.log_url)
        decide = store.create(["decide"], "test")
        reader = store.create(["read_log"], "test")
        store.close()
        admin = {"Authorization": f"Bearer {server.admin_key}"}
        with httpx.Client(base_url=server.url, timeout=60) as http:
            first = http.put("/v1/profiles/acme-eu", json=PROFILE, headers=admin)
            assert first.status_code == 200, first.text
            assert first.json()["version"] == 1
            changed = {**PROFILE, "controller": {**PROFILE["controller"], "employees": 1300}}
            second = http.put("/v1/profiles/acme-eu", json=changed, headers=admin)
            assert second.json()["version"] == 2

            # an operation fact in a profile is a 422 naming it; a decide key may not PUT
            wrong = http.put("/v1/profiles/acme-eu", json={"subjects": {"count": 3}}, headers=admin)
            assert wrong.status_code == 422
            assert wrong.json()["error"]["fields"][0]["path"] == "profile.subjects.count"
            assert (
                http.put(
                    "/v1/profiles/x", json=PROFILE, headers={"Authorization": f"Bearer {decide}"}
                ).status_code
                == 403
            )

            got = http.get(
                "/v1/profiles/acme-eu?version=1", headers={"Authorization": f"Bearer {reader}"}
            )
            assert got.json()["profile"]["controller"]["employees"] == 1200
            listed = http.get("/v1/profiles", headers={"Authorization": f"Bearer {reader}"})
            assert listed.json()["profiles"] == [{"id": "acme-eu", "latest_version": 2}]

            answer = http.post(
                "/v1/decisions",
                headers={"Authorization": f"Bearer {decide}"},
                json={
                    "operation": {**NEWSLETTER, "as_of": "2025-06-01"},
                    "profile": "acme-eu",
                    "questions": True,
                },
            )
            assert answer.status_code == 200, answer.text
            decision = answer.json()["decision"]
            assert decision["status"] in ("allowed", "allowed_with_obligations")
            assert decision["profile"]["id"] == "acme-eu"
            assert decision["profile"]["version"] == 2
            logged = http.get(
                f"/v1/decisions/{answer.json()['decision_id']}",
                headers={"Authorization": f"Bearer {reader}"},
            )
            assert logged.json()["decision"]["profile"]["version"] == 2

            missing = http.post(
                "/v1/decisions",
                headers={"Authorization": f"Bearer {decide}"},
                json={"operation": NEWSLETTER, "profile": "nobody"},
            )
            assert missing.status_code == 404
            assert "nobody" in missing.json()["error"]["message"]

            without = http.post(
                "/v1/decisions",
                headers={"Authorization": f"Bearer {decide}"},
                json={
                    "operation": {**NEWSLETTER, "as_of": "2025-06-01"},
                    "questions": True,
                    "remediate": True,
                },
            )
            regimes = without.json()["decision"]["regimes"]
            assert any(r["questions"] for r in regimes.values())

    intact = _verify(server.log_url, tmp_path)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    database = sqlite3.connect(server.log_url.removeprefix("sqlite:///"))
    try:
        database.execute(
            "UPDATE decision_log SET operation = replace(operation, '1200', '9999') "
            "WHERE decision_id = 'profile:acme-eu:v1'"
        )
        database.commit()
    finally:
        database.close()
    broken = _verify(server.log_url, tmp_path)
    assert broken.returncode != 0
