"""Stage 1, first half: the Lark parse tree to AST expressions and flat items.

A Lark `Transformer` (as Lark's own `examples/advanced/create_ast.py` does): terminals are
converted once, here — numbers and money to exact Decimals, dates, durations with their units —
and every node gets its source span. engine/grouping.py then attaches clauses to declarations.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from lark import Token, Transformer, Tree, v_args
from lark.tree import Meta

from . import ast
from .diagnostics import Diagnostic, Span
from .grouping import _Item

SCALES = {"thousand": Decimal(1000), "million": Decimal(10) ** 6, "billion": Decimal(10) ** 9}
CURRENCY_ALIASES = {"RMB": "CNY"}


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


# A fine's formula: (kind, low end or None, high end); a deadline: (duration, anchor fact).
_Formula = tuple[ast.FineKind, ast.Expr | None, ast.Expr]
_Deadline = tuple[ast.NumberLit, tuple[str, Span] | None]


class _ItemError(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


@v_args(meta=True)
class _Builder(Transformer[Token, list[_Item]]):
    """Tree -> AST expressions and `_Item`s. Terminals are converted once, here."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _s(self, meta: Any) -> Span:
        return _span(self.file, meta)

    # -- atoms
    def name(self, meta: Meta, children: list[Any]) -> ast.Name:
        return ast.Name(self._s(meta), str(children[0]))

    def number(self, meta: Meta, children: list[Any]) -> ast.NumberLit:
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

    def duration(self, meta: Meta, children: list[Any]) -> ast.NumberLit:
        return self.number(meta, [children[0], None, children[1]])

    def money(self, meta: Meta, children: list[Any]) -> ast.MoneyLit:
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

    def percent(self, meta: Meta, children: list[Any]) -> ast.PercentLit:
        text = str(children[0]).replace("%", "").strip()
        return ast.PercentLit(self._s(meta), Decimal(text) / 100)

    def date(self, meta: Meta, children: list[Any]) -> ast.DateLit:
        return ast.DateLit(self._s(meta), _date(children[0], self.file))

    def text(self, meta: Meta, children: list[Any]) -> ast.TextLit:
        return ast.TextLit(self._s(meta), _string(children[0]))

    def code(self, meta: Meta, children: list[Any]) -> ast.CodeLit:
        return ast.CodeLit(self._s(meta), str(children[0]))

    def true(self, meta: Meta, children: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(self._s(meta), True)

    def false(self, meta: Meta, children: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(self._s(meta), False)

    def empty_set(self, meta: Meta, children: list[Any]) -> ast.SetLit:
        return ast.SetLit(self._s(meta), ())

    def set_literal(self, meta: Meta, children: list[Any]) -> ast.SetLit:
        return ast.SetLit(self._s(meta), tuple(c for c in children if c is not None))

    def list_literal(self, meta: Meta, children: list[Any]) -> ast.ListLit:
        return ast.ListLit(self._s(meta), tuple(c for c in children if c is not None))

    def map_literal(self, meta: Meta, children: list[Any]) -> ast.MapLit:
        return ast.MapLit(self._s(meta), tuple(c for c in children if c is not None))

    def entry(self, meta: Meta, children: list[Any]) -> tuple[str, Span, ast.Expr]:
        key, value = children
        return (str(key), _span(self.file, key), value)

    def call(self, meta: Meta, children: list[Any]) -> ast.Call:
        function, *args = children
        return ast.Call(
            self._s(meta), str(function), _span(self.file, function), tuple(a for a in args if a)
        )

    def convert(self, meta: Meta, children: list[Any]) -> ast.Convert:
        currency = CURRENCY_ALIASES.get(str(children[1]), str(children[1]))
        return ast.Convert(self._s(meta), children[0], currency)

    def index(self, meta: Meta, children: list[Any]) -> ast.Index:
        return ast.Index(self._s(meta), children[0], children[1])

    # -- operators
    @staticmethod
    def _binary(op: str) -> Callable[[_Builder, Meta, list[Any]], ast.Binary]:
        def build(self: _Builder, meta: Meta, children: list[Any]) -> ast.Binary:
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

    def and_op(self, meta: Meta, children: list[Any]) -> ast.BoolOp:
        return ast.BoolOp(self._s(meta), "and", children[0], children[1])

    def or_op(self, meta: Meta, children: list[Any]) -> ast.BoolOp:
        return ast.BoolOp(self._s(meta), "or", children[0], children[1])

    def not_op(self, meta: Meta, children: list[Any]) -> ast.Not:
        return ast.Not(self._s(meta), children[0])

    def negate(self, meta: Meta, children: list[Any]) -> ast.Negate:
        return ast.Negate(self._s(meta), children[0])

    def is_missing(self, meta: Meta, children: list[Any]) -> ast.Knownness:
        return ast.Knownness(self._s(meta), children[0], known=False)

    def is_known(self, meta: Meta, children: list[Any]) -> ast.Knownness:
        return ast.Knownness(self._s(meta), children[0], known=True)

    def if_then_else(self, meta: Meta, children: list[Any]) -> ast.IfThenElse:
        return ast.IfThenElse(self._s(meta), *children)

    def quant(self, meta: Meta, children: list[Any]) -> ast.LoopKind:
        return ast.LoopKind(str(children[0]))

    def quantifier(self, meta: Meta, children: list[Any]) -> ast.Quantifier:
        kind, variable, collection, condition = children
        return ast.Quantifier(self._s(meta), kind, str(variable), collection, condition)

    def sum_over(self, meta: Meta, children: list[Any]) -> ast.SumOver:
        value, variable, collection, condition = children
        return ast.SumOver(self._s(meta), value, str(variable), collection, condition)

    # -- types
    def simple_type(self, meta: Meta, children: list[Any]) -> ast.TypeRef:
        return ast.TypeRef(self._s(meta), ast.TypeShape.SIMPLE, str(children[0]))

    def set_type(self, meta: Meta, children: list[Any]) -> ast.TypeRef:
        return ast.TypeRef(self._s(meta), ast.TypeShape.SET, str(children[0]))

    def list_type(self, meta: Meta, children: list[Any]) -> ast.TypeRef:
        return ast.TypeRef(self._s(meta), ast.TypeShape.LIST, str(children[0]))

    def map_type(self, meta: Meta, children: list[Any]) -> ast.TypeRef:
        return ast.TypeRef(self._s(meta), ast.TypeShape.MAP, str(children[0]), str(children[1]))

    # -- clause pieces
    def cite(self, meta: Meta, children: list[Any]) -> ast.Citation:
        return ast.Citation(_string(children[0]), self._s(meta))

    def payer(self, meta: Meta, children: list[Any]) -> str:
        return _string(children[0])

    def in_force(self, meta: Meta, children: list[Any]) -> ast.Period:
        start, end = children
        return ast.Period(
            _date(start, self.file), _date(end, self.file) if end else None, self._s(meta)
        )

    def status(self, meta: Meta, children: list[Any]) -> str:
        return str(children[0])

    def bound(self, meta: Meta, children: list[Any]) -> str:
        return str(children[0])

    def _item(self, item_kind: str, meta: Any, **data: Any) -> _Item:
        return _Item(item_kind, self._s(meta), data)

    # -- items
    def regime_head(self, meta: Meta, children: list[Any]) -> _Item:
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

    def part_of(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("part_of", meta, name=str(children[0]))

    def currency_clause(self, meta: Meta, children: list[Any]) -> _Item:
        code = CURRENCY_ALIASES.get(str(children[0]), str(children[0]))
        return self._item("currency", meta, code=code)

    def aggregate_clause(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("aggregate", meta, method=str(children[0]), cite=children[1])

    def kind_clause(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("kind", meta, word=str(children[0]))

    def severity_clause(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("severity", meta, word=str(children[0]))

    def applies_clause(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("applies", meta, condition=children[0], cite=children[1])

    def enum_decl(self, meta: Meta, children: list[Any]) -> _Item:
        name, description, *members = children
        return self._item(
            "enum",
            meta,
            name=str(name),
            description=description and _string(description),
            members=tuple((str(m), _span(self.file, m)) for m in members),
        )

    def record_head(self, meta: Meta, children: list[Any]) -> _Item:
        name, description = children
        return self._item(
            "record", meta, name=str(name), description=description and _string(description)
        )

    def field_decl(self, meta: Meta, children: list[Any]) -> _Item:
        name, type_ref, description = children
        return self._item(
            "field",
            meta,
            name=str(name),
            type=type_ref,
            description=description and _string(description),
        )

    def fact_decl(self, meta: Meta, children: list[Any]) -> _Item:
        name, type_ref, description = children
        return self._item(
            "fact",
            meta,
            name=str(name),
            type=type_ref,
            description=description and _string(description),
        )

    def define_decl(self, meta: Meta, children: list[Any]) -> _Item:
        name, type_ref, value, cite = children
        return self._item("define", meta, name=str(name), type=type_ref, value=value, cite=cite)

    def parameter_head(self, meta: Meta, children: list[Any]) -> _Item:
        name, type_ref, description, cite = children
        return self._item(
            "parameter",
            meta,
            name=str(name),
            type=type_ref,
            description=description and _string(description),
            cite=cite,
        )

    def dated(self, meta: Meta, children: list[Any]) -> _Item:
        start, end, value, cite = children
        period = ast.Period(
            _date(start, self.file), _date(end, self.file) if end else None, self._s(meta)
        )
        return self._item("dated", meta, period=period, value=value, cite=cite)

    def rate_head(self, meta: Meta, children: list[Any]) -> _Item:
        base, quote, cite = children
        return self._item(
            "rate",
            meta,
            base=CURRENCY_ALIASES.get(str(base), str(base)),
            quote=CURRENCY_ALIASES.get(str(quote), str(quote)),
            cite=cite,
        )

    def fine_up_to(self, meta: Meta, children: list[Any]) -> _Formula:
        return (ast.FineKind.UP_TO, None, children[0])

    def fine_between(self, meta: Meta, children: list[Any]) -> _Formula:
        return (ast.FineKind.BETWEEN, children[0], children[1])

    def fine_exactly(self, meta: Meta, children: list[Any]) -> _Formula:
        return (ast.FineKind.EXACTLY, None, children[0])

    def fine_decl(self, meta: Meta, children: list[Any]) -> _Item:
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

    def fine_ref(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item(
            "fine_ref", meta, names=tuple((str(n), _span(self.file, n)) for n in children)
        )

    def rule_head(self, meta: Meta, children: list[Any]) -> _Item:
        name, title, cite = children
        return self._item("rule", meta, name=str(name), title=title and _string(title), cite=cite)

    def exception_head(self, meta: Meta, children: list[Any]) -> _Item:
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

    def when_clause(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("when", meta, condition=children[0])

    def violation_when(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("violation", meta, condition=children[0], unless=False)

    def violation_unless(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("violation", meta, condition=children[0], unless=True)

    def deadline(self, meta: Meta, children: list[Any]) -> _Deadline:
        duration, anchor = children
        return (duration, (str(anchor), _span(self.file, anchor)) if anchor is not None else None)

    def obligation_clause(self, meta: Meta, children: list[Any]) -> _Item:
        text, deadline, condition, cite = children
        within, anchor = deadline or (None, None)
        return self._item(
            "obligation",
            meta,
            obligation=ast.Obligation(
                text=_string(text),
                within=within,
                condition=condition,
                cite=cite,
                span=self._s(meta),
                anchor=anchor,
            ),
        )

    def note_clause(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("note", meta, text=_string(children[0]))

    def duty_clause(self, meta: Meta, children: list[Any]) -> _Item:
        text, deadline, met, cite = children
        within, anchor = deadline or (None, None)
        return self._item(
            "duty",
            meta,
            duty=ast.Duty(
                text=_string(text),
                within=within,
                met=met,
                cite=cite,
                span=self._s(meta),
                anchor=anchor,
            ),
        )

    def topic_decl(self, meta: Meta, children: list[Any]) -> _Item:
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

    def topic_clause(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item(
            "topic_ref", meta, name=str(children[0]), name_span=_span(self.file, children[0])
        )

    def exact_pattern(self, meta: Meta, children: list[Any]) -> tuple[str, Span]:
        return (str(children[0]), self._s(meta))

    def prefix_pattern(self, meta: Meta, children: list[Any]) -> tuple[str, Span]:
        return (f"{children[0]}.*", self._s(meta))

    def field_pattern(self, meta: Meta, children: list[Any]) -> tuple[str, Span]:
        return (f"{children[0]}[].{children[1]}", self._s(meta))

    def organisation_facts(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("level", meta, name="organisation", patterns=tuple(children))

    def controllable_facts(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("level", meta, name="controllable", patterns=tuple(children))

    def derive_decl(self, meta: Meta, children: list[Any]) -> _Item:
        path, value, condition, cite = children
        return self._item(
            "derive", meta, name=str(path), value=value, condition=condition, cite=cite
        )

    def retention_decl(self, meta: Meta, children: list[Any]) -> _Item:
        name, title, categories, purposes, (keep, anchor, condition, action, cite) = children
        return self._item(
            "retention",
            meta,
            name=str(name),
            title=title and _string(title),
            categories=categories,
            purposes=purposes,
            keep=keep,
            anchor=self._named(anchor),
            condition=condition and self._named(condition),
            action=self._named(action),
            cite=cite,
        )

    def retention_keep(self, meta: Meta, children: list[Any]) -> list[Any]:
        return children

    def retention_names(self, meta: Meta, children: list[Any]) -> tuple[tuple[str, Span], ...]:
        return tuple(self._named(t) for t in children)

    def _named(self, token: Token) -> tuple[str, Span]:
        return (str(token), _span(self.file, token))

    def example_head(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("example", meta, name=_string(children[0]))

    def as_of_clause(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("as_of", meta, date=_date(children[0], self.file))

    def assignment(self, meta: Meta, children: list[Any]) -> ast.Assignment:
        return ast.Assignment(str(children[0]), children[1], self._s(meta))

    def given_clause(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("given", meta, assignments=tuple(children))

    def expect_status(self, meta: Meta, children: list[Any]) -> ast.Expectation:
        return ast.Expectation(ast.ExpectKind.STATUS, children[0], self._s(meta))

    def expect_violation(self, meta: Meta, children: list[Any]) -> ast.Expectation:
        return ast.Expectation(ast.ExpectKind.VIOLATION, str(children[0]), self._s(meta))

    def expect_no_violation(self, meta: Meta, children: list[Any]) -> ast.Expectation:
        return ast.Expectation(ast.ExpectKind.NO_VIOLATION, str(children[0]), self._s(meta))

    def expect_obligation(self, meta: Meta, children: list[Any]) -> ast.Expectation:
        return ast.Expectation(ast.ExpectKind.OBLIGATION, str(children[0]), self._s(meta))

    def expect_missing(self, meta: Meta, children: list[Any]) -> ast.Expectation:
        path, index, field = children
        text = str(path) if index is None else f"{path}[{index}].{field}"
        return ast.Expectation(ast.ExpectKind.MISSING, text, self._s(meta))

    def at_least(self, meta: Meta, children: list[Any]) -> bool:
        return True

    def expect_exposure(self, meta: Meta, children: list[Any]) -> ast.Expectation:
        bound, at_least, payer, value = children
        kind = ast.ExpectKind(f"exposure_{bound}" + ("_at_least" if at_least else ""))
        return ast.Expectation(kind, value, self._s(meta), _string(payer) if payer else None)

    def expect_not_assessed(self, meta: Meta, children: list[Any]) -> ast.Expectation:
        return ast.Expectation(ast.ExpectKind.NOT_ASSESSED, str(children[0]), self._s(meta))

    def expect_clause(self, meta: Meta, children: list[Any]) -> _Item:
        return self._item("expect", meta, expectations=tuple(children))

    def start(self, meta: Meta, children: list[Any]) -> list[_Item]:
        return list(children)
