"""lexgate spans (1-based lines and code-point columns, end exclusive) to LSP ranges (0-based
lines, columns in the client's position encoding: UTF-16 code units unless the client chose
otherwise). A Chinese title counts one code point but one or two UTF-16 units, so columns go
through pygls' position codec and the line's text, never straight across."""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from ..diagnostics import Span


def span_range(span: Span, lines: Sequence[str], codec: PositionCodec) -> types.Range:
    """The LSP range of a span of a file whose lines are `lines`. A span with no position (a
    bundle-wide problem) is the file's first character."""
    if span.line <= 0:
        return types.Range(types.Position(0, 0), types.Position(0, 0))
    end_line, end_col = (
        (span.end_line, span.end_col) if span.end_line > 0 else (span.line, span.col)
    )
    start = codec.position_to_client_units(lines, ServerTextPosition(span.line - 1, span.col - 1))
    end = codec.position_to_client_units(lines, ServerTextPosition(end_line - 1, end_col - 1))
    return types.Range(start, end)


def client_column(lines: Sequence[str], position: types.Position, codec: PositionCodec) -> int:
    """A client position's column as a code-point index into its line."""
    return codec.position_from_client_units(lines, position).character


def source_text(text: str, span: Span) -> str:
    """The text a span covers, its line breaks and indentation folded to single spaces (an
    expression wrapped over lines reads as one line in a hover)."""
    lines = text.split("\n")
    if span.line <= 0 or span.line > len(lines):
        return ""
    if span.end_line == span.line:
        piece = lines[span.line - 1][span.col - 1 : span.end_col - 1]
    else:
        piece = "\n".join(
            [
                lines[span.line - 1][span.col - 1 :],
                *lines[span.line : span.end_line - 1],
                lines[span.end_line - 1][: span.end_col - 1],
            ]
        )
    return " ".join(piece.split())


def document_end(lines: Sequence[str], codec: PositionCodec) -> types.Position:
    """The position just after a document's last character."""
    if not lines:
        return types.Position(0, 0)
    last = len(lines) - 1
    return codec.position_to_client_units(lines, ServerTextPosition(last, len(lines[last])))


__all__ = ["client_column", "document_end", "source_text", "span_range"]
