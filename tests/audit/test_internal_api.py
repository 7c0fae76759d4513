"""The internal pack over HTTP: a profile PUT with `"enable": ["INTERNAL"]` makes the service's
decisions carry the internal findings apart (`decision.internal`), the statutory answer
unchanged; a name that is not an internal regime is a 422 naming the field."""

from __future__ import annotations

from pathlib import Path

import httpx
from lexgate.api.keys import open_key_store
from lexgate.api.testing import ServerProcess, shipped_policies

from tests.audit.test_internal_regime import PROFILE, SALES_EXPORT


def test_a_profile_enables_the_internal_pack_over_http(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, policies=shipped_policies())
    plain = {k: v for k, v in PROFILE.items() if k != "enable"}
    with server:
        store = open_key_store(server.log_url)
        decide = {"Authorization": f"Bearer {store.create(['decide'], 'test')}"}
        store.close()
        admin = {"Authorization": f"Bearer {server.admin_key}"}
        with httpx.Client(base_url=server.url, timeout=60) as http:
            wrong = http.put("/v1/profiles/x", json={**plain, "enable": ["GDPR"]}, headers=admin)
            assert wrong.status_code == 422, wrong.text
            assert wrong.json()["error"]["fields"][0]["path"] == "profile.enable[0]"
            for name, body in (("plain", plain), ("internal", {**plain, "enable": ["INTERNAL"]})):
                put = http.put(f"/v1/profiles/{name}", json=body, headers=admin)
                assert put.status_code == 200, put.text
            answers = {}
            for name in ("plain", "internal"):
                answer = http.post(
                    "/v1/decisions",
                    headers=decide,
                    json={"operation": {**SALES_EXPORT, "as_of": "2026-11-30"}, "profile": name},
                )
                assert answer.status_code == 200, answer.text
                answers[name] = answer.json()["decision"]
    before, after = answers["plain"], answers["internal"]
    assert "internal" not in before
    assert after["internal"]["status"] == "denied"
    rules = {v["rule"] for v in after["internal"]["regimes"]["INTERNAL"]["violations"]}
    assert rules == {"export_dpo_approval", "export_identifier_masking"}
    assert after["status"] == before["status"]
    assert after["regimes"] == before["regimes"]
    assert after["exposure"] == before["exposure"]
