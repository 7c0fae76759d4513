"""Completion: what may be written where the cursor is, read from the words before it.

- after `exception NAME to`, `expect … violation`, `no violation`, `obligation` (in an
  example): the regime's rule names (with exceptions);
- after a rule's `fine` clause: the fine names; after `topic` or `not assessed`: the topics;
- after `FACT is`, `is not`, `=`, `!=`, `in`, `meets`, `contains` (or inside a `{…}` set after
  them) where FACT holds an enum: that enum's members;
- elsewhere: fact paths (`breach.` offers the breach facts), definitions and parameters.

Every item replaces the whole dotted name typed so far, so an editor filters `breach.ho` against
`breach.hours_to_authority`, not against `ho`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from .. import ast
from .documents import Parsed
from .index import Kind, Symbol, outside_strings_and_comments, type_text

# the dotted name being typed, up to the cursor
_TYPED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[\d*\])?(?:\.[A-Za-z0-9_]*(?:\[\d*\])?)*$")
_RULE_CONTEXT = re.compile(r"(?:^\s*exception\s+[a-z_]\w*\s+to|\b(?:violation|obligation))\s+$")
_CLAUSE_START = re.compile(r"^\s*(?:violation|obligation)\s+$")  # a rule's clause, unless in
# an example's `expect` that goes on over lines
_FINE_CONTEXT = re.compile(r"^\s+fine\s+(?:[a-z_]\w*\s*,\s*)*$")
_TOPIC_CONTEXT = re.compile(r"(?:^\s+topic|\bnot\s+assessed)\s+$")

_ITEM_KINDS = {
    Kind.RULE: types.CompletionItemKind.Function,
    Kind.EXCEPTION: types.CompletionItemKind.Function,
    Kind.FINE: types.CompletionItemKind.Value,
    Kind.TOPIC: types.CompletionItemKind.Module,
    Kind.FACT: types.CompletionItemKind.Field,
    Kind.DEFINE: types.CompletionItemKind.Constant,
    Kind.PARAMETER: types.CompletionItemKind.Variable,
    Kind.MEMBER: types.CompletionItemKind.EnumMember,
}


def completions(
    parsed: Parsed, path: str, line: int, column: int, codec: PositionCodec
) -> list[types.CompletionItem]:
    """The completion items at 0-based `line`, code-point `column` of `path`."""
    text = parsed.sources.get(path)
    if text is None:
        return []
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return []
    current = lines[line][:column]
    if not outside_strings_and_comments(lines[line], column):
        return []
    typed = _TYPED.search(current)
    start = typed.start() if typed else column
    before = current[:start]
    edit_range = types.Range(
        codec.position_to_client_units(lines, ServerTextPosition(line, start)),
        codec.position_to_client_units(lines, ServerTextPosition(line, column)),
    )
    scope = parsed.scope_of(path)
    index = parsed.index
    symbols: Iterable[Symbol]
    in_example = _enclosing_keyword(lines, line) == "example"
    if _RULE_CONTEXT.search(before) and (in_example or not _CLAUSE_START.match(before)):
        symbols = index.names_of((Kind.RULE, Kind.EXCEPTION), scope)
    elif _FINE_CONTEXT.match(before):
        symbols = index.names_of((Kind.FINE,), scope)
    elif _TOPIC_CONTEXT.search(before):
        symbols = index.names_of((Kind.TOPIC,), scope)
    elif (enum := index.compared_enum(before)) is not None:
        symbols = [s for name, _ in enum.members for s in index.by_name[name] if s.decl is enum]
    else:
        symbols = index.names_of((Kind.FACT, Kind.DEFINE, Kind.PARAMETER), scope)
    return [_item(symbol, edit_range) for symbol in symbols]


def _enclosing_keyword(lines: list[str], line: int) -> str | None:
    """The keyword of the declaration `line` belongs to: the last line at column 0 above it (an
    `expect` clause may go on over lines that start with `violation`)."""
    for number in range(line, -1, -1):
        text = lines[number]
        if text[:1].isalpha():
            return text.split(maxsplit=1)[0]
    return None


def _item(symbol: Symbol, edit_range: types.Range) -> types.CompletionItem:
    detail, documentation = _details(symbol)
    return types.CompletionItem(
        label=symbol.name,
        kind=_ITEM_KINDS.get(symbol.kind, types.CompletionItemKind.Text),
        detail=detail,
        documentation=(
            types.MarkupContent(types.MarkupKind.Markdown, documentation) if documentation else None
        ),
        text_edit=types.TextEdit(edit_range, symbol.name),
    )


def _details(symbol: Symbol) -> tuple[str, str | None]:
    """(a one-line detail, a longer description) for a completion item."""
    decl = symbol.decl
    if isinstance(decl, ast.FactDecl):
        return f"fact: {type_text(decl.type)}", decl.description
    if isinstance(decl, ast.ParameterDecl):
        return f"parameter: {type_text(decl.type)}", decl.description
    if isinstance(decl, ast.DefineDecl):
        typed = f": {type_text(decl.type)}" if decl.type is not None else ""
        return f"define{typed}", decl.cite.text if decl.cite else None
    if isinstance(decl, ast.RuleDecl):
        cite = f" ({decl.cite.text})" if decl.cite else ""
        return f"{symbol.kind}{cite}", decl.title
    if isinstance(decl, ast.FineDecl):
        return "fine", decl.title
    if isinstance(decl, ast.TopicDecl):
        return "topic", decl.title
    if isinstance(decl, ast.EnumDecl):
        return f"{decl.name} member", decl.description
    return str(symbol.kind), None


__all__ = ["completions"]
