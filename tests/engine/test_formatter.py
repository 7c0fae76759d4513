"""`lexgate fmt`: golden files per construct, and the properties every pack file must keep.

Golden files (tests/engine/fmt_golden/NAME.policy -> NAME.formatted.policy, as OPA's
`x.rego` / `x.rego.formatted`) pin the canonical layout of each construct; the properties hold
for every file of the shipped packs: formatting is a fixed point after one pass and the result
parses to the same AST, comments included (spans aside).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lexgate.engine import ast, formatter
from lexgate.engine.diagnostics import LexgateError, Span
from lexgate.engine.formatter import format_source
from lexgate.engine.parser import comments_of, parse_module

ROOT = Path(__file__).resolve().parents[2]
PACK_FILES = sorted((ROOT / "policies").rglob("*.policy"))
GOLDEN = Path(__file__).parent / "fmt_golden"
GOLDEN_INPUTS = sorted(
    p for p in GOLDEN.glob("*.policy") if not p.name.endswith(".formatted.policy")
)


def shape(value: Any) -> Any:
    """The AST without its spans: what formatting must never change."""
    if isinstance(value, Span):
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple(
                shape(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.name not in ("path",)
            ),
        )
    if isinstance(value, tuple | list):
        return tuple(shape(v) for v in value)
    return value


def parsed(text: str, file: str) -> Any:
    module, diagnostics = parse_module(text, file)
    return shape(module), [(d.code, d.message) for d in diagnostics]


def test_the_packs_exist() -> None:
    assert len(PACK_FILES) > 30


@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_pack_file_is_a_fixed_point_with_the_same_ast(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    once = format_source(text, str(path))
    assert format_source(once, str(path)) == once
    assert parsed(once, "f") == parsed(text, "f")
    assert [c.text for c in parse_module(once, "f")[0].comments] == [
        c.text for c in parse_module(text, "f")[0].comments
    ]


@pytest.mark.parametrize("source", GOLDEN_INPUTS, ids=lambda p: p.stem)
def test_golden(source: Path) -> None:
    expected = source.with_name(source.stem + ".formatted.policy").read_text(encoding="utf-8")
    text = source.read_text(encoding="utf-8")
    assert format_source(text, source.name) == expected
    assert format_source(expected, source.name) == expected
    assert parsed(expected, "f") == parsed(text, "f")


def test_a_syntax_error_is_a_located_lexgate_error() -> None:
    with pytest.raises(LexgateError) as raised:
        format_source('rule x "t"\n  when a and\n', "bad.policy")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "E0001"
    assert (diagnostic.span.file, diagnostic.span.line) == ("bad.policy", 2)


def test_comments_stay_on_their_line() -> None:
    text = (
        'rule x "t"  # the head\n  when a  # first\n       and b\n  # before the fine\n  fine f\n'
    )
    out = format_source(text)
    assert out == (
        'rule x "t"  # the head\n  when a  # first\n       and b\n  # before the fine\n  fine f\n'
    )
    assert isinstance(parse_module(out)[0].declarations[0], ast.RuleDecl)


# ---- properties on generated input (hypothesis) ------------------------------------------

NAMES = [
    "legal_basis",
    "consent.given",
    "controller.worldwide_turnover",
    "subjects.locations",
    "a",
    "processing.a_rather_long_name_that_takes_room_on_the_line",
]
ATOMS = [
    *NAMES,
    "none",
    "72 hours",
    "EUR 20 million",
    "USD 2,663",
    "4%",
    "2018-05-25",
    "DE",
    "US-CA",
    "true",
    '"text"',
    "{DE, FR, US-CA}",
    "{}",
    "[{destination: IN, mechanism: none}]",
    "max(EUR 10 million, 2% of controller.worldwide_turnover)",
    "convert(controller.worldwide_turnover to USD)",
    "ages[DE]",
]


def _expression() -> st.SearchStrategy[str]:
    def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        pair = st.tuples(children, children)
        return st.one_of(
            st.tuples(pair, st.sampled_from(["and", "or"])).map(
                lambda t: f"{t[0][0]} {t[1]} {t[0][1]}"
            ),
            st.tuples(
                pair, st.sampled_from(["=", "is not", ">", "meets", "in", "+", "of", "times"])
            ).map(lambda t: f"({t[0][0]}) {t[1]} ({t[0][1]})"),
            children.map(lambda c: f"not ({c})"),
            st.tuples(children, children, children).map(
                lambda t: f"(if {t[0]} then {t[1]} else {t[2]})"
            ),
            children.map(lambda c: f"(any t in transfers where {c})"),
            children.map(lambda c: f"({c})"),
        )

    return st.recursive(st.sampled_from(ATOMS), combine, max_leaves=12)


def _spaced(text: str, breaks: list[bool]) -> str:
    """The text with some spaces turned into a newline and an indentation (meaningless)."""
    words = text.split(" ")
    out = [words[0]]
    for index, word in enumerate(words[1:]):
        out.append("\n      " if breaks[index % len(breaks)] else " ")
        out.append(word)
    return "".join(out)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expression(), st.lists(st.booleans(), min_size=1, max_size=8))
def test_any_expression_formats_to_a_fixed_point_with_the_same_ast(
    expression: str, breaks: list[bool]
) -> None:
    text = f'rule r "t" cite "x"\n  when {_spaced(expression, breaks)}\n  fine upper\n'
    if parse_module(text, "f")[1]:
        return  # an atom the grammar refuses in this place (not what is tested here)
    once = format_source(text)
    assert format_source(once) == once
    assert parsed(once, "f") == parsed(text, "f")


def test_a_long_condition_is_broken_before_each_operator_within_the_width() -> None:
    operands = [f"consent.fact_number_{i} is not none" for i in range(12)]
    text = 'rule r "t"\n  when ' + " and ".join(operands) + "\n"
    lines = format_source(text).splitlines()
    assert lines[1] == f"  when {operands[0]}"
    assert lines[2:] == [f"       and {o}" for o in operands[1:]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(PACK_FILES),
    st.lists(st.tuples(st.integers(0, 10_000), st.booleans(), st.integers(0, 6)), max_size=12),
)
def test_comments_anywhere_in_a_pack_file_are_all_kept(
    path: Path, insertions: list[tuple[int, bool, int]]
) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    for number, (where, own_line, indent) in enumerate(insertions):
        at = where % len(lines)
        if own_line:
            lines.insert(at, " " * indent + f"# inserted {number}")
        elif "#" not in lines[at]:
            lines[at] += f"  # trailing {number}"
    text = "\n".join(lines)
    once = format_source(text, str(path))
    assert format_source(once, str(path)) == once
    assert parsed(once, "f") == parsed(text, "f")


# ---- the command ---------------------------------------------------------------------------


def _fmt(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lexgate.engine", "fmt", *args],
        capture_output=True,
        text=True,
        check=False,
        input=stdin,
    )


def test_fmt_check_diff_and_write(tmp_path: Path) -> None:
    messy = tmp_path / "messy.policy"
    tidy = tmp_path / "tidy.policy"
    messy.write_text('rule r "t"\nwhen a   and b\n', encoding="utf-8")
    tidy.write_text('rule r "t"\n  when a and b\n', encoding="utf-8")
    check = _fmt("--check", str(tmp_path))
    assert check.returncode == 1
    assert f"would reformat {messy}" in check.stdout and str(tidy) not in check.stdout
    diff = _fmt("--diff", str(messy))
    assert diff.returncode == 1
    assert "-when a   and b\n+  when a and b\n" in diff.stdout
    assert messy.read_text(encoding="utf-8") == 'rule r "t"\nwhen a   and b\n'  # unchanged
    write = _fmt(str(tmp_path))
    assert write.returncode == 0 and f"reformatted {messy}" in write.stdout
    assert messy.read_text(encoding="utf-8") == tidy.read_text(encoding="utf-8")
    assert _fmt("--check", str(tmp_path)).returncode == 0


def test_fmt_leaves_a_broken_file_alone_and_says_where(tmp_path: Path) -> None:
    broken = tmp_path / "broken.policy"
    broken.write_text('rule r "t"\n  violaton when a\n', encoding="utf-8")
    run = _fmt(str(broken))
    assert run.returncode == 1
    assert f"{broken}:2:3" in run.stderr and "did you mean `violation`?" in run.stderr
    assert broken.read_text(encoding="utf-8") == 'rule r "t"\n  violaton when a\n'


def test_fmt_reads_standard_input() -> None:
    run = _fmt("-", stdin="fact   a :bool\n")
    assert (run.returncode, run.stdout) == (0, "fact a: bool\n")


def test_a_hash_inside_text_in_quotes_is_not_a_comment() -> None:
    text = 'rule r "say \\"hi\\" # not a comment" cite "x"  # a comment\n  note "a \\" b"  # c\n'
    assert format_source(text) == text
    assert [c.text for c in parse_module(text)[0].comments] == ["# a comment", "# c"]


def test_output_that_would_change_the_meaning_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formatter.Formatter, "file", lambda self: 'rule r "t"\n  when b\n')
    with pytest.raises(LexgateError) as raised:
        format_source('rule r "t"\n  when a\n', "x.policy")
    assert raised.value.diagnostics[0].code == "E0000"
    assert "left as it is" in raised.value.diagnostics[0].message


def test_a_very_long_set_formats_in_linear_time() -> None:
    members = ", ".join(["DE", "FR", "US-CA"] * 4000)
    text = f"define big: set of country = {{{members}}}\n"
    started = time.perf_counter()
    out = format_source(text)
    elapsed = time.perf_counter() - started
    assert out.startswith("define big: set of country = {\n  DE, FR, US-CA,") and out.endswith(
        "\n}\n"
    )
    assert elapsed < 20, f"{elapsed:.1f} s for 12,000 members"  # was a minute: quadratic fill


def test_every_construct_of_the_grammar_has_a_golden_file() -> None:
    """A construct added to the grammar is formatted plainly until it has a layout; this test
    asks for a golden input that uses it, so its layout is seen and pinned."""
    parser = formatter._token_parser()
    constructs = set()
    for rule in parser.rules:
        name = rule.alias or rule.origin.name
        name = name if isinstance(name, str) else name.value
        inlined = rule.options.expand1 and not rule.alias and len(rule.expansion) == 1
        if not name.startswith("_") and not inlined:
            constructs.add(name)
    used = set()
    for source in GOLDEN_INPUTS:
        tree = parser.parse(source.read_text(encoding="utf-8"))
        used |= {str(subtree.data) for subtree in tree.iter_subtrees()}
    missing = sorted(constructs - used)
    assert not missing, f"add a golden input (tests/engine/fmt_golden/) that uses: {missing}"


def _without_comments(text: str) -> str:
    lines = text.split("\n")
    for comment in reversed(comments_of(text, "f")):
        line = lines[comment.span.line - 1]
        lines[comment.span.line - 1] = line[: comment.span.col - 1].rstrip()
    # a line that held only a comment goes (a blank line left in its place would be kept)
    return "\n".join(
        line for line, original in zip(lines, text.split("\n"), strict=True) if line or not original
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PACK_FILES), st.lists(st.booleans(), min_size=1, max_size=16))
def test_the_layout_does_not_depend_on_where_the_author_broke_lines(
    path: Path, joins: list[bool]
) -> None:
    """Newlines inside a declaration carry no meaning: joining any of its lines to the one
    before (or breaking a line) gives the same formatted file."""
    text = _without_comments(path.read_text(encoding="utf-8"))
    lines = text.split("\n")
    reflowed = [lines[0]]
    for index, line in enumerate(lines[1:]):
        if line.startswith(" ") and reflowed[-1].strip() and joins[index % len(joins)]:
            reflowed[-1] += " " + line.strip()  # join
        elif line.startswith(" ") and not line.strip().startswith('"') and " " in line.strip():
            word, rest = line.strip().split(" ", 1)  # break after the first word
            reflowed.append(f"  {word}\n      {rest}" if '"' not in word else line)
        else:
            reflowed.append(line)
    assert format_source("\n".join(reflowed)) == format_source(text)
