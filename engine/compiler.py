"""Stage 3 (scalar back end): checked IR -> Python closures.

Each IR node becomes a closure `f(ctx) -> value`, built by one entry of a table: `_NODES` per
node class, `_OPERATORS` per `OpCode` (tests/engine/test_ir_contract.py checks that every code
has one). No policy text ever reaches `eval`/`exec`: the closures come from a fixed set of
Python functions chosen by the checker's types. Three-valued logic (engine/logic.py): `UNKNOWN`
propagates through every operator except `and`/`or` (`false and unknown` is false) and `is
known`/`is missing`. Reads of missing facts are recorded in `ctx.missing`, so an undetermined
answer names exactly the facts it waited for.

`is known` asks about the operation as described (`ctx.given`), not about a completion of it:
engine/completion.py evaluates rules again with missing facts filled in, and a fact it filled in
is still one the caller did not state.
"""

from __future__ import annotations

import calendar
import datetime as dt
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from . import ir
from .ast import LoopKind
from .ir import OpCode
from .logic import not3
from .types import COUNT, DurationType, MoneyType
from .values import UNKNOWN, Duration, ExchangeRates, MissingRate, Money, Percent

Fn = Callable[["Context"], Any]
_MISSING = object()


class Context:
    """Everything one evaluation reads: facts (an overridable mapping), the date the law is
    applied at, the parameter values in force that day, and exchange rates."""

    __slots__ = (
        "as_of",
        "bindings",
        "changed",
        "conversions",
        "defined",
        "facts",
        "given",
        "inherited",
        "missing",
        "params",
        "rates",
    )

    def __init__(
        self,
        facts: Mapping[str, Any],
        as_of: dt.date,
        params: Mapping[str, Any],
        rates: ExchangeRates,
        given: Mapping[str, Any] | None = None,
    ):
        self.facts = facts
        self.given = facts if given is None else given
        self.as_of = as_of
        self.params = params
        self.rates = rates
        self.missing: set[str] = set()
        self.bindings: dict[str, tuple[Any, str]] = {}
        self.conversions: list[tuple[str, Money, Money]] = []
        # definition name -> (value, the facts it found missing): a definition reads no loop
        # variable (it is checked in a scope of its own), so its value is one per context
        self.defined: dict[str, tuple[Any, set[str]]] = {}
        # a completion's context (engine/completion.py) reuses the first pass's definitions
        # that read none of the facts it filled in (`changed`)
        self.inherited: dict[str, tuple[Any, set[str]]] | None = None
        self.changed: set[str] = set()

    def completion(self, facts: Mapping[str, Any], changed: set[str]) -> Context:
        """A context for `facts`, this context's facts with the `changed` paths filled in."""
        branch = Context(facts, self.as_of, self.params, self.rates, given=self.given)
        branch.inherited = self.defined
        branch.changed = changed
        return branch


def _convert(ctx: Context, value: Money, currency: str, label: str) -> Any:
    try:
        converted = ctx.rates.convert(value, currency, ctx.as_of)
    except MissingRate as error:
        ctx.missing.add(f"exchange rate {error.base}/{error.quote} on {error.day.isoformat()}")
        return UNKNOWN
    ctx.conversions.append((label, value, converted))
    return converted


# ---- operator implementations, chosen at compile time from the operand types ------------------


def shift_date(day: dt.date, duration: Duration, sign: int) -> Any:
    """A date moved by a duration: months by the calendar (31 January + 1 month is the last day
    of February), hours in whole days. A part-day shift of a date is unknown, not rounded."""
    amount = duration.amount * sign
    if duration.dimension == "months":
        if amount != amount.to_integral_value():
            return UNKNOWN
        months = day.month - 1 + int(amount)
        year, month = day.year + months // 12, months % 12 + 1
        return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
    if amount % 24:
        return UNKNOWN
    try:
        return day + dt.timedelta(days=int(amount / 24))
    except OverflowError:
        return UNKNOWN


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, Percent):
        return Percent(a.fraction + b.fraction)
    if isinstance(a, dt.date):
        return shift_date(a, b, 1)
    return a + b


def _sub(a: Any, b: Any) -> Any:
    if isinstance(a, Percent):
        return Percent(a.fraction - b.fraction)
    if isinstance(a, dt.date):
        if isinstance(b, dt.date):
            return Duration(Decimal((a - b).days * 24), "hours")
        return shift_date(a, b, -1)
    return a - b


def _mul(a: Any, b: Any) -> Any:
    if isinstance(a, Money):
        return a.scale(b.fraction if isinstance(b, Percent) else b)
    if isinstance(b, Money):
        return b.scale(a.fraction if isinstance(a, Percent) else a)
    if isinstance(a, Duration):
        return Duration(a.amount * b, a.dimension)
    if isinstance(b, Duration):
        return Duration(b.amount * a, b.dimension)
    if isinstance(a, Percent):
        return a.fraction * b
    if isinstance(b, Percent):
        return b.fraction * a
    return a * b


