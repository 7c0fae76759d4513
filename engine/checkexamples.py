"""Checking `example` blocks (part of stage 2): the facts an example gives, as the operation JSON
a CRM would send, and the expectations it states. Split from checker.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ast, ir
from .diagnostics import Span, did_you_mean
from .exprcheck import Scope
from .types import ERROR, UNITS, DurationType, ListType, MoneyType, Type
from .values import Duration

if TYPE_CHECKING:
    from .checker import Checker

DEFAULT_PAYER = "organisation"


_Kind = ast.ExpectKind
_ABOUT_A_RULE = {_Kind.VIOLATION, _Kind.NO_VIOLATION, _Kind.OBLIGATION}
_ABOUT_EXPOSURE = {_Kind.EXPOSURE_MIN, _Kind.EXPOSURE_MAX, _Kind.EXPOSURE_MAX_AT_LEAST}


def check_example(
    checker: Checker,
    decl: ast.ExampleDecl,
    regime: str,
    currency: str,
    rules: dict[str, ir.CheckedRule],
) -> ir.CheckedExample:
    scope = checker.scope(regime, currency, constant=True)
    given = []
    for assignment in decl.given:
        info = checker.facts.get(assignment.path)
        if info is None:
            checker.error(
                "E0101",
                f"unknown fact `{assignment.path}`",
                assignment.span,
                help=did_you_mean(assignment.path, checker.facts),
            )
            continue
        if info.type == ERROR:  # the fact's type has its diagnostic: one mistake, one message
            continue
        value = example_value(checker, assignment.value, info.type, info.unit, scope)
        given.append((assignment.path, value))
    expect: list[tuple[ast.ExpectKind, Any, Span]] = []
    for e in decl.expect:
        if e.kind in _ABOUT_A_RULE and e.value not in rules:
            checker.error(
                "E0114",
                f"unknown rule `{e.value}` in {regime}",
                e.span,
                help=did_you_mean(str(e.value), rules),
            )
            continue
        if e.kind == ast.ExpectKind.MISSING and not any(
            str(e.value) == p or str(e.value).startswith(p + "[") for p in checker.facts
        ):
            checker.error(
                "E0101",
                f"unknown fact `{e.value}`",
                e.span,
                help=did_you_mean(str(e.value), checker.facts),
            )
            continue
        if e.kind == ast.ExpectKind.NOT_ASSESSED and e.value not in checker.topics[regime]:
            checker.error(
                "E0117",
                f"unknown topic `{e.value}` in {regime}",
                e.span,
                help=did_you_mean(str(e.value), checker.topics[regime]),
            )
            continue
        if e.kind == ast.ExpectKind.EXPOSURE_MIN_AT_LEAST:
            checker.error(
                "E0119",
                "`at least` goes with `exposure max`",
                e.span,
                help="a floor is for an unknown maximum: `exposure max at least = …`",
            )
            continue
        if e.kind in _ABOUT_EXPOSURE:
            assert isinstance(e.value, ast.Expr)
            node = checker.exprs.expect(e.value, scope, MoneyType("money", None), "an exposure")
            payers = {f.payer or DEFAULT_PAYER for f in checker.fines[regime].values()}
            if e.payer is not None and e.payer not in payers:
                checker.error(
                    "E0116",
                    f"no fine of {regime} is payable by `{e.payer}`",
                    e.span,
                    help=did_you_mean(e.payer, payers)
                    or "payers: " + ", ".join(f"`{p}`" for p in sorted(payers)),
                )
            expect.append((e.kind, (node, e.payer or DEFAULT_PAYER), e.span))
            continue
        expect.append((e.kind, e.value, e.span))
    if not any(kind == ast.ExpectKind.STATUS for kind, _, _ in expect):
        checker.error(
            "E0313",
            "this example expects no status",
            decl.span,
            help="add `expect denied` (or allowed, undetermined, …)",
        )
    return ir.CheckedExample(
        description=decl.name,
        regime=regime,
        as_of=decl.as_of,
        given=tuple(given),
        expect=tuple(expect),
        span=decl.span,
    )


def example_value(
    checker: Checker, expr: ast.Expr, wanted: Type, unit: str | None, scope: Scope
) -> object:
    """An example's literal as the operation JSON a CRM would send (validated later by the
    same vocabulary model as a real request)."""
    if isinstance(wanted, ListType):
        if not isinstance(expr, ast.ListLit):
            checker.error(
                "E0201",
                f"expected a list of `{wanted.element.name}` records",
                expr.span,
                help="write `[{field: value, …}, …]`",
            )
            return None
        records = []
        for item in expr.items:
            if not isinstance(item, ast.MapLit):
                checker.error("E0201", "expected a record `{field: value, …}`", item.span)
                continue
            record = {}
            for key, key_span, value in item.entries:
                field_type = wanted.element.field(key)
                if field_type is None:
                    checker.error(
                        "E0102",
                        f"record `{wanted.element.name}` has no field `{key}`",
                        key_span,
                        help=did_you_mean(key, dict(wanted.element.fields)),
                    )
                    continue
                field_unit = None
                if isinstance(field_type, DurationType):
                    field_unit = next(u for u in UNITS if UNITS[u][0] == field_type.dimension)
                record[key] = example_value(checker, value, field_type, field_unit, scope)
            records.append(record)
        return records
    node = checker.exprs.expect(expr, scope, wanted, "the example value")
    if not isinstance(node, ir.Const):
        if node.type != ERROR:
            checker.error("E0203", "an example value must be a literal", expr.span)
        return None
    return to_wire(node.value, wanted, unit)


def to_wire(value: object, wanted: Type, unit: str | None) -> object:
    """A checked constant as operation JSON: what a CRM would send for it."""
    from .values import Money, Percent, format_decimal

    if isinstance(value, frozenset):
        # a member that did not check is None here (its error is reported): no crash on it
        return None if None in value else sorted(value)
    if isinstance(value, Money):
        return {"amount": format_decimal(value.amount), "currency": value.currency}
    if isinstance(value, Percent):
        return value.fraction  # a JSON number: the fraction
    if isinstance(value, Duration):
        factor = UNITS[unit][1] if unit else 1
        return format_decimal(value.amount / factor)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
