"""Which declarations differ between the two sides of a diff, and which of them each semantic
change reads: a change in the law is reported once, under the declaration that changed (a
parameter's value in force, a rule, a definition, a scope clause, a fine), with the rules,
scope and fines whose answers it changes.

Declarations are compared without their source positions (`shape`), so a reformatted file or a
comment added above a rule is not a change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from .. import ir
from ..diagnostics import Span
from ..fold import constant_value


@dataclass(frozen=True, slots=True)
class Declaration:
    kind: str  # parameter | rule | define | scope | fine | derivation | rate | regime
    name: str
    span: Span | None
    detail: str  # what differs, in words

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)


def shape(value: Any) -> Any:
    """A value with every source position left out, comparable across files."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple(
                shape(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.name not in ("span", "facts_read")
            ),
        )
    if isinstance(value, tuple | list):
        return tuple(shape(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, shape(v)) for k, v in value.items()))
    if isinstance(value, frozenset | set):
        return tuple(sorted(map(repr, value)))
    return value


def _parameter_on(parameter: ir.CheckedParameter | None, day: dt.date) -> Any:
    if parameter is None:
        return None
    for period, node, _ in parameter.values:
        if period.contains(day):
            return constant_value(node)
    return None


def _shown(value: Any) -> str:
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(map(str, value))) + "}"
    return "no value" if value is None else str(value)


def changed(
    old: ir.CheckedBundle,
    new: ir.CheckedBundle,
    regime: str,
    old_day: dt.date,
    new_day: dt.date,
) -> list[Declaration]:
    """The declarations of `regime` (and bundle-wide ones) that differ between the sides as
    they stand on their days."""
    a, b = old.regimes[regime], new.regimes[regime]
    found: list[Declaration] = []
    for pa, pb in (
        (old.parameters, new.parameters),
        (a.parameters, b.parameters),
    ):
        for name in sorted(pa.keys() | pb.keys()):
            va, vb = _parameter_on(pa.get(name), old_day), _parameter_on(pb.get(name), new_day)
            if shape(va) != shape(vb):
                declared = pb.get(name) or pa.get(name)
                found.append(
                    Declaration(
                        "parameter",
                        name,
                        declared.span if declared else None,
                        f"{_shown(va)} -> {_shown(vb)}",
                    )
                )
    for name in sorted(a.rules.keys() | b.rules.keys()):
        ra, rb = a.rules.get(name), b.rules.get(name)
        ia = ra is not None and ra.in_force(old_day)
        ib = rb is not None and rb.in_force(new_day)
        if not ia and not ib:
            continue
        if ia != ib:
            detail = "comes into force" if ib else "ceases to be in force"
        elif shape(_rule_body(ra)) != shape(_rule_body(rb)):
            detail = "its text changed"
        else:
            continue
        rule = rb or ra
        found.append(Declaration("rule", name, rule.span if rule else None, detail))
    for name in sorted(a.defines.keys() | b.defines.keys()):
        da, db = a.defines.get(name), b.defines.get(name)
        if shape(da.value if da else None) != shape(db.value if db else None):
            defined = db or da
            found.append(
                Declaration("define", name, defined.span if defined else None, "its value changed")
            )
    if shape([c.condition for c in a.applies]) != shape([c.condition for c in b.applies]):
        span = b.applies[0].span if b.applies else None
        found.append(Declaration("scope", regime, span, "its `applies when` clauses changed"))
    ia = a.in_force is None or a.in_force.contains(old_day)
    ib = b.in_force is None or b.in_force.contains(new_day)
    if ia != ib:
        found.append(Declaration("regime", regime, None, "in force on one side only"))
    for name in sorted(a.fines.keys() | b.fines.keys()):
        fa, fb = a.fines.get(name), b.fines.get(name)
        if shape(_fine_body(fa)) != shape(_fine_body(fb)):
            fine = fb or fa
            found.append(
                Declaration("fine", name, fine.span if fine else None, "its amount changed")
            )
    if old_day != new_day:
        found.append(
            Declaration("as_of", "as_of", None, "rules that read the assessment date (`as_of`)")
        )
    if shape(old.derivations) != shape(new.derivations):
        found.append(Declaration("derivation", "derive", None, "the derivations changed"))
    if shape(_rates_on(old, old_day)) != shape(_rates_on(new, new_day)):
        found.append(Declaration("rate", "rates", None, "the exchange rates in force changed"))
    return found


def _rule_body(rule: ir.CheckedRule | None) -> Any:
    if rule is None:
        return None
    return dataclasses.replace(rule, periods=(), title="", notes=(), cite=None)


def _fine_body(fine: ir.CheckedFine | None) -> Any:
    if fine is None:
        return None
    return (fine.kind, fine.low, fine.high, fine.currency)


def _rates_on(bundle: ir.CheckedBundle, day: dt.date) -> Any:
    return {
        pair: [constant_value(node) for period, node, _ in values if period.contains(day)]
        for pair, values in bundle.rates.items()
    }


def reads(regime: ir.CheckedRegime, subject: str, kind: str) -> set[tuple[str, str]]:
    """The declarations a semantic change's subject reads: the rule itself and its exceptions,
    the scope, the fine; the definitions and parameters they read, transitively. The scope is
    read by every rule (a rule change is asked of operations both sides hold in scope)."""
    found: set[tuple[str, str]] = set()
    nodes: list[ir.Node] = []
    if kind == "scope":
        found.add(("scope", regime.name))
        nodes += [c.condition for c in regime.applies]
    elif kind == "fine":
        name = subject.removeprefix("fine ")
        found.add(("fine", name))
        fine = regime.fines.get(name)
        if fine is not None:
            nodes += [n for n in (fine.low, fine.high) if n is not None]
        for rule in regime.rules.values():
            if name in rule.fines:
                found.add(("rule", rule.name))
    else:
        pending = [subject]
        while pending:
            current = regime.rules.get(pending.pop())
            if current is None:
                continue
            rule = current
            found.add(("rule", rule.name))
            nodes += [n for n in (rule.when, rule.violation) if n is not None]
            nodes += [o.condition for o in rule.obligations if o.condition is not None]
            nodes += [d.met for d in rule.duties]
            pending += list(rule.exceptions)
    seen: set[str] = set()
    while nodes:
        for node in ir.walk(nodes.pop()):
            if isinstance(node, ir.Param):
                found.add(("parameter", node.name))
            elif isinstance(node, ir.Op) and node.op is ir.OpCode.AS_OF:
                found.add(("as_of", "as_of"))
            elif isinstance(node, ir.Define) and node.name not in seen:
                seen.add(node.name)
                found.add(("define", node.name))
                define = regime.defines.get(node.name)
                if define is not None:
                    nodes.append(define.value)
    found.update({("derivation", "derive"), ("rate", "rates"), ("regime", regime.name)})
    return found
