"""`lexgate fmt`: golden files per construct, and the properties every pack file must keep.

Golden files (tests/engine/fmt_golden/NAME.policy -> NAME.formatted.policy, as OPA's
`x.rego` / `x.rego.formatted`) pin the canonical layout of each construct; the properties hold
for every file of the shipped packs: formatting is a fixed point after one pass and the result
parses to the same AST, comments included (spans aside).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from lexgate.engine import ast
from lexgate.engine.diagnostics import LexgateError, Span
from lexgate.engine.formatter import format_source
from lexgate.engine.parser import parse_module

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
        'rule x "t"  # the head\n  when a    # first\n       and b\n  # before the fine\n  fine f\n'
    )
    out = format_source(text)
    assert out == (
        'rule x "t"  # the head\n  when a    # first\n       and b\n  # before the fine\n  fine f\n'
    )
    assert isinstance(parse_module(out)[0].declarations[0], ast.RuleDecl)
