"""Document symbols: the outline of a policy file, one entry per declaration (a record's fields
and an enum's members beneath it).

A declaration's range runs from its keyword to its last clause: up to the next declaration,
less the blank lines and comments in between (which introduce the next one, by the packs'
convention). Its selection range is the declared name.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from .. import ast
from ..diagnostics import Span
from .index import Kind, declared_name_span, kind_of, type_text
from .ranges import span_range

_SYMBOL_KINDS = {
    Kind.REGIME: types.SymbolKind.Namespace,
    Kind.RULE: types.SymbolKind.Function,
    Kind.EXCEPTION: types.SymbolKind.Function,
    Kind.DEFINE: types.SymbolKind.Constant,
    Kind.PARAMETER: types.SymbolKind.Variable,
    Kind.FINE: types.SymbolKind.Number,
    Kind.TOPIC: types.SymbolKind.Package,
    Kind.FACT: types.SymbolKind.Field,
    Kind.ENUM: types.SymbolKind.Enum,
    Kind.RECORD: types.SymbolKind.Struct,
    Kind.RATE: types.SymbolKind.Constant,
    Kind.EXAMPLE: types.SymbolKind.Event,
    Kind.DERIVE: types.SymbolKind.Property,
    Kind.LEVEL: types.SymbolKind.Key,
}


def document_symbols(
    module: ast.Module, text: str, codec: PositionCodec
) -> list[types.DocumentSymbol]:
    lines = text.split("\n")
    starts = [decl.span.line for decl in module.declarations] + [len(lines) + 1]
    symbols = []
    for decl, next_start in zip(module.declarations, starts[1:], strict=True):
        kind = kind_of(decl)
        if kind is None or decl.span.line <= 0:
            continue
        last = _last_content_line(lines, decl.span.line, next_start)
        whole = Span(decl.span.file, decl.span.line, 1, last, len(lines[last - 1]) + 1)
        name = declared_name_span(decl, lines)
        symbols.append(
            types.DocumentSymbol(
                name=decl.name or str(kind),
                detail=_detail(decl, kind),
                kind=_SYMBOL_KINDS.get(kind, types.SymbolKind.Object),
                range=span_range(whole, lines, codec),
                selection_range=span_range(name, lines, codec),
                children=_children(decl, lines, codec) or None,
            )
        )
    return symbols


def _last_content_line(lines: Sequence[str], first: int, next_start: int) -> int:
    """The last 1-based line before `next_start` that is neither blank nor a comment."""
    last = first
    for number in range(first, min(next_start, len(lines) + 1)):
        stripped = lines[number - 1].strip()
        if stripped and not stripped.startswith("#"):
            last = number
    return last


def _detail(decl: ast.Decl, kind: Kind) -> str:
    if isinstance(decl, ast.RuleDecl):
        cite = f" · {decl.cite.text}" if decl.cite else ""
        head = f"exception to {decl.exception_to}" if decl.exception_to else "rule"
        return f"{head}{cite}" + (f" · {decl.title}" if decl.title else "")
    if isinstance(decl, ast.FactDecl | ast.ParameterDecl):
        return f"{kind}: {type_text(decl.type)}"
    if isinstance(decl, ast.FineDecl | ast.TopicDecl | ast.RegimeDecl):
        return f"{kind}" + (f" · {decl.title}" if decl.title else "")
    return str(kind)


def _children(
    decl: ast.Decl, lines: Sequence[str], codec: PositionCodec
) -> list[types.DocumentSymbol]:
    if isinstance(decl, ast.EnumDecl):
        return [
            types.DocumentSymbol(
                name=member,
                kind=types.SymbolKind.EnumMember,
                range=span_range(span, lines, codec),
                selection_range=span_range(span, lines, codec),
            )
            for member, span in decl.members
        ]
    if isinstance(decl, ast.RecordDecl):
        children = []
        for field in decl.fields:
            last = _last_content_line(lines, field.span.line, field.span.end_line + 1)
            whole = Span(
                field.span.file, field.span.line, field.span.col, last, len(lines[last - 1]) + 1
            )
            children.append(
                types.DocumentSymbol(
                    name=field.name,
                    detail=type_text(field.type),
                    kind=types.SymbolKind.Field,
                    range=span_range(whole, lines, codec),
                    selection_range=span_range(declared_name_span(field, lines), lines, codec),
                )
            )
        return children
    return []


__all__ = ["document_symbols"]
