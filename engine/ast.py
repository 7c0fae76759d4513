"""The policy AST: frozen dataclasses, each node with the source span it came from.

Produced by `parser.py`, consumed by `checker.py` (and, later, the formatter). Nodes hold raw
source-level facts only: names are not resolved and literals carry their parsed values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from .diagnostics import Span

# ---- the language's closed sets of words ---------------------------------------------------------
# Each is a str, so results that print or serialise them read exactly as before.


class LoopKind(StrEnum):
    """What a loop over a list or set gives: a quantifier (`any`, `all`, `count`) or `sum`."""

    ANY = "any"
    ALL = "all"
    COUNT = "count"
    SUM = "sum"


class FineKind(StrEnum):
    """How a fine's formula bounds it: `up to X`, `between X and Y`, `exactly X`."""

    UP_TO = "up_to"
    BETWEEN = "between"
    EXACTLY = "exactly"


class Aggregation(StrEnum):
    """How a regime combines the fines of several violations (`aggregate …`)."""

    GRAVEST = "gravest"  # the gravest infringement's fine only (GDPR Art. 83(3))
    SUM = "sum"


class RegimeKind(StrEnum):
    """`kind …` of a regime: a statute (the default) or an organisation's own rules, stricter
    than the law, which a profile enables and whose findings are kept apart from the law's."""

    STATUTORY = "statutory"
    INTERNAL = "internal"


class RuleSeverity(StrEnum):
    """`severity …` of an internal rule: its weight, in place of a statutory fine."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class TypeShape(StrEnum):
    """How a declared type is built from names: `X`, `set of X`, `list of X`, `map of X to Y`."""

    SIMPLE = "simple"
    SET = "set"
    LIST = "list"
    MAP = "map"


class ExpectKind(StrEnum):
    """What one expectation of an example's `expect` clause checks."""

    STATUS = "status"
    VIOLATION = "violation"
    NO_VIOLATION = "no_violation"
    OBLIGATION = "obligation"
    MISSING = "missing"
    NOT_ASSESSED = "not_assessed"
    EXPOSURE_MIN = "exposure_min"
    EXPOSURE_MAX = "exposure_max"
    EXPOSURE_MAX_AT_LEAST = "exposure_max_at_least"
    EXPOSURE_MIN_AT_LEAST = "exposure_min_at_least"  # refused by the checker (E0119)


# ---- expressions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expr:
    span: Span


@dataclass(frozen=True, slots=True)
class Name(Expr):
    """A dotted name: a fact path, a definition, a parameter, a bound variable or an enum member."""

    path: str


@dataclass(frozen=True, slots=True)
class NumberLit(Expr):
    value: Decimal
    unit: str | None = None  # hours, days, weeks, months, years, business_days


@dataclass(frozen=True, slots=True)
class MoneyLit(Expr):
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PercentLit(Expr):
    fraction: Decimal  # 4% is Decimal("0.04")


@dataclass(frozen=True, slots=True)
class DateLit(Expr):
    value: dt.date


@dataclass(frozen=True, slots=True)
class TextLit(Expr):
    value: str


@dataclass(frozen=True, slots=True)
class CodeLit(Expr):
    """A country or territory code such as `DE` or `US-CA`."""

    value: str


@dataclass(frozen=True, slots=True)
class BoolLit(Expr):
    value: bool


