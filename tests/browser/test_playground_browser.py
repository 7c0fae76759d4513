"""The playground in a real browser: Debian's chromium, headless, driven by Playwright's Python
package (no `playwright install`: the browser is the system's, `.ci/run` installs it). A real
`lexgate playground` server is started on a free port.

The test types a typo into a rule, waits for the checker's diagnostic at that line (in the
editor and in the problems list), fixes it, runs the examples, decides an operation and checks
the status shown against the engine's own answers. It always takes a screenshot;
LEXGATE_UPDATE_SCREENSHOT=1 also writes it to docs/playground.png."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lexgate.api.testing import REPO, ServerProcess, shipped_policies

CHROMIUM = os.environ.get("LEXGATE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(
        "chromium is not installed (apt-get install chromium; .ci/run does it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the dev extra's playwright")

TYPO_FILE = "gdpr/lawful_basis.policy"
RULE_LINE = "  violation when legal_basis is none"
OPERATION = "no_basis"
WAIT_MS = 90_000  # a busy 2-core machine: conditions, never sleeps


class PlaygroundServer(ServerProcess):
    """`lexgate playground` instead of `lexgate serve` (no keys, no log: nothing to set up)."""

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "lexgate.engine",
            "playground",
            "--port",
            str(self.port),
            "--policies",
            str(self.policies),
        ]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(shipped_policies(), root / "policies")
    shutil.copytree(REPO / "examples", root / "examples")
    return root


@pytest.fixture(scope="module")
def server(workspace: Path) -> Iterator[ServerProcess]:
    with PlaygroundServer(workspace, policies=workspace / "policies") as running:
        yield running


@pytest.fixture(scope="module")
def page(server: ServerProcess) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],  # root in a container
        )
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


def _engine_answers(workspace: Path) -> tuple[int, str]:
    """What the engine itself says of the same files: the examples' count, the decision."""
    from lexgate.engine import load_bundle, load_operation_json, run_examples

    bundle = load_bundle(workspace / "policies")
    operation = load_operation_json((workspace / "examples" / f"{OPERATION}.json").read_bytes())
    return len(run_examples(bundle).results), str(bundle.decide(operation).status)


def _retype_word(page: Any, line_text: str, word: str) -> None:
    """Put the cursor on the line showing `line_text`, select its first word, type `word`."""
    line = page.locator(".cm-content .cm-line", has_text=line_text).first
    line.click()
    page.keyboard.press("End")
    page.keyboard.press("Home")  # CodeMirror: to the end of the indentation
    page.keyboard.press("Shift+Control+ArrowRight")
    page.keyboard.type(word)


def test_edit_check_fix_test_and_decide_in_the_browser(
    page: Any, server: ServerProcess, workspace: Path
) -> None:
    expect = sync_api.expect
    examples, status = _engine_answers(workspace)
    text = (workspace / "policies" / TYPO_FILE).read_text(encoding="utf-8")
    line_number = text.split("\n").index(RULE_LINE) + 1

    page.goto(f"{server.url}/playground")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#check-status")).to_have_attribute("data-kind", "ok")

    # A typo: the checker's diagnostic appears at that line, inline and in the list.
    page.locator(f'#files [data-file="{TYPO_FILE}"]').click()
    expect(page.locator("#current-file")).to_have_text(TYPO_FILE)
    _retype_word(page, "violation when legal_basis is none", "violaton")
    expect(page.locator("#check-status")).to_have_attribute("data-kind", "error")
    problem = page.locator(f'.problem[data-file="{TYPO_FILE}"]').first
    expect(problem).to_have_attribute("data-line", str(line_number))
    expect(problem).to_contain_text("violaton")
    marked = page.locator(".cm-line", has=page.locator(".cm-lintRange-error"))
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text("violaton when legal_basis is none")
    expect(page.locator(f'#files [data-file="{TYPO_FILE}"] .count')).to_have_text("1")

    # Fixed: no problem left.
    _retype_word(page, "violaton when legal_basis is none", "violation")
    expect(page.locator("#check-status")).to_have_attribute("data-kind", "ok")
    expect(page.locator("#problems")).to_contain_text("No problems")

    # Format (where this lexgate has the formatter): the file stays valid.
    format_button = page.locator("#format")
    if format_button.is_enabled():
        format_button.click()
        expect(page.locator("#format-status")).to_contain_text("formatted")
        expect(page.locator("#check-status")).to_have_attribute("data-kind", "ok")

    # The examples: as many as the engine runs, all passing.
    page.locator("#run-examples").click()
    summary = page.locator("#examples-summary")
    expect(summary).to_have_attribute("data-kind", "ok")
    expect(summary).to_have_text(re.compile(rf"^{examples} passed, 0 failed$"))

    # An operation from examples/: the status shown is the engine's.
    page.locator("#operation-example").select_option(OPERATION)
    shown = json.loads(page.evaluate("playground.operation()"))
    assert shown == json.loads((workspace / "examples" / f"{OPERATION}.json").read_text())
    page.locator("#decide").click()
    expect(page.locator("#decision-status")).to_have_attribute("data-status", status)
    gdpr = page.locator('.regime[data-regime="GDPR"]')
    expect(gdpr).to_contain_text("lawful_basis")
    expect(gdpr).to_contain_text("Art. 6(1)")

    # The screenshot: a diagnostic (its tooltip open) beside the decision.
    _retype_word(page, "violation when legal_basis is none", "violaton")
    expect(page.locator("#check-status")).to_have_attribute("data-kind", "error")
    page.locator(".cm-lintRange-error").first.hover()
    expect(page.locator(".cm-tooltip-lint")).to_contain_text("violaton")
    shot = workspace / "playground.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("LEXGATE_UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, REPO / "docs" / "playground.png")
