"""Stage 1: policy text -> AST (`engine.ast.Module`).

Lark (LALR, contextual lexer, strict) produces a flat list of items; `_Builder` turns each into a
typed item and `_group` attaches clause items (when, violation, from, …) to the declaration that
precedes them. Parse errors are collected, not first-only: after an error the offending item is
blanked out and the file parsed again, so one bad rule does not hide mistakes further down.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from . import ast
from .cache import cache_dir
from .diagnostics import Diagnostic, PolicyError, Span
from .grouping import _group, _Item
from .syntax_errors import describe_expected, friendly_message, misspelt_keyword
from .tree_to_ast import _Builder, _ItemError, _span

MAX_ERRORS_PER_FILE = 25


def is_declaration_rule(name: str) -> bool:
    """Whether an item of the grammar (a rule name, after `->` aliases) opens a declaration:
    `*_decl` and `*_head` do, but a record's `field_decl` is a clause of the record."""
    if name == "field_decl":
        return False
    return name.endswith(("_decl", "_head")) or name in (
        "part_of",
        "level_decl",
        "organisation_facts",
        "controllable_facts",
    )


@cache
def declaration_keywords() -> frozenset[str]:
    """The words that open a declaration (`rule`, `fact`, `topic`, …), read from the grammar:
    its item rules named `*_decl` / `*_head`, `part_of` and the levels, by their first keyword.
    A declaration added to the grammar is a place to resume after an error with no edit here."""
    parser = _lark()
    words = set()
    for rule in parser.rules:
        name = rule.origin.name
        name = name if isinstance(name, str) else name.value
        if not is_declaration_rule(name):
            continue
        first = rule.expansion[0] if rule.expansion else None
        if first is not None and first.is_term:
            pattern = parser.get_terminal(first.name).pattern
            if pattern.type == "str" and pattern.value.isalpha():
                words.add(pattern.value)
    return frozenset(words)


@cache
def _declaration_start() -> re.Pattern[str]:
    """A line that starts a declaration at column 0: where error recovery may resume."""
    return re.compile(rf"^({'|'.join(sorted(declaration_keywords()))})\b")


_DECLARED_NAME = re.compile(r"^[a-z]+\s+(?:facts\s+)?([A-Za-z_][A-Za-z0-9_.]*)")


@cache
def _lark() -> Lark:
    """The parser. Building its LALR tables (and strict mode's collision checks) takes most of a
    cold start, so the package ships them, built from this very grammar (grammar_tables.py);
    when they don't match this installation (another Lark), Lark caches the tables it builds
    (its `cache` option) in lexgate's cache directory — private to the user (0700), keyed by the
    grammar and Lark's options and version, rebuilt when stale or unreadable;
    LEXGATE_CACHE_DIR overrides the place, LEXGATE_NO_CACHE=1 turns that cache off."""
    from .grammar_tables import LARK_OPTIONS, grammar_text, shipped_parser

    grammar = grammar_text()
    shipped = shipped_parser(grammar, LARK_OPTIONS)
    if shipped is not None:
        return shipped
    options = dict(LARK_OPTIONS)
    cache = _cache_file()
    if cache is not None:
        options["cache"] = str(cache)
    return Lark(grammar, **options)


def _cache_file() -> Path | None:
    directory = cache_dir()
    return None if directory is None else directory / "grammar.lark-cache"


# ---- entry points ------------------------------------------------------------------------------


def _syntax_diagnostic(file: str, text: str, error: UnexpectedInput) -> Diagnostic:
    line = getattr(error, "line", 0) or 0
    column = getattr(error, "column", 0) or 0
    token = getattr(error, "token", None)
    at_end = isinstance(error, UnexpectedEOF) or getattr(token, "type", None) == "$END"
    if at_end or line <= 0:
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    width = 1
    token_text = None
    if isinstance(error, UnexpectedToken) and not at_end:
        token_text = str(error.token)
        width = max(1, len(token_text.splitlines()[0]) if token_text else 1)
    elif isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        token_text = text[position] if position < len(text) else None
    expected = set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())
    source_line = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    # A word the lexer took for a currency code, now missing its amount: point at the word.
    before = re.search(r"\b([A-Z]{3})\s*$", source_line[: column - 1]) if not at_end else None
    if at_end:
        stripped = text.rstrip()
        before = re.search(r"\b([A-Z]{3})$", stripped)
        if before:
            last = stripped.splitlines()[-1] if stripped else ""
            line = len(stripped.splitlines())
            column = len(last) - 2
    elif before:
        column = before.start(1) + 1
    if before and "NUMBER" in expected:
        word = before.group(1)
        return Diagnostic(
            "E0001",
            f"`{word}` looks like a currency code here",
            Span(file, line, column, line, column + 3),
            help="named sets and definitions are lowercase, e.g. `eea`; an amount is written "
            "`EUR 20 million`",
        )
    span = Span(file, line, column, line, column + width)
    if source_line.count('"') % 2 == 1 and not at_end:
        return Diagnostic(
            "E0001",
            "text in quotes is not closed on this line",
            span,
            help='add the closing `"`; text in quotes cannot span lines',
        )
    message, help_text = friendly_message(error, text, token_text, expected)
    keyword = (
        misspelt_keyword(token_text, expected, grammar_keywords())
        if isinstance(error, UnexpectedToken)
        else None
    )
    if keyword is not None:
        message, help_text = f"unexpected name `{token_text}`", f"did you mean `{keyword}`?"
    if help_text is None:
        help_text = describe_expected(expected)
    return Diagnostic("E0001", message, span, help=help_text)


