"""The playground's routes in-process (TestClient): the page and its assets, diagnostics as data
for an edited bundle, the examples, a decision against the edited bundle, the formatter (or its
absence), every limit with its 4xx, and when the playground is on (loopback) or off (elsewhere).
tests/browser/test_playground_browser.py drives the page itself in chromium."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lexgate.api.app import create_app
from lexgate.api.routes import playground
from lexgate.api.settings import Settings
from lexgate.api.testing import REPO, shipped_policies

TYPO_FILE = "gdpr/lawful_basis.policy"
RULE_LINE = "  violation when legal_basis is none"


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped policies and example operations: the tests prove nothing in it is
    written, and the repository's own files are never at risk."""
    root = tmp_path_factory.mktemp("playground")
    shutil.copytree(shipped_policies(), root / "policies")
    shutil.copytree(REPO / "examples", root / "examples")
    return root


@pytest.fixture(scope="module")
def client(workspace: Path) -> Iterator[TestClient]:
    app = playground.create_playground_app(workspace / "policies", host="127.0.0.1")
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def files(client: TestClient) -> dict[str, str]:
    answer = client.get("/playground/api/bundle")
    assert answer.status_code == 200
    found: dict[str, str] = answer.json()["files"]
    return found


def _typo(files: dict[str, str]) -> tuple[dict[str, str], int]:
    """The bundle with `violation` misspelt in one rule, and the line it is on."""
    text = files[TYPO_FILE]
    line = text.split("\n").index(RULE_LINE) + 1
    return {
        **files,
        TYPO_FILE: text.replace(RULE_LINE, "  violaton when legal_basis is none"),
    }, line


def test_the_page_and_its_assets_are_served_from_this_server(client: TestClient) -> None:
    page = client.get("/playground")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/playground/assets/playground.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from a CDN
    script = client.get("/playground/assets/playground.js")
    assert script.status_code == 200 and len(script.content) > 100_000  # CodeMirror is in it
    assert client.get("/playground/assets/playground.css").status_code == 200


def test_the_bundle_lists_the_policy_files_and_example_operations(
    client: TestClient, workspace: Path, files: dict[str, str]
) -> None:
    on_disk = sorted(
        p.relative_to(workspace / "policies").as_posix()
        for p in (workspace / "policies").rglob("*.policy")
    )
    assert sorted(files) == on_disk
    answer = client.get("/playground/api/bundle").json()
    assert "no_basis" in answer["operations"] and "profile" not in answer["operations"]
    assert answer["limits"]["files"] == playground.MAX_FILES


def test_check_returns_the_checkers_diagnostics_as_data(
    client: TestClient, files: dict[str, str]
) -> None:
    clean = client.post("/playground/api/check", json={"files": files}).json()
    assert clean["ok"] and clean["diagnostics"] == [] and len(clean["hash"]) == 64
    broken, line = _typo(files)
    answer = client.post("/playground/api/check", json={"files": broken})
    assert answer.status_code == 200  # a broken bundle is data, not an HTTP error
    result = answer.json()
    assert not result["ok"]
    (diagnostic,) = [d for d in result["diagnostics"] if d["span"]["file"] == TYPO_FILE]
    assert diagnostic["severity"] == "error" and "violaton" in diagnostic["message"]
    assert (diagnostic["span"]["line"], diagnostic["span"]["col"]) == (line, 3)


def test_examples_report_pass_and_fail(client: TestClient, files: dict[str, str]) -> None:
    result = client.post("/playground/api/examples", json={"files": files}).json()
    assert result["ok"] and result["passed"] > 0 and result["failed"] == 0
    assert result["passed"] == len(result["results"])
    # Flip one example's expectation: exactly that example fails, and says why.
    name, text = next((n, t) for n, t in sorted(files.items()) if "expect denied" in t)
    flipped = {**files, name: text.replace("expect denied", "expect allowed", 1)}
    result = client.post("/playground/api/examples", json={"files": flipped}).json()
    assert result["failed"] == 1
    (failed,) = [r for r in result["results"] if not r["passed"]]
    assert failed["span"]["file"] == name and failed["failures"]
    assert failed["status"] == "denied"
    broken, _ = _typo(files)
    result = client.post("/playground/api/examples", json={"files": broken}).json()
    assert not result["ok"] and result["diagnostics"] and result["results"] == []


