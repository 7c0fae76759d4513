"""`POST /v1/retention:check`: the same answers as the scalar reading, its limits, its 4xx."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lexgate.api.app import create_app
from lexgate.api.routes.retention import MAX_RECORDS
from lexgate.api.settings import Settings
from lexgate.api.testing import shipped_policies
from lexgate.engine import load_bundle
from lexgate.engine.retention import evaluate_record

RECORDS = [
    {"id": "a", "categories": ["contact"], "purposes": ["marketing"],
     "last_interaction": "2023-05-31", "legal_hold": False},
    {"id": "b", "categories": ["commercial"], "purposes": ["service_delivery"],
     "contract_ended": True, "contract_end": "2016-02-29"},
    {"id": "c", "categories": ["inferences"], "purposes": ["profiling"],
     "consent_withdrawn": True, "consent_withdrawn_on": "2026-11-01", "legal_hold": True},
    {"id": "d", "categories": [], "purposes": ["marketing"]},
]  # fmt: skip


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    var = tmp_path_factory.mktemp("retention")
    application = create_app(
        Settings(policies=shipped_policies(), log_url=f"sqlite:///{var}/log.db")
    )
    with TestClient(application, raise_server_exceptions=False) as test_client:
        key = application.state.lexgate.keys.create(["decide"], "crm")
        test_client.headers["Authorization"] = f"Bearer {key}"
        yield test_client


def test_answers_agree_with_the_scalar_reading(client: TestClient) -> None:
    response = client.post("/v1/retention:check", json={"as_of": "2026-11-30", "records": RECORDS})
    assert response.status_code == 200, response.text
    body = response.json()
    limits = load_bundle(shipped_policies()).checked.retention
    for record, result in zip(RECORDS, body["results"], strict=True):
        facts = {
            key: frozenset(value) if isinstance(value, list) else
            dt.date.fromisoformat(value) if isinstance(value, str) and key != "id" else value
            for key, value in record.items()
        }  # fmt: skip
        verdict = evaluate_record(limits, facts, dt.date(2026, 11, 30))
        assert result["id"] == record["id"]
        assert result["status"] == verdict.status.value
        assert result["limit"] == verdict.limit
        assert result["missing"] == list(verdict.missing)
    assert [r["status"] for r in body["results"]] == ["delete", "undetermined", "held", "keep"]
    assert body["results"][1]["missing"] == ["legal_hold"]
    assert sum(body["counts"].values()) == len(RECORDS)
    assert {limit["name"] for limit in body["limits"]} >= {"marketing_contacts"}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"records": [{"id": "x", "categories": ["wine"]}]}, "records[0].categories"),
        (
            {"records": [{"id": "x", "purposes": ["marketing"], "colour": "red"}]},
            "records[0].colour",
        ),
        ({"records": []}, "records"),
        ({"records": [{"id": str(i)} for i in range(MAX_RECORDS + 1)]}, "records"),
        (
            {"records": [{"id": "x", "last_interaction": "2026-02-30"}]},
            "records[0].last_interaction",
        ),
    ],
)
def test_bad_batches_are_422_naming_the_field(
    client: TestClient, body: dict[str, object], path: str
) -> None:
    response = client.post("/v1/retention:check", json=body)
    assert response.status_code in (413, 422), response.text
    if response.status_code == 422:
        assert path in [f["path"] for f in response.json()["error"]["fields"]]


def test_malformed_json_is_422_not_400(client: TestClient) -> None:
    response = client.post(
        "/v1/retention:check", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_needs_the_decide_scope(client: TestClient, tmp_path: Path) -> None:
    response = client.post(
        "/v1/retention:check", json={"records": RECORDS}, headers={"Authorization": "Bearer x"}
    )
    assert response.status_code == 401