@cache
def grammar_keywords() -> frozenset[str]:
    """Every word the grammar spells out (`rule`, `violation`, `exception`, `met`, …)."""
    words = set()
    for terminal in _lark().terminals:
        if terminal.pattern.type == "str" and terminal.pattern.value.isalpha():
            words.add(terminal.pattern.value)
    return frozenset(words)


def _blank_item(text: str, error_line: int) -> str:
    """Blank the declaration containing `error_line` so parsing can resume after it."""
    lines = text.split("\n")
    start = max(0, min(error_line, len(lines)) - 1)
    starts = _declaration_start()
    while start > 0 and not starts.match(lines[start]):
        start -= 1
    end = start + 1
    while end < len(lines) and not starts.match(lines[end]):
        end += 1
    for i in range(start, end):
        lines[i] = ""
    return "\n".join(lines)


def _declaration_line(lines: list[str], line: int) -> int:
    """The line (1-based) where the declaration holding `line` starts: the line at column 0
    with a declaration keyword, as `_blank_item` finds it."""
    starts = _declaration_start()
    index = max(0, min(line, len(lines)) - 1)
    while index > 0 and not starts.match(lines[index]):
        index -= 1
    return index + 1


def broken_names(
    sources: dict[str, str], diagnostics: list[Diagnostic], modules: Sequence[ast.Module] = ()
) -> set[str]:
    """The names the declarations left out after syntax errors would have declared: the
    declaration's own name, an enum's members, and the facts of `modules` whose declared type
    was one of them (a fact of a broken enum has no type to check against)."""
    names: set[str] = set()
    starts = _declaration_start()
    for diagnostic in diagnostics:
        text = sources.get(diagnostic.span.file)
        if diagnostic.code != "E0001" or text is None:
            continue
        lines = text.split("\n")
        first = _declaration_line(lines, diagnostic.span.line) - 1
        declared = _DECLARED_NAME.match(lines[first])
        if declared is None:
            continue
        names.add(declared.group(1))
        if lines[first].startswith("enum"):
            end = first + 1
            while end < len(lines) and not starts.match(lines[end]):
                end += 1
            body = " ".join(lines[first:end]).split("=", 1)[-1]
            names.update(re.findall(r"[a-z_][a-z0-9_]*", body.split("#", 1)[0]))
    for module in modules:
        for decl in module.declarations:
            if isinstance(decl, ast.FactDecl) and {decl.type.name, decl.type.value_name} & names:
                names.add(decl.name)
    return names


_BACKTICKED = re.compile(r"`([^`]+)`")


def check_despite_syntax_errors(
    modules: list[ast.Module], sources: dict[str, str], diagnostics: list[Diagnostic]
) -> list[Diagnostic]:
    """Every diagnostic of a bundle whose files did not all parse: the parser's, then what the
    checker finds in the declarations that did parse (a broken declaration is left out).
    The checker's findings in a declaration the parser already reported, and about a name only
    a left-out declaration declared, are follow-ons and dropped: one mistake, one message."""
    from .checker import check_modules  # imported here: the checker is the next stage

    try:
        check_modules(modules, sources)
    except PolicyError as error:
        broken = broken_names(sources, diagnostics, modules)
        lines = {file: text.split("\n") for file, text in sources.items()}
        reported = {
            (d.span.file, _declaration_line(lines[d.span.file], d.span.line))
            for d in diagnostics
            if d.span.file in lines
        }

        # a file whose `regime` header is broken: its declarations belong to no regime
        headless = {
            d.span.file
            for d in diagnostics
            if d.code == "E0001"
            and d.span.file in lines
            and lines[d.span.file][_declaration_line(lines[d.span.file], d.span.line) - 1]
            .lstrip()
            .startswith("regime")
        }

        def follow_on(diagnostic: Diagnostic) -> bool:
            file = diagnostic.span.file
            if diagnostic.code == "E0306" and file in headless:
                return True
            if file in lines and (file, _declaration_line(lines[file], diagnostic.span.line)) in (
                reported
            ):
                return True
            if "unknown" not in diagnostic.message:
                return False
            named = _BACKTICKED.findall(diagnostic.message)
            return any(n in broken or n.split(".")[0] in broken for n in named)

        checked = [d for d in error.diagnostics if not follow_on(d)]
        return sorted([*diagnostics, *checked], key=_order)
    return diagnostics


