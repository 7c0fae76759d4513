"""The formatter's document algebra and its printer.

Wadler's "prettier printer" as Lindig's strict variant prints it, with Leijen's `align` (indent
to the current column) and `fill`, and Prettier's line suffixes (a trailing comment is held back
and written at the end of its line) and forced breaks (a group that holds a comment or a hard
line is never printed flat). A document is a tree of these nodes; `render` lays it out in a
given width, choosing for each group: all of it on the rest of the line, or every line break of
it taken. The printer is iterative (an explicit stack), so deep documents cannot exhaust Python's
stack.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import TypeAlias


def forced(doc: object) -> bool:
    """Whether the document must break the groups around it (a hard line or a comment)."""
    return not isinstance(doc, str) and bool(getattr(doc, "forced", False))


@dataclass(frozen=True, slots=True)
class Concat:
    parts: tuple[Doc, ...]
    forced: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "forced", any(forced(p) for p in self.parts))


@dataclass(frozen=True, slots=True)
class Line:
    """A line break, or in a flat group a space (`soft`: nothing)."""

    soft: bool = False
    hard: bool = False

    @property
    def forced(self) -> bool:
        return self.hard


@dataclass(frozen=True, slots=True)
class Group:
    contents: Doc
    forced: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "forced", forced(self.contents))


@dataclass(frozen=True, slots=True)
class Nest:
    """Line breaks inside are indented `indent` more than the enclosing indentation."""

    indent: int
    contents: Doc
    forced: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "forced", forced(self.contents))


@dataclass(frozen=True, slots=True)
class Align:
    """Line breaks inside are indented to the column where the contents start."""

    contents: Doc
    forced: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "forced", forced(self.contents))


@dataclass(frozen=True, slots=True)
class Fill:
    """Contents and separators alternating; each separator breaks only when the next contents
    would not fit on the line."""

    parts: tuple[Doc, ...]
    forced: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "forced", any(forced(p) for p in self.parts))


@dataclass(frozen=True, slots=True)
class LineSuffix:
    """A trailing comment: written at the end of the line it ends up on. `breaks`: it forces
    the groups around it to break (a comment inside an expression must end its line there)."""

    text: str
    breaks: bool = True

    @property
    def forced(self) -> bool:
        return self.breaks


@dataclass(frozen=True, slots=True)
class LeadingComments:
    """Comments on lines of their own, before what follows, at the current indentation."""

    texts: tuple[str, ...]
    forced: bool = True


# A document: text (never a newline in it), or one of the nodes above.
Doc: TypeAlias = "str | Concat | Line | Group | Nest | Align | Fill | LineSuffix | LeadingComments"

INDENT = 2  # columns a clause, or a continuation line, is indented by
LINE = Line()
SOFT_LINE = Line(soft=True)
HARD_LINE = Line(hard=True)
# Marks where a trailing comment starts, so that the comments of consecutive lines can be
# aligned after printing; never in the output.
_SUFFIX_MARK = "\x00"


def concat(parts: list[Doc] | tuple[Doc, ...]) -> Doc:
    kept = tuple(p for p in parts if p != "")
    return kept[0] if len(kept) == 1 else Concat(kept)


def width(text: str) -> int:
    """Columns on screen: East Asian wide characters (Chinese titles) take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class _FillFrom:
    """The rest of a fill from part `start` on: the printer's place in it (slicing the parts
    at each step made a 20,000-member set take a minute)."""

    __slots__ = ("parts", "start")

    def __init__(self, parts: tuple[Doc, ...], start: int):
        self.parts = parts
        self.start = start


_Command = tuple[int, bool, "Doc | _FillFrom"]  # indentation, flat, document


def _fits(room: int, commands: list[_Command], rest: list[_Command]) -> bool:
    """Whether `commands` (then `rest`, up to its first line break) fit in `room` columns."""
    stack = list(reversed(commands))
    taken = len(rest)
    while room >= 0:
        if not stack:
            if taken == 0:
                return True
            taken -= 1
            stack.append(rest[taken])
            continue
        indent, flat, doc = stack.pop()
        if isinstance(doc, str):
            room -= width(doc)
        elif isinstance(doc, Concat):
            stack.extend((indent, flat, p) for p in reversed(doc.parts))
        elif isinstance(doc, Fill | _FillFrom):
            parts, start = doc.parts, doc.start if isinstance(doc, _FillFrom) else 0
            if start < len(parts):  # one part at a time: the check stops at the line's end
                stack.append((indent, flat, _FillFrom(parts, start + 1)))
                stack.append((indent, flat, parts[start]))
        elif isinstance(doc, Nest | Align):
            stack.append((indent, flat, doc.contents))
        elif isinstance(doc, Group):
            stack.append((indent, flat and not doc.forced, doc.contents))
        elif isinstance(doc, Line):
            if doc.hard or not flat:
                return True
            room -= 0 if doc.soft else 1
        elif isinstance(doc, LeadingComments) and not flat:
            return True  # comment lines come first; in a flat check, what follows is measured
    return False


