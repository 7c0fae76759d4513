"""The symbolic operation: one solver variable per fact an analysis reads, and the way back from
a solver model to operation JSON.

Unknown facts. Each fact has a `known` boolean besides its value: an operation that does not
state a fact leaves it unknown (never false), and the translation (translate.py) follows the
evaluator's three-valued logic over these pairs. The solver may leave any fact unstated, so
the example operations it finds are partial, like real ones; a soft constraint per fact asks
for as few stated facts as possible (minimal examples).

Encodings (all exact, no floats):
- bool: a Bool; an enumeration: an Int index into its members;
- count: an Int; number, percent, money and durations: an Int in a fixed small unit (hundredths,
  millionths of a fraction, minor units of the currency), so a model is always a value the
  operation JSON can carry; dates: an Int day number (`date.toordinal`);
- a country: an Int index into the codes the bundle mentions, or past them a code it does not
  mention (a fresh one, written as a real ISO code no rule names);
- a set: a Bool per member (per code the bundle mentions) and, for countries, a count of fresh
  codes;
- a list of records (`transfers`, `disclosures`): a length up to LIST_BOUND and each field of
  each slot as a fact of its own (`transfers[0].mechanism`).
Text facts are not translated: a rule reading one is reported as not analysed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import z3

from ..geography_codes import PLACES
from ..ir import Vocabulary
from ..types import (
    BOOL,
    CODE,
    COUNT,
    DATE,
    NUMBER,
    PERCENT,
    TEXT,
    UNITS,
    DurationType,
    EnumType,
    ListType,
    MoneyType,
    SetType,
    Type,
)
from ..values import MINOR_UNITS
from . import LIST_BOUND

MIN_DAY = dt.date(1990, 1, 1).toordinal()
MAX_DAY = dt.date(2100, 12, 31).toordinal()
MAX_QUANTITY = 10**15  # the operation schema's bound on numbers and money (vocabulary.py)
MAX_FRESH = 3  # codes no rule names, per set: enough to count, never compared
PERCENT_SCALE = 10**6  # millionths of a fraction: "12.3456%" is the finest a caller writes
NUMBER_SCALE = 100


class Untranslatable(Exception):
    """A construct the solver translation does not cover; the analysis names the rule and why
    and claims no result for it."""


@dataclass(frozen=True, slots=True)
class Sym:
    """A symbolic three-valued value: `value` is meaningful only where `ok` (known) holds."""

    value: Any  # z3 expression, SetVal, ListVal, or a Python dict (a map parameter)
    ok: Any  # z3 Bool


@dataclass(frozen=True, slots=True)
class SetVal:
    members: dict[str, Any]  # member or code -> z3 Bool
    fresh: Any  # z3 Int: how many codes no rule names (country sets); 0 for enumerations
    element: Type


@dataclass(frozen=True, slots=True)
class ListVal:
    path: str
    length: Any  # z3 Int in [0, LIST_BOUND]


def real(value: Decimal | int | Fraction) -> Any:
    if isinstance(value, Decimal):
        value = Fraction(value)
    return z3.RealVal(value) if isinstance(value, Fraction) else z3.IntVal(value)


class SymbolicOperation:
    """The facts of one operation as solver variables, created on first read. Shared by the
    translations of two bundles in a diff, so both read the same operation."""

    def __init__(self, vocabulary: Vocabulary, codes: frozenset[str], bound: int = LIST_BOUND):
        self.vocabulary = vocabulary
        self.codes = tuple(sorted(codes))
        self.code_index = {c: i for i, c in enumerate(self.codes)}
        self.bound = bound
        self.constraints: list[Any] = []  # domain constraints of the variables made so far
        self.known: dict[str, Any] = {}  # path -> its `known` Bool (what the JSON states)
        self.raw: dict[str, tuple[Type, Any, str | None]] = {}  # path -> (type, variable, extra)
        self.lists: dict[str, ListVal] = {}
        self.variables: dict[str, list[Any]] = {}  # path -> its solver variables
        self._offsets: dict[str, int] = {}
        self._fresh_pool = [p for p in sorted(PLACES) if p not in self.code_index]

    # ---- reading facts ------------------------------------------------------------------------

    def fact_type(self, path: str) -> Type:
        if "[" in path:
            head, _, rest = path.partition("[")
            list_type = self.vocabulary.facts[head].type
            assert isinstance(list_type, ListType)
            found = list_type.element.field(rest.partition("].")[2])
            assert found is not None
            return found
        return self.vocabulary.facts[path].type

    def unit_of(self, path: str) -> str | None:
        if "[" in path:
            t = self.fact_type(path)
            return {"hours": "hours", "months": "months"}.get(
                t.dimension if isinstance(t, DurationType) else "", "business_days"
            )
        return self.vocabulary.facts[path].unit

    def stated(self, path: str, currency: str | None = None) -> Sym:
        """The fact as the operation states it: (value, known)."""
        if path in self.known:
            return self._value_of(path)
        t = self.fact_type(path)
        known = z3.Bool(f"known:{path}")
        self.known[path] = known
        name = f"value:{path}"
        if t == BOOL:
            var: Any = z3.Bool(name)
        elif isinstance(t, EnumType | SetType | ListType) or t in (COUNT, DATE, CODE):
            var = self._structured(path, t, name)
        elif t == TEXT:
            raise Untranslatable(f"reads the text fact `{path}`")
        else:
            var = z3.Int(name)
            upper = MAX_QUANTITY * (10 ** MINOR_UNITS.get(currency or "EUR", 2))
            if t == PERCENT:
                upper = PERCENT_SCALE
            self.constraints += [var >= 0, var < upper]
        self.variables[path] = [known, *_variables_of(var)]
        extra = None
        if isinstance(t, MoneyType):
            extra = t.currency or currency or "EUR"
        self.raw[path] = (t, var, extra)
        return self._value_of(path)

    def _structured(self, path: str, t: Type, name: str) -> Any:
        if isinstance(t, EnumType):
            var = z3.Int(name)
            self.constraints += [var >= 0, var < len(t.members)]
            return var
        if t == COUNT:
            var = z3.Int(name)
            self.constraints += [var >= 0, var < MAX_QUANTITY]
            return var
        if t == DATE:
            var = z3.Int(name)
            self.constraints += [var >= MIN_DAY, var <= MAX_DAY]
            return var
        if t == CODE:
            var = z3.Int(name)
            self.constraints += [var >= 0, var < len(self.codes) + 2]
            return var
        if isinstance(t, SetType):
            keys = self.element_keys(t.element)
            fresh = z3.Int(f"fresh:{path}") if t.element == CODE else z3.IntVal(0)
            if t.element == CODE:
                self.constraints += [fresh >= 0, fresh <= MAX_FRESH]
            return SetVal({k: z3.Bool(f"{name}:{k}") for k in keys}, fresh, t.element)
        assert isinstance(t, ListType)
        length = z3.Int(f"length:{path}")
        self.constraints += [length >= 0, length <= self.bound]
        lst = ListVal(path, length)
        self.lists[path] = lst
        return lst

    def element_keys(self, element: Type) -> tuple[str, ...]:
        if isinstance(element, EnumType):
            return tuple(element.members)
        if element == CODE:
            return self.codes
        raise Untranslatable(f"sets of {element} are not translated")

    def _value_of(self, path: str) -> Sym:
        t, var, currency = self.raw[path]
        known = self.known[path]
        if t == PERCENT:
            return Sym(z3.ToReal(var) / PERCENT_SCALE, known)
        if t == NUMBER:
            return Sym(z3.ToReal(var) / NUMBER_SCALE, known)
        if isinstance(t, MoneyType):
            return Sym(z3.ToReal(var) / (10 ** MINOR_UNITS.get(currency or "EUR", 2)), known)
        if isinstance(t, DurationType):
            factor = UNITS[self.unit_of(path) or t.dimension][1]
            return Sym(z3.ToReal(var) * factor / 100, known)
        return Sym(var, known)

    def money_currency(self, path: str) -> str:
        return str(self.raw[path][2])

    def fresh_offset(self, name: str) -> int:
        """Where the loop values of a set's unnamed codes start: past the country facts' range
        (the universe and two fresh codes), and apart for each set."""
        if name not in self._offsets:
            self._offsets[name] = len(self.codes) + 2 + MAX_FRESH * len(self._offsets)
        return self._offsets[name]

    def code_value(self, code: str) -> Any:
        index = self.code_index.get(code)
        if index is None:
            raise Untranslatable(f"the code `{code}` is not in the analysed universe")
        return z3.IntVal(index)

    # ---- writing a model back as operation JSON ----------------------------------------------

    def operation(self, model: Any, as_of: dt.date | None) -> dict[str, Any]:
        """The stated facts of `model` as operation JSON (nested objects), `as_of` included."""
        result: dict[str, Any] = {}
        fresh = iter(self._fresh_pool)
        scalar_fresh: dict[int, str] = {}
        lists: dict[str, list[dict[str, Any]]] = {}
        for path, lst in self.lists.items():
            if z3.is_true(model.eval(self.known[path], model_completion=True)):
                length = model.eval(lst.length, model_completion=True).as_long()
                lists[path] = [{} for _ in range(length)]
        for path, known in self.known.items():
            if path in self.lists or not z3.is_true(model.eval(known, model_completion=True)):
                continue
            value = self._json_value(path, model, fresh, scalar_fresh)
            if "[" in path:
                head, _, rest = path.partition("[")
                index_text, _, field = rest.partition("].")
                entries = lists.get(head)
                if entries is not None and int(index_text) < len(entries):
                    entries[int(index_text)][field] = value
                continue
            _put(result, path, value)
        for path, entries in lists.items():
            _put(result, path, entries)
        if as_of is not None:
            result["as_of"] = as_of.isoformat()
        return result

    def _json_value(self, path: str, model: Any, fresh: Any, scalar_fresh: dict[int, str]) -> Any:
        t, var, currency = self.raw[path]

        def number(expr: Any) -> int:
            return int(model.eval(expr, model_completion=True).as_long())

        if t == BOOL:
            return z3.is_true(model.eval(var, model_completion=True))
        if isinstance(t, EnumType):
            return t.members[number(var)]
        if t == COUNT:
            return number(var)
        if t == DATE:
            return dt.date.fromordinal(number(var)).isoformat()
        if t == CODE:
            index = number(var)
            if index < len(self.codes):
                return self.codes[index]
            if index not in scalar_fresh:
                scalar_fresh[index] = next(fresh)
            return scalar_fresh[index]
        if isinstance(t, SetType):
            members = [k for k, b in var.members.items() if z3.is_true(model.eval(b, True))]
            members += [next(fresh) for _ in range(number(var.fresh))]
            return members
        if t == PERCENT:
            return f"{_decimal(Fraction(number(var), PERCENT_SCALE) * 100)}%"
        if t == NUMBER:
            return _decimal(Fraction(number(var), NUMBER_SCALE))
        if isinstance(t, MoneyType):
            digits = MINOR_UNITS.get(currency or "EUR", 2)
            return {"amount": _decimal(Fraction(number(var), 10**digits)), "currency": currency}
        if isinstance(t, DurationType):
            return _decimal(Fraction(number(var), 100))
        raise Untranslatable(f"no JSON for {t}")  # pragma: no cover - refused when read

    def pin(self, facts: Mapping[str, Any]) -> list[Any] | None:
        """Constraints fixing every variable made so far to a concrete operation's typed facts
        (`OperationSchema.validate`); None when a value has no exact encoding here (a list
        longer than the bound, an amount finer than the encoding, money in another currency,
        more unnamed codes than the encoding keeps)."""
        pins: list[Any] = []
        fresh: dict[str, int] = {}
        for path, known in self.known.items():
            value = _lookup(facts, path)
            if value is None:
                pins.append(z3.Not(known))
                continue
            pins.append(known)
            encoded = self._encode(path, value, fresh)
            if encoded is None:
                return None
            pins += encoded
        return pins

    def _encode(self, path: str, value: Any, fresh: dict[str, int]) -> list[Any] | None:
        t, var, currency = self.raw[path]
        if isinstance(var, ListVal):
            return [var.length == len(value)] if len(value) <= self.bound else None
        if isinstance(var, SetVal):
            extra = [v for v in value if v not in var.members]
            if len(extra) > MAX_FRESH or (extra and var.element != CODE):
                return None
            pins = [b == (k in value) for k, b in var.members.items()]
            return [*pins, var.fresh == len(extra)] if var.element == CODE else pins
        if t == BOOL:
            return [var == bool(value)]
        if isinstance(t, EnumType):
            return [var == t.members.index(value)]
        if t == CODE:
            index = self.code_index.get(value)
            if index is None:
                index = fresh.setdefault(value, len(self.codes) + len(fresh))
                if index >= len(self.codes) + 2:
                    return None
            return [var == index]
        if t == DATE:
            return [var == value.toordinal()]
        if t == COUNT:
            return [var == int(value)]
        if isinstance(t, MoneyType):
            if value.currency != currency:
                return None
            scaled = Fraction(value.amount) * 10 ** MINOR_UNITS.get(currency or "EUR", 2)
        elif t == PERCENT:
            scaled = Fraction(value.fraction) * PERCENT_SCALE
        elif t == NUMBER:
            scaled = Fraction(value) * NUMBER_SCALE
        elif isinstance(t, DurationType):
            factor = UNITS[self.unit_of(path) or t.dimension][1]
            scaled = Fraction(value.amount) * 100 / factor
        else:
            return None
        return [var == scaled.numerator] if scaled.denominator == 1 else None

    def soft_unstated(self) -> list[Any]:
        """One soft constraint per fact: leave it unstated (fewest facts)."""
        return [z3.Not(k) for k in self.known.values()]


def _lookup(facts: Mapping[str, Any], path: str) -> Any:
    """A typed fact by its path, list fields too (`transfers[0].mechanism`)."""
    if "[" not in path:
        return facts.get(path)
    head, _, rest = path.partition("[")
    index_text, _, field = rest.partition("].")
    entries = facts.get(head)
    if not isinstance(entries, list) or int(index_text) >= len(entries):
        return None
    return entries[int(index_text)].get(field)


def _variables_of(var: Any) -> list[Any]:
    if isinstance(var, SetVal):
        fresh = [] if z3.is_int_value(var.fresh) else [var.fresh]
        return [*var.members.values(), *fresh]
    if isinstance(var, ListVal):
        return [var.length]
    return [var]


def stem(path: str) -> str:
    """`transfers[0].mechanism` -> `transfers[].mechanism` (the static name)."""
    if "[" not in path:
        return path
    head, _, rest = path.partition("[")
    return f"{head}[].{rest.partition('].')[2]}"


def _decimal(value: Fraction) -> str:
    """An exact decimal string for a fraction whose denominator divides a power of ten."""
    text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _put(result: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = result
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
