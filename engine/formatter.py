"""`lexgate fmt`: one canonical layout for policy files, every comment kept where it was.

The formatter works on the parse tree, never on the checker (as OPA's `format` does): Lark
parses the file with every token kept (`keep_all_tokens`), so literals are printed exactly as
written (`RMB 50 million`, `USD 2,663`, `times`), and each comment is attached to the token it
follows on its line (a trailing comment) or to the token it precedes (a comment on its own line).
Each grammar rule has a layout in `LAYOUTS`, built from the document algebra of Wadler's
"prettier printer" with Lindig's strict printing, Leijen's `align` and Prettier's line suffixes
(engine/fmt/doc.py; the layouts: engine/fmt/layouts.py); a rule without one is printed on one
line, words joined by spaces, so a construct added to the grammar is formatted (plainly) before
it is given a layout of its own.

The layout, in words (docs/LANGUAGE.md, "Formatting"): declarations start at column 0 and their
clauses are indented by two; a block declaration (one with clauses) has a blank line before and
after it, other declarations keep the author's choice of none or one; a line holds at most 100
columns where the text allows it (text in quotes is never broken). A long condition is broken
before each `and` / `or`, one operand a line, the operators aligned with the first operand; a
long `given` or `expect` list fills its lines, aligned after the keyword; a long set or map
opens on the line of its `=`, one indent deeper, and closes on a line of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

from .cache import cache_dir
from .diagnostics import Diagnostic, PolicyError, Span
from .fmt.doc import (
    HARD_LINE,
    INDENT,
    LINE,
    SOFT_LINE,
    Align,
    Doc,
    Fill,
    Group,
    LeadingComments,
    LineSuffix,
    Nest,
    concat,
    render,
)
from .fmt.layouts import LAYOUTS
from .parser import comments_of, is_declaration_rule, parse_module, too_deep

WIDTH = 100


def _is_declaration(rule: str) -> bool:
    """Items of the grammar's `start` that open a declaration (`*_decl`, `*_head`, …); every
    other item is a clause of the declaration before it. A new declaration needs no entry."""
    return is_declaration_rule(rule)


@cache
def _token_parser() -> Lark:
    """The language's grammar with every token kept (keywords, commas, brackets)."""
    grammar = (
        resources.files(__package__ or "lexgate.engine")
        .joinpath("grammar.lark")
        .read_text(encoding="utf-8")
    )
    options: dict[str, Any] = {
        "parser": "lalr",
        "lexer": "contextual",
        "propagate_positions": True,
        "strict": True,
        "maybe_placeholders": True,
        "keep_all_tokens": True,
    }
    directory = cache_dir()
    if directory is not None:
        options["cache"] = str(directory / "grammar-tokens.lark-cache")
    return Lark(grammar, **options)


def format_source(text: str, path: str = "<text>") -> str:
    """The canonical layout of one policy file. Raises `PolicyError` (a `LexgateError`, every
    diagnostic located) when the file does not parse; formatting never changes its meaning."""
    try:
        tree = _token_parser().parse(text)
    except UnexpectedInput:
        _, diagnostics = parse_module(text, path)
        syntax = [d for d in diagnostics if d.code == "E0001"] or diagnostics
        raise PolicyError(
            syntax or [Diagnostic("E0001", "this file cannot be parsed", Span(path, 1, 1, 1, 2))]
        ) from None
    deep = too_deep(path, tree)
    if deep is not None:
        raise PolicyError([deep])
    formatted = Formatter(text, tree).file()
    _verify(text, tree, formatted, path)
    return formatted


def _meaning(tree: Tree[Token]) -> list[tuple[str, str]]:
    """The tokens that carry the file's meaning, as the formatter may print them: a trailing
    comma before `}` / `]` is dropped, spaces inside `4 %` and `business  days` are not kept."""
    tokens = list(_tokens(tree))
    kept = []
    for index, token in enumerate(tokens):
        following = str(tokens[index + 1]) if index + 1 < len(tokens) else ""
        if str(token) == "," and following in ("}", "]"):
            continue
        value = str(token)
        if token.type in ("UNIT", "PERCENT"):
            value = " ".join(value.replace("%", " %").split())
        kept.append((token.type, value))
    return kept


