"""Go to definition: where the name under the cursor is declared.

Rules and exceptions (from `exception … to RULE`, `expect violation RULE`), definitions,
parameters, fines (from `fine lower, upper`), topics, facts (a record field from
`transfers[0].mechanism`), enums and their members, records: every declaration of the kind the
name resolves to (an enum member may belong to several enums, and each is offered).
"""

from __future__ import annotations

from ..diagnostics import Span
from .documents import Parsed
from .index import word_at


def definitions(parsed: Parsed, path: str, line: int, column: int) -> list[Span]:
    """The spans (of the declared names) the name at 0-based `line`, code-point `column` of
    `path` refers to; empty where it refers to nothing declared."""
    text = parsed.sources.get(path)
    if text is None:
        return []
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return []
    found = word_at(lines[line], column)
    if found is None:
        return []
    word, start, _ = found
    symbols = parsed.index.lookup(word, parsed.scope_of(path), lines[line][:start])
    return [symbol.span for symbol in symbols]


__all__ = ["definitions"]
