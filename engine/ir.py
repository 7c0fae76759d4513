"""The checked form: typed expressions with every name resolved, and the checked bundle.

This is the one intermediate form both back ends compile from: `compiler.py` (scalar closures for
the API) and the vectorised simulator. It is bounded and side-effect free by construction: no
recursion (definition cycles are check-time errors), loops only over the finite lists of an
operation, so every rule can also be translated to solver formulas.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine.ast import Citation, Period
from engine.diagnostics import Span
from engine.types import EnumType, RecordType, Type

# ---- expressions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Node:
    type: Type
    span: Span


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
    """An operator whose implementation the checker chose from the operand types.

    op: and or not neg + - * / of = != < <= > >= meets in not_in contains max min size
        if known missing convert index
    """

    op: str
    args: tuple[Node, ...]
    extra: Any = None  # convert: target currency


@dataclass(frozen=True, slots=True)
class Loop(Node):
    """any / all / count / sum over a list or set, bounded by its length."""

    kind: str
    variable: str
    collection: Node
    condition: Node | None
    value: Node | None = None  # for sum


# ---- checked declarations ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedObligation:
    text: str
    within: Any  # values.Duration | None
    condition: Node | None
    cite: str | None
    span: Span


@dataclass(frozen=True, slots=True)
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

    def in_force(self, day: dt.date) -> bool:
        return not self.periods or any(p.contains(day) for p in self.periods)


@dataclass(frozen=True, slots=True)
class CheckedFine:
    name: str
    title: str
    kind: str  # up_to | between | exactly
    low: Node | None
    high: Node
    currency: str
    payer: str
    cite: str | None
    notes: tuple[str, ...]
    facts_read: tuple[str, ...]
    span: Span
    steps: tuple[str, ...] = ()  # definitions the formula reads, dependencies first: shown as steps


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class CheckedExample:
    description: str
    regime: str
    as_of: dt.date | None
    given: tuple[tuple[str, Any], ...]  # fact path -> operation JSON value
    expect: tuple[tuple[str, Any, Span], ...]  # (kind, value, span); exposure: a Const node
    span: Span


@dataclass(frozen=True, slots=True)
class CheckedRegime:
    name: str
    title: str
    cite: str | None
    in_force: Period | None
    currency: str
    aggregate: str  # gravest | sum
    aggregate_cite: str | None
    applies: tuple[CheckedApplies, ...]
    rules: dict[str, CheckedRule]
    fines: dict[str, CheckedFine]
    parameters: dict[str, CheckedParameter]
    defines: dict[str, CheckedDefine]
    examples: tuple[CheckedExample, ...]
    files: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FactInfo:
    path: str
    type: Type
    description: str | None
    span: Span
    unit: str | None = None  # the declared unit of a duration fact: its wire format


@dataclass(frozen=True, slots=True)
class Vocabulary:
    facts: dict[str, FactInfo]
    enums: dict[str, EnumType]
    records: dict[str, RecordType]
    descriptions: dict[str, str | None] = field(default_factory=dict)  # enum/record docs


@dataclass(frozen=True, slots=True)
class CheckedBundle:
    vocabulary: Vocabulary
    regimes: dict[str, CheckedRegime]
    parameters: dict[str, CheckedParameter]  # bundle-wide (policies/common)
    rates: dict[tuple[str, str], tuple[tuple[Period, Node, str | None], ...]]
    sources: dict[str, str]  # file -> text
    hash: str


def citation_text(cite: Citation | None) -> str | None:
    return cite.text if cite else None
