"""The HTML audit report in a real browser: Debian's chromium, headless, driven by Playwright's
Python package (the system's browser; no `playwright install`). The report must render offline
(every request other than the file itself and data: URIs is refused and counted), show every
activity and the chart. It always takes a screenshot; LEXGATE_UPDATE_SCREENSHOT=1 also writes
it to docs/audit-report.png."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from lexgate.engine import Bundle
from lexgate.engine.audit import (
    content_version,
    read_register,
    run_audit,
    set_fact_paths,
    write_report,
)
from lexgate.engine.vocabulary import load_operation_json

from tests.conftest import ROOT

CHROMIUM = os.environ.get("LEXGATE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(
        "chromium is not installed (apt-get install chromium; .ci/run does it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the dev extra's playwright")

WAIT_MS = 60_000


def test_the_report_renders_offline_in_chromium(bundle: Bundle, tmp_path: Path) -> None:
    register = read_register(
        ROOT / "examples" / "register.yaml", set_fact_paths(bundle.checked.vocabulary)
    )
    raw = (ROOT / "examples" / "profile.json").read_bytes()
    profile = bundle.load_profile(load_operation_json(raw), "profile")
    audit = run_audit(bundle, register, profile, dt.date(2026, 11, 30), "EUR", content_version(raw))
    html = write_report(audit, tmp_path)["html"]

    outside: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1500})

            def refuse(route: sync_api.Route) -> None:
                url = route.request.url
                if url.startswith(("file:", "data:")):
                    route.continue_()
                else:
                    outside.append(url)
                    route.abort()

            page.route("**/*", refuse)
            page.goto(html.as_uri(), wait_until="load", timeout=WAIT_MS)
            chart = page.locator("img.chart")
            chart.wait_for(timeout=WAIT_MS)
            width = page.evaluate("document.querySelector('img.chart').naturalWidth")
            assert width > 300, "the chart (a data: URI) did not decode"
            text = page.inner_text("body")
            for activity in register.activities:
                assert activity.name in text
            assert "Totals per currency" in text and audit.bundle_hash[:16] in text
            shot = page.screenshot(full_page=False)
        finally:
            browser.close()
    assert outside == [], f"the report fetched from outside: {outside}"
    (tmp_path / "audit-report.png").write_bytes(shot)
    if os.environ.get("LEXGATE_UPDATE_SCREENSHOT"):
        (ROOT / "docs" / "audit-report.png").write_bytes(shot)
