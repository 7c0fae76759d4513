"""The service in-process, and a client that talks to it through the test client's transport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lexgate.api.app import create_app
from lexgate.api.settings import Settings
from lexgate.api.testing import shipped_policies
from lexgate.client import LexgateClient


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    var: Path = tmp_path_factory.mktemp("client")
    application = create_app(
        Settings(policies=shipped_policies(), log_url=f"sqlite:///{var}/log.db")
    )
    with TestClient(application, raise_server_exceptions=False) as http:
        key = application.state.lexgate.keys.create(["decide", "read_log"], "crm")
        yield http, key


@pytest.fixture
def lexgate(service: tuple[TestClient, str]) -> LexgateClient:
    http, key = service
    return LexgateClient("http://testserver", key, http=http)
