"""Hot reload over real HTTP: a good bundle is swapped in atomically; a broken one (syntax,
check or failing example) is rejected with diagnostics while the old one keeps serving."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lexgate.api.testing import ServerProcess, shipped_policies

OPERATION = {"legal_basis": "none", "controller": {"establishments": ["DE"]}}
BROKEN_SYNTAX = '\nrule broken "unterminated\n  violation when (\n'
FAILING_EXAMPLE = (
    '\nexample "a deliberately wrong expectation"\n'
    "  given legal_basis = none, controller.establishments = {DE}\n"
    "  expect allowed\n"
)


def policy_file(policies: Path) -> Path:
    return sorted((policies / "gdpr").glob("*.policy"))[0]


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    copy = tmp_path / "policies"
    shutil.copytree(shipped_policies(), copy)
    return copy


def admin(server: ServerProcess) -> dict[str, str]:
    assert server.admin_key
    return {"Authorization": f"Bearer {server.admin_key}"}


def serving_hash(server: ServerProcess) -> str:
    return str(httpx.get(f"{server.url}/v1/policies", headers=admin(server)).json()["hash"])


def decided_with(server: ServerProcess) -> str:
    response = httpx.post(
        f"{server.url}/v1/decisions", json={"operation": OPERATION}, headers=admin(server)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["bundle_hash"])


@pytest.fixture
def server(tmp_path: Path, policies: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path, policies=policies) as running:
        yield running


def reload(server: ServerProcess) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/policies:reload", headers=admin(server), timeout=180)


def test_reload_swaps_a_good_bundle_and_rejects_broken_ones(
    server: ServerProcess, policies: Path
) -> None:
    original = serving_hash(server)
    unchanged = reload(server)
    assert unchanged.status_code == 200
    assert unchanged.json() == {"swapped": False, "previous_hash": original, "hash": original}

    target = policy_file(policies)
    good_text = target.read_text() + "\n# reviewed again\n"
    target.write_text(good_text)
    swapped = reload(server)
    assert swapped.status_code == 200, swapped.text
    new_hash = swapped.json()["hash"]
    assert swapped.json()["swapped"] and new_hash != original
    assert serving_hash(server) == decided_with(server) == new_hash
    metrics = httpx.get(f"{server.url}/metrics").text
    assert f'lexgate_bundle_info{{hash="{new_hash}"}} 1.0' in metrics
    assert original not in metrics

    for breakage, code in ((BROKEN_SYNTAX, None), (FAILING_EXAMPLE, "E0501")):
        target.write_text(good_text + breakage)
        rejected = reload(server)
        assert rejected.status_code == 422, rejected.text
        error = rejected.json()["error"]
        assert error["code"] == "policy_error"
        assert error["serving"] == new_hash
        diagnostics = error["diagnostics"]
        assert diagnostics and all(d["span"]["file"] for d in diagnostics)
        if code:
            assert {d["code"] for d in diagnostics} == {code}
        else:
            assert any(d["span"]["file"].endswith(target.name) for d in diagnostics)
        assert serving_hash(server) == decided_with(server) == new_hash
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'lexgate_policy_reloads_total{result="rejected"} 2.0' in metrics


def test_reload_never_mixes_bundles_under_load(server: ServerProcess, policies: Path) -> None:
    """Decisions racing a reload name either the old or the new hash, never fail."""
    original = serving_hash(server)
    target = policy_file(policies)
    target.write_text(target.read_text() + "\n# another review\n")
    seen: set[str] = set()
    with httpx.Client(base_url=server.url, headers=admin(server), timeout=180) as client:
        pending = client.build_request("POST", "/v1/policies:reload")
        result: dict[str, httpx.Response] = {}
        thread = threading.Thread(target=lambda: result.update(r=client.send(pending)))
        thread.start()
        while thread.is_alive():
            response = client.post("/v1/decisions", json={"operation": OPERATION})
            assert response.status_code == 200
            seen.add(response.json()["bundle_hash"])
        thread.join()
    new_hash = result["r"].json()["hash"]
    assert seen <= {original, new_hash}
    assert decided_with(server) == new_hash


def test_watch_reloads_on_change_and_keeps_serving_on_breakage(
    tmp_path: Path, policies: Path
) -> None:
    args = ("--watch",)
    env = {"LEXGATE_WATCH_DEBOUNCE_MS": "50"}
    with ServerProcess(tmp_path / "watched", policies=policies, args=args, env=env) as server:
        original = serving_hash(server)
        target = policy_file(policies)
        good_text = target.read_text() + "\n# watched edit\n"
        target.write_text(good_text)
        new_hash = wait_for_hash_change(server, original)
        assert decided_with(server) == new_hash
        target.write_text(good_text + BROKEN_SYNTAX)
        deadline = time.monotonic() + 120
        metrics = ""
        while time.monotonic() < deadline:
            metrics = httpx.get(f"{server.url}/metrics").text
            if 'lexgate_policy_reloads_total{result="rejected"} 1.0' in metrics:
                break
            time.sleep(0.1)
        assert 'lexgate_policy_reloads_total{result="rejected"} 1.0' in metrics
        assert serving_hash(server) == decided_with(server) == new_hash
        assert "policy change rejected" in server.log()


def wait_for_hash_change(server: ServerProcess, old: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = serving_hash(server)
        if current != old:
            return current
        time.sleep(0.1)
    raise AssertionError(f"the watcher did not reload within {timeout}s:\n{server.log()}")


def test_a_reload_reaches_every_worker(tmp_path: Path, policies: Path) -> None:
    """`serve --workers 2`: the admin reload lands in one worker; the other follows through the
    reload stamp, so no connection keeps getting decisions from the old bundle."""
    with ServerProcess(tmp_path, policies=policies, args=("--workers", "2")) as server:
        original = decided_with(server)
        target = policy_file(policies)
        target.write_text(target.read_text() + "\n# reviewed by every worker\n")
        swapped = reload(server)
        assert swapped.status_code == 200, swapped.text
        new_hash = swapped.json()["hash"]
        assert new_hash != original
        # Each httpx.post opens a new connection, which either worker may accept.
        deadline = time.monotonic() + 120
        streak = 0
        while streak < 40:
            assert time.monotonic() < deadline, "a worker kept serving the old bundle"
            streak = streak + 1 if decided_with(server) == new_hash else 0
        verify = httpx.get(f"{server.url}/v1/policies", headers=admin(server)).json()
        assert verify["hash"] == new_hash
