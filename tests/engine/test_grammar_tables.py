"""The parser tables shipped beside the grammar (engine/grammar_tables.py): current, equivalent
to tables built now, and ignored when they do not match."""

from __future__ import annotations

import json

import lark
import pytest
from lark import Lark
from lexgate.engine import grammar_tables
from lexgate.engine.grammar_tables import LARK_OPTIONS

from tests.conftest import POLICIES

RECORD = json.loads(
    grammar_tables._package().joinpath(grammar_tables.RECORD).read_text(encoding="utf-8")
)


def test_the_shipped_tables_are_built_from_this_grammar() -> None:
    if RECORD["lark"] != lark.__version__:
        pytest.skip(f"tables built with Lark {RECORD['lark']}, {lark.__version__} installed")
    assert grammar_tables.provenance(grammar_tables.grammar_text(), LARK_OPTIONS) == RECORD, (
        "grammar.lark changed: run `python -m lexgate.engine.grammar_tables`"
    )


def test_the_shipped_tables_parse_every_pack_as_tables_built_now() -> None:
    shipped = grammar_tables.shipped_parser(grammar_tables.grammar_text(), LARK_OPTIONS)
    if shipped is None:
        pytest.skip("the shipped tables do not match this installation (see the test above)")
    built = Lark(grammar_tables.grammar_text(), **LARK_OPTIONS)
    files = sorted(POLICIES.rglob("*.policy"))
    assert len(files) > 40
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert shipped.parse(text) == built.parse(text), path


def test_tables_from_another_grammar_or_options_are_not_used() -> None:
    grammar = grammar_tables.grammar_text()
    assert grammar_tables.shipped_parser(grammar + "\n// edited\n", LARK_OPTIONS) is None
    assert grammar_tables.shipped_parser(grammar, {**LARK_OPTIONS, "strict": False}) is None