def _verify(text: str, tree: Tree[Token], formatted: str, path: str) -> None:
    """Never hand back a file whose meaning or comments changed (as OPA's formatter checks its
    output): the formatted text is parsed again and its tokens and comments compared."""
    try:
        same = _meaning(_token_parser().parse(formatted)) == _meaning(tree)
    except UnexpectedInput:
        same = False
    comments = [c.text for c in comments_of(text, path)]
    if same and [c.text for c in comments_of(formatted, path)] == comments:
        return
    raise PolicyError(
        [
            Diagnostic(
                "E0000",
                "formatting would change the meaning of this file or lose a comment; "
                "it is left as it is",
                Span(path, 1, 1, 1, 2),
                help="this is a bug in lexgate: please report it with the file",
            )
        ]
    )


# ---- comments: attached to tokens ---------------------------------------------------------------


def _tokens(tree: Tree[Token]) -> Iterator[Token]:
    for child in tree.children:
        if isinstance(child, Tree):
            yield from _tokens(child)
        elif isinstance(child, Token):
            yield child


def _first_token(node: Tree[Token] | Token) -> Token | None:
    if isinstance(node, Token):
        return node
    for child in node.children:
        if child is not None:
            found = _first_token(child)
            if found is not None:
                return found
    return None


def _last_token(node: Tree[Token] | Token) -> Token | None:
    if isinstance(node, Token):
        return node
    for child in reversed(node.children):
        if child is not None:
            found = _last_token(child)
            if found is not None:
                return found
    return None


@dataclass(frozen=True, slots=True)
class _Comment:
    """A comment on a line of its own: its text, its line, and whether a blank line is above."""

    text: str
    line: int
    blank_before: bool


# ---- the formatter ------------------------------------------------------------------------------

_NO_SPACE_BEFORE = {",", ")", "]", "}", ":", ".", ".*", "[", "("}
_NO_SPACE_AFTER = {"(", "[", "{", "."}
_COLLECTIONS = {"set_literal", "list_literal", "map_literal", "empty_set"}


