"""What a bundle declares, by name: the table that hover, go to definition, completion and the
outline read.

Built from the parsed AST alone, never from the checker, so it answers while the bundle has type
errors (and, for the other files, while one file has a syntax error). Names resolve the way the
checker resolves them (docs/LANGUAGE.md): a regime's own rules, definitions, parameters, fines and
topics first, then the bundle-wide ones of policies/common, then facts, types and enum members.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .. import ast
from ..diagnostics import Span

COMMON_SCOPE = ""  # the scope of policies/common (a module with no regime)


class Kind(StrEnum):
    """What a name declares; the order of `_PREFERENCE` is the order a bare name resolves in."""

    REGIME = "regime"
    RULE = "rule"
    EXCEPTION = "exception"
    DEFINE = "define"
    PARAMETER = "parameter"
    FINE = "fine"
    TOPIC = "topic"
    FACT = "fact"
    ENUM = "enum"
    MEMBER = "enum member"
    RECORD = "record"
    FIELD = "field"
    RATE = "rate"
    EXAMPLE = "example"
    DERIVE = "derive"
    LEVEL = "facts"


_PREFERENCE = {
    kind: rank
    for rank, kind in enumerate(
        (
            Kind.DEFINE,
            Kind.PARAMETER,
            Kind.RULE,
            Kind.EXCEPTION,
            Kind.FINE,
            Kind.TOPIC,
            Kind.FACT,
            Kind.FIELD,
            Kind.ENUM,
            Kind.RECORD,
            Kind.REGIME,
            Kind.RATE,
            Kind.MEMBER,
        )
    )
}
# kinds whose names are declared once for the whole bundle, whatever file declares them
_GLOBAL_KINDS = frozenset(
    {Kind.FACT, Kind.ENUM, Kind.MEMBER, Kind.RECORD, Kind.FIELD, Kind.REGIME, Kind.RATE}
)


@dataclass(frozen=True, slots=True)
class Symbol:
    """One declared name. `span` is where the name itself is written (go to definition lands
    there); `decl` the declaration it belongs to (for a member, its enum; for a field, its
    record), read by hover."""

    kind: Kind
    name: str
    scope: str
    span: Span
    decl: ast.Decl


def declared_name_span(decl: ast.Decl, lines: Sequence[str]) -> Span:
    """Where a declaration writes its name: the first whole-word occurrence after its keyword on
    its first line (the AST keeps the declaration's span, not the name's). Falls back to the
    declaration's start."""
    start = decl.span
    if not 0 < start.line <= len(lines) or not decl.name:
        return Span(start.file, start.line, start.col, start.line, start.col)
    line = lines[start.line - 1]
    name = decl.name
    # str.find, not a regex per name: a bundle declares thousands of names, more than re's cache
    at = line.find(name, max(line.find(" ", start.col - 1), start.col - 1))
    while at >= 0:
        before = line[at - 1] if at > 0 else " "
        after = line[at + len(name)] if at + len(name) < len(line) else " "
        if not _is_name_char(before) and not _is_name_char(after):
            return Span(start.file, start.line, at + 1, start.line, at + len(name) + 1)
        at = line.find(name, at + 1)
    return Span(start.file, start.line, start.col, start.line, start.col)


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char in "_."


def type_text(ref: ast.TypeRef) -> str:
    """A type as the lawyer wrote it: `hours`, `set of country`, `map of country to years`."""
    if ref.kind == ast.TypeShape.SET:
        return f"set of {ref.name}"
    if ref.kind == ast.TypeShape.LIST:
        return f"list of {ref.name}"
    if ref.kind == ast.TypeShape.MAP:
        return f"map of {ref.name} to {ref.value_name}"
    return ref.name


def kind_of(decl: ast.Decl) -> Kind | None:
    """The kind of a declaration; None for one the language added after this module."""
    if isinstance(decl, ast.RuleDecl):
        return Kind.EXCEPTION if decl.exception_to else Kind.RULE
    table: dict[type, Kind] = {
        ast.RegimeDecl: Kind.REGIME,
        ast.DefineDecl: Kind.DEFINE,
        ast.ParameterDecl: Kind.PARAMETER,
        ast.FineDecl: Kind.FINE,
        ast.TopicDecl: Kind.TOPIC,
        ast.FactDecl: Kind.FACT,
        ast.EnumDecl: Kind.ENUM,
        ast.RecordDecl: Kind.RECORD,
        ast.RateDecl: Kind.RATE,
        ast.ExampleDecl: Kind.EXAMPLE,
        ast.DeriveDecl: Kind.DERIVE,
        ast.LevelDecl: Kind.LEVEL,
    }
    return table.get(type(decl))


