"""The parser's LALR tables, built once when the grammar changes and shipped beside it.

Building Lark's tables (and strict mode's collision checks) takes ~0.27 s, a third of a cold
start with no cache; loading them takes ~0.03 s. So, as yacc's `parsetab.py` does, the package
carries them (`grammar.tables`, written by `Lark.save`) with a small record of what they were
built from (`grammar.tables.json`: the grammar's SHA-256, Lark's version, the options). They are
used only when all three match this installation; otherwise the tables are built as before (and
kept in the user's cache, engine/parser.py). The file is pickled data shipped inside the package:
it is trusted exactly as far as the package's code is, and is never read from anywhere else.

Regenerate after editing grammar.lark: `python -m lexgate.engine.grammar_tables`
(tests/engine/test_grammar_tables.py fails while they are stale).
"""

from __future__ import annotations

import hashlib
import io
import json
from importlib import resources
from importlib.abc import Traversable
from typing import Any

import lark
from lark import Lark

PACKAGE = __package__ or "lexgate.engine"

# Lark's options for the policy grammar (engine/parser.py builds with them; the record says them).
LARK_OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "contextual",
    "propagate_positions": True,
    "strict": True,
    "maybe_placeholders": True,
}
TABLES = "grammar.tables"
RECORD = "grammar.tables.json"


def _package() -> Traversable:
    return resources.files(PACKAGE)


def grammar_text() -> str:
    return _package().joinpath("grammar.lark").read_text(encoding="utf-8")


def provenance(grammar: str, options: dict[str, Any]) -> dict[str, Any]:
    """What tables built now from `grammar` with `options` would be built from."""
    return {
        "grammar_sha256": hashlib.sha256(grammar.encode("utf-8")).hexdigest(),
        "lark": lark.__version__,
        "options": {name: options[name] for name in sorted(options)},
    }


def shipped_parser(grammar: str, options: dict[str, Any]) -> Lark | None:
    """The shipped tables as a parser, or None when they are absent, unreadable or were built
    from another grammar, Lark or options."""
    try:
        record = json.loads(_package().joinpath(RECORD).read_text(encoding="utf-8"))
        if record != provenance(grammar, options):
            return None
        data = _package().joinpath(TABLES).read_bytes()
        return Lark.load(io.BytesIO(data))
    except Exception:  # a damaged or foreign file: build the tables instead, never fail here
        return None


def write_shipped(options: dict[str, Any]) -> None:
    """Build the tables from the grammar and write them and their record into the package."""
    grammar = grammar_text()
    parser = Lark(grammar, **options)
    buffer = io.BytesIO()
    parser.save(buffer)
    folder = _package()
    with resources.as_file(folder.joinpath(TABLES)) as path:
        path.write_bytes(buffer.getvalue())
    with resources.as_file(folder.joinpath(RECORD)) as path:
        record = provenance(grammar, options)
        path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":  # python -m lexgate.engine.grammar_tables
    write_shipped(LARK_OPTIONS)
    print(f"wrote {TABLES} and {RECORD} for Lark {lark.__version__}")