def _holds_trailing_comment(doc: Doc) -> bool:
    """Whether a trailing comment inside ends the line there (so the next separator breaks);
    comments on lines of their own do not decide what follows them."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, LineSuffix):
            if node.breaks:
                return True
        elif isinstance(node, Concat | Fill):
            stack.extend(node.parts)
        elif isinstance(node, Group | Nest | Align):
            stack.append(node.contents)
    return False


def render(doc: Doc, line_width: int) -> str:
    """Lay the document out in `line_width` columns; trailing spaces are never written."""
    lines: list[str] = []
    current: list[str] = []
    column = 0
    suffixes: list[str] = []

    def newline(indent: int) -> None:
        nonlocal current, column
        if suffixes:
            current.append(_SUFFIX_MARK)
            current.extend(suffixes)
            suffixes.clear()
        lines.append("".join(current).rstrip())
        current = [" " * indent]
        column = indent

    stack: list[_Command] = [(0, False, doc)]
    while stack:
        indent, flat, node = stack.pop()
        if isinstance(node, str):
            current.append(node)
            column += width(node)
        elif isinstance(node, Concat):
            stack.extend((indent, flat, p) for p in reversed(node.parts))
        elif isinstance(node, Nest):
            stack.append((indent + node.indent, flat, node.contents))
        elif isinstance(node, Align):
            stack.append((column, flat, node.contents))
        elif isinstance(node, Group):
            fits = flat or (
                not node.forced
                and _fits(line_width - column, [(indent, True, node.contents)], stack)
            )
            stack.append((indent, fits, node.contents))
        elif isinstance(node, Line):
            if node.hard or not flat:
                newline(indent)
            elif not node.soft:
                current.append(" ")
                column += 1
        elif isinstance(node, LineSuffix):
            suffixes.append(node.text)
        elif isinstance(node, LeadingComments):
            if "".join(current).strip():
                newline(indent)
            for text in node.texts:
                current.append(text)
                newline(indent)
        elif isinstance(node, Fill):
            _fill(node.parts, 0, indent, flat, stack, line_width - column)
        elif isinstance(node, _FillFrom):
            _fill(node.parts, node.start, indent, flat, stack, line_width - column)
    newline(0)
    return _align_suffixes(lines).rstrip("\n")


def _fill(
    parts: tuple[Doc, ...], start: int, indent: int, flat: bool, stack: list[_Command], room: int
) -> None:
    """Push the next step of a fill: its contents at `start`, and the separator after it flat
    when the contents after that fit too (Prettier's algorithm)."""
    if start >= len(parts):
        return
    content = parts[start]
    content_flat = flat or (not forced(content) and _fits(room, [(indent, True, content)], []))
    if start + 1 == len(parts):
        stack.append((indent, content_flat, content))
        return
    separator = parts[start + 1]
    if start + 2 < len(parts):
        pair = Concat((content, separator, parts[start + 2]))
        both_fit = flat or (
            not _holds_trailing_comment(content)
            and not forced(separator)
            and _fits(room, [(indent, True, pair)], [])
        )
        stack.append((indent, flat, _FillFrom(parts, start + 2)))
    else:
        both_fit = content_flat
    stack.append((indent, both_fit, separator))
    stack.append((indent, content_flat, content))


def _align_suffixes(lines: list[str]) -> str:
    """Trailing comments of consecutive lines of one indentation start in one column (as gofmt
    aligns them): the values of a rate, the members of a record."""
    out: list[str] = []
    run: list[tuple[str, str]] = []

    def indentation(code: str) -> int:
        return len(code) - len(code.lstrip(" "))

    def flush() -> None:
        if run:
            column = max(width(code) for code, _ in run)
            out.extend(code + " " * (column - width(code)) + comment for code, comment in run)
            run.clear()

    for line in lines:
        if _SUFFIX_MARK in line:
            code, comment = line.split(_SUFFIX_MARK, 1)
            if run and indentation(run[0][0]) != indentation(code):
                flush()
            run.append((code.rstrip(), comment))
        else:
            flush()
            out.append(line)
    flush()
    return "\n".join(out)
