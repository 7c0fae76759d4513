"""The checked form: typed expressions with every name resolved, and the checked bundle.

This is the one intermediate form both back ends compile from: `compiler.py` (scalar closures for
the API) and the vectorised simulator. It is bounded and side-effect free by construction: no
recursion (definition cycles are check-time errors), loops only over the finite lists of an
operation, so every rule can also be translated to solver formulas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .ast import (
    Aggregation,
    Citation,
    ExpectKind,
    FineKind,
    LoopKind,
    Period,
    RegimeKind,
    RuleSeverity,
)
from .diagnostics import Span
from .types import EnumType, RecordType, Type

# ---- operators ------------------------------------------------------------------------------


class OpCode(StrEnum):
    """Every operator of the checked form. Each back end has one builder per code (a table), and
    tests/engine/test_ir_contract.py fails when a code has none: adding an operator here does
    not pass the tests until every back end implements it or declares it unsupported."""

    AND = "and"
    OR = "or"
    NOT = "not"
    NEG = "neg"
    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"
    OF = "of"
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    MEETS = "meets"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    MAX = "max"
    MIN = "min"
    SIZE = "size"
    IF = "if"
    KNOWN = "known"
    MISSING = "missing"
    CONVERT = "convert"
    INDEX = "index"
    SET = "set"
    AS_OF = "as_of"


LOGICAL = frozenset({OpCode.AND, OpCode.OR, OpCode.NOT})
COMPARISONS = frozenset(
    {
        OpCode.EQ,
        OpCode.NE,
        OpCode.LT,
        OpCode.LE,
        OpCode.GT,
        OpCode.GE,
        OpCode.MEETS,
        OpCode.IN,
        OpCode.NOT_IN,
        OpCode.CONTAINS,
    }
)
ARITHMETIC = frozenset({OpCode.ADD, OpCode.SUB, OpCode.MUL, OpCode.DIV, OpCode.OF})


# ---- expressions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Node:
    type: Type
    span: Span

    def children(self) -> tuple[Node, ...]:
        """The sub-expressions of this node, in evaluation order (none for a leaf). A `Define`
        is a leaf here: its body is the definition's, reached through the definitions table."""
        return ()


