"""Type checking of expressions: AST expression -> typed IR node, with diagnostics.

Names resolve in this order: quantifier variables, definitions, parameters, facts, and last the
members of the enumeration the context expects (so `legal_basis is none` reads `none` as a
`legal_basis` member). An expression that already produced a diagnostic gets the type `ERROR`,
which is compatible with everything, so one mistake yields one message and no follow-on noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from . import ast, ir
from .diagnostics import Diagnostic, Span, did_you_mean
from .ir import OpCode
from .typerules import ARITHMETIC, SET_RELATIONS, VERBS, ordered
from .types import (
    BOOL,
    CODE,
    COUNT,
    DATE,
    DURATION_TYPES,
    ERROR,
    NUMBER,
    PERCENT,
    TEXT,
    UNITS,
    DurationType,
    EnumType,
    ListType,
    MapType,
    MoneyType,
    RecordType,
    SetType,
    Type,
    compatible,
    is_numeric,
)
from .values import KNOWN_CURRENCIES, Duration, Money, Percent

ORDERED = "ordered"


@dataclass(kw_only=True)
class Scope:
    """What names mean inside one regime (or the bundle-wide common files)."""

    regime: str
    currency: str | None
    facts: dict[str, ir.FactInfo]
    enums: dict[str, EnumType]
    parameters: dict[str, Type]  # name -> declared type
    define: Callable[[str, Span], ir.Node | None]  # resolves a definition, None if unknown
    define_names: Callable[[], list[str]]
    variables: dict[str, Type] = field(default_factory=dict)
    constant: bool = False  # parameter values and example expectations: no facts allowed

    def with_variable(self, name: str, type_: Type) -> Scope:
        return replace(self, variables={**self.variables, name: type_})


def _describe(t: Type) -> str:
    return str(t)


def _plain(expr: ast.Expr) -> str:
    if isinstance(expr, ast.NumberLit):
        from .values import format_decimal

        return format_decimal(expr.value)
    return "…"


class ExprChecker:
    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics

    def error(self, code: str, message: str, span: Span, help: str | None = None) -> ir.Node:
        self.diagnostics.append(Diagnostic(code, message, span, help=help))
        return ir.Const(ERROR, span, None)

    # ---- entry points -----------------------------------------------------------------------

    def check(self, expr: ast.Expr, scope: Scope, expected: Type | None = None) -> ir.Node:
        method: Callable[[ast.Expr, Scope, Type | None], ir.Node]
        method = getattr(self, f"_{type(expr).__name__}")
        return method(expr, scope, expected)

    def expect(self, expr: ast.Expr, scope: Scope, wanted: Type, what: str) -> ir.Node:
        node = self.check(expr, scope, wanted)
        if not compatible(node.type, wanted):
            help_text = None
            if isinstance(wanted, DurationType) and is_numeric(node.type):
                unit = {"hours": "hours", "months": "years"}.get(wanted.dimension, "business days")
                help_text = f"say the unit, e.g. `{_plain(expr)} {unit}`"
            elif isinstance(wanted, MoneyType) and is_numeric(node.type):
                help_text = f"say the currency, e.g. `{wanted.currency or 'EUR'} {_plain(expr)}`"
            return self.error(
                "E0201",
                f"{what} must be {_describe(wanted)}, not {_describe(node.type)}",
                expr.span,
                help=help_text,
            )
        return node

    def condition(self, expr: ast.Expr, scope: Scope, what: str = "a condition") -> ir.Node:
        return self.expect(expr, scope, BOOL, what)

    # ---- names --------------------------------------------------------------------------------

    def declared(self, expr: ast.Expr, scope: Scope) -> bool:
        """Whether `expr` can be typed without context (not a bare enum member or such)."""
        if isinstance(expr, ast.Name):
            head = expr.path.split(".")[0]
            return (
                head in scope.variables
                or expr.path in scope.parameters
                or expr.path in scope.facts
                or expr.path in scope.define_names()
            )
        if isinstance(expr, ast.SetLit):
            return bool(expr.items) and self.declared(expr.items[0], scope)
        return True

    def _Name(self, expr: ast.Name, scope: Scope, expected: Type | None) -> ir.Node:
        path = expr.path
        head, _, rest = path.partition(".")
        if head in scope.variables:
            node: ir.Node = ir.Var(scope.variables[head], expr.span, head)
            for part in rest.split(".") if rest else []:
                if not isinstance(node.type, RecordType):
                    return self.error("E0102", f"`{node.type}` has no field `{part}`", expr.span)
                field_type = node.type.field(part)
                if field_type is None:
                    names = [n for n, _ in node.type.fields]
                    return self.error(
                        "E0102",
                        f"record `{node.type.name}` has no field `{part}`",
                        expr.span,
                        help=did_you_mean(part, names) or f"its fields are: {', '.join(names)}",
                    )
                currency = scope.currency if isinstance(field_type, MoneyType) else None
                if currency:
                    field_type = MoneyType("money", currency)
                node = ir.Field(field_type, expr.span, node, part, currency)
            return node
        define = scope.define(path, expr.span)
        if define is not None:
            return define
        if path == "as_of":  # the date the law is applied at: deadlines counted from it
            return ir.Op(DATE, expr.span, OpCode.AS_OF, ())
        if path in scope.parameters:
            return ir.Param(scope.parameters[path], expr.span, path, scope.regime)
        if path in scope.facts:
            if scope.constant:
                return self.error(
                    "E0203",
                    f"fact `{path}` cannot be used here",
                    expr.span,
                    help="parameter values and expected figures are constants",
                )
            info = scope.facts[path]
            if isinstance(info.type, MoneyType) and scope.currency:
                return ir.Fact(MoneyType("money", scope.currency), expr.span, path, scope.currency)
            return ir.Fact(info.type, expr.span, path)
        member_of = expected.element if isinstance(expected, SetType) else expected
        if isinstance(member_of, EnumType):
            if path in member_of.members:
                return ir.Const(member_of, expr.span, path)
            return self.error(
                "E0103",
                f"`{path}` is not a member of {member_of}",
                expr.span,
                help=did_you_mean(path, member_of.members)
                or f"its members are: {', '.join(member_of.members)}",
            )
        for fact_path, info in scope.facts.items():
            if isinstance(info.type, ListType) and path.startswith(fact_path + "."):
                inner = path[len(fact_path) + 1 :]
                return self.error(
                    "E0104",
                    f"`{fact_path}` is a list; it has no single `{inner}`",
                    expr.span,
                    help=f"look inside it, e.g. `any t in {fact_path} where t.{inner} …`",
                )
        candidates = [*scope.facts, *scope.parameters, *scope.define_names(), *scope.variables]
        suggestion = did_you_mean(path, candidates)
        if suggestion is None:
            members = [m for e in scope.enums.values() for m in e.members]
            if path in members:
                suggestion = (
                    f"`{path}` is a member of "
                    + ", ".join(f"`{e.name}`" for e in scope.enums.values() if path in e.members)
                    + "; compare it with a fact of that type, e.g. `legal_basis is none`"
                )
        kind = "fact" if "." in path else "name"
        return self.error("E0101", f"unknown {kind} `{path}`", expr.span, help=suggestion)

    # ---- literals ------------------------------------------------------------------------------

    def _NumberLit(self, expr: ast.NumberLit, scope: Scope, expected: Type | None) -> ir.Node:
        if expr.unit is not None:
            dimension, factor = UNITS[expr.unit]
            return ir.Const(
                DURATION_TYPES[dimension], expr.span, Duration(expr.value * factor, dimension)
            )
        if expr.value == expr.value.to_integral_value():
            return ir.Const(COUNT, expr.span, int(expr.value))
        return ir.Const(NUMBER, expr.span, expr.value)

    def _MoneyLit(self, expr: ast.MoneyLit, scope: Scope, expected: Type | None) -> ir.Node:
        if expr.currency not in KNOWN_CURRENCIES:
            return self.error(
                "E0204",
                f"unknown currency `{expr.currency}`",
                expr.span,
                help=did_you_mean(expr.currency, KNOWN_CURRENCIES)
                or f"known currencies: {', '.join(sorted(KNOWN_CURRENCIES))} (and RMB for CNY)",
            )
        return ir.Const(
            MoneyType("money", expr.currency), expr.span, Money(expr.amount, expr.currency)
        )

    def _PercentLit(self, expr: ast.PercentLit, scope: Scope, expected: Type | None) -> ir.Node:
        return ir.Const(PERCENT, expr.span, Percent(expr.fraction))

    def _DateLit(self, expr: ast.DateLit, scope: Scope, expected: Type | None) -> ir.Node:
        return ir.Const(DATE, expr.span, expr.value)

    def _TextLit(self, expr: ast.TextLit, scope: Scope, expected: Type | None) -> ir.Node:
        return ir.Const(TEXT, expr.span, expr.value)

    def _CodeLit(self, expr: ast.CodeLit, scope: Scope, expected: Type | None) -> ir.Node:
        return ir.Const(CODE, expr.span, expr.value)

    def _BoolLit(self, expr: ast.BoolLit, scope: Scope, expected: Type | None) -> ir.Node:
        return ir.Const(BOOL, expr.span, expr.value)

    def _SetLit(self, expr: ast.SetLit, scope: Scope, expected: Type | None) -> ir.Node:
        element_expected = expected.element if isinstance(expected, SetType) else None
        items = [self.check(item, scope, element_expected) for item in expr.items]
        if not items:
            return ir.Const(
                expected if isinstance(expected, SetType) else SetType("set", ERROR),
                expr.span,
                frozenset(),
            )
        element = next((i.type for i in items if i.type != ERROR), ERROR)
        for item, node in zip(expr.items, items, strict=True):
            if not compatible(node.type, element):
                return self.error(
                    "E0205",
                    f"a set mixes {element} and {node.type}",
                    item.span,
                    help="every member of a set has the same type",
                )
        constants = [i for i in items if isinstance(i, ir.Const)]
        if len(constants) == len(items):
            return ir.Const(
                SetType("set", element), expr.span, frozenset(c.value for c in constants)
            )
        return ir.Op(SetType("set", element), expr.span, OpCode.SET, tuple(items))

    def _ListLit(self, expr: ast.ListLit, scope: Scope, expected: Type | None) -> ir.Node:
        return self.error("E0206", "a list can only be given in an example's `given`", expr.span)

    def _MapLit(self, expr: ast.MapLit, scope: Scope, expected: Type | None) -> ir.Node:
        if not isinstance(expected, MapType):
            return self.error(
                "E0206",
                "a table `{KEY: value, …}` is only allowed as a parameter's value",
                expr.span,
                help="declare it as `parameter NAME: map of country to years`",
            )
        entries = {}
        for key, key_span, value in expr.entries:
            node = self.expect(value, scope, expected.value, f"the value for `{key}`")
            if key in entries:
                self.error("E0207", f"`{key}` appears twice in this table", key_span)
            if expected.key == CODE and not key.isupper():
                self.error("E0207", f"`{key}` is not a country code", key_span)
            if isinstance(expected.key, EnumType) and key not in expected.key.members:
                self.error(
                    "E0103",
                    f"`{key}` is not a member of {expected.key}",
                    key_span,
                    help=did_you_mean(key, expected.key.members)
                    or f"its members are: {', '.join(expected.key.members)}",
                )
            if isinstance(node, ir.Const):
                entries[key] = node.value
        return ir.Const(expected, expr.span, entries)

    # ---- operators ----------------------------------------------------------------------------

    def _BoolOp(self, expr: ast.BoolOp, scope: Scope, expected: Type | None) -> ir.Node:
        left = self.condition(expr.left, scope, f"each side of `{expr.op}`")
        right = self.condition(expr.right, scope, f"each side of `{expr.op}`")
        return ir.Op(BOOL, expr.span, OpCode(expr.op), (left, right))

    def _Not(self, expr: ast.Not, scope: Scope, expected: Type | None) -> ir.Node:
        return ir.Op(
            BOOL, expr.span, OpCode.NOT, (self.condition(expr.operand, scope, "`not`'s operand"),)
        )

    def _Negate(self, expr: ast.Negate, scope: Scope, expected: Type | None) -> ir.Node:
        node = self.check(expr.operand, scope)
        if not (is_numeric(node.type) or isinstance(node.type, MoneyType) or node.type == ERROR):
            return self.error("E0208", f"cannot negate {node.type}", expr.span)
        return ir.Op(NUMBER if node.type == COUNT else node.type, expr.span, OpCode.NEG, (node,))

    def _Knownness(self, expr: ast.Knownness, scope: Scope, expected: Type | None) -> ir.Node:
        node = self.check(expr.operand, scope)
        return ir.Op(BOOL, expr.span, OpCode.KNOWN if expr.known else OpCode.MISSING, (node,))

    def _pair(
        self,
        left: ast.Expr,
        right: ast.Expr,
        scope: Scope,
        context: Callable[[Type], Type | None],
        reverse: Callable[[Type], Type | None],
    ) -> tuple[ir.Node, ir.Node]:
        """Check two operands, letting the self-typed side give the other its context."""
        if not self.declared(left, scope) and self.declared(right, scope):
            r = self.check(right, scope)
            return self.check(left, scope, reverse(r.type)), r
        node = self.check(left, scope)
        return node, self.check(right, scope, context(node.type))

    def _Binary(self, expr: ast.Binary, scope: Scope, expected: Type | None) -> ir.Node:
        code = OpCode(expr.op)
        if code in (OpCode.EQ, OpCode.NE):
            return self._equality(expr, code, scope)
        if code in (OpCode.IN, OpCode.NOT_IN):
            return self._membership(expr, code, scope)
        if code in SET_RELATIONS:
            return self._set_relation(expr, code, scope)
        left = self.check(expr.left, scope)
        right = self.check(expr.right, scope)
        if ERROR in (left.type, right.type):
            return ir.Op(ERROR, expr.span, code, (left, right))
        if code in (OpCode.LT, OpCode.LE, OpCode.GT, OpCode.GE):
            if not compatible(left.type, right.type) or not ordered(left.type):
                return self._mismatch(expr, "compare", left.type, right.type)
            return ir.Op(BOOL, expr.span, code, (left, right))
        result = ARITHMETIC[code](left.type, right.type)
        if result is None:
            return self._mismatch(expr, VERBS[code], left.type, right.type)
        return ir.Op(result, expr.span, code, (left, right))

    def _equality(self, expr: ast.Binary, code: OpCode, scope: Scope) -> ir.Node:
        left, right = self._pair(expr.left, expr.right, scope, lambda t: t, lambda t: t)
        if not compatible(left.type, right.type):
            return self._mismatch(expr, "compare", left.type, right.type)
        return ir.Op(BOOL, expr.span, code, (left, right))

    def _membership(self, expr: ast.Binary, code: OpCode, scope: Scope) -> ir.Node:
        left, right = self._pair(
            expr.left,
            expr.right,
            scope,
            lambda t: SetType("set", t),
            lambda t: t.element if isinstance(t, SetType) else None,
        )
        if right.type == ERROR or left.type == ERROR:
            return ir.Op(BOOL, expr.span, code, (left, right))
        if not isinstance(right.type, SetType):
            return self.error(
                "E0209",
                f"`in` needs a set on its right, not {right.type}",
                expr.right.span,
                help="to compare two values use `=` or `is`",
            )
        if not compatible(left.type, right.type.element):
            return self._mismatch(expr, "look for", left.type, right.type)
        return ir.Op(BOOL, expr.span, code, (left, right))

    def _set_relation(self, expr: ast.Binary, code: OpCode, scope: Scope) -> ir.Node:
        """`meets` (two sets share a member) and `contains` (a set holds a value)."""
        right_from_left, left_from_right, wanted = SET_RELATIONS[code]
        left, right = self._pair(expr.left, expr.right, scope, right_from_left, left_from_right)
        if ERROR in (left.type, right.type):
            return ir.Op(BOOL, expr.span, code, (left, right))
        if not isinstance(left.type, SetType):
            return self.error(
                "E0209",
                f"`{code}` needs a set on its left, not {left.type}",
                expr.left.span,
                help="`meets` asks whether two sets share a member, e.g. "
                "`subjects.locations meets eea`",
            )
        want = wanted(left.type)
        if want is None or not compatible(right.type, want):
            return self._mismatch(expr, "match", left.type, right.type)
        return ir.Op(BOOL, expr.span, code, (left, right))

    def _mismatch(self, expr: ast.Binary, verb: str, a: Type, b: Type) -> ir.Node:
        help_text = None
        if isinstance(a, MoneyType) and isinstance(b, MoneyType):
            help_text = (
                f"convert one side first, e.g. `convert(… to {a.currency})`; rates are dated "
                "parameters in policies/common"
            )
        elif isinstance(a, DurationType) and isinstance(b, DurationType):
            help_text = "a month has no fixed number of days: state both sides in the same unit"
        elif {type(a), type(b)} & {EnumType} and TEXT in (a, b):
            help_text = "enumeration members are written without quotes"
        joiner = {
            "add": "to",
            "subtract": "from",
            "multiply": "by",
            "divide": "by",
            "take": "of",
        }.get(verb, "with")
        return self.error(
            "E0202",
            f"cannot {verb} {_describe(a)} {joiner} {_describe(b)}",
            expr.span,
            help=help_text,
        )

    def _Call(self, expr: ast.Call, scope: Scope, expected: Type | None) -> ir.Node:
        name = expr.function
        if name in ("max", "min"):
            if not expr.args:
                return self.error("E0210", f"`{name}` needs at least one value", expr.span)
            args = tuple(self.check(a, scope, expected) for a in expr.args)
            kind = next((a.type for a in args if a.type != ERROR), ERROR)
            for arg, node in zip(expr.args, args, strict=True):
                if not compatible(node.type, kind) or not ordered(node.type):
                    return self.error(
                        "E0202",
                        f"`{name}` compares {kind} with {node.type}",
                        arg.span,
                        help="every value given to max/min has the same type and currency",
                    )
            if all(is_numeric(a.type) for a in args) and any(a.type == NUMBER for a in args):
                kind = NUMBER
            return ir.Op(kind, expr.span, OpCode(name), args)
        if name == "size":
            if len(expr.args) != 1:
                return self.error("E0210", "`size` takes one set or list", expr.span)
            node = self.check(expr.args[0], scope)
            if not isinstance(node.type, SetType | ListType) and node.type != ERROR:
                return self.error(
                    "E0202", f"`size` needs a set or list, not {node.type}", expr.args[0].span
                )
            return ir.Op(COUNT, expr.span, OpCode.SIZE, (node,))
        return self.error(
            "E0105",
            f"unknown function `{name}`",
            expr.function_span,
            help=did_you_mean(name, ["max", "min", "size"]) or "functions: max, min, size",
        )

    def _Convert(self, expr: ast.Convert, scope: Scope, expected: Type | None) -> ir.Node:
        node = self.check(expr.operand, scope)
        if node.type != ERROR and not isinstance(node.type, MoneyType):
            return self.error("E0202", f"only money can be converted, not {node.type}", expr.span)
        if expr.currency not in KNOWN_CURRENCIES:
            return self.error("E0204", f"unknown currency `{expr.currency}`", expr.span)
        return ir.Op(
            MoneyType("money", expr.currency), expr.span, OpCode.CONVERT, (node,), expr.currency
        )

    def _Index(self, expr: ast.Index, scope: Scope, expected: Type | None) -> ir.Node:
        target = self.check(expr.target, scope)
        if target.type == ERROR:
            return target
        if not isinstance(target.type, MapType):
            return self.error("E0202", f"cannot look up a key in {target.type}", expr.span)
        key = self.expect(expr.key, scope, target.type.key, "the key")
        return ir.Op(target.type.value, expr.span, OpCode.INDEX, (target, key))

    def _IfThenElse(self, expr: ast.IfThenElse, scope: Scope, expected: Type | None) -> ir.Node:
        condition = self.condition(expr.condition, scope, "the `if` condition")
        then = self.check(expr.then, scope, expected)
        otherwise = self.check(expr.otherwise, scope, then.type if then.type != ERROR else expected)
        if not compatible(then.type, otherwise.type):
            return self.error(
                "E0202", f"`then` gives {then.type} but `else` gives {otherwise.type}", expr.span
            )
        return ir.Op(
            then.type if then.type != ERROR else otherwise.type,
            expr.span,
            OpCode.IF,
            (condition, then, otherwise),
        )

    def _loop_scope(
        self, variable: str, collection: ast.Expr, scope: Scope, span: Span
    ) -> tuple[ir.Node, Scope] | None:
        node = self.check(collection, scope)
        if node.type == ERROR:
            return None
        if isinstance(node.type, ListType):
            element: Type = node.type.element
        elif isinstance(node.type, SetType):
            element = node.type.element
        else:
            self.error(
                "E0211",
                f"cannot loop over {node.type}",
                collection.span,
                help="`any`, `all`, `count` and `sum` go over a list or a set",
            )
            return None
        if variable in scope.variables or variable in scope.facts:
            self.error(
                "E0212",
                f"`{variable}` is already a name here",
                span,
                help="choose another short name for the loop variable, e.g. `t`",
            )
            return None
        return node, scope.with_variable(variable, element)

    def _Quantifier(self, expr: ast.Quantifier, scope: Scope, expected: Type | None) -> ir.Node:
        checked = self._loop_scope(expr.variable, expr.collection, scope, expr.span)
        result = COUNT if expr.kind == "count" else BOOL
        if checked is None:
            return ir.Const(ERROR, expr.span, None)
        collection, inner = checked
        condition = self.condition(expr.condition, inner, "the `where` condition")
        return ir.Loop(
            result,
            expr.span,
            kind=expr.kind,
            variable=expr.variable,
            collection=collection,
            condition=condition,
        )

    def _SumOver(self, expr: ast.SumOver, scope: Scope, expected: Type | None) -> ir.Node:
        checked = self._loop_scope(expr.variable, expr.collection, scope, expr.span)
        if checked is None:
            return ir.Const(ERROR, expr.span, None)
        collection, inner = checked
        value = self.check(expr.value, inner)
        if not (
            is_numeric(value.type)
            or isinstance(value.type, MoneyType | DurationType)
            or value.type == ERROR
        ):
            return self.error("E0202", f"cannot add up {value.type}", expr.value.span)
        condition = (
            self.condition(expr.condition, inner, "the `where` condition")
            if expr.condition is not None
            else None
        )
        return ir.Loop(
            value.type,
            expr.span,
            kind=ast.LoopKind.SUM,
            variable=expr.variable,
            collection=collection,
            condition=condition,
            value=value,
        )
