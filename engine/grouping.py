"""Stage 1, second half: the parser's flat items grouped into declarations.

The grammar (engine/grammar.lark) yields a flat list of items, so newlines carry no meaning and a
lawyer may wrap freely; here each clause (`when`, `violation`, `duty`, `from`, …) is attached to
the declaration it follows, and a clause where it does not belong is a located error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import ast
from .diagnostics import Diagnostic, Span

# ---- items: the flat form the grammar yields ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Item:
    kind: str
    span: Span
    data: dict[str, Any]


# ---- grouping: attach clauses to their declaration -------------------------------------------

# which clause kinds each declaration accepts
_CLAUSES = {
    "regime": {"currency", "aggregate", "applies", "note", "kind"},
    "record": {"field"},
    "parameter": {"dated"},
    "rate": {"dated"},
    "fine": {"note"},
    "rule": {
        "dated",
        "when",
        "violation",
        "obligation",
        "duty",
        "topic_ref",
        "fine_ref",
        "note",
        "severity",
    },
    "exception": {"dated", "when", "obligation", "note"},
    "example": {"as_of", "given", "expect"},
}
_CLAUSE_WORDS = {
    "currency": "`currency`",
    "aggregate": "`aggregate`",
    "applies": "`applies when`",
    "kind": "`kind`",
    "severity": "`severity`",
    "note": "`note`",
    "field": "`field`",
    "dated": "`from`",
    "when": "`when`",
    "violation": "`violation`",
    "obligation": "`obligation`",
    "duty": "`duty`",
    "topic_ref": "`topic`",
    "fine_ref": "`fine`",
    "as_of": "`as of`",
    "given": "`given`",
    "expect": "`expect`",
}
_OWNER_WORDS = {
    "currency": "a regime",
    "aggregate": "a regime",
    "applies": "a regime",
    "kind": "a regime",
    "severity": "a rule",
    "field": "a record",
    "dated": "a parameter, rate or rule",
    "when": "a rule or exception",
    "violation": "a rule",
    "obligation": "a rule or exception",
    "duty": "a rule",
    "topic_ref": "a rule",
    "fine_ref": "a rule",
    "note": "a regime, rule or fine",
    "as_of": "an example",
    "given": "an example",
    "expect": "an example",
}


# declarations that take no clauses
_STANDALONE = {
    "enum",
    "fact",
    "define",
    "part_of",
    "topic",
    "derive",
    "level",
    "retention",
}


def _group(file: str, items: list[_Item], diagnostics: list[Diagnostic]) -> ast.Module:
    regime: str | None = None
    regime_span: Span | None = None
    declarations: list[ast.Decl] = []
    head: _Item | None = None
    clauses: list[_Item] = []

    def flush() -> None:
        nonlocal head, clauses
        if head is not None:
            decl = _build_decl(file, head, clauses, diagnostics)
            if decl is not None:
                declarations.append(decl)
        head, clauses = None, []

    for item in items:
        if item.kind in _CLAUSES or item.kind in _STANDALONE:
            flush()
            if item.kind == "part_of" or item.kind == "regime":
                if regime is not None:
                    diagnostics.append(
                        Diagnostic(
                            "E0301",
                            f"this file already belongs to regime `{regime}`",
                            item.span,
                            help="a policy file belongs to one regime: start a new file",
                        )
                    )
                else:
                    regime, regime_span = item.data["name"], item.span
            if item.kind == "part_of":
                continue
            if item.kind in _CLAUSES:
                head = item
            else:
                decl = _build_decl(file, item, [], diagnostics)
                if decl is not None:
                    declarations.append(decl)
            continue
        if head is not None and item.kind in _CLAUSES[head.kind]:
            clauses.append(item)
            continue
        diagnostics.append(
            Diagnostic(
                "E0302",
                f"{_CLAUSE_WORDS.get(item.kind, item.kind)} is not allowed here",
                item.span,
                help=f"{_CLAUSE_WORDS.get(item.kind, item.kind)} belongs to "
                f"{_OWNER_WORDS.get(item.kind, 'a declaration')}",
            )
        )
    flush()
    return ast.Module(file, regime, regime_span, tuple(declarations))


def _single(
    head: _Item, clauses: list[_Item], kind: str, diagnostics: list[Diagnostic]
) -> _Item | None:
    found = [c for c in clauses if c.kind == kind]
    for extra in found[1:]:
        diagnostics.append(
            Diagnostic(
                "E0303",
                f"{_CLAUSE_WORDS[kind]} is given twice in `{head.data.get('name')}`",
                extra.span,
                help="combine the conditions with `and` / `or` in one clause",
            )
        )
    return found[0] if found else None


def _build_decl(
    file: str, head: _Item, clauses: list[_Item], diagnostics: list[Diagnostic]
) -> ast.Decl | None:
    d = head.data
    notes = tuple(c.data["text"] for c in clauses if c.kind == "note")
    if head.kind == "regime":
        currency = _single(head, clauses, "currency", diagnostics)
        aggregate = _single(head, clauses, "aggregate", diagnostics)
        kind = _single(head, clauses, "kind", diagnostics)
        return ast.RegimeDecl(
            name=d["name"],
            span=head.span,
            title=d["title"],
            cite=d["cite"],
            in_force=d["in_force"],
            currency=currency.data["code"] if currency else None,
            currency_span=currency.span if currency else None,
            aggregate=aggregate.data["method"] if aggregate else None,
            aggregate_span=aggregate.span if aggregate else None,
            aggregate_cite=aggregate.data["cite"] if aggregate else None,
            applies=tuple(
                ast.Applies(c.data["condition"], c.data["cite"], c.span)
                for c in clauses
                if c.kind == "applies"
            ),
            notes=notes,
            kind=kind.data["word"] if kind else None,
            kind_span=kind.span if kind else None,
        )
    if head.kind == "enum":
        return ast.EnumDecl(d["name"], head.span, d["description"], d["members"])
    if head.kind == "record":
        fields = tuple(
            ast.FieldDecl(c.data["name"], c.span, c.data["type"], c.data["description"])
            for c in clauses
        )
        return ast.RecordDecl(d["name"], head.span, d["description"], fields)
    if head.kind == "fact":
        return ast.FactDecl(d["name"], head.span, d["type"], d["description"])
    if head.kind == "define":
        return ast.DefineDecl(d["name"], head.span, d["type"], d["value"], d["cite"])
    if head.kind == "topic":
        return ast.TopicDecl(
            d["name"],
            head.span,
            title=d["title"],
            described_by=d["described_by"],
            cite=d["cite"],
        )
    if head.kind == "level":
        return ast.LevelDecl(d["name"], head.span, patterns=d["patterns"])
    if head.kind == "derive":
        return ast.DeriveDecl(
            d["name"], head.span, value=d["value"], condition=d["condition"], cite=d["cite"]
        )
    if head.kind in ("parameter", "rate"):
        values = []
        for c in clauses:
            if c.data["value"] is None:
                diagnostics.append(
                    Diagnostic(
                        "E0304",
                        f"the value from {c.data['period'].start} has no `=`",
                        c.span,
                        help=f"write `from {c.data['period'].start} = <value>`",
                    )
                )
                continue
            values.append(ast.DatedValue(c.data["period"], c.data["value"], c.data["cite"]))
        if head.kind == "rate":
            return ast.RateDecl(
                name=f"{d['base']}/{d['quote']}",
                span=head.span,
                base=d["base"],
                quote=d["quote"],
                cite=d["cite"],
                values=tuple(values),
            )
        return ast.ParameterDecl(
            name=d["name"],
            span=head.span,
            type=d["type"],
            description=d["description"],
            cite=d["cite"],
            values=tuple(values),
        )
    if head.kind == "fine":
        return ast.FineDecl(
            name=d["name"],
            span=head.span,
            title=d["title"],
            kind=d["kind"],
            low=d["low"],
            high=d["high"],
            payer=d["payer"],
            cite=d["cite"],
            notes=notes,
        )
    if head.kind in ("rule", "exception"):
        periods = []
        for c in clauses:
            if c.kind != "dated":
                continue
            if c.data["value"] is not None:
                diagnostics.append(
                    Diagnostic(
                        "E0305",
                        "a rule's `from` takes no value",
                        c.span,
                        help="write `from DATE` or `from DATE until DATE` on a rule",
                    )
                )
            periods.append(c.data["period"])
        when = _single(head, clauses, "when", diagnostics)
        violation = _single(head, clauses, "violation", diagnostics)
        fines = tuple(n for c in clauses if c.kind == "fine_ref" for n in c.data["names"])
        topic = _single(head, clauses, "topic_ref", diagnostics)
        severity = _single(head, clauses, "severity", diagnostics)
        return ast.RuleDecl(
            d["name"],
            head.span,
            title=d["title"],
            cite=d["cite"],
            periods=tuple(periods),
            when=when.data["condition"] if when else None,
            violation=violation.data["condition"] if violation else None,
            violation_unless=bool(violation and violation.data["unless"]),
            obligations=tuple(c.data["obligation"] for c in clauses if c.kind == "obligation"),
            fines=fines,
            notes=notes,
            exception_to=d.get("target"),
            exception_to_span=d.get("target_span"),
            duties=tuple(c.data["duty"] for c in clauses if c.kind == "duty"),
            topic=topic.data["name"] if topic else None,
            topic_span=topic.data["name_span"] if topic else None,
            severity=severity.data["word"] if severity else None,
            severity_span=severity.span if severity else None,
        )
    if head.kind == "retention":
        limit = {key: value for key, value in d.items() if key != "name"}
        return ast.RetentionDecl(d["name"], head.span, **limit)
    if head.kind == "example":
        as_of = _single(head, clauses, "as_of", diagnostics)
        return ast.ExampleDecl(
            d["name"],
            head.span,
            as_of.data["date"] if as_of else None,
            tuple(a for c in clauses if c.kind == "given" for a in c.data["assignments"]),
            tuple(e for c in clauses if c.kind == "expect" for e in c.data["expectations"]),
        )
    raise AssertionError(head.kind)  # pragma: no cover
