"""Property-based run of schemathesis over the served OpenAPI document (a real uvicorn server):
no 5xx, every status, content type and body as documented, valid data accepted and invalid
data rejected. Bounded (MAX_EXAMPLES per operation and mode) so the suite stays quick.

Strategies are driven by hand with `@given` rather than `schema.parametrize()`: the lazy
fixture loader of schemathesis 4 does not work with pytest 9."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from lexgate.api.testing import ServerProcess, shipped_policies  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

MAX_EXAMPLES = int(os.environ.get("LEXGATE_SCHEMATHESIS_EXAMPLES", "30"))
# Negative mode needs something to make invalid: a body or a parameter.
WITH_INPUT = {
    "POST /v1/decisions",
    "POST /v1/decisions:batch",
    "GET /v1/decisions/{decision_id}",
    "PUT /v1/profiles/{profile_id}",
    "GET /v1/profiles/{profile_id}",
    "GET /v1/decisions",
    "POST /v1/retention:check",
}
OPERATIONS = [
    "POST /v1/decisions",
    "POST /v1/decisions:batch",
    "GET /v1/decisions/{decision_id}",
    "GET /v1/decisions",
    "POST /v1/retention:check",
    "GET /v1/policies",
    "PUT /v1/profiles/{profile_id}",
    "GET /v1/profiles/{profile_id}",
    "GET /v1/profiles",
    "POST /v1/policies:reload",
    "GET /v1/schema/operation",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir: Path = tmp_path_factory.mktemp("schemathesis")
    # A batch of 20 decisions with `explain` can exceed the default 1 MiB log entry (a 422 the
    # schema documents, but a valid request): room for it here, so the positive run is valid.
    with ServerProcess(
        workdir,
        policies=shipped_policies(),
        args=("--max-batch", "20"),
        env={"LEXGATE_MAX_LOG_ENTRY_BYTES": str(64 * 2**20)},
    ) as running:
        yield running


@pytest.fixture(scope="module")
def operations(server: ServerProcess) -> dict[str, Any]:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


def test_every_route_is_covered(operations: dict[str, Any]) -> None:
    assert sorted(operations) == sorted(OPERATIONS)


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value
)
@pytest.mark.parametrize("label", OPERATIONS)
def test_api_conforms_to_its_schema(
    label: str, mode: GenerationMode, operations: dict[str, Any], server: ServerProcess
) -> None:
    if mode is GenerationMode.NEGATIVE and label not in WITH_INPUT:
        pytest.skip("no body or parameter to make invalid")
    operation = operations[label]
    auth = {"Authorization": f"Bearer {server.admin_key}"}
    examples = 5 if label.endswith(":reload") else MAX_EXAMPLES  # each reload loads the bundle

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=auth)

    run()