def _div(a: Any, b: Any) -> Any:
    try:
        if isinstance(a, Money):
            if isinstance(b, Money):
                return a.amount / b.amount
            return Money(a.amount / Decimal(b), a.currency)
        if isinstance(a, Duration):
            return Duration(a.amount / Decimal(b), a.dimension)
        return Decimal(a) / Decimal(b)
    except (DivisionByZero, InvalidOperation, ZeroDivisionError):
        return UNKNOWN


def _of(a: Percent, b: Any) -> Any:
    if isinstance(b, Money):
        return b.scale(a.fraction)
    if isinstance(b, Percent):
        return Percent(a.fraction * b.fraction)
    return a.fraction * b


_BINARY: dict[OpCode, Callable[[Any, Any], Any]] = {
    OpCode.ADD: _add,
    OpCode.SUB: _sub,
    OpCode.MUL: _mul,
    OpCode.DIV: _div,
    OpCode.OF: _of,
    OpCode.EQ: operator.eq,
    OpCode.NE: operator.ne,
    OpCode.LT: operator.lt,
    OpCode.LE: operator.le,
    OpCode.GT: operator.gt,
    OpCode.GE: operator.ge,
    OpCode.MEETS: lambda a, b: not a.isdisjoint(b),
    OpCode.IN: lambda a, b: a in b,
    OpCode.NOT_IN: lambda a, b: a not in b,
    OpCode.CONTAINS: lambda a, b: b in a,
}


def _memoised(name: str, body: Fn) -> Fn:
    """A definition evaluated once per context. A later read gets the same value and records
    the same missing facts, so every answer (and what it names as missing) is unchanged."""

    def define(ctx: Context) -> Any:
        known = ctx.defined.get(name)
        if known is None and ctx.inherited is not None:
            earlier = ctx.inherited.get(name)
            if earlier is not None and ctx.changed.isdisjoint(earlier[1]):
                known = ctx.defined[name] = earlier
        if known is not None:
            if known[1]:
                ctx.missing |= known[1]
            return known[0]
        outer = ctx.missing
        missing: set[str] = set()
        ctx.missing = missing
        try:
            value = body(ctx)
        finally:
            ctx.missing = outer
        if missing:
            outer |= missing
        ctx.defined[name] = (value, missing)
        return value

    return define


def _binary_with_constant(
    left_node: ir.Node, left: Fn, implementation: Callable[[Any, Any], Any], constant: Any
) -> Fn:
    """`x op constant` (the commonest shape: `legal_basis is consent`, `age < 18 years`): the
    constant is not re-evaluated, and a plain fact is read in place."""
    if isinstance(left_node, ir.Fact) and left_node.currency is None:
        path = left_node.path

        def fact_op_constant(ctx: Context) -> Any:
            a = ctx.facts.get(path)
            if a is None:  # absent or null: missing, as `_Fact` reads it
                ctx.missing.add(path)
                return UNKNOWN
            if a is UNKNOWN:
                return UNKNOWN
            return implementation(a, constant)

        return fact_op_constant

    def op_constant(ctx: Context) -> Any:
        a = left(ctx)
        if a is UNKNOWN:
            return UNKNOWN
        return implementation(a, constant)

    return op_constant


class Compiler:
    """Compiles the IR of one regime. Definitions compile once and are shared by every rule."""

    def __init__(self, defines: Mapping[str, ir.CheckedDefine]):
        self._defines = defines
        self._compiled_defines: dict[str, Fn] = {}

    def compile(self, node: ir.Node) -> Fn:
        return _NODES[type(node)](self, node)

    def definition(self, name: str) -> Fn:
        """The compiled body of a definition (for showing a fine's intermediate steps)."""
        return self.define(name)

    def define(self, name: str) -> Fn:
        if name not in self._compiled_defines:
            # a placeholder first: definitions are acyclic (checked), so it is never called
            self._compiled_defines[name] = lambda ctx: UNKNOWN
            self._compiled_defines[name] = _memoised(name, self.compile(self._defines[name].value))
        return self._compiled_defines[name]


# ---- leaves -----------------------------------------------------------------------------------


def _const(compiler: Compiler, node: ir.Const) -> Fn:
    value = node.value
    return lambda ctx: value


def _fact(compiler: Compiler, node: ir.Fact) -> Fn:
    path, currency = node.path, node.currency

    def read(ctx: Context) -> Any:
        value = ctx.facts.get(path, _MISSING)
        if value is _MISSING or value is None:
            ctx.missing.add(path)
            return UNKNOWN
        return value

    if currency is None:
        return read

    def read_money(ctx: Context) -> Any:
        value = read(ctx)
        if value is UNKNOWN or value.currency == currency:
            return value
        return _convert(ctx, value, currency, path)

    return read_money


