"""Checking `retention` limits (part of stage 2): the categories and purposes are members of the
vocabulary's `data_category` and `purpose` enums, the anchor is a date field and the condition a
bool field of the `customer_record` record, the period is whole days or months, the action is
`delete` or `anonymise`, and the limit names its source (a statute or "internal policy")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ast, ir
from .diagnostics import Span, did_you_mean
from .types import BOOL, DATE, UNITS, Type

if TYPE_CHECKING:
    from .checker import Checker

RECORD = "customer_record"  # the record type that describes one row of a retention table
CATEGORY_ENUM = "data_category"
PURPOSE_ENUM = "purpose"
ACTIONS = ("delete", "anonymise")
# hours are not a retention period (a record's dates are days); business days have no calendar
_PERIOD_UNITS = {"days", "weeks", "months", "years"}


def _members(checker: Checker, names: tuple[tuple[str, Span], ...], enum: str) -> frozenset[str]:
    declared = checker.enums.get(enum)
    if declared is None:
        return frozenset(n for n, _ in names)  # the missing enum is reported once, elsewhere
    for name, span in names:
        if name not in declared.members:
            checker.error(
                "E0103",
                f"`{name}` is not a member of `{enum}`",
                span,
                help=did_you_mean(name, declared.members) or f"declare it in `enum {enum}`",
            )
    return frozenset(n for n, _ in names)


def _field(checker: Checker, named: tuple[str, Span], wanted: Type, what: str) -> None:
    name, span = named
    record = checker.records.get(RECORD)
    if record is None:
        checker.error(
            "E0107",
            f"unknown type `{RECORD}`: a retention limit reads the fields of customer records",
            span,
            help=f'declare `record {RECORD} "…"` with its date fields in policies/common/',
        )
        return
    found = record.field(name)
    if found is None:
        fields = [n for n, _ in record.fields]
        checker.error(
            "E0102",
            f"`{RECORD}` has no field `{name}`",
            span,
            help=did_you_mean(name, fields) or f"declare `field {name}: {wanted}` in {RECORD}",
        )
    elif found != wanted:
        checker.error(
            "E0201",
            f"{what} must be a {wanted} field; `{name}` is {found}",
            span,
            help=f"name a {wanted} field of `{RECORD}`",
        )


def check_limit(checker: Checker, decl: ast.RetentionDecl, regime: str | None) -> ir.RetentionLimit:
    categories = _members(checker, decl.categories, CATEGORY_ENUM)
    purposes = _members(checker, decl.purposes, PURPOSE_ENUM)
    _field(checker, decl.anchor, DATE, "the date a retention period counts from")
    if decl.condition is not None:
        _field(checker, decl.condition, BOOL, "the condition of a retention limit")
    action, action_span = decl.action
    if action not in ACTIONS:
        checker.error(
            "E0203",
            f"`{action}` is not a retention action",
            action_span,
            help=did_you_mean(action, ACTIONS) or "write `then delete` or `then anonymise`",
        )
    unit = decl.keep.unit or ""
    whole = decl.keep.value == decl.keep.value.to_integral_value()
    if unit not in _PERIOD_UNITS or not whole:
        checker.error(
            "E0203",
            f"a retention period is a whole number of days, weeks, months or years, "
            f"not `{decl.keep.value} {unit}`",
            decl.keep.span,
            help="write e.g. `keep 24 months after last_interaction`",
        )
        unit, whole = "days", True
    dimension, factor = UNITS[unit]
    checker.require_citation(
        decl.cite is not None,
        f"retention limit `{decl.name}`",
        decl.span,
        'add `cite "Art. 5(1)(e)"` (the statute it serves) or `cite "internal policy"`',
    )
    return ir.RetentionLimit(
        name=decl.name,
        title=decl.title,
        regime=regime,
        categories=categories,
        purposes=purposes,
        keep_amount=int(decl.keep.value) * factor,
        keep_dimension=dimension,
        anchor=decl.anchor[0],
        condition=decl.condition[0] if decl.condition else None,
        action=action if action in ACTIONS else ACTIONS[0],
        cite=decl.cite.text if decl.cite else None,
        span=decl.span,
    )


def check_retention(
    checker: Checker, declared: list[tuple[ast.RetentionDecl, str | None]]
) -> tuple[ir.RetentionLimit, ...]:
    return tuple(check_limit(checker, decl, regime) for decl, regime in declared)


__all__ = ["ACTIONS", "RECORD", "check_retention"]
