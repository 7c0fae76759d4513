"""The TextMate grammar (editors/lexgate.tmLanguage.json) against every file of the shipped
packs, tokenized by the engine VS Code itself runs (vscode-textmate on vscode-oniguruma, from
editors/vscode/node_modules: `npm ci --prefix editors/vscode`, which `make install` runs).

The oracle is the language's own lexer: Lark's contextual lexer over the same text gives each
token's kind, and the grammar must agree — every keyword token is scoped as a keyword (status
words and booleans as language constants), a name never is, strings, money amounts, dates and
percentages get their scopes over every character, and so does each comment the parser finds.
Every other character that is not white space gets a scope beyond the file's root scope.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lark import Token
from lark.lexer import PatternStr
from lexgate.engine.parser import _lark, parse_module

ROOT = Path(__file__).resolve().parents[2]
GRAMMAR = ROOT / "editors" / "lexgate.tmLanguage.json"
EXTENSION = ROOT / "editors" / "vscode"
PACK_FILES = sorted((ROOT / "policies").rglob("*.policy"))
ROOT_SCOPE = "source.lexgate"
LANGUAGE_CONSTANTS = {"true", "false", "allowed", "allowed_with_obligations", "denied"}
LANGUAGE_CONSTANTS |= {"not_applicable", "undetermined"}


@dataclass(frozen=True)
class Scoped:
    """One file: its lines and, for each character of each line, the scopes it gets."""

    lines: list[str]
    scopes: list[list[tuple[str, ...]]]

    def at(self, line: int, column: int) -> tuple[str, ...]:
        """Scopes of the character at 1-based `line`, 1-based code-point `column`."""
        return self.scopes[line - 1][column - 1]


def _code_points(line: str, utf16: int) -> int:
    """A JavaScript (UTF-16) offset into `line` as a code-point offset."""
    units = 0
    for index, char in enumerate(line):
        if units >= utf16:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(line)


@pytest.fixture(scope="module")
def tokenized() -> dict[Path, Scoped]:
    node = shutil.which("node")
    installed = (EXTENSION / "node_modules" / "vscode-textmate").is_dir()
    if node is None or not installed:
        reason = "node and editors/vscode/node_modules are needed (npm ci --prefix editors/vscode)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs them: a missing install must not pass silently
        pytest.skip(reason)
    result = subprocess.run(
        [node, str(EXTENSION / "scripts" / "tokenize.js"), str(GRAMMAR), *map(str, PACK_FILES)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    raw = json.loads(result.stdout)
    files = {}
    for file in PACK_FILES:
        lines = file.read_text(encoding="utf-8").split("\n")
        scopes: list[list[tuple[str, ...]]] = []
        for line, tokens in zip(lines, raw[str(file)], strict=True):
            per_char: list[tuple[str, ...]] = [()] * len(line)
            for start, end, names in tokens:
                for column in range(_code_points(line, start), _code_points(line, end)):
                    per_char[column] = tuple(names)
            scopes.append(per_char)
        files[file] = Scoped(lines, scopes)
    return files


def _where(file: Path, line: int, column: int) -> str:
    return f"{file.relative_to(ROOT)}:{line}:{column}"


def test_the_extension_ships_the_same_grammar() -> None:
    assert (EXTENSION / "syntaxes" / GRAMMAR.name).read_bytes() == GRAMMAR.read_bytes()


def test_every_character_of_every_pack_file_gets_a_scope(tokenized: dict[Path, Scoped]) -> None:
    unscoped = [
        _where(file, number, column + 1)
        for file, scoped in tokenized.items()
        for number, line in enumerate(scoped.lines, start=1)
        for column, char in enumerate(line)
        if not char.isspace() and not set(scoped.scopes[number - 1][column]) - {ROOT_SCOPE}
    ]
    assert unscoped == [], f"{len(unscoped)} characters without a scope, first {unscoped[:10]}"


def _keyword_terminals() -> frozenset[str]:
    """The terminals that are words of the language (`rule`, `when`, `denied`, …)."""
    return frozenset(
        terminal.name
        for terminal in _lark().terminals
        if isinstance(terminal.pattern, PatternStr) and terminal.pattern.value[:1].isalpha()
    )


def _tokens(text: str) -> Iterator[Token]:
    """The tokens of a file as lexgate's contextual lexer reads them."""
    yield from _lark().parse_interactive(text).iter_parse()


def _chars(token: Token) -> Iterator[tuple[int, int]]:
    """(line, column) of each character of a one-line token; just its start otherwise."""
    assert token.line is not None and token.column is not None
    if token.end_line != token.line or token.end_column is None:
        yield token.line, token.column
        return
    for column in range(token.column, token.end_column):
        yield token.line, column


def test_keywords_strings_money_dates_and_comments_are_scoped_as_such(
    tokenized: dict[Path, Scoped],
) -> None:
    keywords = _keyword_terminals()
    wrong: list[str] = []
    checked = dict.fromkeys(("keyword", "name", "string", "money", "date", "percent"), 0)
    checked["comment"] = 0

    def expect(kind: str, file: Path, token: Token, scope: str, present: bool = True) -> None:
        checked[kind] += 1
        for line, column in _chars(token):
            scopes = tokenized[file].at(line, column)
            if any(s.startswith(scope) for s in scopes) != present:
                wrong.append(f"{_where(file, line, column)} {kind} `{token}`: {scopes}")
                return

    for file, scoped in tokenized.items():
        text = "\n".join(scoped.lines)
        tokens = list(_tokens(text))
        for index, token in enumerate(tokens):
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if token.type in keywords:
                if str(token) in LANGUAGE_CONSTANTS:
                    expect("keyword", file, token, "constant.language.")
                else:
                    expect("keyword", file, token, "keyword.")
            elif token.type in ("NAME", "REGIME_NAME"):
                expect("name", file, token, "keyword.", present=False)
            elif token.type == "STRING":
                expect("string", file, token, "string.quoted.double")
            elif token.type == "DATE":
                expect("date", file, token, "constant.numeric.date")
            elif token.type == "PERCENT":
                expect("percent", file, token, "constant.numeric.percent")
            elif token.type == "CURRENCY" and following is not None and following.type == "NUMBER":
                expect("money", file, token, "constant.numeric.money")
                expect("money", file, following, "constant.numeric.money")
        module, diagnostics = parse_module(text, str(file))
        assert diagnostics == [], diagnostics
        for comment in module.comments:
            checked["comment"] += 1
            span = comment.span
            for column in range(span.col, span.end_col):
                scopes = scoped.at(span.line, column)
                if not any(s.startswith("comment.line") for s in scopes):
                    wrong.append(f"{_where(file, span.line, column)} comment: {scopes}")
                    break
    assert all(checked.values()), checked  # every class occurs in the packs
    assert wrong == [], f"{len(wrong)} tokens mis-scoped, first {wrong[:15]}"
