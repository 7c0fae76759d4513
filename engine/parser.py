"""Stage 1: policy text -> AST (`engine.ast.Module`).

Lark (LALR, contextual lexer, strict) produces a flat list of items; `_Builder` turns each into a
typed item and `_group` attaches clause items (when, violation, from, …) to the declaration that
precedes them. Parse errors are collected, not first-only: after an error the offending item is
blanked out and the file parsed again, so one bad rule does not hide mistakes further down.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from engine import ast
from engine.diagnostics import Diagnostic, PolicyError, Span
from engine.syntax_errors import describe_expected, friendly_message

SCALES = {"thousand": Decimal(1000), "million": Decimal(10) ** 6, "billion": Decimal(10) ** 9}
CURRENCY_ALIASES = {"RMB": "CNY"}
MAX_ERRORS_PER_FILE = 25

# A line that starts a declaration at column 0: where error recovery may resume.
_DECL_START = re.compile(
    r"^(regime|part|enum|record|fact|define|parameter|rate|fine|rule|exception|example)\b"
)


@cache
def _lark() -> Lark:
    grammar = resources.files("engine").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        strict=True,
        maybe_placeholders=True,
    )


def _span(file: str, node: Any) -> Span:
    if isinstance(node, Token):
        return Span(
            file, node.line or 0, node.column or 0, node.end_line or 0, node.end_column or 0
        )
    meta = node.meta if isinstance(node, Tree) else node
    if getattr(meta, "empty", True):
        return Span(file, 0, 0, 0, 0)
    return Span(file, meta.line, meta.column, meta.end_line, meta.end_column)


def _string(token: Token) -> str:
    body = str(token)[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _date(token: Token, file: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(token))
    except ValueError:
        raise _ItemError(
            Diagnostic(
                "E0003",
                f"`{token}` is not a calendar date",
                _span(file, token),
                help="dates are written YYYY-MM-DD, e.g. `2018-05-25`",
            )
        ) from None


def _decimal(token: Token) -> Decimal:
    try:
        return Decimal(str(token).replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the lexer only admits digits
        raise ValueError(str(token)) from None


class _ItemError(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


# ---- items: the flat form the grammar yields ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Item:
    kind: str
    span: Span
    data: dict[str, Any]


@v_args(meta=True)
class _Builder(Transformer):
    """Tree -> AST expressions and `_Item`s. Terminals are converted once, here."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _s(self, meta: Any) -> Span:
        return _span(self.file, meta)

    # -- atoms
    def name(self, meta, children):
        return ast.Name(self._s(meta), str(children[0]))

    def number(self, meta, children):
        number, scale, unit = children
        value = _decimal(number)
        if scale is not None:
            value *= SCALES[str(scale)]
        unit_name = None
        if unit is not None:
            words = str(unit).split()
            base = words[-1].rstrip("s")
            unit_name = f"business_{base}s" if len(words) == 2 else f"{base}s"
        return ast.NumberLit(self._s(meta), value, unit_name)

    def duration(self, meta, children):
        return self.number(meta, [children[0], None, children[1]])

    def money(self, meta, children):
        currency, number = children
        if number.unit is not None:
            raise _ItemError(
                Diagnostic(
                    "E0004",
                    f"an amount of money cannot have the unit `{number.unit}`",
                    number.span,
                    help=f"write the amount alone, e.g. `{currency} 20 million`",
                )
            )
        code = CURRENCY_ALIASES.get(str(currency), str(currency))
        return ast.MoneyLit(self._s(meta), code, number.value)

    def percent(self, meta, children):
        text = str(children[0]).replace("%", "").strip()
        return ast.PercentLit(self._s(meta), Decimal(text) / 100)

    def date(self, meta, children):
        return ast.DateLit(self._s(meta), _date(children[0], self.file))

    def text(self, meta, children):
        return ast.TextLit(self._s(meta), _string(children[0]))

    def code(self, meta, children):
        return ast.CodeLit(self._s(meta), str(children[0]))

    def true(self, meta, children):
        return ast.BoolLit(self._s(meta), True)

    def false(self, meta, children):
        return ast.BoolLit(self._s(meta), False)

    def empty_set(self, meta, children):
        return ast.SetLit(self._s(meta), ())

    def set_literal(self, meta, children):
        return ast.SetLit(self._s(meta), tuple(c for c in children if c is not None))

    def list_literal(self, meta, children):
        return ast.ListLit(self._s(meta), tuple(c for c in children if c is not None))

    def map_literal(self, meta, children):
        return ast.MapLit(self._s(meta), tuple(c for c in children if c is not None))

    def entry(self, meta, children):
        key, value = children
        return (str(key), _span(self.file, key), value)

    def call(self, meta, children):
        function, *args = children
        return ast.Call(
            self._s(meta), str(function), _span(self.file, function), tuple(a for a in args if a)
        )

    def convert(self, meta, children):
        currency = CURRENCY_ALIASES.get(str(children[1]), str(children[1]))
        return ast.Convert(self._s(meta), children[0], currency)

    def index(self, meta, children):
        return ast.Index(self._s(meta), children[0], children[1])

    # -- operators
    def _binary(op: str):  # type: ignore[misc]
        def build(self, meta, children):
            return ast.Binary(self._s(meta), op, children[0], children[1])

        return build

    add = _binary("+")
    sub = _binary("-")
    mul = _binary("*")
    div = _binary("/")
    of = _binary("of")
    ge = _binary(">=")
    le = _binary("<=")
    gt = _binary(">")
    lt = _binary("<")
    eq = _binary("=")
    ne = _binary("!=")
    meets = _binary("meets")
    member = _binary("in")
    not_member = _binary("not_in")
    contains = _binary("contains")

    def and_op(self, meta, children):
        return ast.BoolOp(self._s(meta), "and", children[0], children[1])

    def or_op(self, meta, children):
        return ast.BoolOp(self._s(meta), "or", children[0], children[1])

    def not_op(self, meta, children):
        return ast.Not(self._s(meta), children[0])

    def negate(self, meta, children):
        return ast.Negate(self._s(meta), children[0])

    def is_missing(self, meta, children):
        return ast.Knownness(self._s(meta), children[0], known=False)

    def is_known(self, meta, children):
        return ast.Knownness(self._s(meta), children[0], known=True)

    def if_then_else(self, meta, children):
        return ast.IfThenElse(self._s(meta), *children)

    def quant(self, meta, children):
        return str(children[0])

    def quantifier(self, meta, children):
        kind, variable, collection, condition = children
        return ast.Quantifier(self._s(meta), kind, str(variable), collection, condition)

    def sum_over(self, meta, children):
        value, variable, collection, condition = children
        return ast.SumOver(self._s(meta), value, str(variable), collection, condition)

    # -- types
    def simple_type(self, meta, children):
        return ast.TypeRef(self._s(meta), "simple", str(children[0]))

    def set_type(self, meta, children):
        return ast.TypeRef(self._s(meta), "set", str(children[0]))

    def list_type(self, meta, children):
        return ast.TypeRef(self._s(meta), "list", str(children[0]))

    def map_type(self, meta, children):
        return ast.TypeRef(self._s(meta), "map", str(children[0]), str(children[1]))

    # -- clause pieces
    def cite(self, meta, children):
        return ast.Citation(_string(children[0]), self._s(meta))

    def payer(self, meta, children):
        return _string(children[0])

    def in_force(self, meta, children):
        start, end = children
        return ast.Period(
            _date(start, self.file), _date(end, self.file) if end else None, self._s(meta)
        )

    def status(self, meta, children):
        return str(children[0])

    def bound(self, meta, children):
        return str(children[0])

    def _item(self, item_kind: str, meta: Any, **data: Any) -> _Item:
        return _Item(item_kind, self._s(meta), data)

    # -- items
    def regime_head(self, meta, children):
        name, title, cite, in_force = children
        return self._item(
            "regime",
            meta,
            name=str(name),
            title=title and _string(title),
            cite=cite,
            in_force=in_force,
            name_span=_span(self.file, name),
        )

    def part_of(self, meta, children):
        return self._item("part_of", meta, name=str(children[0]))

    def currency_clause(self, meta, children):
        code = CURRENCY_ALIASES.get(str(children[0]), str(children[0]))
        return self._item("currency", meta, code=code)

    def aggregate_clause(self, meta, children):
        return self._item("aggregate", meta, method=str(children[0]), cite=children[1])

    def applies_clause(self, meta, children):
        return self._item("applies", meta, condition=children[0], cite=children[1])

    def enum_decl(self, meta, children):
        name, description, *members = children
        return self._item(
            "enum",
            meta,
            name=str(name),
            description=description and _string(description),
            members=tuple((str(m), _span(self.file, m)) for m in members),
        )

    def record_head(self, meta, children):
        name, description = children
        return self._item(
            "record", meta, name=str(name), description=description and _string(description)
        )

    def field_decl(self, meta, children):
        name, type_ref, description = children
        return self._item(
            "field",
            meta,
            name=str(name),
            type=type_ref,
            description=description and _string(description),
        )

    def fact_decl(self, meta, children):
        name, type_ref, description = children
        return self._item(
            "fact",
            meta,
            name=str(name),
            type=type_ref,
            description=description and _string(description),
        )

    def define_decl(self, meta, children):
        name, type_ref, value, cite = children
        return self._item("define", meta, name=str(name), type=type_ref, value=value, cite=cite)

    def parameter_head(self, meta, children):
        name, type_ref, description, cite = children
        return self._item(
            "parameter",
            meta,
            name=str(name),
            type=type_ref,
            description=description and _string(description),
            cite=cite,
        )

    def dated(self, meta, children):
        start, end, value, cite = children
        period = ast.Period(
            _date(start, self.file), _date(end, self.file) if end else None, self._s(meta)
        )
        return self._item("dated", meta, period=period, value=value, cite=cite)

    def rate_head(self, meta, children):
        base, quote, cite = children
        return self._item(
            "rate",
            meta,
            base=CURRENCY_ALIASES.get(str(base), str(base)),
            quote=CURRENCY_ALIASES.get(str(quote), str(quote)),
            cite=cite,
        )

    def fine_up_to(self, meta, children):
        return ("up_to", None, children[0])

    def fine_between(self, meta, children):
        return ("between", children[0], children[1])

    def fine_exactly(self, meta, children):
        return ("exactly", None, children[0])

    def fine_decl(self, meta, children):
        name, title, formula, payer, cite = children
        kind, low, high = formula
        return self._item(
            "fine",
            meta,
            name=str(name),
            title=title and _string(title),
            kind=kind,
            low=low,
            high=high,
            payer=payer,
            cite=cite,
        )

    def fine_ref(self, meta, children):
        return self._item(
            "fine_ref", meta, names=tuple((str(n), _span(self.file, n)) for n in children)
        )

    def rule_head(self, meta, children):
        name, title, cite = children
        return self._item("rule", meta, name=str(name), title=title and _string(title), cite=cite)

    def exception_head(self, meta, children):
        name, target, title, cite = children
        return self._item(
            "exception",
            meta,
            name=str(name),
            target=str(target),
            target_span=_span(self.file, target),
            title=title and _string(title),
            cite=cite,
        )

    def when_clause(self, meta, children):
        return self._item("when", meta, condition=children[0])

    def violation_when(self, meta, children):
        return self._item("violation", meta, condition=children[0], unless=False)

    def violation_unless(self, meta, children):
        return self._item("violation", meta, condition=children[0], unless=True)

    def obligation_clause(self, meta, children):
        text, within, condition, cite = children
        return self._item(
            "obligation",
            meta,
            obligation=ast.Obligation(_string(text), within, condition, cite, self._s(meta)),
        )

    def note_clause(self, meta, children):
        return self._item("note", meta, text=_string(children[0]))

    def duty_clause(self, meta, children):
        text, within, met, cite = children
        return self._item(
            "duty", meta, duty=ast.Duty(_string(text), within, met, cite, self._s(meta))
        )

    def topic_decl(self, meta, children):
        name, title, *rest = children
        cite = rest.pop() if rest and isinstance(rest[-1], ast.Citation) else None
        rest = [r for r in rest if r is not None]
        return self._item(
            "topic",
            meta,
            name=str(name),
            title=title and _string(title),
            described_by=tuple((str(n), _span(self.file, n)) for n in rest),
            cite=cite,
        )

    def topic_clause(self, meta, children):
        return self._item(
            "topic_ref", meta, name=str(children[0]), name_span=_span(self.file, children[0])
        )

    def exact_pattern(self, meta, children):
        return (str(children[0]), self._s(meta))

    def prefix_pattern(self, meta, children):
        return (f"{children[0]}.*", self._s(meta))

    def field_pattern(self, meta, children):
        return (f"{children[0]}[].{children[1]}", self._s(meta))

    def organisation_facts(self, meta, children):
        return self._item("level", meta, name="organisation", patterns=tuple(children))

    def controllable_facts(self, meta, children):
        return self._item("level", meta, name="controllable", patterns=tuple(children))

    def derive_decl(self, meta, children):
        path, value, condition, cite = children
        return self._item(
            "derive", meta, name=str(path), value=value, condition=condition, cite=cite
        )

    def example_head(self, meta, children):
        return self._item("example", meta, name=_string(children[0]))

    def as_of_clause(self, meta, children):
        return self._item("as_of", meta, date=_date(children[0], self.file))

    def assignment(self, meta, children):
        return ast.Assignment(str(children[0]), children[1], self._s(meta))

    def given_clause(self, meta, children):
        return self._item("given", meta, assignments=tuple(children))

    def expect_status(self, meta, children):
        return ast.Expectation("status", children[0], self._s(meta))

    def expect_violation(self, meta, children):
        return ast.Expectation("violation", str(children[0]), self._s(meta))

    def expect_no_violation(self, meta, children):
        return ast.Expectation("no_violation", str(children[0]), self._s(meta))

    def expect_obligation(self, meta, children):
        return ast.Expectation("obligation", str(children[0]), self._s(meta))

    def expect_missing(self, meta, children):
        path, index, field = children
        text = str(path) if index is None else f"{path}[{index}].{field}"
        return ast.Expectation("missing", text, self._s(meta))

    def at_least(self, meta, children):
        return True

    def expect_exposure(self, meta, children):
        bound, at_least, payer, value = children
        kind = f"exposure_{bound}" + ("_at_least" if at_least else "")
        return ast.Expectation(kind, value, self._s(meta), _string(payer) if payer else None)

    def expect_not_assessed(self, meta, children):
        return ast.Expectation("not_assessed", str(children[0]), self._s(meta))

    def expect_clause(self, meta, children):
        return self._item("expect", meta, expectations=tuple(children))

    def start(self, meta, children):
        return list(children)


