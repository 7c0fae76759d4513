"""Issue 18: one decision path (no fast path beside the route), no patched server, and no
import cycles in api/ (imports inside functions included)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from fastapi.testclient import TestClient
from lexgate.api.app import create_app
from lexgate.api.routes.decisions import DecisionEndpoint
from lexgate.api.settings import Settings
from lexgate.api.testing import shipped_policies
from starlette.routing import Route

API = Path(__file__).resolve().parents[2] / "api"


def test_one_handler_serves_post_decisions(tmp_path: Path) -> None:
    app = create_app(
        Settings(
            policies=shipped_policies(),
            log_url="none",
            keys_url=f"sqlite:///{tmp_path / 'keys.db'}",
        )
    )
    serving = [
        route
        for route in app.router.routes
        if isinstance(route, Route)
        and route.path == "/v1/decisions"
        and "POST" in (route.methods or ())
    ]
    assert len(serving) == 1
    assert isinstance(serving[0].app, DecisionEndpoint)
    assert importlib.util.find_spec("lexgate.api.fastpath") is None
    middleware = {m.cls.__name__ for m in app.user_middleware}  # type: ignore[attr-defined]
    assert middleware == {"MetricsMiddleware", "BodyLimitMiddleware"}


def test_a_root_path_reaches_the_same_handler(tmp_path: Path) -> None:
    """Requests under a root path used to bypass the fast path and take the FastAPI route."""
    settings = Settings(
        policies=shipped_policies(), log_url="none", keys_url=f"sqlite:///{tmp_path / 'keys.db'}"
    )
    app = create_app(settings)
    from lexgate.api.keys import open_key_store

    store = open_key_store(settings.resolved_keys_url)
    key = store.create(["decide"], "test")
    store.close()
    body = {"operation": {"legal_basis": "none", "controller": {"establishments": ["DE"]}}}
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as plain, TestClient(app, root_path="/lexgate") as prefixed:
        first = plain.post("/v1/decisions", json=body, headers=headers)
        second = prefixed.post("/v1/decisions", json=body, headers=headers)
        assert first.status_code == second.status_code == 200
        assert first.json()["decision"] == second.json()["decision"]
        metrics = plain.get("/metrics").text
        assert 'route="/v1/decisions"' in metrics  # labelled by the route's template
        bad = prefixed.post(
            "/v1/decisions", json={"operation": {"legal_basis": 1}}, headers=headers
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["fields"][0]["path"] == "operation.legal_basis"


def test_no_patched_server_classes() -> None:
    for path in API.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "multiprocess.Process =" not in text, path
        assert "supervisors" not in text, path


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("api"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("api"))
    return found


def test_no_import_cycles_in_api() -> None:
    modules = {}
    for path in API.rglob("*.py"):
        name = ".".join(path.relative_to(API.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph = {
        name: {m for m in _imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    # A package's __init__ is imported with any of its modules: a module importing its own
    # package's __init__ is not a cycle to report.
    for name, edges in graph.items():
        graph[name] = {e for e in edges if not name.startswith(e + ".")}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
