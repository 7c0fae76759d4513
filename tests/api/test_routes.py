"""The app in-process (TestClient): error shapes, hostile bodies, settings, the schema route.
Over-the-wire behaviour (auth on every route, limits, reload, metrics) is in test_server*.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lexgate.api.app import create_app
from lexgate.api.deps import AppState
from lexgate.api.settings import Settings
from lexgate.api.testing import shipped_policies

OPERATION = {"legal_basis": "none", "controller": {"establishments": ["DE"]}}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, TestClient, str]]:
    var = tmp_path_factory.mktemp("routes")
    settings = Settings(
        policies=shipped_policies(),
        log_url=f"sqlite:///{var}/log.db",
        max_batch=5,
        max_body_bytes=100_000,
    )
    application = create_app(settings)
    with TestClient(application, raise_server_exceptions=False) as client:
        state: AppState = application.state.lexgate
        key = state.keys.create(["admin"], "tests")
        client.headers["Authorization"] = f"Bearer {key}"
        yield application, client, key


@pytest.fixture
def client(app: tuple[FastAPI, TestClient, str]) -> TestClient:
    return app[1]


def fields(response: object) -> list[str]:
    return [f["path"] for f in response.json()["error"]["fields"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 50_000 + b"]" * 50_000,  # nesting deeper than the JSON parser's recursion
        b'{"operation": {"subjects": {"count": ' + b"9" * 5000 + b"}}}",  # int digit limit
        b'{"operation": {"subjects": {"count": NaN}}}',
        b'{"operation": {"controller": {"worldwide_turnover": {"amount": Infinity, '
        b'"currency": "EUR"}}}}',
        b'{"operation": {"controller": {"worldwide_turnover": {"amount": 1e999999, '
        b'"currency": "EUR"}}}}',
        b'{"operation": {"as_of": "0001-01-01", "legal_basis": "none", '
        b'"controller": {"establishments": ["DE"]}}}',
        b'{"operation": {"as_of": "9999-12-31", "breach": {"hours_to_authority": 1e30}}}',
        b"\xff\xfe\x00garbage",
        b'"just a string"',
        b'{"operation": {"legal_basis": "\\ud800"}}',
        b'{"operation": {"controller": {"pi_sale_revenue_share": {"a": 1}}}}',
        b'{"operation": {"controller": {"pi_sale_revenue_share": [0.1]}}}',
        b'{"operation": {"controller": {"pi_sale_revenue_share": NaN}}}',
        b'{"operation": {"subjects": {"youngest_age": 1e400}}}',
        # more digits than the engine's decimal precision, printed in the trace (found by
        # schemathesis)
        b'{"operation": {"breach": {"hours_to_authority": ".1020452499485306739157495708919516e+37"'
        b'}}, "explain": true}',
    ],
)
def test_hostile_bodies_never_answer_500(client: TestClient, body: bytes) -> None:
    response = client.post(
        "/v1/decisions", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["error"]["fields"]


def test_error_shape_for_framework_errors(client: TestClient) -> None:
    missing = client.get("/v1/nowhere")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "not found"}}
    wrong_method = client.delete("/v1/decisions")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    odd_id = client.get("/v1/decisions/" + "x" * 5000)
    assert odd_id.status_code == 404


def test_unexpected_errors_are_json_500_not_tracebacks(
    app: tuple[FastAPI, TestClient, str],
) -> None:
    application, client, _ = app
    state: AppState = application.state.lexgate
    real = state.policies.current

    class Exploding:
        def __getattr__(self, name: str) -> object:
            raise RuntimeError("simulated bug")

    state.policies.current = Exploding()  # type: ignore[assignment]
    try:
        response = client.get("/v1/policies")
    finally:
        state.policies.current = real
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    assert "simulated bug" not in response.text


def test_currency_must_have_rates(client: TestClient) -> None:
    response = client.post("/v1/decisions", json={"operation": OPERATION, "currency": "GBP"})
    assert response.status_code == 422
    assert fields(response) == ["currency"]
    assert (
        client.post("/v1/decisions", json={"operation": OPERATION, "currency": "CNY"}).status_code
        == 200
    )


def test_batch_limit_and_empty_batch(client: TestClient) -> None:
    assert client.post("/v1/decisions:batch", json={"operations": []}).json()["results"] == []
    too_many = client.post("/v1/decisions:batch", json={"operations": [OPERATION] * 6})
    assert too_many.status_code == 422 and fields(too_many) == ["operations"]


def test_schema_route_is_the_bundles_generated_schema(
    app: tuple[FastAPI, TestClient, str],
) -> None:
    application, client, _ = app
    state: AppState = application.state.lexgate
    served = client.get("/v1/schema/operation").json()
    generated = state.policies.current.bundle.schema.json_schema()
    assert served["properties"].keys() == generated["properties"].keys()
    assert served["$defs"].keys() == generated["$defs"].keys()
    amount = served["$defs"]["MoneyValue"]["properties"]["amount"]
    assert amount["anyOf"][0]["minimum"] == 0
    assert "ge" not in amount


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["log"] == "ok"


def test_settings_come_from_lexgate_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LEXGATE_PORT", "9999")
    monkeypatch.setenv("LEXGATE_LOG_URL", "none")
    settings = Settings()
    assert settings.port == 9999 and settings.host == "127.0.0.1"
    assert not settings.log_enabled
    assert settings.resolved_keys_url == "sqlite:///var/keys.db"
    assert Settings(port=1).port == 1  # explicit values win over the environment


def test_log_off_mode_answers_without_logging(tmp_path: Path) -> None:
    settings = Settings(
        policies=shipped_policies(), log_url="none", keys_url=f"sqlite:///{tmp_path}/keys.db"
    )
    application = create_app(settings)
    with TestClient(application) as client:
        key = application.state.lexgate.keys.create(["admin"])
        client.headers["Authorization"] = f"Bearer {key}"
        answer = client.post("/v1/decisions", json={"operation": OPERATION}).json()
        assert answer["log"] is None
        assert client.get(f"/v1/decisions/{answer['decision_id']}").status_code == 404
        assert client.get("/readyz").json()["log"] == "disabled"