def _order(diagnostic: Diagnostic) -> tuple[str, int, int]:
    return (diagnostic.span.file, diagnostic.span.line, diagnostic.span.col)


# Deeper parse trees than this are refused with a located error: the checker and both back
# ends walk expressions recursively, and 247 nested `and`s exhausted Python's stack.
MAX_NESTING = 100


def too_deep(file: str, tree: Tree[Token]) -> Diagnostic | None:
    """A located error for the first subtree nested deeper than MAX_NESTING (an iterative
    walk: the check itself must not recurse)."""
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            return Diagnostic(
                "E0001",
                f"this expression is nested more than {MAX_NESTING} levels deep",
                _span(file, node),
                help="name parts of it with `define …` and combine the names",
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return None


# A string (escapes and all, as the grammar's STRING; one left open runs to the end of the
# line) or a `#`: the first `#` found outside a string starts the line's comment.
_STRING_OR_HASH = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#')


def comments_of(text: str, file: str) -> list[ast.Comment]:
    """The file's comments in order, trailing spaces dropped (the formatter drops them too).
    One pass over the lines (counting newlines from the start for each comment was quadratic:
    1 MB of comments took 15 s); strings never contain newlines."""
    comments: list[ast.Comment] = []
    for line, source_line in enumerate(text.split("\n"), start=1):
        if "#" not in source_line:
            continue
        for match in _STRING_OR_HASH.finditer(source_line):
            if match.group() == "#":
                hash_at = match.start()
                comment, col = source_line[hash_at:].rstrip(), hash_at + 1
                span = Span(file, line, col, line, col + len(comment))
                comments.append(ast.Comment(comment, span))
                break
    return comments


def parse_module(text: str, file: str = "<policy>") -> tuple[ast.Module, list[Diagnostic]]:
    """Parse one policy file. Returns the module (possibly partial) and every diagnostic found."""
    diagnostics: list[Diagnostic] = []
    comments = comments_of(text, file)
    current = text
    tree = None
    for _ in range(MAX_ERRORS_PER_FILE):
        try:
            tree = _lark().parse(current)
            too_deep_error = too_deep(file, tree)
            if too_deep_error is not None:
                diagnostics.append(too_deep_error)
                tree = None
            break
        except UnexpectedInput as error:
            diagnostic = _syntax_diagnostic(file, text, error)
            diagnostics.append(diagnostic)
            blanked = _blank_item(current, diagnostic.span.line)
            if blanked == current:
                break
            current = blanked
        except LarkError as error:  # pragma: no cover - defensive: never leak a traceback
            diagnostics.append(
                Diagnostic("E0001", f"cannot parse: {error}", Span(file, 1, 1, 1, 2))
            )
            break
    items: list[_Item] = []
    if tree is not None:
        try:
            items = _Builder(file).transform(tree)
        except VisitError as error:
            if isinstance(error.orig_exc, _ItemError):
                diagnostics.append(error.orig_exc.diagnostic)
            else:  # pragma: no cover - a bug in lexgate; still never a traceback for the user
                diagnostics.append(
                    Diagnostic(
                        "E0000",
                        f"lexgate could not read this declaration ({error.orig_exc!r})",
                        _span(file, error.obj),
                        help="this is a bug in lexgate: please report it with the file",
                    )
                )
    module = _group(file, items, diagnostics)
    module = ast.Module(
        module.path, module.regime, module.regime_span, module.declarations, tuple(comments)
    )
    return module, diagnostics


def parse(text: str, file: str = "<policy>") -> ast.Module:
    """Parse one file or raise `PolicyError` with every syntax diagnostic."""
    module, diagnostics = parse_module(text, file)
    if diagnostics:
        raise PolicyError(diagnostics)
    return module