def test_decisions_use_the_edited_bundle(
    client: TestClient, files: dict[str, str], workspace: Path
) -> None:
    operation = client.get("/playground/api/bundle").json()["operations"]["no_basis"]
    answer = client.post("/playground/api/decide", json={"files": files, "operation": operation})
    assert answer.status_code == 200
    gdpr = answer.json()["decision"]["regimes"]["GDPR"]
    assert gdpr["status"] == "denied"
    assert "lawful_basis" in {v["rule"] for v in gdpr["violations"]}
    assert gdpr["exposure"]["organisation"]["max"] is not None
    # The lawyer edits the rule in the browser: the decision follows the edit at once.
    edited = {**files, TYPO_FILE: files[TYPO_FILE].replace(RULE_LINE, RULE_LINE + " and false")}
    answer = client.post("/playground/api/decide", json={"files": edited, "operation": operation})
    regime = answer.json()["decision"]["regimes"]["GDPR"]
    assert "lawful_basis" not in {v["rule"] for v in regime["violations"]}
    before = _tree_digest(workspace)
    client.post("/playground/api/decide", json={"files": edited, "operation": operation})
    assert _tree_digest(workspace) == before  # edits live in the browser, never on disk


def test_an_operation_that_does_not_fit_is_a_422_naming_the_field(
    client: TestClient, files: dict[str, str]
) -> None:
    body = {"files": files, "operation": {"subjects": {"count": "many"}}}
    answer = client.post("/playground/api/decide", json=body)
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"][0]["path"] == "operation.subjects.count"
    broken, _ = _typo(files)
    answer = client.post("/playground/api/decide", json={"files": broken, "operation": {}})
    assert answer.status_code == 200 and answer.json()["decision"] is None


def test_format_without_a_formatter_says_so(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(playground, "formatter", lambda: None)
    answer = client.post("/playground/api/format", json={"path": "a.policy", "text": "x"})
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "unavailable"
    assert "formatter is not available" in answer.json()["error"]["message"]


def test_format_returns_the_formatters_text(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> None:
    calls: list[tuple[str, str]] = []

    def fake(text: str, path: str) -> str:
        calls.append((text, path))
        return text.rstrip() + "\n"

    monkeypatch.setattr(playground, "formatter", lambda: fake)
    answer = client.post("/playground/api/format", json={"path": "a.policy", "text": "x  \n\n"})
    assert answer.json() == {"ok": True, "text": "x\n", "changed": True, "diagnostics": []}
    assert calls == [("x  \n\n", "a.policy")]


def test_format_with_the_real_formatter_when_it_exists(
    client: TestClient, files: dict[str, str]
) -> None:
    if playground.formatter() is None:
        pytest.skip("lexgate.engine.formatter is not in this version yet")
    answer = client.post(
        "/playground/api/format", json={"path": TYPO_FILE, "text": files[TYPO_FILE]}
    )
    assert answer.status_code == 200 and answer.json()["ok"]
    again = client.post(
        "/playground/api/format", json={"path": TYPO_FILE, "text": answer.json()["text"]}
    )
    assert again.json()["changed"] is False  # idempotent through the route too


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"files": {}}, 422, "no files"),
        ({"files": {f"f{i}.policy": "" for i in range(playground.MAX_FILES + 1)}}, 413, "files"),
        ({"files": {"a.policy": "#" * (playground.MAX_FILE_BYTES + 1)}}, 413, "at most"),
        (
            {"files": {f"f{i}.policy": "#" * 900_000 for i in range(5)}},
            413,
            "the bundle is",
        ),
        ({"files": {"../etc/passwd.policy": ""}}, 422, "relative path"),
        ({"files": {"/abs.policy": ""}}, 422, "relative path"),
        ({"files": {"notes.txt": ""}}, 422, "not a policy file"),
        ({"files": "nope"}, 422, "schema"),
        ([1, 2], 422, "JSON object"),
    ],
)
def test_every_input_has_a_limit(client: TestClient, body: Any, status: int, words: str) -> None:
    answer = client.post("/playground/api/check", json=body)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]["message"]


