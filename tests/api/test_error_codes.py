"""The service's answer codes that no other test asserts (engine/error_codes.py lists them all;
tests/engine/test_error_codes.py checks that each has a test)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lexgate.api.app import create_app
from lexgate.api.deps import AppState
from lexgate.api.settings import Settings
from lexgate.api.testing import shipped_policies

OPERATION = {"legal_basis": "none", "controller": {"establishments": ["DE"]}}


def _started(settings: Settings) -> Iterator[tuple[FastAPI, TestClient]]:
    application = create_app(settings)
    with TestClient(application, raise_server_exceptions=False) as client:
        state: AppState = application.state.lexgate
        client.headers["Authorization"] = f"Bearer {state.keys.create(['admin'], 'tests')}"
        yield application, client


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, TestClient]]:
    var = tmp_path_factory.mktemp("codes")
    yield from _started(Settings(policies=shipped_policies(), log_url=f"sqlite:///{var}/log.db"))


def _code(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code


def test_a_body_that_does_not_fit_is_invalid_request(service: tuple[FastAPI, TestClient]) -> None:
    response = service[1].post("/v1/decisions", json={"operation": {"subjects": {"count": "x"}}})
    assert response.status_code == 422
    assert _code(response) == "invalid_request"


def test_a_request_before_startup_is_unavailable(tmp_path: Path) -> None:
    settings = Settings(policies=shipped_policies(), log_url=f"sqlite:///{tmp_path}/log.db")
    client = TestClient(create_app(settings), raise_server_exceptions=False)  # no lifespan run
    response = client.get("/readyz")
    assert response.status_code == 503
    assert _code(response) == "unavailable"


def test_a_log_that_fails_is_log_unavailable(
    service: tuple[FastAPI, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    application, client = service
    state: AppState = application.state.lexgate
    assert state.log is not None

    async def broken(record: object) -> object:
        raise OSError("disk full")

    monkeypatch.setattr(state.log, "append_async", broken)
    response = client.post("/v1/decisions", json={"operation": OPERATION})
    assert response.status_code == 503
    assert _code(response) == "log_unavailable"


def test_a_decision_past_its_budget_is_decision_timeout(tmp_path: Path) -> None:
    settings = Settings(
        policies=shipped_policies(), log_url=f"sqlite:///{tmp_path}/log.db", decision_timeout_s=1e-9
    )
    for _application, client in _started(settings):
        # Over the inline limit (16 kB), so it is decided in a thread against the budget.
        body = json.dumps({"operations": [OPERATION] * 400})
        assert len(body) > 16_384
        response = client.post(
            "/v1/decisions:batch", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 503, response.text
        assert _code(response) == "decision_timeout"


def test_a_worker_behind_the_published_bundle_is_bundle_mismatch(tmp_path: Path) -> None:
    stamp = tmp_path / "stamp"
    settings = Settings(
        policies=shipped_policies(),
        log_url=f"sqlite:///{tmp_path}/log.db",
        reload_stamp=stamp,
        reload_poll_ms=600_000,
    )
    for _application, client in _started(settings):
        assert client.get("/readyz").status_code == 200
        stamp.write_text("0" * 64 + "\n", encoding="utf-8")  # another worker published this
        response = client.get("/readyz")
        assert response.status_code == 503
        assert _code(response) == "bundle_mismatch"
