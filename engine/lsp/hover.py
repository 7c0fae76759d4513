"""Hover: what a name under the cursor declares, in Markdown.

A fact: its type and description. A rule or exception: its title, citation and topic. A
parameter: its type, description, citation and every dated value. A definition, a fine, an
enum, a member, a record field, a topic, a regime: their declaration in short. Values and
formulas are quoted from the source as the lawyer wrote them, never re-printed from the AST.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import ast
from .documents import Parsed
from .index import Kind, Symbol, type_text, word_at
from .ranges import source_text


def hover_markdown(
    parsed: Parsed, path: str, line: int, column: int
) -> tuple[str, int, int] | None:
    """(Markdown, start column, end column) for the name at 0-based `line` and code-point
    `column` of `path`, or None where there is nothing to say."""
    text = parsed.sources.get(path)
    if text is None:
        return None
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return None
    found = word_at(lines[line], column)
    if found is None:
        return None
    word, start, end = found
    symbols = parsed.index.lookup(word, parsed.scope_of(path), lines[line][:start])
    if not symbols:
        return None
    parts = [describe(symbol, parsed.sources.get(symbol.span.file, "")) for symbol in symbols]
    return "\n\n---\n\n".join(parts), start, end


def describe(symbol: Symbol, text: str) -> str:
    """One symbol's hover text; `text` is the source of the file that declares it."""
    describer = _DESCRIBERS.get(type(symbol.decl))
    body = (
        describer(symbol, text) if describer is not None else f"**{symbol.kind}** `{symbol.name}`"
    )
    return f"{body}\n\n*{_short(symbol.span.file)}:{symbol.span.line}*"


def _short(file: str) -> str:
    """The file's path from its bundle folder down (`gdpr/breach.policy`)."""
    parts = file.replace("\\", "/").split("/")
    return "/".join(parts[-2:])


def _cite(cite: ast.Citation | None) -> str:
    return f"\n\ncite: {cite.text}" if cite is not None else ""


def _fact(symbol: Symbol, text: str) -> str:
    decl = symbol.decl
    assert isinstance(decl, ast.FactDecl)
    head = f"**fact** `{decl.name}`: `{type_text(decl.type)}`"
    return head + (f"\n\n{decl.description}" if decl.description else "")


def _field(symbol: Symbol, text: str) -> str:
    decl = symbol.decl
    assert isinstance(decl, ast.FieldDecl)
    head = f"**field** `{symbol.name}`: `{type_text(decl.type)}`"
    return head + (f"\n\n{decl.description}" if decl.description else "")


def _rule(symbol: Symbol, text: str) -> str:
    decl = symbol.decl
    assert isinstance(decl, ast.RuleDecl)
    if decl.exception_to:
        head = f"**exception** `{decl.name}` to `{decl.exception_to}`"
    else:
        head = f"**rule** `{decl.name}`"
    head += f" ({symbol.scope})" if symbol.scope else ""
    body = [head]
    if decl.title:
        body.append(decl.title)
    if decl.topic:
        body.append(f"topic: `{decl.topic}`")
    return "\n\n".join(body) + _cite(decl.cite)


def _parameter(symbol: Symbol, text: str) -> str:
    decl = symbol.decl
    assert isinstance(decl, ast.ParameterDecl)
    body = [f"**parameter** `{decl.name}`: `{type_text(decl.type)}`"]
    if decl.description:
        body.append(decl.description)
    rows = ["| in force | value | cite |", "| --- | --- | --- |"]
    for dated in decl.values:
        period = f"from {dated.period.start}"
        if dated.period.end is not None:
            period += f" until {dated.period.end}"
        value = source_text(text, dated.value.span).replace("|", "\\|")
        cite = dated.cite.text.replace("|", "\\|") if dated.cite else ""
        rows.append(f"| {period} | `{value}` | {cite} |")
    if decl.values:
        body.append("\n".join(rows))
    return "\n\n".join(body) + _cite(decl.cite)


