"""Constant folding, run once on the checked IR before either back end compiles it.

An operator whose operands are all constants (`{DE, FR}`, `EUR 10 million * 2`, `not true`) is
replaced by its value, computed by the scalar back end, so both back ends see the same
constants and neither re-evaluates them per decision or per batch. Operators whose value depends
on the evaluation (`as_of`, `is known`) or that have no constant value (a division by zero, a
conversion needing an exchange rate) are left as they are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from . import ir
from .compiler import Compiler, Context
from .ir import OpCode
from .types import ERROR
from .values import UNKNOWN, ExchangeRates

_NOT_FOLDED = frozenset({OpCode.AS_OF, OpCode.KNOWN, OpCode.MISSING, OpCode.CONVERT})


def constant_value(node: ir.Node) -> Any:
    """The value of a fact-free expression (a parameter value, an expected exposure)."""
    ctx = Context({}, dt.date.min, {}, ExchangeRates({}))
    return Compiler({}).compile(node)(ctx)


def fold(node: ir.Node) -> ir.Node:
    """`node` with every constant operator replaced by its value (bottom-up)."""
    if isinstance(node, ir.Op):
        args = tuple(fold(a) for a in node.args)
        # A poisoned operand (an expression that already has its diagnostic, e.g. a declaration
        # left out after a syntax error) has no value: leave the operator for the error to stop.
        if (
            node.op not in _NOT_FOLDED
            and args
            and all(isinstance(a, ir.Const) and a.type != ERROR for a in args)
        ):
            value = constant_value(dataclasses.replace(node, args=args))
            if value is not UNKNOWN:
                return ir.Const(node.type, node.span, value)
        return node if args == node.args else dataclasses.replace(node, args=args)
    if isinstance(node, ir.Loop):
        return dataclasses.replace(
            node,
            collection=fold(node.collection),
            condition=None if node.condition is None else fold(node.condition),
            value=None if node.value is None else fold(node.value),
        )
    return node


def _fold_optional(node: ir.Node | None) -> ir.Node | None:
    return None if node is None else fold(node)


def fold_regime(regime: ir.CheckedRegime) -> ir.CheckedRegime:
    rules = {
        name: dataclasses.replace(
            rule,
            when=_fold_optional(rule.when),
            violation=_fold_optional(rule.violation),
            obligations=tuple(
                dataclasses.replace(o, condition=_fold_optional(o.condition))
                for o in rule.obligations
            ),
            duties=tuple(dataclasses.replace(d, met=fold(d.met)) for d in rule.duties),
        )
        for name, rule in regime.rules.items()
    }
    fines = {
        name: dataclasses.replace(fine, low=_fold_optional(fine.low), high=fold(fine.high))
        for name, fine in regime.fines.items()
    }
    defines = {
        name: dataclasses.replace(define, value=fold(define.value))
        for name, define in regime.defines.items()
    }
    applies = tuple(dataclasses.replace(a, condition=fold(a.condition)) for a in regime.applies)
    return dataclasses.replace(regime, rules=rules, fines=fines, defines=defines, applies=applies)


def fold_bundle(bundle: ir.CheckedBundle) -> ir.CheckedBundle:
    return dataclasses.replace(
        bundle, regimes={name: fold_regime(r) for name, r in bundle.regimes.items()}
    )
