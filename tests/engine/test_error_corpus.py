"""Policy errors as data: every case of error_corpus.yaml must give exactly its diagnostics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from lexgate.engine import PolicyError, load_sources, render_all

CORPUS = yaml.safe_load((Path(__file__).parent / "error_corpus.yaml").read_text(encoding="utf-8"))
CASES = CORPUS["cases"]


def _sources(case: dict) -> dict[str, str]:
    if "file" in case:  # a file of its own, beside a header that is valid alone
        return {
            "common/min.policy": CORPUS["common"],
            "gdpr/case.policy": CORPUS["header"],
            case["file"]: case["policy"],
        }
    return {
        "common/min.policy": CORPUS["common"],
        "gdpr/case.policy": CORPUS["header"] + case["policy"],
    }


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_error_corpus(case: dict) -> None:
    header_lines = 0 if "file" in case else CORPUS["header"].count("\n")
    file = case.get("file", "gdpr/case.policy")
    if "warnings" in case:
        bundle = load_sources(_sources(case))
        diagnostics = [d for d in bundle.checked.warnings if d.span.file == file]
        wanted = case["warnings"]
        assert len(diagnostics) == len(wanted), render_all(bundle.checked.warnings)
    else:
        with pytest.raises(PolicyError) as raised:
            load_sources(_sources(case))
        diagnostics = [d for d in raised.value.diagnostics if d.span.file == file]
        wanted = case["errors"]
        assert len(diagnostics) == len(wanted), render_all(raised.value.diagnostics)
    for diagnostic, want in zip(diagnostics, wanted, strict=True):
        assert diagnostic.code == want["code"], diagnostic
        assert diagnostic.span.line - header_lines == want["line"], diagnostic
        assert diagnostic.span.col == want["col"], diagnostic
        assert want["message"] in diagnostic.message, diagnostic
        if "help" in want:
            assert diagnostic.help and want["help"] in diagnostic.help, diagnostic


def test_every_friendly_syntax_message_is_in_the_corpus() -> None:
    source = (Path(__file__).parents[2] / "engine" / "syntax_errors.py").read_text()
    corpus_messages = " ".join(e["message"] for c in CASES for e in c.get("errors", ()))
    phrases = [
        "the file ends in the middle",
        "text in quotes is not closed",
        "unexpected character `&`",
        "unexpected character `'`",
        "unexpected capital letters",
        "looks like a currency code",
        "unexpected `=`",
        "unexpected text",
        "unexpected name",
        "cannot start a condition inside",
    ]
    for phrase in phrases:
        assert phrase in source.replace("{char}", "&") or phrase in source
        assert phrase in corpus_messages, phrase


def test_cli_reports_three_mistakes_with_location_caret_and_help(tmp_path: Path) -> None:
    case = next(c for c in CASES if c["name"].startswith("three independent"))
    for name, text in _sources(case).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "lexgate.engine", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    header_lines = CORPUS["header"].count("\n")
    for line, col in ((2, 20), (4, 33), (5, 8)):
        assert f"gdpr/case.policy:{line + header_lines}:{col}" in result.stderr
    assert result.stderr.count("^") >= 3
    assert result.stderr.count("help:") >= 3
    assert "3 error(s)" in result.stderr