def _var(compiler: Compiler, node: ir.Var) -> Fn:
    name = node.name
    return lambda ctx: ctx.bindings[name][0]


def _field(compiler: Compiler, node: ir.Field) -> Fn:
    assert isinstance(node.target, ir.Var), "records do not nest"
    variable, name, currency = node.target.name, node.name, node.currency

    def read(ctx: Context) -> Any:
        record, prefix = ctx.bindings[variable]
        value = record.get(name)
        if value is None:
            ctx.missing.add(f"{prefix}.{name}")
            return UNKNOWN
        if currency is not None and value.currency != currency:
            return _convert(ctx, value, currency, f"{prefix}.{name}")
        return value

    return read


def _param(compiler: Compiler, node: ir.Param) -> Fn:
    name = node.name

    def read(ctx: Context) -> Any:
        value = ctx.params.get(name, _MISSING)
        if value is _MISSING:
            ctx.missing.add(f"parameter {name} on {ctx.as_of.isoformat()}")
            return UNKNOWN
        return value

    return read


def _define(compiler: Compiler, node: ir.Define) -> Fn:
    return compiler.define(node.name)


def _op(compiler: Compiler, node: ir.Op) -> Fn:
    return _OPERATORS[node.op](compiler, node)


# ---- operators --------------------------------------------------------------------------------


def _as_of(compiler: Compiler, node: ir.Op) -> Fn:
    return lambda ctx: ctx.as_of


def _and(compiler: Compiler, node: ir.Op) -> Fn:
    left, right = (compiler.compile(a) for a in node.args)

    def and_(ctx: Context) -> Any:  # logic.and3, inlined: the hottest operator
        a = left(ctx)
        if a is False:
            return False
        b = right(ctx)
        if b is False:
            return False
        return True if a is True and b is True else UNKNOWN

    return and_


def _or(compiler: Compiler, node: ir.Op) -> Fn:
    left, right = (compiler.compile(a) for a in node.args)

    def or_(ctx: Context) -> Any:  # logic.or3, inlined
        a = left(ctx)
        if a is True:
            return True
        b = right(ctx)
        if b is True:
            return True
        return False if a is False and b is False else UNKNOWN

    return or_


def _not(compiler: Compiler, node: ir.Op) -> Fn:
    operand = compiler.compile(node.args[0])
    return lambda ctx: not3(operand(ctx))


def _knownness(compiler: Compiler, node: ir.Op) -> Fn:
    """`x is known` / `x is missing`: always true or false, read from the operation as given."""
    want_known = node.op is OpCode.KNOWN
    target = node.args[0]
    if isinstance(target, ir.Fact) and target.currency is None:
        path = target.path

        def fact_knownness(ctx: Context) -> bool:
            value = ctx.given.get(path)
            return (value is not None and value is not UNKNOWN) is want_known

        return fact_knownness
    operand = compiler.compile(target)

    def knownness(ctx: Context) -> bool:
        outer, facts = ctx.missing, ctx.facts
        ctx.missing = set()  # a definite answer: what it read is not "missing"
        ctx.facts = ctx.given
        try:
            value = operand(ctx)
        finally:
            ctx.missing, ctx.facts = outer, facts
        return (value is not UNKNOWN) is want_known

    return knownness


def _neg(compiler: Compiler, node: ir.Op) -> Fn:
    operand = compiler.compile(node.args[0])

    def negate(ctx: Context) -> Any:
        value = operand(ctx)
        if value is UNKNOWN:
            return UNKNOWN
        return Money(-value.amount, value.currency) if isinstance(value, Money) else -value

    return negate


def _if(compiler: Compiler, node: ir.Op) -> Fn:
    condition, then, otherwise = (compiler.compile(a) for a in node.args)

    def if_(ctx: Context) -> Any:
        c = condition(ctx)
        if c is True:
            return then(ctx)
        if c is False:
            return otherwise(ctx)
        a, b = then(ctx), otherwise(ctx)
        return a if a is not UNKNOWN and a == b else UNKNOWN

    return if_


def _extreme(compiler: Compiler, node: ir.Op) -> Fn:
    pick = max if node.op is OpCode.MAX else min
    args = [compiler.compile(a) for a in node.args]

    def extreme(ctx: Context) -> Any:
        values = [f(ctx) for f in args]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        return pick(values)

    return extreme


def _size(compiler: Compiler, node: ir.Op) -> Fn:
    operand = compiler.compile(node.args[0])

    def size(ctx: Context) -> Any:
        value = operand(ctx)
        return UNKNOWN if value is UNKNOWN else len(value)

    return size


