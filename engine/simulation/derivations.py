"""Derived facts over columns: engine/derive.py's `derive PATH = VALUE if CONDITION`, per row.

A derivation fills a truth value or an enumeration where the row does not state it and the
condition is certainly true; rows where a derivation of another type would fire are left to the
scalar back end. Applied in declaration order, repeated until nothing changes, as the scalar
back end does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ir
from ..types import BOOL, EnumType
from .vector_compiler import Compiled, VectorCompiler
from .vector_values import BoolCol, CodeCol, Env, broadcast_known, is_true, unknown_col

View = Callable[[str], Any]


class VectorDerivations:
    def __init__(self, checked: ir.CheckedBundle, rate_scale: int):
        compiler = VectorCompiler({}, {}, rate_scale)
        self._items: list[tuple[ir.CheckedDerivation, Compiled, Any]] = [
            (d, compiler.compile(d.condition), checked.vocabulary.facts[d.path].type)
            for d in checked.derivations
        ]

    def view(self, base: View, env: Env) -> View:
        """`base` with the derived columns in place; `env.fallback` gets the rows that need the
        scalar back end."""
        if not self._items:
            return base
        derived: dict[str, Any] = {}

        def current(path: str) -> Any:
            return derived[path] if path in derived else base(path)

        env.facts = current
        n = env.n
        for _ in range(len(self._items)):
            changed = False
            for derivation, condition, fact_type in self._items:
                target = current(derivation.path)
                if target is None:
                    target = unknown_col(fact_type, env)
                known = broadcast_known(n, target.known)
                fill = broadcast_known(n, is_true(condition.fn(env))) & ~known
                if not fill.any():
                    continue
                if fact_type == BOOL:
                    values = np.where(
                        fill, bool(derivation.value), np.broadcast_to(target.values, (n,))
                    )
                    derived[derivation.path] = BoolCol(values, known | fill)
                elif isinstance(fact_type, EnumType):
                    code = fact_type.members.index(derivation.value)
                    values = np.where(fill, code, np.broadcast_to(target.values, (n,)))
                    derived[derivation.path] = CodeCol(values.astype(np.int32), known | fill)
                else:
                    env.flag(fill)
                    continue
                changed = True
            if not changed:
                break
        return current
