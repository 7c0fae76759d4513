"""Formatting: the whole document through `lexgate fmt`'s formatter (engine/formatter.py), as
one edit. Imported when first asked for, so the server starts without it; a document that does
not parse is left as it is (its syntax errors are already shown as diagnostics)."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from ..diagnostics import LexgateError
from .ranges import document_end


class FormatterUnavailable(Exception):
    """This installation has no formatter (engine/formatter.py)."""


def format_edits(text: str, path: str, codec: PositionCodec) -> list[types.TextEdit]:
    """The edits that format `text`: none when it is formatted already or does not parse."""
    try:
        from ..formatter import format_source
    except ImportError as error:
        raise FormatterUnavailable(str(error)) from None
    try:
        formatted = format_source(text, path)
    except LexgateError:
        return []
    if formatted == text:
        return []
    whole = types.Range(types.Position(0, 0), document_end(text.split("\n"), codec))
    return [types.TextEdit(whole, formatted)]


__all__ = ["FormatterUnavailable", "format_edits"]