def _set(compiler: Compiler, node: ir.Op) -> Fn:
    args = [compiler.compile(a) for a in node.args]

    def build_set(ctx: Context) -> Any:
        values = [f(ctx) for f in args]
        return UNKNOWN if any(v is UNKNOWN for v in values) else frozenset(values)

    return build_set


def _convert_op(compiler: Compiler, node: ir.Op) -> Fn:
    operand = compiler.compile(node.args[0])
    currency = node.extra

    def convert(ctx: Context) -> Any:
        value = operand(ctx)
        if value is UNKNOWN:
            return UNKNOWN
        return _convert(ctx, value, currency, "convert")

    return convert


def _index(compiler: Compiler, node: ir.Op) -> Fn:
    table, key = (compiler.compile(a) for a in node.args)
    table_name = node.args[0].name if isinstance(node.args[0], ir.Param) else "table"

    def index(ctx: Context) -> Any:
        t, k = table(ctx), key(ctx)
        if t is UNKNOWN or k is UNKNOWN:
            return UNKNOWN
        if k not in t:
            ctx.missing.add(f"{table_name}[{k}]")
            return UNKNOWN
        return t[k]

    return index


def _binary(compiler: Compiler, node: ir.Op) -> Fn:
    implementation = _BINARY[node.op]
    left, right = (compiler.compile(a) for a in node.args)
    if node.op is OpCode.MUL and node.type == COUNT:
        implementation = operator.mul  # plain ints stay ints
    right_node = node.args[1]
    if isinstance(right_node, ir.Const) and right_node.value is not UNKNOWN:
        return _binary_with_constant(node.args[0], left, implementation, right_node.value)

    def binary(ctx: Context) -> Any:
        a = left(ctx)
        b = right(ctx)
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        return implementation(a, b)

    return binary


# ---- loops ------------------------------------------------------------------------------------


def _loop(compiler: Compiler, node: ir.Loop) -> Fn:
    collection = compiler.compile(node.collection)
    condition = compiler.compile(node.condition) if node.condition is not None else None
    value = compiler.compile(node.value) if node.value is not None else None
    variable, kind = node.variable, node.kind
    prefix_of = node.collection.path if isinstance(node.collection, ir.Fact) else variable
    zero: Any = 0
    if isinstance(node.type, MoneyType):
        zero = Money(Decimal(0), node.type.currency or "EUR")
    elif isinstance(node.type, DurationType):
        zero = Duration(Decimal(0), node.type.dimension)

    def loop(ctx: Context) -> Any:
        items = collection(ctx)
        if items is UNKNOWN:
            return UNKNOWN
        is_list = isinstance(items, list)
        result: Any = {
            LoopKind.ANY: False,
            LoopKind.ALL: True,
            LoopKind.COUNT: 0,
            LoopKind.SUM: zero,
        }[kind]
        unknown = False
        saved = ctx.bindings.get(variable)
        try:
            for i, item in enumerate(items if is_list else sorted(items)):
                ctx.bindings[variable] = (item, f"{prefix_of}[{i}]") if is_list else (item, "")
                c = condition(ctx) if condition is not None else True
                if kind == LoopKind.ANY:
                    if c is True:
                        return True
                    unknown |= c is UNKNOWN
                elif kind == LoopKind.ALL:
                    if c is False:
                        return False
                    unknown |= c is UNKNOWN
                elif c is UNKNOWN:
                    unknown = True
                elif c is True:
                    if kind == LoopKind.COUNT:
                        result += 1
                    else:
                        assert value is not None
                        v = value(ctx)
                        if v is UNKNOWN:
                            unknown = True
                        else:
                            result = result + v
        finally:
            if saved is None:
                ctx.bindings.pop(variable, None)
            else:
                ctx.bindings[variable] = saved
        return UNKNOWN if unknown else result

    return loop


_NODES: dict[type, Callable[[Compiler, Any], Fn]] = {
    ir.Const: _const,
    ir.Fact: _fact,
    ir.Var: _var,
    ir.Field: _field,
    ir.Param: _param,
    ir.Define: _define,
    ir.Op: _op,
    ir.Loop: _loop,
}

OPERATORS: dict[OpCode, Callable[[Compiler, ir.Op], Fn]] = {
    OpCode.AS_OF: _as_of,
    OpCode.AND: _and,
    OpCode.OR: _or,
    OpCode.NOT: _not,
    OpCode.KNOWN: _knownness,
    OpCode.MISSING: _knownness,
    OpCode.NEG: _neg,
    OpCode.IF: _if,
    OpCode.MAX: _extreme,
    OpCode.MIN: _extreme,
    OpCode.SIZE: _size,
    OpCode.SET: _set,
    OpCode.CONVERT: _convert_op,
    OpCode.INDEX: _index,
    **{code: _binary for code in _BINARY},
}
_OPERATORS = OPERATORS