def test_the_request_body_has_a_limit(client: TestClient) -> None:
    body = b'{"files": {"a.policy": "' + b"#" * playground.PLAYGROUND_BODY_BYTES + b'"}}'
    answer = client.post(
        "/playground/api/check", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"


def test_work_past_its_time_limit_is_stopped_with_a_422(
    client: TestClient, files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(playground, "CHECK_SECONDS", 0.001)
    # A text never parsed before: the memoised parses must not make it fast enough.
    fresh = {**files, TYPO_FILE: files[TYPO_FILE] + f"\n# {uuid.uuid4()}\n"}
    answer = client.post("/playground/api/check", json={"files": fresh})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "time_limit" and "0.001 s" in error["message"]


def test_a_request_to_another_host_name_is_refused_on_loopback(client: TestClient) -> None:
    # A DNS-rebinding page reaches 127.0.0.1 under its own host name: refused.
    answer = client.get("/playground/api/bundle", headers={"host": "attacker.example"})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"
    assert client.get("/playground", headers={"host": "localhost:8090"}).status_code == 200


def _serve(tmp_path: Path, **given: Any) -> TestClient:
    settings = Settings(
        policies=shipped_policies(),
        log_url="none",
        keys_url=f"sqlite:///{tmp_path}/keys.db",
        **given,
    )
    return TestClient(create_app(settings), base_url="http://127.0.0.1")


def test_serve_has_the_playground_on_loopback_without_a_key(tmp_path: Path) -> None:
    with _serve(tmp_path) as client:
        assert client.get("/playground").status_code == 200
        assert client.get("/playground/api/bundle").status_code == 200
    with _serve(tmp_path, playground=False) as client:
        assert client.get("/playground").status_code == 404


def test_serve_bound_elsewhere_has_no_playground_unless_the_flag_says_so(tmp_path: Path) -> None:
    with _serve(tmp_path, host="0.0.0.0") as client:
        assert client.get("/playground").status_code == 404
        assert client.post("/playground/api/check", json={"files": {}}).status_code == 404
    with _serve(tmp_path, host="0.0.0.0", playground=True) as client:
        page = client.get("/playground", headers={"host": "crm.example.com"})
        assert page.status_code == 200  # turned on for that address: any host name


def test_the_playground_command_refuses_a_public_address_without_remote() -> None:
    from lexgate.engine.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["playground", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 2
    assert "--remote" in result.output


def test_the_loopback_test() -> None:
    assert playground.is_loopback("127.0.0.1") and playground.is_loopback("[::1]")
    assert playground.is_loopback("localhost") and playground.is_loopback("127.5.5.5")
    assert not playground.is_loopback("0.0.0.0") and not playground.is_loopback("10.0.0.1")
    assert not playground.is_loopback("example.com") and not playground.is_loopback("")


def test_the_committed_build_is_of_the_current_sources() -> None:
    """api/static/playground/ is built by `cd web/playground && npm ci && npm run build`, which
    records the hash of its sources; an edit of the sources without a rebuild fails here."""
    web = REPO / "web" / "playground"
    names = sorted(
        [f"src/{p.name}" for p in (web / "src").iterdir()] + ["build.mjs", "package-lock.json"]
    )
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + (web / name).read_bytes() + b"\0")
    recorded = (playground.STATIC / "sources.sha256").read_text().strip()
    assert recorded == digest.hexdigest(), "rebuild: cd web/playground && npm ci && npm run build"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Path, dict[str, str]]]:
    """`lexgate serve` over a copy of the policies, with a decide key and an admin key."""
    shutil.copytree(shipped_policies(), tmp_path / "policies")
    settings = Settings(
        policies=tmp_path / "policies", log_url="none", keys_url=f"sqlite:///{tmp_path}/keys.db"
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        keys = app.state.lexgate.keys
        yield (
            client,
            tmp_path / "policies",
            {
                "admin": keys.create(["admin"]),
                "decide": keys.create(["decide"]),
            },
        )


def _save(client: TestClient, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post("/playground/api/save", json=body, headers=headers)


def test_saving_needs_an_admin_key_and_a_bundle_that_loads(
    served: tuple[TestClient, Path, dict[str, str]],
) -> None:
    client, root, keys = served
    assert client.get("/playground/api/bundle").json()["save"] is True
    files = client.get("/playground/api/bundle").json()["files"]
    on_disk = (root / TYPO_FILE).read_text(encoding="utf-8")
    edited = {**files, TYPO_FILE: files[TYPO_FILE] + "\n# reviewed in the playground\n"}
    body = {"files": edited, "save": [TYPO_FILE]}
    assert _save(client, body).status_code == 401
    assert _save(client, body, keys["decide"]).json()["error"]["code"] == "forbidden"
    broken, _ = _typo(files)
    answer = _save(client, {"files": broken, "save": [TYPO_FILE]}, keys["admin"])
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "policy_error"
    assert answer.json()["error"]["diagnostics"][0]["span"]["file"] == TYPO_FILE
    assert (root / TYPO_FILE).read_text(encoding="utf-8") == on_disk  # nothing written
    answer = _save(client, body, keys["admin"])
    assert answer.status_code == 200 and answer.json()["saved"] == [TYPO_FILE]
    assert (root / TYPO_FILE).read_text(encoding="utf-8") == edited[TYPO_FILE]
    assert not list(root.rglob(".playground-*"))  # no temporary file left behind


def test_saving_never_writes_outside_the_policy_folder(
    served: tuple[TestClient, Path, dict[str, str]], tmp_path: Path
) -> None:
    client, root, keys = served
    files = client.get("/playground/api/bundle").json()["files"]
    outside = tmp_path / "outside.policy"
    outside.write_text("# not a policy of this bundle\n")
    (root / "gdpr" / "link.policy").symlink_to(outside)
    body = {"files": {**files, "gdpr/link.policy": "# x\n"}, "save": ["gdpr/link.policy"]}
    answer = _save(client, body, keys["admin"])
    assert answer.status_code == 422 and "outside the policy directory" in answer.text
    assert outside.read_text() == "# not a policy of this bundle\n"
    answer = _save(client, {"files": files, "save": ["../x.policy"]}, keys["admin"])
    assert answer.status_code == 422 and not (root.parent / "x.policy").exists()
    answer = _save(client, {"files": files, "save": ["gdpr/nowhere.policy"]}, keys["admin"])
    assert answer.status_code == 422 and "not among the files sent" in answer.text


def test_the_playground_alone_saves_nothing(client: TestClient, files: dict[str, str]) -> None:
    assert client.get("/playground/api/bundle").json()["save"] is False
    answer = _save(client, {"files": files, "save": [TYPO_FILE]}, "lxg_whatever")
    assert answer.status_code == 403 and "saves nothing" in answer.json()["error"]["message"]


def test_a_syntax_error_does_not_hide_the_errors_of_other_files(
    client: TestClient, files: dict[str, str]
) -> None:
    """As `lexgate check`: the declarations that parsed are still checked (issue 13, item 2)."""
    broken, _ = _typo(files)
    name, text = next((n, t) for n, t in sorted(broken.items()) if n != TYPO_FILE and "cite " in t)
    broken[name] = text + '\nrule playground_probe "x" cite "y"\n  violation when no_such_fact\n'
    result = client.post("/playground/api/check", json={"files": broken}).json()
    where = {d["span"]["file"] for d in result["diagnostics"]}
    assert {TYPO_FILE, name} <= where
    from lexgate.engine import PolicyError, load_sources

    with pytest.raises(PolicyError) as engine:
        load_sources(broken)
    assert result["diagnostics"] == [d.to_dict() for d in engine.value.diagnostics]


def test_the_parse_memo_is_bounded_and_reuses_parses() -> None:
    memo = playground.ParseMemo(max_chars=100)
    first = memo.parse("a.policy", "# " + "a" * 40)
    assert memo.parse("a.policy", "# " + "a" * 40) is first  # not parsed again
    for letter in "bcd":
        memo.parse(f"{letter}.policy", "# " + letter * 40)
    assert memo.size <= 100 and len(memo.entries) == 2  # the oldest went first
    assert ("a.policy", "# " + "a" * 40) not in memo.entries
    memo.parse("big.policy", "#" * 101)  # larger than the memo: parsed, never kept
    assert memo.size <= 100 and ("big.policy", "#" * 101) not in memo.entries


def test_a_real_lexgate_serve_serves_the_playground_without_a_key(tmp_path: Path) -> None:
    """Over the wire: `lexgate serve` on 127.0.0.1 answers the playground without a key, and
    the decision API still wants one."""
    import httpx
    from lexgate.api.testing import ServerProcess

    with ServerProcess(tmp_path, policies=shipped_policies()) as server:
        assert httpx.get(f"{server.url}/playground", timeout=30).status_code == 200
        files = httpx.get(f"{server.url}/playground/api/bundle", timeout=30).json()["files"]
        broken, line = _typo(files)
        answer = httpx.post(
            f"{server.url}/playground/api/check", json={"files": broken}, timeout=60
        ).json()
        assert [d["span"]["line"] for d in answer["diagnostics"]] == [line]
        assert httpx.get(f"{server.url}/v1/policies", timeout=30).status_code == 401