@dataclass(frozen=True, slots=True)
class SetLit(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class ListLit(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class MapLit(Expr):
    """`{DE: 16 years, FR: 15 years}` (a map) or `{destination: US, mechanism: none}` (a record)."""

    entries: tuple[tuple[str, Span, Expr], ...]


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    """Arithmetic, comparison and set operators: op is one of
    + - * / of = != > >= < <= meets in not_in contains."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class BoolOp(Expr):
    op: str  # "and" | "or"
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True)
class Negate(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True)
class Knownness(Expr):
    """`x is known` / `x is missing`: the one test that is never unknown."""

    operand: Expr
    known: bool


@dataclass(frozen=True, slots=True)
class Call(Expr):
    function: str
    function_span: Span
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Convert(Expr):
    """`convert(x to USD)`: money in another currency at the dated rate."""

    operand: Expr
    currency: str


@dataclass(frozen=True, slots=True)
class Index(Expr):
    target: Expr
    key: Expr


@dataclass(frozen=True, slots=True)
class IfThenElse(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True, slots=True)
class Quantifier(Expr):
    """`any t in transfers where …`, `all …`, `count …` — bounded by the list's length."""

    kind: LoopKind  # any | all | count
    variable: str
    collection: Expr
    condition: Expr


@dataclass(frozen=True, slots=True)
class SumOver(Expr):
    """`sum t.subjects for t in transfers where …`."""

    value: Expr
    variable: str
    collection: Expr
    condition: Expr | None


# ---- types as written -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeRef:
    span: Span
    kind: TypeShape
    name: str
    value_name: str | None = None  # for map: the value type's name


# ---- declarations ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Citation:
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Period:
    """`from DATE until DATE`: `until` is exclusive (the first day no longer in force)."""

    start: dt.date
    end: dt.date | None
    span: Span

    def contains(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True, slots=True)
class Decl:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Applies:
    condition: Expr
    cite: Citation | None
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class RegimeDecl(Decl):
    title: str | None
    cite: Citation | None
    in_force: Period | None
    currency: str | None
    currency_span: Span | None
    aggregate: str | None
    aggregate_span: Span | None
    aggregate_cite: Citation | None
    applies: tuple[Applies, ...]
    notes: tuple[str, ...] = ()
    kind: str | None = None  # `kind internal`; checked against RegimeKind
    kind_span: Span | None = None


@dataclass(frozen=True, slots=True)
class EnumDecl(Decl):
    description: str | None
    members: tuple[tuple[str, Span], ...]


@dataclass(frozen=True, slots=True)
class FieldDecl(Decl):
    type: TypeRef
    description: str | None


@dataclass(frozen=True, slots=True)
class RecordDecl(Decl):
    description: str | None
    fields: tuple[FieldDecl, ...]


@dataclass(frozen=True, slots=True)
class FactDecl(Decl):
    type: TypeRef
    description: str | None


@dataclass(frozen=True, slots=True)
class DefineDecl(Decl):
    type: TypeRef | None
    value: Expr
    cite: Citation | None


@dataclass(frozen=True, slots=True)
class DatedValue:
    period: Period
    value: Expr
    cite: Citation | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParameterDecl(Decl):
    type: TypeRef
    description: str | None
    cite: Citation | None
    values: tuple[DatedValue, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RateDecl(Decl):
    """`rate EUR to USD`: one unit of `base` is worth `value` units of `quote` (dated values)."""

    base: str
    quote: str
    cite: Citation | None
    values: tuple[DatedValue, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FineDecl(Decl):
    title: str | None
    kind: FineKind
    low: Expr | None
    high: Expr
    payer: str | None
    cite: Citation | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Obligation:
    text: str
    within: NumberLit | None
    condition: Expr | None
    cite: Citation | None
    span: Span
    anchor: tuple[str, Span] | None = None  # `within … after FACT`: the date it counts from


@dataclass(frozen=True, slots=True, kw_only=True)
class Duty:
    """`duty "TEXT" [within D] met when COND`: a measure the rule requires. Stated unmet
    (COND false) is a violation; not stated (COND unknown) leaves the duty as an obligation."""

    text: str
    within: NumberLit | None
    met: Expr
    cite: Citation | None
    span: Span
    anchor: tuple[str, Span] | None = None  # `within … after FACT`: the date it counts from


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleDecl(Decl):
    title: str | None
    cite: Citation | None
    periods: tuple[Period, ...]
    when: Expr | None
    violation: Expr | None
    violation_unless: bool
    obligations: tuple[Obligation, ...]
    fines: tuple[tuple[str, Span], ...]
    notes: tuple[str, ...] = ()
    exception_to: str | None = None  # set for exceptions
    exception_to_span: Span | None = None
    duties: tuple[Duty, ...] = ()
    topic: str | None = None
    topic_span: Span | None = None
    severity: str | None = None  # `severity high` (internal rules); checked against RuleSeverity
    severity_span: Span | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicDecl(Decl):
    """`topic breach "Personal data breaches" described by breach.occurred`: rules about an event
    an operation may not describe. A topic none of whose facts the operation states is reported
    as not assessed, never passed silently."""

    title: str | None
    described_by: tuple[tuple[str, Span], ...]
    cite: Citation | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelDecl(Decl):
    """`organisation facts controller.*, governance.dpia` / `controllable facts legal_basis, …`:
    `name` is the level; patterns are a fact path, `prefix.*`, or `list[].field`."""

    patterns: tuple[tuple[str, Span], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveDecl(Decl):
    """`derive PATH = VALUE if CONDITION`: one legal notion, one fact. When the operation does
    not state PATH and CONDITION holds, PATH takes VALUE (`name` is the fact path)."""

    value: Expr
    condition: Expr
    cite: Citation | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionDecl(Decl):
    """`retention NAME "title" of CATEGORIES for PURPOSES keep D after DATE_FIELD [if FLAG]
    then delete|anonymise cite "…"`: a storage limit of customer records (engine/retention/)."""

    title: str | None
    categories: tuple[tuple[str, Span], ...]
    purposes: tuple[tuple[str, Span], ...]
    keep: NumberLit
    anchor: tuple[str, Span]
    condition: tuple[str, Span] | None
    action: tuple[str, Span]
    cite: Citation | None


@dataclass(frozen=True, slots=True)
class Assignment:
    path: str
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Expectation:
    kind: ExpectKind
    value: str | Expr
    span: Span
    payer: str | None = None  # exposure expectations: whose exposure (default organisation)


@dataclass(frozen=True, slots=True)
class ExampleDecl(Decl):
    """`name` is the example's description."""

    as_of: dt.date | None
    given: tuple[Assignment, ...]
    expect: tuple[Expectation, ...]


@dataclass(frozen=True, slots=True)
class Comment:
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Module:
    """One parsed policy file."""

    path: str
    regime: str | None  # the regime this file belongs to (header or `part of`)
    regime_span: Span | None
    declarations: tuple[Decl, ...]
    comments: tuple[Comment, ...] = field(default_factory=tuple)
