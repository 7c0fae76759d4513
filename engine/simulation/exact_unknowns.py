"""Exact unknowns over columns: engine/completion.py's settling of a rule that three-valued
logic leaves unknown, for the rows of a batch at once.

Rows are grouped by which of the rule's finite facts (booleans, enumerations) they miss. For a
group missing facts M with at most BUDGET completions (the product of their domains), the rule
is evaluated once per completion over that group's rows, with the missing columns filled in
(and the bundle's derivations applied again, as the scalar back end does); a row is settled
when no completion is still unknown and the rule is violated in all of them or in none (then
whatever any completion imposes is owed), as the scalar back end joins verdicts. This is the
scalar back end's answer: its lazy case split joins the same completions, and it keeps
three-valued logic's answer over the same budget (a static count: engine/completion.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..completion import BUDGET
from .vector_values import (
    ONE,
    ZERO,
    BitsCol,
    BoolCol,
    CodeCol,
    Env,
    ListCol,
    MoneyColumn,
    NumCol,
    align_all,
    broadcast_known,
    kleene_or,
)

if TYPE_CHECKING:
    from .regimes import VectorRegime, _Rule

# A rule's verdict per row. Here rather than in regimes.py, which imports this module: settling
# needs the codes, and an import back would make the two modules a cycle.
KIND_UNKNOWN, KIND_VIOLATED, KIND_DUTY, KIND_CLEAR = range(4)


def settle_rows(
    regime: VectorRegime,
    compiled: _Rule,
    env: Env,
    rows: np.ndarray,
    kind: np.ndarray,
    bits: np.ndarray,
) -> None:
    """Settle the unknown verdicts of `rows` (a mask) in place in `kind` and `bits`."""
    for group, branches in _completions(regime, env, rows, compiled.finite_reads):
        unknown = np.zeros(group.size, dtype=bool)
        violated_all = np.ones(group.size, dtype=bool)
        violated_any = np.zeros(group.size, dtype=bool)
        duty_any = np.zeros(group.size, dtype=bool)
        bits_any = np.zeros(group.size, dtype=np.int64)
        for branch in branches:
            branch_kind, branch_bits = regime.state(compiled, branch)
            if branch.fallback.any():
                env.flag(_mask(env.n, group[branch.fallback]))
            unknown |= branch_kind == KIND_UNKNOWN
            violated = branch_kind == KIND_VIOLATED
            violated_all &= violated
            violated_any |= violated
            duty_any |= branch_kind == KIND_DUTY
            bits_any |= branch_bits
        # joined as the scalar back end joins verdicts (evaluator.joined): violated in every
        # completion, or in none (then whatever any completion imposes is owed, conditionally)
        settled = ~unknown & (violated_all | ~violated_any)
        rows_settled = group[settled]
        kind[rows_settled] = np.where(
            violated_all[settled],
            KIND_VIOLATED,
            np.where(duty_any[settled], KIND_DUTY, KIND_CLEAR),
        )
        bits[rows_settled] = np.where(violated_all[settled], 0, bits_any[settled])


def settle_scope(
    regime: VectorRegime, env: Env, rows: np.ndarray, applies: np.ndarray, known: np.ndarray
) -> None:
    """Settle an unknown scope (`applies when …`, the clauses or-ed) for `rows` in place."""
    for group, branches in _completions(regime, env, rows, regime.applies_reads):
        first: np.ndarray | None = None
        agree = np.ones(group.size, dtype=bool)
        for branch in branches:
            value = BoolCol(ZERO, ONE)
            for clause in regime.applies:
                value = kleene_or(value, clause.fn(branch))
            if branch.fallback.any():
                env.flag(_mask(env.n, group[branch.fallback]))
            values = np.broadcast_to(value.values, (group.size,))
            agree &= np.broadcast_to(value.known, (group.size,))
            if first is None:
                first = values
            else:
                agree &= values == first
        assert first is not None
        applies[group[agree]] = first[agree]
        known[group[agree]] = True


def bound_ends(
    regime: VectorRegime, fine: Any, env: Env, rows: np.ndarray, low: NumCol, high: NumCol
) -> tuple[NumCol, NumCol]:
    """A fine line's ends where `rows` (a mask) left them unknown: the lowest low and the
    highest high over the completions of the missing finite facts (engine/exposure.py), each
    known only where every completion gives a known value."""
    low = _full(low, env.n)
    high = _full(high, env.n)
    for group, branches in _completions(regime, env, rows, fine.finite_reads):
        lows, highs = [], []
        for branch in branches:
            branch_low, branch_high = fine.ends(branch)
            if branch.fallback.any():
                env.flag(_mask(env.n, group[branch.fallback]))
            lows.append(_full(branch_low, group.size))
            highs.append(_full(branch_high, group.size))
        for ends, target, pick in ((lows, low, np.minimum), (highs, high, np.maximum)):
            ends = align_all(ends, env)
            if ends[0].scale != target.scale:
                env.flag(_mask(env.n, group))
                continue
            values, known = ends[0].values.copy(), ends[0].known.copy()
            for end in ends[1:]:
                values = pick(values, end.values)
                known &= end.known
            target.values[group] = values
            target.known[group] = known
    return low, high


def _completions(
    regime: VectorRegime, env: Env, rows: np.ndarray, finite_reads: tuple[str, ...]
) -> Iterator[tuple[np.ndarray, Iterator[Env]]]:
    """Per group of `rows` missing the same finite facts: (the group's row numbers, an
    environment per completion of those facts). Groups beyond the budget go to the scalar
    back end."""
    paths, missing = _missing_paths(env, finite_reads)
    candidates = rows & np.any(missing, axis=0) if paths else np.zeros(env.n, dtype=bool)
    if not candidates.any():
        return
    index = np.flatnonzero(candidates)
    patterns = np.packbits(missing[:, index], axis=0, bitorder="little").T.copy()
    keys = patterns.view(np.dtype((np.void, patterns.shape[1]))).ravel()
    for key in np.unique(keys):
        group = index[keys == key]
        chosen = [p for p, m in zip(paths, missing[:, group[0]], strict=True) if m]
        domains = [regime.scalar.domains.of(p) or () for p in chosen]
        if math.prod(len(d) for d in domains) > BUDGET:
            continue  # beyond the budget: three-valued logic's answer, in both back ends

        yield (
            group,
            (
                _branch(regime, env, group, dict(zip(chosen, values, strict=True)))
                for values in itertools.product(*domains)
            ),
        )


def _missing_paths(env: Env, finite_reads: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    """The finite facts a rule reads, list fields per entry (`transfers[1].mechanism`), and
    where each is missing: (paths, bool array of shape (paths, rows))."""
    paths, masks = [], []
    for path in finite_reads:
        if "[]" not in path:
            col = env.facts(path)
            paths.append(path)
            masks.append(
                np.ones(env.n, dtype=bool)
                if col is None
                else ~broadcast_known(env.n, known_of(col))
            )
            continue
        head, _, field = path.partition("[].")
        coll = env.facts(head)
        if not isinstance(coll, ListCol):
            continue  # the list itself missing: nothing to fill in entry by entry
        for i, element in enumerate(coll.elements):
            present = broadcast_known(env.n, coll.known & (coll.length > i))
            col = element.get(field)
            known = (
                np.zeros(env.n, dtype=bool)
                if col is None
                else broadcast_known(env.n, known_of(col))
            )
            paths.append(f"{head}[{i}].{field}")
            masks.append(present & ~known)
    if not paths:
        return [], np.zeros((0, env.n), dtype=bool)
    return paths, np.stack(masks)


def _branch(regime: VectorRegime, env: Env, group: np.ndarray, values: dict[str, Any]) -> Env:
    """An environment for the rows `group` with `values` filled in."""
    size = group.size
    domains = regime.scalar.domains
    filled: dict[str, Any] = {}
    entries: dict[str, dict[tuple[int, str], Any]] = {}
    for path, value in values.items():
        column = _filled(domains.of(path) or (), value, size)
        if "[" in path:
            head, _, rest = path.partition("[")
            position, _, field = rest.partition("].")
            entries.setdefault(head, {})[(int(position), field)] = column
        else:
            filled[path] = column
    cache: dict[str, Any] = {}

    def view(path: str) -> Any:
        if path in filled:
            return filled[path]
        if path not in cache:
            col = _subset(env.facts(path), group)
            if path in entries and isinstance(col, ListCol):
                elements = [dict(e) for e in col.elements]
                for (position, field), column in entries[path].items():
                    elements[position][field] = column
                col = ListCol(col.length, col.known, elements)
            cache[path] = col
        return cache[path]

    given_cache: dict[str, Any] = {}
    outer_given = env.given or env.facts

    def given(path: str) -> Any:
        if path not in given_cache:
            given_cache[path] = _subset(outer_given(path), group)
        return given_cache[path]

    branch = Env(
        n=size,
        facts=view,
        as_of=env.as_of,
        params=env.params,
        rates=env.rates,
        countries=env.countries,
        fallback=np.zeros(size, dtype=bool),
        rate_scale=env.rate_scale,
        derive=env.derive,
        given=given,
    )
    if env.derive is not None:
        branch.facts = env.derive(view, branch)
    return branch


def _full(col: NumCol, n: int) -> NumCol:
    return NumCol(
        np.array(np.broadcast_to(col.values, (n,))),
        np.array(np.broadcast_to(col.known, (n,))),
        col.scale,
    )


def _filled(domain: tuple[Any, ...], value: Any, size: int) -> Any:
    """A column holding `value` in every row: a truth value, or an enumeration member (its
    domain is the enumeration's members, in order, so its position is its code)."""
    known = np.ones(size, dtype=bool)
    if domain == (True, False):
        return BoolCol(np.full(size, bool(value)), known)
    return CodeCol(np.full(size, domain.index(value), dtype=np.int32), known)


def _subset(col: Any, rows: np.ndarray) -> Any:
    """A column's `rows`; a one-row (broadcast) column stays as it is."""
    from .operation_table import _take

    if col is None:
        return None
    return col if _rows_of(col) == 1 else _take(col, rows)


def _rows_of(col: Any) -> int:
    if isinstance(col, BitsCol):
        return int(col.words.shape[0])
    if isinstance(col, ListCol):
        return int(col.length.shape[0])
    if isinstance(col, MoneyColumn):
        return int(col.amounts.values.shape[0])
    return int(col.values.shape[0])


def _mask(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask


def positioned(path: str) -> str:
    """`transfers[].mechanism` as a path the domains table understands."""
    return path.replace("[]", "[0]")


def known_of(col: Any) -> np.ndarray:
    known = getattr(col, "known", None)
    # a money column: known where its amount is
    mask: np.ndarray = col.amounts.known if known is None else known
    return mask
