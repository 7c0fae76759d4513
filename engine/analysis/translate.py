"""Checked IR -> z3 formulas, following the evaluator's three-valued (Kleene) logic exactly.

Every expression becomes a `Sym` (value, known). The operators mirror the scalar back end
(engine/compiler.py `OPERATORS`): unknown propagates through every operator but `and`/`or`
(`false and unknown` is false), `is known`/`is missing` and `if` with equal branches. A
formula that comes out *known* is the evaluator's answer for every operation satisfying it:
Kleene logic is sound, and the exact-unknowns pass (engine/completion.py) only ever turns an
unknown into a definite answer, never a definite one into another. So the analysis claims only
known outcomes, and each claim is checked again by the evaluator (witness.py).

Derivations (`derive PATH = VALUE if C`) are translated as the evaluator applies them: a fact
the operation does not state takes the first derivation's value whose condition is certainly
true (read with no parameters, as engine/derive.py does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import z3

from .. import ir
from ..ast import LoopKind
from ..fold import constant_value
from ..ir import OpCode
from ..types import (
    BOOL,
    CODE,
    COUNT,
    DATE,
    DurationType,
    EnumType,
    MapType,
    MoneyType,
    SetType,
    Type,
)
from ..values import Duration, ExchangeRates, MissingRate, Money, Percent
from .symbolic import MAX_FRESH, ListVal, SetVal, Sym, SymbolicOperation, Untranslatable, real

TRUE = z3.BoolVal(True)
FALSE = z3.BoolVal(False)


def and3(a: Sym, b: Sym) -> Sym:
    false = z3.Or(z3.And(a.ok, z3.Not(a.value)), z3.And(b.ok, z3.Not(b.value)))
    return Sym(z3.And(a.value, b.value), z3.Or(false, z3.And(a.ok, b.ok)))


def or3(a: Sym, b: Sym) -> Sym:
    true = z3.Or(z3.And(a.ok, a.value), z3.And(b.ok, b.value))
    return Sym(true, z3.Or(true, z3.And(a.ok, b.ok)))


def not3(a: Sym) -> Sym:
    return Sym(z3.Not(a.value), a.ok)


def is_true(a: Sym) -> Any:
    return z3.And(a.ok, a.value)


def is_false(a: Sym) -> Any:
    return z3.And(a.ok, z3.Not(a.value))


def const_bool(value: bool) -> Sym:
    return Sym(z3.BoolVal(value), TRUE)


Env = Mapping[str, Any]  # loop variable -> Sym, or ("record", list path, slot index)


class Translator:
    """Translates the IR of one regime (or the bundle-wide derivations) on one day."""

    def __init__(
        self,
        op: SymbolicOperation,
        bundle: ir.CheckedBundle,
        regime: ir.CheckedRegime | None,
        day: dt.date,
        rates: ExchangeRates,
        as_of: Any = None,
    ):
        self.op = op
        self.bundle = bundle
        self.regime = regime
        self.day = day
        self.rates = rates
        self.as_of = z3.IntVal(day.toordinal()) if as_of is None else as_of
        self.defines = regime.defines if regime is not None else {}
        self._defined: dict[str, Sym] = {}
        self._effective: dict[str, Sym] = {}
        self._deriving: set[str] = set()
        self.params: dict[str, Any] = {}
        parameters = {**bundle.parameters, **(regime.parameters if regime else {})}
        for name, parameter in parameters.items():
            for period, node, _ in parameter.values:
                if period.contains(day):
                    self.params[name] = constant_value(node)
                    break
        self._derivations: dict[str, list[ir.CheckedDerivation]] = {}
        for derivation in bundle.derivations:
            self._derivations.setdefault(derivation.path, []).append(derivation)

    # ---- facts --------------------------------------------------------------------------------

    def fact(self, path: str, currency: str | None = None) -> Sym:
        """The fact as the evaluator reads it: stated, else derived, else unknown."""
        found = self._effective.get(path)
        if found is None:
            found = self._derive(path, currency)
            self._effective[path] = found
        if currency is not None and isinstance(self.op.fact_type(path), MoneyType):
            return self.convert(found, self.op.money_currency(path), currency)
        return found

    def _derive(self, path: str, currency: str | None) -> Sym:
        stated = self.op.stated(path, currency)
        derivations = self._derivations.get(path)
        if not derivations:
            return stated
        if path in self._deriving:
            raise Untranslatable(f"derivations of `{path}` depend on each other")
        self._deriving.add(path)
        try:
            plain = Translator(self.op, self.bundle, None, self.day, self.rates, self.as_of)
            plain._effective = self._effective  # the same derived facts, no parameters
            plain._deriving = self._deriving
            plain.params = {}
            value, ok = stated.value, stated.ok
            for derivation in reversed(derivations):  # the first that holds wins
                constant = self.constant(derivation.value, self.op.fact_type(path))
                if isinstance(constant.value, SetVal):
                    raise Untranslatable(f"a derived set (`{path}`)")
                fires = z3.And(z3.Not(stated.ok), is_true(plain.expr(derivation.condition, {})))
                value = z3.If(fires, constant.value, value)
                ok = z3.Or(ok, fires)
            return Sym(value, ok)
        finally:
            self._deriving.discard(path)

    def convert(self, money: Sym, source: str, target: str) -> Sym:
        if source == target:
            return money
        try:
            rate = self.rates.rate(source, target, self.day)
        except MissingRate:
            return Sym(money.value, FALSE)
        return Sym(money.value * real(rate), money.ok)

    # ---- constants ----------------------------------------------------------------------------

    def constant(self, value: Any, t: Type) -> Sym:
        from ..values import UNKNOWN

        if value is UNKNOWN:
            return self.unknown(t)
        if isinstance(value, bool):
            return const_bool(value)
        if isinstance(value, int):
            return Sym(z3.IntVal(value), TRUE)
        if isinstance(value, Decimal):
            return Sym(real(value), TRUE)
        if isinstance(value, Money):
            return Sym(real(value.amount), TRUE)
        if isinstance(value, Percent):
            return Sym(real(value.fraction), TRUE)
        if isinstance(value, Duration):
            return Sym(real(value.amount), TRUE)
        if isinstance(value, dt.date):
            return Sym(z3.IntVal(value.toordinal()), TRUE)
        if isinstance(value, str):
            return Sym(self.element(value, t), TRUE)
        if isinstance(value, frozenset | set):
            element = t.element if isinstance(t, SetType) else CODE
            keys = self.op.element_keys(element)
            members = {k: z3.BoolVal(k in value) for k in keys}
            unknown = set(value) - set(keys)
            if unknown:
                raise Untranslatable(f"a set names codes outside the universe: {sorted(unknown)}")
            return Sym(SetVal(members, z3.IntVal(0), element), TRUE)
        if isinstance(value, dict):
            return Sym(value, TRUE)
        raise Untranslatable(f"the constant {value!r} ({type(value).__name__})")

    def unknown(self, t: Type) -> Sym:
        """An unknown value of type `t`, shaped like a known one (sets stay sets)."""
        if isinstance(t, SetType):
            keys = self.op.element_keys(t.element)
            return Sym(SetVal({k: FALSE for k in keys}, z3.IntVal(0), t.element), FALSE)
        if isinstance(t, MapType):
            return Sym({}, FALSE)
        if t == BOOL:
            return Sym(FALSE, FALSE)
        return Sym(z3.IntVal(0), FALSE)

    def element(self, value: str, t: Type) -> Any:
        if isinstance(t, EnumType):
            return z3.IntVal(t.members.index(value))
        if isinstance(t, SetType):
            return self.element(value, t.element)
        return self.op.code_value(value)

    # ---- expressions --------------------------------------------------------------------------

    def expr(self, node: ir.Node, env: Env) -> Sym:
        if isinstance(node, ir.Const):
            return self.constant(node.value, node.type)
        if isinstance(node, ir.Fact):
            return self.fact(node.path, node.currency)
        if isinstance(node, ir.Var):
            bound = env[node.name]
            if isinstance(bound, tuple):
                raise Untranslatable("a whole record used as a value")
            return bound  # type: ignore[no-any-return]
        if isinstance(node, ir.Field):
            assert isinstance(node.target, ir.Var)
            _, list_path, index = env[node.target.name]
            path = f"{list_path}[{index}].{node.name}"
            value = self.op.stated(path, node.currency)
            if node.currency is not None and isinstance(node.type, MoneyType):
                return self.convert(value, self.op.money_currency(path), node.currency)
            return value
        if isinstance(node, ir.Param):
            if node.name not in self.params:  # no value on the day: unknown
                return self.unknown(node.type)
            return self.constant(self.params[node.name], node.type)
        if isinstance(node, ir.Define):
            found = self._defined.get(node.name)
            if found is None:
                found = self.expr(self.defines[node.name].value, {})
                self._defined[node.name] = found
            return found
        if isinstance(node, ir.Loop):
            return self.loop(node, env)
        assert isinstance(node, ir.Op)
        return self.operator(node, env)

    def operator(self, node: ir.Op, env: Env) -> Sym:
        try:
            return self._operator(node, env)
        except (z3.Z3Exception, TypeError, AttributeError, KeyError) as error:
            # a combination of values no case above covers (an `if` choosing between sets…):
            # said, never guessed
            raise Untranslatable(
                f"applies `{node.op}` to values not translated ({error})"
            ) from None

    def _operator(self, node: ir.Op, env: Env) -> Sym:
        code = node.op
        if code is OpCode.AS_OF:
            return Sym(self.as_of, TRUE)
        if code in (OpCode.KNOWN, OpCode.MISSING):
            known = self.expr(node.args[0], env).ok
            return Sym(known if code is OpCode.KNOWN else z3.Not(known), TRUE)
        args = [self.expr(a, env) for a in node.args]
        if code is OpCode.AND:
            return and3(args[0], args[1])
        if code is OpCode.OR:
            return or3(args[0], args[1])
        if code is OpCode.NOT:
            return not3(args[0])
        if code is OpCode.IF:
            c, a, b = args
            same = z3.And(a.ok, b.ok, _equal(a.value, b.value))
            value = z3.If(c.ok, z3.If(c.value, a.value, b.value), a.value)
            ok = z3.If(c.ok, z3.If(c.value, a.ok, b.ok), same)
            return Sym(value, ok)
        ok = z3.And(*[a.ok for a in args]) if args else TRUE
        if code is OpCode.CONVERT:
            source = node.args[0].type
            if not isinstance(source, MoneyType) or source.currency is None:
                raise Untranslatable("a conversion from money of no fixed currency")
            return self.convert(args[0], source.currency, str(node.extra))
        if code is OpCode.INDEX:
            return self.index(node, args)
        if code is OpCode.SET:
            return Sym(self.build_set(node, args), ok)
        if code is OpCode.SIZE:
            return Sym(_size(args[0].value), ok)
        value, defined = self.arithmetic(node, args)
        return Sym(value, z3.And(ok, defined))

    def arithmetic(self, node: ir.Op, args: list[Sym]) -> tuple[Any, Any]:
        """(value, extra condition for it to be known) of a non-logical operator."""
        code = node.op
        a = args[0].value
        b = args[1].value if len(args) > 1 else None
        types = [x.type for x in node.args]
        if code is OpCode.NEG:
            return -a, TRUE
        if code in (OpCode.MAX, OpCode.MIN):
            result = a
            for other in args[1:]:
                pick = other.value > result if code is OpCode.MAX else other.value < result
                result = z3.If(pick, other.value, result)
            return result, TRUE
        if code in (OpCode.ADD, OpCode.SUB):
            if types[0] == DATE and isinstance(types[1], DurationType):
                return self.shift(a, b, types[1], 1 if code is OpCode.ADD else -1)
            if code is OpCode.SUB and types[0] == DATE and types[1] == DATE:
                return (a - b) * 24, TRUE
            return (a + b if code is OpCode.ADD else a - b), TRUE
        if code in (OpCode.MUL, OpCode.OF):
            return a * b, TRUE
        if code is OpCode.DIV:
            # always exact division (z3's `/` on two Ints is integer division)
            return _to_real(a) / _to_real(b), b != 0
        if code in (OpCode.EQ, OpCode.NE):
            equal = _equal(a, b)
            return (equal if code is OpCode.EQ else z3.Not(equal)), TRUE
        if code is OpCode.LT:
            return a < b, TRUE
        if code is OpCode.LE:
            return a <= b, TRUE
        if code is OpCode.GT:
            return a > b, TRUE
        if code is OpCode.GE:
            return a >= b, TRUE
        if code in (OpCode.IN, OpCode.NOT_IN):
            inside = _member(a, b)
            return (inside if code is OpCode.IN else z3.Not(inside)), TRUE
        if code is OpCode.CONTAINS:
            return _member(b, a), TRUE
        if code is OpCode.MEETS:
            if not isinstance(a, SetVal) or not isinstance(b, SetVal):
                raise Untranslatable("`meets` of values that are not sets")
            common = [z3.And(a.members[k], b.members[k]) for k in a.members if k in b.members]
            return z3.Or(FALSE, *common), TRUE
        raise Untranslatable(f"the operator `{code}`")

    def shift(self, day: Any, duration: Any, t: DurationType, sign: int) -> tuple[Any, Any]:
        if t.dimension != "hours":
            raise Untranslatable("a date moved by months or business days")
        days = duration / 24
        return day + sign * z3.ToInt(days), z3.IsInt(days)

    def index(self, node: ir.Op, args: list[Sym]) -> Sym:
        table, key = args
        if not isinstance(table.value, dict):
            raise Untranslatable("an index into a table that is not a parameter")
        key_type, value_type = node.args[1].type, node.type
        value: Any = None
        found: Any = FALSE
        for k, v in table.value.items():
            match = _equal(
                key.value,
                self.element(k, key_type)
                if isinstance(k, str)
                else self.constant(k, key_type).value,
            )
            constant = self.constant(v, value_type).value
            value = constant if value is None else z3.If(match, constant, value)
            found = z3.Or(found, match)
        if value is None:
            return Sym(z3.IntVal(0), FALSE)
        return Sym(value, z3.And(table.ok, key.ok, found))

    def build_set(self, node: ir.Op, args: list[Sym]) -> SetVal:
        element = node.type.element if isinstance(node.type, SetType) else CODE
        keys = self.op.element_keys(element)
        if element == CODE and any(not z3.is_int_value(a.value) for a in args):
            raise Untranslatable("a set built from a country the operation states")
        members = {
            k: z3.Or(FALSE, *[a.value == self.element(k, element) for a in args]) for k in keys
        }
        return SetVal(members, z3.IntVal(0), element)

    # ---- loops --------------------------------------------------------------------------------

    def loop(self, node: ir.Loop, env: Env) -> Sym:
        collection = self.expr(node.collection, env)
        items: list[tuple[Any, Any]] = []  # (present, what the variable is bound to)
        if isinstance(collection.value, ListVal):
            lst = collection.value
            for i in range(self.op.bound):
                items.append((lst.length > i, ("record", lst.path, i)))
        elif isinstance(collection.value, SetVal):
            s = collection.value
            for key, present in s.members.items():
                items.append((present, Sym(self.element(key, s.element), TRUE)))
            if s.element == CODE:
                # codes no rule names: each set's own (its JSON draws them from a pool of its
                # own), so they equal no other set's and no country fact's
                first = self.op.fresh_offset(str(s.fresh))
                for j in range(MAX_FRESH):
                    items.append((s.fresh > j, Sym(z3.IntVal(first + j), TRUE)))
        else:
            raise Untranslatable("a loop over a value that is not a list or a set")
        zero: Any = z3.IntVal(0) if node.type == COUNT else z3.RealVal(0)
        hits: list[Any] = []
        unknown: list[Any] = []
        total: Any = zero
        for present, bound in items:
            inner = {**env, node.variable: bound}
            c = self.expr(node.condition, inner) if node.condition is not None else const_bool(True)
            if node.kind is LoopKind.ANY:
                hits.append(z3.And(present, is_true(c)))
                unknown.append(z3.And(present, z3.Not(c.ok)))
            elif node.kind is LoopKind.ALL:
                hits.append(z3.And(present, is_false(c)))
                unknown.append(z3.And(present, z3.Not(c.ok)))
            elif node.kind is LoopKind.COUNT:
                unknown.append(z3.And(present, z3.Not(c.ok)))
                total = total + z3.If(z3.And(present, c.ok, c.value), 1, 0)
            else:
                assert node.value is not None
                v = self.expr(node.value, inner)
                unknown.append(z3.And(present, z3.Not(c.ok)))
                unknown.append(z3.And(present, is_true(c), z3.Not(v.ok)))
                total = total + z3.If(z3.And(present, c.ok, c.value), v.value, zero)
        any_hit = z3.Or(FALSE, *hits)
        any_unknown = z3.Or(FALSE, *unknown)
        if node.kind is LoopKind.ANY:
            return Sym(any_hit, z3.And(collection.ok, z3.Or(any_hit, z3.Not(any_unknown))))
        if node.kind is LoopKind.ALL:
            return Sym(z3.Not(any_hit), z3.And(collection.ok, z3.Or(any_hit, z3.Not(any_unknown))))
        return Sym(total, z3.And(collection.ok, z3.Not(any_unknown)))


def _to_real(x: Any) -> Any:
    return z3.ToReal(x) if z3.is_int(x) else x


def _equal(a: Any, b: Any) -> Any:
    if isinstance(a, SetVal) and isinstance(b, SetVal):
        same = [a.members[k] == b.members[k] for k in a.members if k in b.members]
        return z3.And(TRUE, *same, a.fresh == 0, b.fresh == 0)
    if isinstance(a, SetVal | ListVal) or isinstance(b, SetVal | ListVal):
        raise Untranslatable("an equality of a set with a value")
    return a == b


def _member(x: Any, s: Any) -> Any:
    if not isinstance(s, SetVal):
        raise Untranslatable("membership in a value that is not a set")
    # members are keyed in index order (an enumeration's members, the universe's codes)
    return z3.Or(FALSE, *[z3.And(x == i, b) for i, b in enumerate(s.members.values())])


def _size(value: Any) -> Any:
    if isinstance(value, ListVal):
        return value.length
    if isinstance(value, SetVal):
        return z3.Sum(z3.IntVal(0), value.fresh, *[z3.If(b, 1, 0) for b in value.members.values()])
    raise Untranslatable("the size of a value that is not a list or a set")


__all__ = ["Translator", "and3", "is_false", "is_true", "not3", "or3"]
