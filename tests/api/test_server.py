"""The decision API over real HTTP: a `lexgate serve` subprocess (uvicorn) on a free loopback
port. Auth and scopes on every route, decisions and batches, logging, input limits, metrics."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from lexgate.api.keys import open_key_store
from lexgate.api.testing import ServerProcess, shipped_policies

from tests.conftest import ROOT

OPERATION = json.loads((ROOT / "examples" / "no_basis.json").read_text())
MAX_BATCH = 20
MAX_BODY = 64_000


@dataclass
class Running:
    server: ServerProcess
    keys: dict[str, str]  # role -> plaintext key
    client: httpx.Client

    def headers(self, role: str | None) -> dict[str, str]:
        if role is None:
            return {}
        return {"Authorization": f"Bearer {self.keys[role]}", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    workdir = tmp_path_factory.mktemp("server")
    server = ServerProcess(
        workdir,
        policies=shipped_policies(),
        args=("--max-batch", str(MAX_BATCH), "--max-body-bytes", str(MAX_BODY)),
    )
    with server:
        assert server.admin_key, "the first start prints an admin key"
        store = open_key_store(server.log_url)
        keys = {
            "admin": server.admin_key,
            "decide": store.create(["decide"], "test"),
            "read_log": store.create(["read_log"], "test"),
            "revoked": store.create(["decide", "read_log"], "test"),
            "bogus": "lxg_0000000000000000_not-a-real-secret",
            "garbage": "nonsense",
        }
        store.revoke(keys["revoked"].split("_")[1])
        store.close()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield Running(server, keys, client)


def decide(running: Running, role: str = "decide", **envelope: object) -> httpx.Response:
    body = {"operation": OPERATION, **envelope}
    return running.client.post("/v1/decisions", json=body, headers=running.headers(role))


# --- auth and scopes ---------------------------------------------------------------------

ROLES = [None, "garbage", "bogus", "revoked", "decide", "read_log", "admin"]
UNAUTHENTICATED = {None: 401, "garbage": 401, "bogus": 401, "revoked": 401}


def expected(route_scope: str | None, role: str | None) -> int:
    """Status a role should get: 401 without a valid key, 403 without the scope, else 200."""
    if route_scope == "public":
        return 200
    if role in UNAUTHENTICATED:
        return 401
    if route_scope is None or role == "admin" or role == route_scope:
        return 200
    return 403


def test_every_route_enforces_its_scope(running: Running) -> None:
    decision_id = decide(running).json()["decision_id"]
    routes: list[tuple[str, str, object, str | None]] = [
        ("POST", "/v1/decisions", {"operation": OPERATION}, "decide"),
        ("POST", "/v1/decisions:batch", {"operations": [OPERATION]}, "decide"),
        ("GET", f"/v1/decisions/{decision_id}", None, "read_log"),
        ("GET", "/v1/decisions?status=denied&limit=5", None, "read_log"),
        ("POST", "/v1/retention:check", {"records": [{"id": "r1"}]}, "decide"),
        ("GET", "/v1/policies", None, None),  # any valid key
        ("GET", "/v1/schema/operation", None, None),
        ("POST", "/v1/policies:reload", None, "admin"),
        ("GET", "/healthz", None, "public"),
        ("GET", "/readyz", None, "public"),
        ("GET", "/metrics", None, "public"),
        ("GET", "/openapi.json", None, "public"),
    ]
    wrong = []
    for method, path, body, scope in routes:
        for role in ROLES:
            response = running.client.request(
                method, path, json=body, headers=running.headers(role)
            )
            want = expected(scope, role)
            if response.status_code != want:
                wrong.append(f"{method} {path} as {role}: {response.status_code}, want {want}")
            elif want in (401, 403):
                error = response.json()["error"]
                assert error["code"] == ("unauthenticated" if want == 401 else "forbidden")
                if want == 401:
                    assert response.headers["www-authenticate"] == "Bearer"
    assert not wrong, "\n".join(wrong)


def test_keys_created_and_revoked_with_the_cli(running: Running) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lexgate.engine", *args, "--log", running.server.log_url],
            capture_output=True,
            text=True,
            check=False,
            cwd=running.server.workdir,
        )

    created = cli("keys", "create", "--scope", "read_log", "--label", "auditor")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert re.fullmatch(r"lxg_[0-9a-f]{16}_\S+", key)
    headers = {"Authorization": f"Bearer {key}"}
    assert running.client.get("/v1/policies", headers=headers).status_code == 200
    assert (
        running.client.post(
            "/v1/decisions", json={"operation": OPERATION}, headers=headers
        ).status_code
        == 403
    )
    listed = cli("keys", "list")
    key_id = key.split("_")[1]
    assert key_id in listed.stdout and "auditor" in listed.stdout
    assert key.split("_", 2)[2] not in listed.stdout  # never the secret
    assert cli("keys", "revoke", key_id).returncode == 0
    assert running.client.get("/v1/policies", headers=headers).status_code == 401
    assert cli("keys", "create", "--scope", "superuser").returncode == 2


# --- decisions -----------------------------------------------------------------------------


def test_a_decision_is_logged_and_names_its_bundle(running: Running) -> None:
    response = decide(running, explain=True, currency="USD")
    assert response.status_code == 200
    body = response.json()
    bundle_hash = running.client.get("/v1/policies", headers=running.headers("decide")).json()[
        "hash"
    ]
    assert body["bundle_hash"] == body["decision"]["bundle_hash"] == bundle_hash
    assert body["decision"]["status"] == "denied"
    assert body["decision"]["currency"] == "USD"
    assert "trace" in body["decision"]["regimes"]["GDPR"]
    logged = running.client.get(
        f"/v1/decisions/{body['decision_id']}", headers=running.headers("read_log")
    )
    assert logged.status_code == 200
    entry = logged.json()
    assert entry["seq"] == body["log"]["seq"]
    assert entry["entry_hash"] == body["log"]["entry_hash"]
    assert entry["decision"] == body["decision"]
    assert entry["bundle_hash"] == bundle_hash
    # Money in the operation is logged exactly as sent.
    assert entry["operation"]["controller"]["worldwide_turnover"]["amount"] == "1000000000"
    missing = running.client.get("/v1/decisions/no-such-id", headers=running.headers("read_log"))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_batch_decides_in_order_and_logs_every_decision(running: Running) -> None:
    operations = [OPERATION, {**OPERATION, "legal_basis": "contract"}, {"legal_basis": "none"}]
    response = running.client.post(
        "/v1/decisions:batch", json={"operations": operations}, headers=running.headers("decide")
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0]["decision"]["status"] == "denied"
    assert len({r["decision_id"] for r in results}) == 3
    seqs = [r["log"]["seq"] for r in results]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    for result in results:
        entry = running.client.get(
            f"/v1/decisions/{result['decision_id']}", headers=running.headers("read_log")
        ).json()
        assert entry["decision"] == result["decision"]


def test_batch_rejects_bad_items_by_path_and_oversized_batches(running: Running) -> None:
    bad = [OPERATION, {"legal_basis": "maybe"}, {"subjects": {"count": "many"}}]
    response = running.client.post(
        "/v1/decisions:batch", json={"operations": bad}, headers=running.headers("decide")
    )
    assert response.status_code == 422
    paths = [f["path"] for f in response.json()["error"]["fields"]]
    assert paths == ["operations[1].legal_basis", "operations[2].subjects.count"]
    too_many = running.client.post(
        "/v1/decisions:batch",
        json={"operations": [{}] * (MAX_BATCH + 1)},
        headers=running.headers("decide"),
    )
    assert too_many.status_code == 422
    assert too_many.json()["error"]["fields"][0]["path"] == "operations"


# --- input safety over the wire ---------------------------------------------------------------


def test_body_size_limit_declared_and_streamed(running: Running) -> None:
    big = json.dumps({"operation": OPERATION, "pad": "x" * MAX_BODY}).encode()
    declared = running.client.post("/v1/decisions", content=big, headers=running.headers("decide"))
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = running.client.post(
        "/v1/decisions", content=chunks(), headers=running.headers("decide")
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "payload_too_large"
    assert decide(running).status_code == 200  # the server is unharmed


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b'{"operation": {"legal_basis": "none"}, "mode": "fast"}', "mode"),
        (b'{"operation": {"legal_basis": "none", "legal_bassis": 1}}', "operation.legal_bassis"),
        (b'{"operation": {"subjects": {"count": true}}}', "operation.subjects.count"),
        (
            b'{"operation": {"transfers": [{"destination": "US", "mechanism": 7}]}}',
            "operation.transfers[0].mechanism",
        ),
        (b'{"operation": {}, "currency": "XYZ"}', "currency"),
        (b'{"operation": {}, "explain": "yes"}', "explain"),
        (b'{"operation": [1, 2]}', "operation"),
        (b'{"operation": {"legal_basis": "none"', "$"),
        (b"[]", "$"),
        (b"", "$"),
    ],
)
def test_bad_input_is_422_with_the_field_path(running: Running, body: bytes, path: str) -> None:
    response = running.client.post("/v1/decisions", content=body, headers=running.headers("decide"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert path in [f["path"] for f in error["fields"]], error


# --- metrics ---------------------------------------------------------------------------------


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        named = line.startswith((name + "{", name + " "))
        if named and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_latency_decisions_and_name_the_bundle(running: Running) -> None:
    before = running.client.get("/metrics").text
    for _ in range(3):
        assert decide(running).status_code == 200
    assert decide(running, role=None).status_code == 401
    after = running.client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    ok = {"method": "POST", "route": "/v1/decisions", "status": "200"}
    assert (
        _sample(text, "lexgate_http_requests_total", **ok)
        - _sample(before, "lexgate_http_requests_total", **ok)
        == 3
    )
    assert (
        _sample(
            text, "lexgate_http_requests_total", method="POST", route="/v1/decisions", status="401"
        )
        >= 1
    )
    count = "lexgate_http_request_duration_seconds_count"
    assert _sample(text, count, method="POST", route="/v1/decisions") >= 4
    assert 'lexgate_http_request_duration_seconds_bucket{le="0.025"' in text
    assert (
        _sample(text, "lexgate_decisions_total", status="denied")
        - _sample(before, "lexgate_decisions_total", status="denied")
        == 3
    )
    bundle_hash = running.client.get("/v1/policies", headers=running.headers("admin")).json()[
        "hash"
    ]
    assert _sample(text, "lexgate_bundle_info", hash=bundle_hash) == 1.0
    # Unknown paths are counted under one label, never one per path.
    running.client.get("/no/such/path/12345")
    assert "/no/such/path" not in running.client.get("/metrics").text


def test_openapi_documents_real_schemas_and_examples(running: Running) -> None:
    spec = running.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "legal_basis" in schemas["Operation"]["properties"]
    assert schemas["DecisionRequest"]["properties"]["operation"] == {
        "$ref": "#/components/schemas/Operation"
    }
    decision_doc = spec["paths"]["/v1/decisions"]["post"]
    example = decision_doc["responses"]["200"]["content"]["application/json"]["example"]
    assert example["decision"]["status"] == "denied"
    assert set(decision_doc["responses"]) >= {"200", "401", "403", "413", "422"}
    assert running.client.get("/docs").status_code == 200