@dataclass(frozen=True, slots=True)
class Const(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class Fact(Node):
    path: str
    currency: str | None = None  # money facts are read in this currency (converted, traced)


@dataclass(frozen=True, slots=True)
class Var(Node):
    """A variable bound by a quantifier (`t` in `any t in transfers where …`)."""

    name: str


@dataclass(frozen=True, slots=True)
class Field(Node):
    target: Node  # a Var whose type is a record
    name: str
    currency: str | None = None

    def children(self) -> tuple[Node, ...]:
        return (self.target,)


@dataclass(frozen=True, slots=True)
class Param(Node):
    name: str
    scope: str  # regime name, or "" for bundle-wide


@dataclass(frozen=True, slots=True)
class Define(Node):
    name: str
    scope: str


@dataclass(frozen=True, slots=True)
class Op(Node):
    """An operator whose implementation the checker chose from the operand types."""

    op: OpCode
    args: tuple[Node, ...]
    extra: Any = None  # convert: target currency

    def __post_init__(self) -> None:
        # the checker passes the operator it parsed (`"and"`, `">="`): stored as its OpCode, so
        # an operator no back end knows is an error where the IR is built, not where it runs
        object.__setattr__(self, "op", OpCode(self.op))

    def children(self) -> tuple[Node, ...]:
        return self.args


@dataclass(frozen=True, slots=True, kw_only=True)
class Loop(Node):
    """any / all / count / sum over a list or set, bounded by its length."""

    kind: LoopKind
    variable: str
    collection: Node
    condition: Node | None
    value: Node | None = None  # for sum

    def children(self) -> tuple[Node, ...]:
        return tuple(n for n in (self.collection, self.condition, self.value) if n is not None)


def walk(node: Node) -> Iterator[Node]:
    """Every node of an expression, the node itself first (pre-order). The one walk every pass
    uses, like Jinja's `Node.iter_child_nodes`."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


# ---- checked declarations ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedObligation:
    text: str
    within: Any  # values.Duration | None
    condition: Node | None
    cite: str | None
    span: Span
    anchor: str | None = None  # a date fact the deadline counts from


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedDuty:
    """A measure a rule requires: `met` false is a violation (a stated gap); `met` unknown
    leaves the duty standing as an obligation, confirmed by the facts `met` reads."""

    text: str
    within: Any  # values.Duration | None
    met: Node
    cite: str | None
    facts_read: tuple[str, ...]
    span: Span
    anchor: str | None = None  # a date fact the deadline counts from


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedRule:
    name: str
    title: str
    cite: str | None
    periods: tuple[Period, ...]
    when: Node | None
    violation: Node | None  # already negated for `violation unless`
    obligations: tuple[CheckedObligation, ...]
    fines: tuple[str, ...]
    notes: tuple[str, ...]
    exception_to: str | None
    facts_read: tuple[str, ...]
    span: Span
    exceptions: tuple[str, ...] = ()  # filled by the checker: rules that are exceptions to this
    duties: tuple[CheckedDuty, ...] = ()
    topic: str | None = None  # exceptions: their rule's topic
    severity: RuleSeverity | None = None  # internal rules: their weight, in place of a fine

    def in_force(self, day: dt.date) -> bool:
        return not self.periods or any(p.contains(day) for p in self.periods)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedFine:
    name: str
    title: str
    kind: FineKind
    low: Node | None
    high: Node
    currency: str
    payer: str
    cite: str | None
    notes: tuple[str, ...]
    facts_read: tuple[str, ...]
    span: Span
    steps: tuple[str, ...] = ()  # definitions the formula reads, dependencies first: shown as steps


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedParameter:
    name: str
    type: Type
    description: str | None
    cite: str | None
    values: tuple[tuple[Period, Node, str | None], ...]  # (period, constant expression, cite)
    span: Span


@dataclass(frozen=True, slots=True)
class CheckedDefine:
    name: str
    value: Node
    cite: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class CheckedApplies:
    condition: Node
    cite: str | None
    facts_read: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedExample:
    description: str
    regime: str
    as_of: dt.date | None
    given: tuple[tuple[str, Any], ...]  # fact path -> operation JSON value
    expect: tuple[tuple[ExpectKind, Any, Span], ...]  # (kind, value, span); exposure: a Const
    span: Span


@dataclass(frozen=True, slots=True)
class CheckedTopic:
    """Rules about an event an operation may not describe (a breach, a rights request). The
    topic is described when the operation states any of `described_by`; otherwise its rules are
    reported as not assessed."""

    name: str
    title: str
    cite: str | None
    described_by: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedDerivation:
    """`derive path = value if condition`: fills a fact the operation did not state."""

    path: str
    value: Any  # the run-time value (a constant)
    condition: Node
    cite: str | None
    facts_read: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedRegime:
    name: str
    title: str
    cite: str | None
    in_force: Period | None
    currency: str
    aggregate: Aggregation
    aggregate_cite: str | None
    applies: tuple[CheckedApplies, ...]
    rules: dict[str, CheckedRule]
    fines: dict[str, CheckedFine]
    parameters: dict[str, CheckedParameter]
    defines: dict[str, CheckedDefine]
    examples: tuple[CheckedExample, ...]
    files: tuple[str, ...]
    notes: tuple[str, ...] = ()
    topics: dict[str, CheckedTopic] = field(default_factory=dict)
    kind: RegimeKind = RegimeKind.STATUTORY  # internal: off unless a profile enables it


@dataclass(frozen=True, slots=True)
class FactInfo:
    path: str
    type: Type
    description: str | None
    span: Span
    unit: str | None = None  # the declared unit of a duration fact: its wire format


@dataclass(frozen=True, slots=True, kw_only=True)
class Vocabulary:
    facts: dict[str, FactInfo]
    enums: dict[str, EnumType]
    records: dict[str, RecordType]
    descriptions: dict[str, str | None] = field(default_factory=dict)  # enum/record docs
    # facts that describe the organisation rather than one operation (kept in a profile)
    organisation: frozenset[str] = frozenset()
    # facts the organisation can change (remediation); list fields as `transfers[].mechanism`
    controllable: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionLimit:
    """A checked `retention` declaration: engine/retention/ evaluates it over record tables.
    `keep` is in the base unit of its dimension (hours or months, as a `Duration`)."""

    name: str
    title: str | None
    regime: str | None  # the regime whose file declares it; None: bundle-wide (no `part of`)
    categories: frozenset[str]
    purposes: frozenset[str]
    keep_amount: int
    keep_dimension: str  # "hours" (days and weeks, whole days) or "months" (months, years)
    anchor: str  # a date field of `customer_record`
    condition: str | None  # a bool field of `customer_record`
    action: str  # delete | anonymise
    cite: str | None
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedBundle:
    vocabulary: Vocabulary
    regimes: dict[str, CheckedRegime]
    parameters: dict[str, CheckedParameter]  # bundle-wide (policies/common)
    rates: dict[tuple[str, str], tuple[tuple[Period, Node, str | None], ...]]
    sources: dict[str, str]  # file -> text
    hash: str
    derivations: tuple[CheckedDerivation, ...] = ()  # in the order they are applied
    warnings: tuple[Any, ...] = ()  # diagnostics.Diagnostic of severity "warning"
    retention: tuple[RetentionLimit, ...] = ()  # `retention` limits, in declaration order


def citation_text(cite: Citation | None) -> str | None:
    return cite.text if cite else None