class Formatter:
    """One file's tokens, comments and layout; `file()` prints it."""

    def __init__(self, text: str, tree: Tree[Token]):
        self.tree = tree
        self.lines = text.split("\n")
        self.leading: dict[int, list[_Comment]] = {}  # id(token) -> comments before it
        self.trailing: dict[int, str] = {}  # id(token) -> the comment after it on its line
        self.quiet: set[int] = set()  # last tokens of items: their comment breaks nothing
        self.end_comments: list[_Comment] = []
        self._attach(text)

    def _blank(self, line: int) -> bool:
        """Whether the source line before `line` (1-based) is blank."""
        return line >= 2 and not self.lines[line - 2].strip()

    def _attach(self, text: str) -> None:
        tokens = [t for t in _tokens(self.tree) if t.line is not None]
        last_on_line: dict[int, Token] = {}
        for token in tokens:
            last_on_line[token.end_line or token.line or 0] = token
        position = 0
        for comment in comments_of(text, "<fmt>"):
            line, col = comment.span.line, comment.span.col
            while position < len(tokens) and (tokens[position].line, tokens[position].column) < (
                line,
                col,
            ):
                position += 1
            before = last_on_line.get(line)
            if before is not None and (before.end_column or 0) <= col:
                self.trailing[id(before)] = comment.text
                continue
            entry = _Comment(comment.text, line, self._blank(line))
            if position < len(tokens):
                self.leading.setdefault(id(tokens[position]), []).append(entry)
            else:
                self.end_comments.append(entry)

    # -- tokens and generic layouts

    def tok(self, token: Any, text: str | None = None) -> Doc:
        """A token with its comments (`text`: printed instead of the token, "" to drop it)."""
        if not isinstance(token, Token):
            return self.node(token)
        shown = str(token) if text is None else text
        if token.type == "UNIT":
            shown = " ".join(shown.split())
        elif token.type == "PERCENT":
            shown = "".join(shown.split())
        parts: list[Doc] = []
        before = self.leading.pop(id(token), None)
        if before:
            parts.append(LeadingComments(tuple(c.text for c in before)))
        parts.append(shown)
        after = self.trailing.pop(id(token), None)
        if after is not None:
            parts.append(LineSuffix("  " + after, breaks=id(token) not in self.quiet))
        return concat(parts)

    def node(self, node: Tree[Token] | Token | None) -> Doc:
        if node is None:
            return ""
        if isinstance(node, Token):
            return self.tok(node)
        layout = LAYOUTS.get(str(node.data))
        return layout(self, node) if layout is not None else self.words(node.children)

    def words(self, children: list[Any]) -> Doc:
        """Children joined by spaces, punctuation hugging its neighbours."""
        parts: list[Doc] = []
        previous: Any = None
        for child in children:
            if child is None:
                continue
            if previous is not None and not (
                (isinstance(child, Token) and str(child) in _NO_SPACE_BEFORE)
                or (isinstance(previous, Token) and str(previous) in _NO_SPACE_AFTER)
            ):
                parts.append(" ")
            parts.append(self.node(child))
            previous = child
        return concat(parts)

    def separated(self, children: list[Any], separator: str = ",") -> list[Doc]:
        """Items of a comma list, each with its comma: the parts of a `Fill`."""
        items: list[Doc] = []
        current: list[Doc] = []
        for child in children:
            if child is None:
                continue
            if isinstance(child, Token) and str(child) == separator:
                current.append(self.tok(child))
                items.append(concat(current))
                current = []
            else:
                current.append(self.node(child))
        if current:
            items.append(concat(current))
        parts: list[Doc] = []
        for item in items:
            if parts:
                parts.append(LINE)
            parts.append(item)
        return parts

    def head(self, *chunks: Doc) -> Doc:
        """A declaration's head: chunks fill the line, continuing two columns in."""
        parts: list[Doc] = []
        for chunk in chunks:
            if chunk == "":
                continue
            if parts:
                parts.append(Nest(INDENT, LINE))
                chunk = Nest(INDENT, chunk)  # its comments' lines are indented as it is
            parts.append(chunk)
        return Fill(tuple(parts))

    # -- the file

    def file(self) -> str:
        items = [c for c in self.tree.children if isinstance(c, Tree)]
        for item in items:
            last = _last_token(item)
            if last is not None:
                self.quiet.add(id(last))
        blocks = self._blocks(items)
        parts: list[Doc] = []
        previous_block = False
        for index, item in enumerate(items):
            declaration = _is_declaration(str(item.data))
            first = _first_token(item)
            comments = self.leading.pop(id(first), []) if first is not None else []
            if declaration and index > 0:
                line = comments[0].line if comments else (first.line or 0) if first else 0
                source_blank = self._blank(line)
                blank = blocks[index] or previous_block or source_blank
                parts.append(HARD_LINE)
                if blank:
                    parts.append(HARD_LINE)
            elif index > 0:
                parts.append(Nest(INDENT, HARD_LINE))
            if declaration:
                previous_block = blocks[index]
            parts.append(self._item(item, comments, INDENT if not declaration else 0))
        if self.end_comments:
            if parts:
                parts.append(HARD_LINE)
                if self.end_comments[0].blank_before:
                    parts.append(HARD_LINE)
            parts.append(self._comment_lines(self.end_comments, trailing=True))
        text = render(concat(parts), WIDTH)
        return text + "\n" if text else ""

    def _blocks(self, items: list[Tree[Token]]) -> list[bool]:
        """For each item: whether it is a declaration followed by clauses."""
        result = []
        for index, item in enumerate(items):
            following = items[index + 1] if index + 1 < len(items) else None
            result.append(
                _is_declaration(str(item.data))
                and following is not None
                and not _is_declaration(str(following.data))
            )
        return result

    def _comment_lines(self, comments: list[_Comment], trailing: bool = False) -> Doc:
        parts: list[Doc] = []
        for index, comment in enumerate(comments):
            if index > 0:
                parts.append(HARD_LINE)
                if comment.blank_before:
                    parts.append(HARD_LINE)
            parts.append(comment.text)
        if not trailing:
            parts.append(HARD_LINE)
        return concat(parts)

    def _item(self, item: Tree[Token], comments: list[_Comment], indent: int) -> Doc:
        parts: list[Doc] = []
        if comments:
            parts.append(self._comment_lines(comments))
            first = _first_token(item)
            if first is not None and self._blank(first.line or 0) and indent == 0:
                parts.append(HARD_LINE)
        parts.append(self.node(item))
        return Nest(indent, concat(parts))

    # -- expressions

    def chain(self, node: Tree[Token]) -> Doc:
        """`a and b and c`: one group, broken before every operator, aligned with `a`."""
        rule = node.data
        links: list[tuple[Any, Any]] = []
        operand: Any = node
        while isinstance(operand, Tree) and operand.data == rule:
            left, operator, right = operand.children
            links.append((operator, right))
            operand = left
        parts: list[Doc] = [self.node(operand)]
        for operator, right in reversed(links):
            parts += [LINE, self.tok(operator), " ", self.node(right)]
        return Group(Align(concat(parts)))

    def if_chain(self, node: Tree[Token]) -> Doc:
        """`if a then x else if b then y else z`: each `else` under the first `if`."""
        branches: list[Doc] = []
        otherwise: Any = node
        elses: list[Any] = []
        while isinstance(otherwise, Tree) and otherwise.data == "if_then_else":
            if_, condition, then, value, else_, otherwise = otherwise.children
            words = [self.tok(if_), " ", self.node(condition), LINE, self.tok(then), " "]
            branches.append(Group(Align(concat([*words, self.node(value)]))))
            elses.append(else_)
        parts: list[Doc] = [branches[0]]
        for else_, branch in zip(elses[:-1], branches[1:], strict=True):
            parts += [LINE, self.tok(else_), " ", branch]
        parts += [LINE, self.tok(elses[-1]), " ", self.node(otherwise)]
        return Group(Align(concat(parts)))

    def collection(self, node: Tree[Token]) -> Doc:
        """`{a, b}`, `[x]`, `{k: v}`: on one line, or one indent deeper, filled, then closed."""
        opening, *inner, closing = [c for c in node.children if c is not None]
        trailing_comma = None
        if inner and isinstance(inner[-1], Token) and str(inner[-1]) == ",":
            trailing_comma = inner.pop()
        body = self.separated(inner)
        if trailing_comma is not None:  # dropped, its comment kept
            body.append(self.tok(trailing_comma, ""))
        return Group(
            concat(
                [
                    self.tok(opening),
                    Nest(INDENT, concat([SOFT_LINE, Fill(tuple(body))])),
                    SOFT_LINE,
                    self.tok(closing),
                ]
            )
        )

    def value_after(self, lead: Doc, value: Any) -> Doc:
        """`lead VALUE`: a set or map hugs its `=`; another long value goes below, indented."""
        if isinstance(value, Tree) and value.data in _COLLECTIONS:
            return concat([lead, " ", self.node(value)])
        return Group(concat([lead, Nest(INDENT, concat([LINE, self.node(value)]))]))

    def with_cite(self, body: Doc, cite: Any) -> Doc:
        """A clause or declaration with a trailing `cite`: on its line, or on the next."""
        if cite is None:
            return body
        return Group(concat([body, Nest(INDENT, concat([LINE, self.node(cite)]))]))
