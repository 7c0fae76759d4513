"""Derived facts: `derive PATH = VALUE if CONDITION` in policies/common.

One legal notion, one fact: a caller who says `consent.given = false` has also said that no
minor opted in to a sale. A derivation fills PATH only when the operation does not state it and
its condition is certainly true; it never overrides a stated fact. Derivations are applied in
declaration order, repeatedly until nothing changes (at most once per derivation), before any
regime is evaluated — and again on every completion engine/completion.py evaluates, so a
filled-in fact fills in what is derived from it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from . import ir
from .compiler import Compiler, Context
from .decision import DerivedFact
from .values import ExchangeRates


class Derivations:
    def __init__(self, derivations: tuple[ir.CheckedDerivation, ...], rates: ExchangeRates):
        compiler = Compiler({})
        self._rules = tuple((d, compiler.compile(d.condition)) for d in derivations)
        self._rates = rates
        # the facts a derivation reads: filling one in may derive another
        self.inputs = frozenset(p for d in derivations for p in d.facts_read)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def apply(
        self, facts: Mapping[str, Any], as_of: dt.date = dt.date.min
    ) -> tuple[Mapping[str, Any], tuple[DerivedFact, ...]]:
        """(facts with the derived ones filled in, what was derived and why)."""
        if not self._rules:
            return facts, ()
        result = dict(facts)
        derived: list[DerivedFact] = []
        for _ in range(len(self._rules)):
            changed = False
            for derivation, condition in self._rules:
                if result.get(derivation.path) is not None:
                    continue
                if condition(Context(result, as_of, {}, self._rates)) is True:
                    result[derivation.path] = derivation.value
                    derived.append(
                        DerivedFact(
                            derivation.path,
                            derivation.value,
                            derivation.facts_read,
                            derivation.cite,
                        )
                    )
                    changed = True
            if not changed:
                break
        return result, tuple(derived)

    def fill(self, facts: Mapping[str, Any]) -> Mapping[str, Any]:
        return self.apply(facts)[0]
