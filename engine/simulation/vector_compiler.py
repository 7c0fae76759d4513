"""Stage 3 (vectorised back end): checked IR -> functions of a column table.

The scalar back end (`compiler.py`) turns each IR node into a closure over one operation; this one
turns each node into a closure over *many* operations at once: `f(env) -> column`, where a column
is a NumPy array of values plus a `known` mask. Unknown is a cleared bit in the mask, so Kleene
logic is mask arithmetic (`false and unknown` is false: a row is known-false when either side is
known-false). Both back ends compile from the same `ir` form and must agree row for row; the
property test in tests/simulation proves it on generated operations.

Representations (docs/SIMULATION.md has the why):
- bool: `bool` array.
- money, percent, duration, count, number, date: exact fixed point. `values` is int64 and the
  node's `scale` (decided at compile time) says how many decimal digits are after the point, so
  EUR 20,000,000.00 in cents is (2000000000, scale 2) and `4%` is (4, scale 2). Sums and
  products of fixed-point integers are exactly the scalar engine's Decimal results as long as
  they fit in 63 bits; rows where an operation could overflow are flagged for the scalar
  evaluator instead of wrapping around.
- enum and country values: int32 codes (-1 when unknown). Enum codes index the enum's members;
  country codes index a `Codebook` built from the bundle's constants and the data.
- sets: bitsets, shape (rows, words) of uint64, so `meets` is a bitwise and.
- lists (`transfers[]`): a length column plus one column per field and position up to a fixed
  maximum (`transfers[0].mechanism`, `transfers[1].mechanism`, ...).

Anything this module cannot do exactly either raises `Unsupported` at compile time (the regime is
then evaluated by the scalar back end) or sets rows in `env.fallback` at run time (those rows are
re-evaluated by the scalar back end). Never a silently wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from .. import ir
from ..ast import LoopKind
from ..ir import OpCode
from ..types import (
    BOOL,
    CODE,
    EnumType,
    ListType,
    MapType,
    MoneyType,
    SetType,
    Type,
)
from .vector_loops import loop_column
from .vector_values import (
    ONE,
    ZERO,
    BitsCol,
    BoolCol,
    CodeCol,
    Col,
    Env,
    Fn,
    ListCol,
    MoneyColumn,
    NumCol,
    Unsupported,
    _apply_rate,
    _code_bits,
    _has_bit,
    _like,
    _neg,
    _rate,
    _words,
    aligned,
    checked_add,
    constant_col,
    decimal_scale,
    fact_scale,
    is_numeric_type,
    kleene_and,
    kleene_not,
    kleene_or,
    multiplied,
    number_of,
    to_fixed,
    unknown_col,
)

# ---- the compiler ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compiled:
    fn: Fn
    scale: int = 0  # numeric nodes: digits after the point


class VectorCompiler:
    """Compiles the IR of one regime into column functions. Definitions compile once."""

    def __init__(
        self,
        defines: Mapping[str, ir.CheckedDefine],
        parameters: Mapping[str, ir.CheckedParameter],
        rate_scale: int,
    ):
        self._defines = defines
        self._parameters = parameters
        self._rate_scale = rate_scale
        self._compiled_defines: dict[str, Compiled] = {}

    def compile(self, node: ir.Node) -> Compiled:
        return _NODES[type(node)](self, node)

    # -- leaves --

    def _Const(self, node: ir.Const) -> Compiled:
        value, t = node.value, node.type
        if isinstance(t, MapType) or value is None:
            raise Unsupported(f"a constant of type {t}")
        scale = decimal_scale(Decimal(number_of(value))) if is_numeric_type(t) else 0
        return Compiled(lambda env: constant_col(value, t, env, scale), scale)

    def _reader(self, t: Type, currency: str | None, lookup: Callable[[Env], Any]) -> Compiled:
        """A fact or record-field column: unknown where absent, money in the regime currency."""
        scale = fact_scale(t) + (self._rate_scale if currency else 0) if is_numeric_type(t) else 0
        _supported_type(t)

        def read(env: Env) -> Col:
            col: Col | MoneyColumn | None = lookup(env)
            if col is None:
                return unknown_col(t, env, scale)
            if isinstance(col, MoneyColumn):
                return col.in_currency(currency, scale, env)
            return col

        return Compiled(read, scale)

    def _Fact(self, node: ir.Fact) -> Compiled:
        path = node.path
        return self._reader(node.type, node.currency, lambda env: env.facts(path))

    def _Var(self, node: ir.Var) -> Compiled:
        name = node.name
        return Compiled(lambda env: env.bindings[name])

    def _Field(self, node: ir.Field) -> Compiled:
        if not isinstance(node.target, ir.Var):
            raise Unsupported("a field of a nested record")
        variable, name = node.target.name, node.name
        return self._reader(node.type, node.currency, lambda env: env.bindings[variable].get(name))

    def _Param(self, node: ir.Param) -> Compiled:
        name, t = node.name, node.type
        declared = self._parameters.get(name)
        if isinstance(t, MapType):
            return Compiled(lambda env: env.params.get(name))  # read by `index` only
        scale = 0
        if is_numeric_type(t) and declared is not None:
            from ..fold import constant_value

            scale = max(
                (
                    decimal_scale(Decimal(number_of(constant_value(v))))
                    for _, v, _ in declared.values
                ),
                default=0,
            )

        def read(env: Env) -> Col:
            if name not in env.params:
                return unknown_col(t, env, scale)
            return constant_col(env.params[name], t, env, scale)

        return Compiled(read, scale)

    def _Define(self, node: ir.Define) -> Compiled:
        name = node.name
        if name not in self._compiled_defines:
            # definitions are acyclic (checked); compile once, share between rules, and
            # evaluate once per batch: a definition cannot see a loop variable of its user
            inner = self.compile(self._defines[name].value)
            key = ("define", name)

            def read(env: Env) -> Col:
                if key not in env.memo:
                    env.memo[key] = inner.fn(env)
                memoised: Col = env.memo[key]
                return memoised

            self._compiled_defines[name] = Compiled(read, inner.scale)
        return self._compiled_defines[name]

    # -- operators --

    def _Op(self, node: ir.Op) -> Compiled:
        builder = OPERATORS.get(node.op)
        if builder is None:
            raise Unsupported(f"operator `{node.op}`: {UNSUPPORTED[node.op]}")
        return builder(self, node)

    def _op_as_of(self, node: ir.Op) -> Compiled:
        return Compiled(
            lambda env: NumCol(np.array([env.as_of.toordinal()], dtype=np.int64), ONE, 0)
        )

    def _op_and(self, node: ir.Op) -> Compiled:
        left, right = (self.compile(a).fn for a in node.args)
        return Compiled(lambda env: kleene_and(left(env), right(env)))

    def _op_or(self, node: ir.Op) -> Compiled:
        left, right = (self.compile(a).fn for a in node.args)
        return Compiled(lambda env: kleene_or(left(env), right(env)))

    def _op_not(self, node: ir.Op) -> Compiled:
        operand = self.compile(node.args[0]).fn
        return Compiled(lambda env: kleene_not(operand(env)))

    def _op_known(self, node: ir.Op) -> Compiled:
        operand = self.compile(node.args[0]).fn
        want_known = node.op == "known"

        def knownness(env: Env) -> BoolCol:
            # asked of the operation as given, not of a completion (as the scalar back end
            # does): a completion's environment keeps the given facts in `env.given`
            if env.given is None:
                known = operand(env).known
            else:
                completed, memo = env.facts, env.memo
                env.facts, env.memo = env.given, {}
                try:
                    known = operand(env).known
                finally:
                    env.facts, env.memo = completed, memo
            return BoolCol(known if want_known else ~known, np.ones_like(known))

        return Compiled(knownness)

    _op_missing = _op_known

    def _op_neg(self, node: ir.Op) -> Compiled:
        operand = self.compile(node.args[0])
        fn = operand.fn
        return Compiled(lambda env: _neg(fn(env)), operand.scale)

    def _op_if(self, node: ir.Op) -> Compiled:
        condition, then, otherwise = (self.compile(a) for a in node.args)
        scale = max(then.scale, otherwise.scale)
        numeric = is_numeric_type(node.type)
        if not (numeric or node.type in (BOOL, CODE) or isinstance(node.type, EnumType)):
            raise Unsupported(f"`if` giving {node.type}")

        def if_(env: Env) -> Col:
            c: BoolCol = condition.fn(env)
            a, b = then.fn(env), otherwise.fn(env)
            if numeric:
                a, b = aligned(a, b, env)
            values = np.where(c.values, a.values, b.values)
            known = np.where(c.values, a.known, b.known)
            # unknown condition: the answer is known only when both branches agree
            same = a.known & b.known & (a.values == b.values)
            known = np.where(c.known, known, same)
            return _like(a, values, known)

        return Compiled(if_, scale)

    def _op_extreme(self, node: ir.Op) -> Compiled:
        parts = [self.compile(a) for a in node.args]
        scale = max(p.scale for p in parts)
        pick = np.maximum if node.op == "max" else np.minimum
        if not is_numeric_type(node.type):
            raise Unsupported(f"`{node.op}` of {node.type}")

        def extreme(env: Env) -> NumCol:
            result: NumCol = parts[0].fn(env)
            for part in parts[1:]:
                a, b = aligned(result, part.fn(env), env)
                result = NumCol(pick(a.values, b.values), a.known & b.known, a.scale)
            return result

        return Compiled(extreme, scale)

    def _op_size(self, node: ir.Op) -> Compiled:
        operand = self.compile(node.args[0]).fn

        def size(env: Env) -> NumCol:
            col = operand(env)
            if isinstance(col, ListCol):
                return NumCol(col.length, col.known, 0)
            return NumCol(np.bitwise_count(col.words).sum(axis=1, dtype=np.int64), col.known, 0)

        return Compiled(size)

    def _op_set(self, node: ir.Op) -> Compiled:
        t = node.type
        assert isinstance(t, SetType)
        items = [self.compile(a).fn for a in node.args]

        def build(env: Env) -> BitsCol:
            words = _words(t.element, env)
            cols = [item(env) for item in items]
            n = max(c.values.shape[0] for c in cols)
            out = np.zeros((n, words), dtype=np.uint64)
            known = np.ones(n, dtype=bool)
            for c in cols:
                out |= _code_bits(c.values, words)
                known = known & c.known
            return BitsCol(out, known)

        return Compiled(build)

    def _op_convert(self, node: ir.Op) -> Compiled:
        operand = self.compile(node.args[0])
        source = node.args[0].type
        target = node.extra
        if not isinstance(source, MoneyType) or source.currency is None:
            raise Unsupported("conversion of money whose currency is fixed only at run time")
        scale = operand.scale + self._rate_scale
        base = source.currency

        def convert(env: Env) -> NumCol:
            col = operand.fn(env)
            rate = _rate(env, base, target)
            if rate is None:
                return NumCol(np.zeros(1, dtype=np.int64), ZERO, scale)
            return _apply_rate(col, rate, scale, env)

        return Compiled(convert, scale)

    def _op_index(self, node: ir.Op) -> Compiled:
        table = self.compile(node.args[0]).fn
        key = self.compile(node.args[1]).fn
        t, key_type = node.type, node.args[1].type
        if not (is_numeric_type(t) or t == BOOL) or not (
            key_type == CODE or isinstance(key_type, EnumType)
        ):
            raise Unsupported(f"table lookup of {t} by {key_type}")
        declared = self._parameters.get(getattr(node.args[0], "name", ""))
        scale = 0
        if declared is not None and is_numeric_type(t):
            from ..fold import constant_value

            scale = max(
                (
                    decimal_scale(Decimal(number_of(v)))
                    for _, value_node, _ in declared.values
                    for v in constant_value(value_node).values()
                ),
                default=0,
            )

        def lookup_table(env: Env, mapping: Any) -> tuple[np.ndarray, np.ndarray, int]:
            universe = key_type.members if isinstance(key_type, EnumType) else env.countries.codes
            positions = {member: i for i, member in enumerate(universe)}
            size = len(universe)
            values = np.zeros(size + 1, dtype=bool if t == BOOL else np.int64)
            present = np.zeros(size + 1, dtype=bool)  # the last slot: an unknown key
            for member, value in (mapping or {}).items():
                i = positions.get(member)
                if i is not None:
                    values[i] = value if t == BOOL else to_fixed(number_of(value), scale)
                    present[i] = True
            return values, present, size

        def index(env: Env) -> Col:
            mapping = table(env)
            k: CodeCol = key(env)
            memo_key = ("table", id(node), id(mapping))
            if memo_key not in env.memo:
                env.memo[memo_key] = lookup_table(env, mapping)
            values, present, size = env.memo[memo_key]
            slot = np.where(k.known, k.values, size)
            known = k.known & present[slot] & (mapping is not None)
            if t == BOOL:
                return BoolCol(values[slot], known)
            return NumCol(values[slot], known, scale)

        return Compiled(index, scale)

    def _op_compare(self, node: ir.Op) -> Compiled:
        left, right = (self.compile(a) for a in node.args)
        compare = _COMPARE[node.op]

        def comparison(env: Env) -> BoolCol:
            a, b = aligned(left.fn(env), right.fn(env), env)
            return BoolCol(compare(a.values, b.values), a.known & b.known)

        return Compiled(comparison)

    def _op_add(self, node: ir.Op) -> Compiled:
        left, right = (self.compile(a) for a in node.args)
        scale = max(left.scale, right.scale)
        sign = _SIGN[node.op]

        def add(env: Env) -> NumCol:
            a, b = aligned(left.fn(env), right.fn(env), env)
            known = a.known & b.known
            return NumCol(checked_add(a.values, b.values, known, env, sign), known, a.scale)

        return Compiled(add, scale)

    def _op_multiply(self, node: ir.Op) -> Compiled:
        left, right = (self.compile(a) for a in node.args)
        lt, rt = node.args[0].type, node.args[1].type
        if not (is_numeric_type(lt) and is_numeric_type(rt)):
            raise Unsupported(f"`{node.op}` of {lt} and {rt}")

        def multiply(env: Env) -> NumCol:
            return multiplied(left.fn(env), right.fn(env), env)

        return Compiled(multiply, left.scale + right.scale)

    def _op_equality(self, node: ir.Op) -> Compiled:
        left, right = (self.compile(a) for a in node.args)
        negate = node.op is OpCode.NE
        numeric = is_numeric_type(node.args[0].type)

        def equal(env: Env) -> BoolCol:
            a, b = left.fn(env), right.fn(env)
            if numeric:
                a, b = aligned(a, b, env)
            if isinstance(a, BitsCol):
                same = np.all(a.words == b.words, axis=1)
            else:
                same = a.values == b.values
            return BoolCol(~same if negate else same, a.known & b.known)

        return Compiled(equal)

    def _op_meets(self, node: ir.Op) -> Compiled:
        left, right = (self.compile(a) for a in node.args)

        def meets(env: Env) -> BoolCol:
            a, b = left.fn(env), right.fn(env)
            return BoolCol(np.any((a.words & b.words) != 0, axis=1), a.known & b.known)

        return Compiled(meets)

    def _op_member(self, node: ir.Op) -> Compiled:
        """`x in s`, `x not in s`, `s contains x`: one bit of a bitset."""
        left, right = (self.compile(a) for a in node.args)
        set_first = node.op is OpCode.CONTAINS
        negate = node.op is OpCode.NOT_IN

        def member(env: Env) -> BoolCol:
            a, b = left.fn(env), right.fn(env)
            element, collection = (b, a) if set_first else (a, b)
            inside = _has_bit(collection.words, element.values)
            return BoolCol(~inside if negate else inside, a.known & b.known)

        return Compiled(member)

    # -- loops --

    def _Loop(self, node: ir.Loop) -> Compiled:
        value = self.compile(node.value) if node.value is not None else None
        if node.kind == LoopKind.SUM and value is not None and not is_numeric_type(node.type):
            raise Unsupported(f"sum of {node.type}")
        element_type = (
            node.collection.type.element
            if isinstance(node.collection.type, SetType | ListType)
            else None
        )
        loop = loop_column(
            self.compile(node.collection).fn,
            self.compile(node.condition).fn if node.condition is not None else None,
            value.fn if value is not None else None,
            node.variable,
            node.kind,
            element_type,
        )
        return Compiled(loop, value.scale if value is not None else 0)


_NODES: dict[type, Callable[[VectorCompiler, Any], Compiled]] = {
    ir.Const: VectorCompiler._Const,
    ir.Fact: VectorCompiler._Fact,
    ir.Var: VectorCompiler._Var,
    ir.Field: VectorCompiler._Field,
    ir.Param: VectorCompiler._Param,
    ir.Define: VectorCompiler._Define,
    ir.Op: VectorCompiler._Op,
    ir.Loop: VectorCompiler._Loop,
}

# one builder per OpCode, or a reason in UNSUPPORTED (the regime then runs on the scalar back
# end); tests/engine/test_ir_contract.py checks that every code is in exactly one of the two
OPERATORS: dict[OpCode, Callable[[VectorCompiler, ir.Op], Compiled]] = {
    OpCode.AND: VectorCompiler._op_and,
    OpCode.OR: VectorCompiler._op_or,
    OpCode.NOT: VectorCompiler._op_not,
    OpCode.KNOWN: VectorCompiler._op_known,
    OpCode.MISSING: VectorCompiler._op_known,
    OpCode.NEG: VectorCompiler._op_neg,
    OpCode.IF: VectorCompiler._op_if,
    OpCode.MAX: VectorCompiler._op_extreme,
    OpCode.MIN: VectorCompiler._op_extreme,
    OpCode.SIZE: VectorCompiler._op_size,
    OpCode.SET: VectorCompiler._op_set,
    OpCode.CONVERT: VectorCompiler._op_convert,
    OpCode.INDEX: VectorCompiler._op_index,
    OpCode.AS_OF: VectorCompiler._op_as_of,
    OpCode.ADD: VectorCompiler._op_add,
    OpCode.SUB: VectorCompiler._op_add,
    OpCode.MUL: VectorCompiler._op_multiply,
    OpCode.OF: VectorCompiler._op_multiply,
    OpCode.EQ: VectorCompiler._op_equality,
    OpCode.NE: VectorCompiler._op_equality,
    OpCode.LT: VectorCompiler._op_compare,
    OpCode.LE: VectorCompiler._op_compare,
    OpCode.GT: VectorCompiler._op_compare,
    OpCode.GE: VectorCompiler._op_compare,
    OpCode.MEETS: VectorCompiler._op_meets,
    OpCode.IN: VectorCompiler._op_member,
    OpCode.NOT_IN: VectorCompiler._op_member,
    OpCode.CONTAINS: VectorCompiler._op_member,
}
UNSUPPORTED: dict[OpCode, str] = {
    # `/` gives quotients with no finite decimal expansion (Decimal rounds them to 40 digits):
    # the scalar back end stays the reference for it
    OpCode.DIV: "division is exact only in the scalar back end",
}
_COMPARE = {
    OpCode.LT: np.less,
    OpCode.LE: np.less_equal,
    OpCode.GT: np.greater,
    OpCode.GE: np.greater_equal,
}
_SIGN = {OpCode.ADD: 1, OpCode.SUB: -1}


def _supported_type(t: Type) -> None:
    is_set = isinstance(t, SetType) and (isinstance(t.element, EnumType) or t.element == CODE)
    if not (
        t in (BOOL, CODE) or is_numeric_type(t) or isinstance(t, EnumType | ListType) or is_set
    ):
        raise Unsupported(f"facts of type {t}")
    if isinstance(t, MoneyType) and t.currency is None:
        raise Unsupported("money whose currency is fixed only at run time")