def _define(symbol: Symbol, text: str) -> str:
    decl = symbol.decl
    assert isinstance(decl, ast.DefineDecl)
    typed = f": `{type_text(decl.type)}`" if decl.type is not None else ""
    value = source_text(text, decl.value.span)
    return f"**define** `{decl.name}`{typed}\n\n```lexgate\n{value}\n```" + _cite(decl.cite)


def _fine(symbol: Symbol, text: str) -> str:
    decl = symbol.decl
    assert isinstance(decl, ast.FineDecl)
    high = source_text(text, decl.high.span)
    if decl.kind == ast.FineKind.BETWEEN and decl.low is not None:
        formula = f"between {source_text(text, decl.low.span)} and {high}"
    elif decl.kind == ast.FineKind.EXACTLY:
        formula = f"exactly {high}"
    else:
        formula = f"up to {high}"
    body = [f"**fine** `{decl.name}`" + (f" — {decl.title}" if decl.title else "")]
    body.append(f"```lexgate\n{formula}\n```")
    if decl.payer:
        body.append(f"payable by {decl.payer}")
    return "\n\n".join(body) + _cite(decl.cite)


def _enum(symbol: Symbol, text: str) -> str:
    decl = symbol.decl
    assert isinstance(decl, ast.EnumDecl)
    members = " | ".join(member for member, _ in decl.members)
    if symbol.kind == Kind.MEMBER:
        head = f"**enum member** `{symbol.name}` of `{decl.name}`"
    else:
        head = f"**enum** `{decl.name}`"
    described = f"\n\n{decl.description}" if decl.description else ""
    return f"{head}{described}\n\n`{members}`"


def _record(symbol: Symbol, text: str) -> str:
    decl = symbol.decl
    assert isinstance(decl, ast.RecordDecl)
    fields = "\n".join(f"- `{f.name}`: `{type_text(f.type)}`" for f in decl.fields)
    described = f"\n\n{decl.description}" if decl.description else ""
    return f"**record** `{decl.name}`{described}\n\n{fields}"


def _topic(symbol: Symbol, text: str) -> str:
    decl = symbol.decl
    assert isinstance(decl, ast.TopicDecl)
    facts = ", ".join(f"`{name}`" for name, _ in decl.described_by)
    title = f" — {decl.title}" if decl.title else ""
    return f"**topic** `{decl.name}`{title}\n\ndescribed by {facts}" + _cite(decl.cite)


def _regime(symbol: Symbol, text: str) -> str:
    decl = symbol.decl
    assert isinstance(decl, ast.RegimeDecl)
    body = [f"**regime** `{decl.name}`" + (f" — {decl.title}" if decl.title else "")]
    if decl.in_force is not None:
        until = f" until {decl.in_force.end}" if decl.in_force.end else ""
        body.append(f"in force from {decl.in_force.start}{until}")
    if decl.currency:
        body.append(f"currency {decl.currency}")
    return "\n\n".join(body) + _cite(decl.cite)


def _rate(symbol: Symbol, text: str) -> str:
    decl = symbol.decl
    assert isinstance(decl, ast.RateDecl)
    values = "\n".join(
        f"- from {d.period.start}: `{source_text(text, d.value.span)}`" for d in decl.values
    )
    return f"**rate** {decl.base} to {decl.quote}\n\n{values}" + _cite(decl.cite)


_DESCRIBERS: dict[type, Callable[[Symbol, str], str]] = {
    ast.FactDecl: _fact,
    ast.FieldDecl: _field,
    ast.RuleDecl: _rule,
    ast.ParameterDecl: _parameter,
    ast.DefineDecl: _define,
    ast.FineDecl: _fine,
    ast.EnumDecl: _enum,
    ast.RecordDecl: _record,
    ast.TopicDecl: _topic,
    ast.RegimeDecl: _regime,
    ast.RateDecl: _rate,
}

__all__ = ["describe", "hover_markdown"]
