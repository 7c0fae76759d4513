"""One syntax error does not hide the others: the parser resumes at the next declaration, the
checker still checks every declaration that parsed, and a broken declaration brings no
follow-on errors; misspelt keywords get a suggestion; a failing example says what it got."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lexgate.engine import PolicyError, load_sources
from lexgate.engine.parser import grammar_keywords, parse_module
from lexgate.engine.tester import run_examples

VOCABULARY = """\
enum legal_basis = consent | contract | none
fact legal_basis: legal_basis "basis"
fact consent.given: bool "consent given"
fact breach.hours: hours "hours to notify"
fact controller.turnover: money "turnover"
fact controller.establishments: set of country "establishments"
"""

HEADER = """\
regime GDPR "t" cite "x"
  in force from 2018-05-25
  currency EUR
  applies when controller.establishments meets {DE} cite "Art. 3(1)"
fine upper = up to EUR 20 million cite "Art. 83(5)"

"""


def _errors(policy: str) -> list[tuple[str, int, int]]:
    with pytest.raises(PolicyError) as raised:
        load_sources({"common/vocabulary.policy": VOCABULARY, "gdpr/regime.policy": policy})
    return [(d.code, d.span.line, d.span.col) for d in raised.value.diagnostics]


THREE_MISTAKES = HEADER + (
    'rule lawful "t" cite "Art. 6"\n'  # 7
    "  violation when legal_basis is is none\n"  # 8: the syntax error
    "  fine upper\n"
    "\n"
    'rule late "t" cite "Art. 33"\n'  # 11
    "  violation when breach.hours > EUR 5\n"  # 12: hours compared with money
    "  fine upper\n"
    "\n"
    'define mixed: money = EUR 1 + USD 2 cite "x"\n'  # 15: EUR added to USD
)


def test_one_syntax_error_and_two_type_errors_are_all_reported() -> None:
    assert _errors(THREE_MISTAKES) == [("E0001", 8, 36), ("E0202", 12, 18), ("E0202", 15, 23)]


def test_a_broken_declaration_is_left_out_without_follow_on_errors() -> None:
    policy = HEADER + (
        'rule lawful "t" cite "Art. 6"\n'
        "  violation when legal_basis is is none\n"
        "  fine upper\n"
        "\n"
        'exception consented to lawful "t" cite "x"\n'  # names the broken rule
        "  when consent.given\n"
        "\n"
        'example "names the broken rule"\n'
        "  given legal_basis = none, controller.establishments = {DE}\n"
        "  expect denied, violation lawful\n"
    )
    assert _errors(policy) == [("E0001", 8, 36)]


def test_a_broken_fact_brings_no_unknown_fact_errors() -> None:
    vocabulary = VOCABULARY + 'fact breach.notified bool "notified"\n'  # no colon
    policy = HEADER + (
        'rule notice "t" cite "Art. 33"\n  violation unless breach.notified\n  fine upper\n'
    )
    with pytest.raises(PolicyError) as raised:
        load_sources({"common/vocabulary.policy": vocabulary, "gdpr/regime.policy": policy})
    assert [(d.code, d.span.file) for d in raised.value.diagnostics] == [
        ("E0001", "common/vocabulary.policy")
    ]


@pytest.mark.parametrize(
    ("line", "word", "keyword"),
    [
        ("  violaton when legal_basis is none", "violaton", "violation"),
        ("exeption e to r", "exeption", "exception"),
        ('  obligaton "notify"', "obligaton", "obligation"),
        ("  whn consent.given", "whn", "when"),
    ],
)
def test_a_misspelt_keyword_gets_a_suggestion(line: str, word: str, keyword: str) -> None:
    _, diagnostics = parse_module(f'rule r "t"\n  when consent.given\n{line}\n', "f.policy")
    assert diagnostics[0].message == f"unexpected name `{word}`"
    assert diagnostics[0].help == f"did you mean `{keyword}`?"
    assert diagnostics[0].span.line == 3


def test_the_keywords_are_the_grammars() -> None:
    assert {"rule", "violation", "exception", "obligation", "duty", "met", "given"} <= (
        grammar_keywords()
    )
    assert "legal_basis" not in grammar_keywords()


def test_a_name_far_from_any_keyword_gets_no_suggestion() -> None:
    _, diagnostics = parse_module('rule r "t"\n  when consent.given\n  zzzzzz\n', "f.policy")
    assert "did you mean" not in (diagnostics[0].help or "")


FAILING = HEADER + (
    'rule lawful "t" cite "Art. 6"\n'
    "  violation when legal_basis is none\n"
    '  obligation "record the basis"\n'
    "  fine upper\n"
    "\n"
    'example "expects the wrong outcome"\n'  # line 12
    "  given legal_basis = none, controller.establishments = {DE}\n"
    "  expect allowed, exposure max = EUR 10 million\n"
)


def test_a_failing_example_says_what_it_got_and_what_it_expected() -> None:
    bundle = load_sources({"common/vocabulary.policy": VOCABULARY, "gdpr/regime.policy": FAILING})
    (result,) = run_examples(bundle).results
    assert not result.passed
    assert result.failures[-2] == "expected: allowed, exposure max = EUR 10,000,000"
    assert result.failures[-1] == (
        "got:      denied, violation lawful, obligation lawful, exposure max = EUR 20,000,000"
    )


def test_lexgate_test_verbose_prints_file_line_col(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "gdpr").mkdir()
    (tmp_path / "common" / "vocabulary.policy").write_text(VOCABULARY, encoding="utf-8")
    (tmp_path / "gdpr" / "regime.policy").write_text(FAILING, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "lexgate.engine", "test", str(tmp_path), "-v"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    where = f"{tmp_path / 'gdpr' / 'regime.policy'}:12:1: FAIL GDPR: expects the wrong outcome"
    assert where in run.stdout.splitlines()
    assert "got:      denied, violation lawful" in run.stdout


def test_a_broken_enum_record_or_regime_header_brings_no_follow_on_errors() -> None:
    vocabulary = (
        "enum legal_basis = consent | contract none\n"  # 1: a missing `|`
        'fact legal_basis: legal_basis "basis"\n'
        'record transfer "t"\n'
        '  field destination country "x"\n'  # 4: a missing `:`
        'fact transfers: list of transfer "transfers"\n'
        'fact controller.establishments: set of country "establishments"\n'
    )
    regime = (
        'regime GDPR "x" cite\n'  # 1: `cite` without its text
        "  currency EUR\n"
        'fine upper = up to EUR 20 million cite "x"\n'
        'rule lawful "t" cite "x"\n'
        "  violation when legal_basis is none\n"  # the broken enum's member
        "  fine upper\n"
        'example "e"\n'
        "  given legal_basis = consent, transfers = [{destination: US}]\n"
        "  expect denied, violation lawful\n"
    )
    with pytest.raises(PolicyError) as raised:
        load_sources({"common/vocabulary.policy": vocabulary, "gdpr/regime.policy": regime})
    assert [(d.code, d.span.file, d.span.line) for d in raised.value.diagnostics] == [
        ("E0001", "common/vocabulary.policy", 1),
        ("E0001", "common/vocabulary.policy", 4),
        ("E0001", "gdpr/regime.policy", 2),
    ]


def test_lexgate_check_reports_the_syntax_error_and_both_type_errors(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "gdpr").mkdir()
    (tmp_path / "common" / "vocabulary.policy").write_text(VOCABULARY, encoding="utf-8")
    (tmp_path / "gdpr" / "regime.policy").write_text(THREE_MISTAKES, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "lexgate.engine", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    where = tmp_path / "gdpr" / "regime.policy"
    for line, col, code in ((8, 36, "E0001"), (12, 18, "E0202"), (15, 23, "E0202")):
        assert f"error[{code}]" in run.stderr
        assert f"{where}:{line}:{col}" in run.stderr
    assert "3 error(s)" in run.stderr