# ---- grouping: attach clauses to their declaration -------------------------------------------

# which clause kinds each declaration accepts
_CLAUSES = {
    "regime": {"currency", "aggregate", "applies", "note"},
    "record": {"field"},
    "parameter": {"dated"},
    "rate": {"dated"},
    "fine": {"note"},
    "rule": {"dated", "when", "violation", "obligation", "duty", "topic_ref", "fine_ref", "note"},
    "exception": {"dated", "when", "obligation", "note"},
    "example": {"as_of", "given", "expect"},
}
_CLAUSE_WORDS = {
    "currency": "`currency`",
    "aggregate": "`aggregate`",
    "applies": "`applies when`",
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
_STANDALONE = {"enum", "fact", "define", "part_of", "topic", "derive", "level"}


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
        return ast.RegimeDecl(
            d["name"],
            head.span,
            d["title"],
            d["cite"],
            d["in_force"],
            currency.data["code"] if currency else None,
            currency.span if currency else None,
            aggregate.data["method"] if aggregate else None,
            aggregate.span if aggregate else None,
            aggregate.data["cite"] if aggregate else None,
            tuple(
                ast.Applies(c.data["condition"], c.data["cite"], c.span)
                for c in clauses
                if c.kind == "applies"
            ),
            notes,
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
                f"{d['base']}/{d['quote']}",
                head.span,
                d["base"],
                d["quote"],
                d["cite"],
                tuple(values),
            )
        return ast.ParameterDecl(
            d["name"], head.span, d["type"], d["description"], d["cite"], tuple(values)
        )
    if head.kind == "fine":
        return ast.FineDecl(
            d["name"],
            head.span,
            d["title"],
            d["kind"],
            d["low"],
            d["high"],
            d["payer"],
            d["cite"],
            notes,
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
        )
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
    if help_text is None:
        help_text = describe_expected(expected)
    return Diagnostic("E0001", message, span, help=help_text)


def _blank_item(text: str, error_line: int) -> str:
    """Blank the declaration containing `error_line` so parsing can resume after it."""
    lines = text.split("\n")
    start = max(0, min(error_line, len(lines)) - 1)
    while start > 0 and not _DECL_START.match(lines[start]):
        start -= 1
    end = start + 1
    while end < len(lines) and not _DECL_START.match(lines[end]):
        end += 1
    for i in range(start, end):
        lines[i] = ""
    return "\n".join(lines)


# Deeper parse trees than this are refused with a located error: the checker and both back
# ends walk expressions recursively, and 247 nested `and`s exhausted Python's stack.
MAX_NESTING = 100


def _too_deep(file: str, tree: Tree) -> Diagnostic | None:
    """A located error for the first subtree nested deeper than MAX_NESTING (an iterative
    walk: the check itself must not recurse)."""
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            return Diagnostic(
                "E0001", f"this expression is nested more than {MAX_NESTING} levels deep",
                _span(file, node),
                help="name parts of it with `define …` and combine the names",
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return None


def parse_module(text: str, file: str = "<policy>") -> tuple[ast.Module, list[Diagnostic]]:
    """Parse one policy file. Returns the module (possibly partial) and every diagnostic found."""
    diagnostics: list[Diagnostic] = []
    comments: list[ast.Comment] = []
    # One pass over the lines (counting newlines from the start for each comment was
    # quadratic: 1 MB of comments took 15 s). A line's comment starts at its first `#` outside
    # a string (strings never contain newlines).
    for line, source_line in enumerate(text.split("\n"), start=1):
        hash_at = source_line.find("#")
        if hash_at >= 0 and source_line.count('"', 0, hash_at) % 2 == 0:
            comment, col = source_line[hash_at:], hash_at + 1
            comments.append(ast.Comment(comment, Span(file, line, col, line, col + len(comment))))
    current = text
    tree = None
    for _ in range(MAX_ERRORS_PER_FILE):
        try:
            tree = _lark().parse(current)
            too_deep = _too_deep(file, tree)
            if too_deep is not None:
                diagnostics.append(too_deep)
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