class SymbolIndex:
    """Every name the modules declare, with the scope it is declared in."""

    def __init__(self, modules: Iterable[ast.Module], sources: dict[str, str]) -> None:
        self.by_name: dict[str, list[Symbol]] = defaultdict(list)
        self.facts: dict[str, ast.FactDecl] = {}
        self.enums: dict[str, ast.EnumDecl] = {}
        self.records: dict[str, ast.RecordDecl] = {}
        self.scopes: dict[str, str] = {}  # file -> the scope its names live in
        for module in modules:
            scope = module.regime or COMMON_SCOPE
            self.scopes[module.path] = scope
            lines = sources.get(module.path, "").split("\n")
            for decl in module.declarations:
                self._add(decl, scope, lines)

    def _add(self, decl: ast.Decl, scope: str, lines: Sequence[str]) -> None:
        kind = kind_of(decl)
        if kind is None or kind in (Kind.EXAMPLE, Kind.DERIVE, Kind.LEVEL):
            return  # not names other text refers to
        where = COMMON_SCOPE if kind in _GLOBAL_KINDS else scope
        self.by_name[decl.name].append(
            Symbol(kind, decl.name, where, declared_name_span(decl, lines), decl)
        )
        if isinstance(decl, ast.FactDecl):
            self.facts.setdefault(decl.name, decl)
        elif isinstance(decl, ast.EnumDecl):
            self.enums.setdefault(decl.name, decl)
            for member, span in decl.members:
                self.by_name[member].append(Symbol(Kind.MEMBER, member, COMMON_SCOPE, span, decl))
        elif isinstance(decl, ast.RecordDecl):
            self.records.setdefault(decl.name, decl)
            for field in decl.fields:
                name = f"{decl.name}.{field.name}"
                span = declared_name_span(field, lines)
                self.by_name[name].append(Symbol(Kind.FIELD, name, COMMON_SCOPE, span, field))

    # ---- resolution ----------------------------------------------------------------------------

    def lookup(self, word: str, scope: str, before: str = "") -> list[Symbol]:
        """What `word` (a name as written, `transfers[0].mechanism` included) refers to from a
        file of `scope`: every symbol of the first kind it resolves to. A member of several
        enums (`high`) is the one of the fact it is compared with, when `before` (the line's
        text before the word) shows it (`breach.risk is `), else every one."""
        name = re.sub(r"\[[^\]]*\]", "", word)
        found = self._visible(name, scope)
        if not found:
            field = self._field(name)
            found = [field] if field is not None else []
        if not found:
            return []
        rank = _Ranker(scope)
        best = min(map(rank, found))
        found = [s for s in found if rank(s) == best]
        enum = self.compared_enum(before) if found[0].kind == Kind.MEMBER else None
        return [s for s in found if s.decl is enum] or found

    def compared_enum(self, before: str) -> ast.EnumDecl | None:
        """The enum whose member comes next after `before` (`breach.risk is `, `purposes meets
        {marketing, `), when the fact compared holds an enum."""
        found = _MEMBER_CONTEXT.search(before)
        return self.fact_enum(found.group(1)) if found else None

    def _visible(self, name: str, scope: str) -> list[Symbol]:
        return [s for s in self.by_name.get(name, ()) if s.scope in (scope, COMMON_SCOPE)]

    def _field(self, path: str) -> Symbol | None:
        """`transfers.mechanism` (written `transfers[0].mechanism`): the field `mechanism` of the
        record that the fact `transfers` holds."""
        head, _, field = path.rpartition(".")
        fact = self.facts.get(head)
        if fact is None or not field:
            return None
        return next(iter(self.by_name.get(f"{fact.type.name}.{field}", ())), None)

    def fact_enum(self, path: str) -> ast.EnumDecl | None:
        """The enum a fact (or a record field reached through a fact) takes its values from."""
        name = re.sub(r"\[[^\]]*\]", "", path)
        fact = self.facts.get(name)
        if fact is not None:
            return self.enums.get(fact.type.name)
        field = self._field(name)
        if field is not None and isinstance(field.decl, ast.FieldDecl):
            return self.enums.get(field.decl.type.name)
        return None

    def names_of(self, kinds: Iterable[Kind], scope: str) -> Iterator[Symbol]:
        """The symbols of these kinds visible from `scope`, one per name."""
        wanted = frozenset(kinds)
        for _name, symbols in sorted(self.by_name.items()):
            visible = [s for s in symbols if s.kind in wanted and s.scope in (scope, COMMON_SCOPE)]
            if visible:
                yield min(visible, key=_Ranker(scope))


class _Ranker:
    """Sort key: the preferred kind first, then the file's own scope before the common one."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def __call__(self, symbol: Symbol) -> tuple[int, int]:
        return (_PREFERENCE.get(symbol.kind, len(_PREFERENCE)), symbol.scope != self.scope)


# `FACT is`, `FACT is not`, `FACT = {a, `, …: where a member of FACT's enum is written next
_MEMBER_CONTEXT = re.compile(
    r"([a-z_][\w.]*(?:\[\d*\])?(?:\.[a-z_]\w*)*)\s+"
    r"(?:is\s+not|is|=|!=|not\s+in|in|meets|contains)\s+\{?\s*(?:[a-z_]\w*\s*,\s*)*$"
)

# A name as written: dotted, with list positions in examples (`transfers[0].mechanism`).
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[\d*\])?(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[\d*\])?)*")


def outside_strings_and_comments(line: str, column: int) -> bool:
    """Whether the 0-based `column` of `line` is code: not inside a "string" or a # comment."""
    quoted = False
    for index, char in enumerate(line[:column]):
        if char == '"' and (index == 0 or line[index - 1] != "\\"):
            quoted = not quoted
        elif char == "#" and not quoted:
            return False
    return not quoted


def word_at(line: str, column: int) -> tuple[str, int, int] | None:
    """The name under a 0-based code-point `column` (or just before it), with its start and end
    columns; None inside a string, a comment or white space."""
    if not outside_strings_and_comments(line, column):
        return None
    for match in _WORD.finditer(line):
        if match.start() <= column <= match.end():
            return match.group(), match.start(), match.end()
        if match.start() > column:
            break
    return None


__all__ = [
    "COMMON_SCOPE",
    "Kind",
    "Symbol",
    "SymbolIndex",
    "declared_name_span",
    "kind_of",
    "outside_strings_and_comments",
    "type_text",
    "word_at",
]
