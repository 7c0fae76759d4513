"""Quantifiers over columns: `any`, `all`, `count` and `sum` over a list or set, for every row
of a batch at once (vector_compiler.py compiles the parts; this runs them).

A list is walked position by position up to its fixed maximum, a set member by member over its
whole universe (a bounded number), so the loop is over positions, never over rows. Kleene logic
as in the scalar back end: `any` is true where some present item is certainly true, false where
every present item is certainly false, unknown otherwise; `all` the other way round; a count or
sum is unknown where some present item's condition (or chosen value) is unknown.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..ast import LoopKind
from ..types import EnumType, Type
from .vector_values import (
    ONE,
    BitsCol,
    BoolCol,
    CodeCol,
    Col,
    Env,
    Fn,
    ListCol,
    NumCol,
    _has_bit,
    aligned,
    broadcast_known,
    checked_add,
    is_false,
    is_true,
    true_col,
)


def loop_column(
    collection: Fn,
    condition: Fn | None,
    value: Fn | None,
    variable: str,
    kind: LoopKind,
    element_type: Type | None,
) -> Fn:
    """The column function of `kind variable in collection [where condition] [: value]`."""

    def loop(env: Env) -> Col:
        coll = collection(env)
        n = env.n
        hit = np.zeros(n, dtype=bool)  # any: some item true; all: some item false
        unknown = np.zeros(n, dtype=bool)
        total = np.zeros(n, dtype=np.int64)
        total_scale = 0
        saved = env.bindings.get(variable)
        try:
            for present, binding in _items(coll, element_type, env):
                env.bindings[variable] = binding
                c = condition(env) if condition is not None else true_col()
                if kind == LoopKind.ANY:
                    hit |= present & is_true(c)
                    unknown |= present & ~c.known
                elif kind == LoopKind.ALL:
                    hit |= present & is_false(c)
                    unknown |= present & ~c.known
                else:
                    unknown |= present & ~c.known
                    chosen = present & is_true(c)
                    if kind == LoopKind.COUNT:
                        total = total + chosen
                    else:
                        assert value is not None
                        running, v = aligned(
                            NumCol(total, np.ones(n, dtype=bool), total_scale), value(env), env
                        )
                        unknown |= chosen & ~v.known
                        total, total_scale = (
                            checked_add(
                                running.values,
                                np.where(chosen & v.known, v.values, 0),
                                chosen,
                                env,
                            ),
                            v.scale,
                        )
        finally:
            if saved is None:
                env.bindings.pop(variable, None)
            else:
                env.bindings[variable] = saved
        known = broadcast_known(n, coll.known)
        if kind == LoopKind.ANY:
            return BoolCol(hit, known & (hit | ~unknown))
        if kind == LoopKind.ALL:
            return BoolCol(~hit, known & (hit | ~unknown))
        return NumCol(total, known & ~unknown, total_scale)

    return loop


def _items(
    coll: Col, element_type: Type | None, env: Env
) -> Iterator[tuple[np.ndarray, Col | dict[str, Any]]]:  # a code, or a record's fields
    """(present mask, loop-variable binding) for each position of a list or member of a set.
    Sets are walked over their whole universe, a bounded number of members."""
    if isinstance(coll, ListCol):
        for i, element in enumerate(coll.elements):
            yield broadcast_known(env.n, coll.known & (coll.length > i)), element
        return
    assert isinstance(coll, BitsCol) and element_type is not None
    universe = (
        len(element_type.members)
        if isinstance(element_type, EnumType)
        else len(env.countries.codes)
    )
    for member in range(universe):
        present = coll.known & _has_bit(coll.words, np.array([member], dtype=np.int32))
        yield broadcast_known(env.n, present), CodeCol(np.array([member], dtype=np.int32), ONE)
