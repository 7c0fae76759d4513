"""The retention limits over a whole table at once (numpy): the semantics of `scalar.py`,
row for row (tests/retention/test_agreement.py), with each three-valued term kept as two masks,
certainly-true and certainly-false (neither: unknown)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..ir import RetentionLimit
from .scalar import ACTION_RANK, CATEGORIES, HOLD, PURPOSES, Status
from .table import Bools, Days, EncodedRecords

EPOCH = dt.date(1970, 1, 1)
LAST_DAY = (dt.date(9999, 12, 31) - EPOCH).days  # the scalar calendar ends here
_NEVER = np.iinfo(np.int64).max
STATUSES = tuple(Status)
Term = tuple[Bools, Bools]  # (certainly true, certainly false)


def shift(days: Days, limit: RetentionLimit) -> Days:
    """Dates moved by the limit's period: months by the calendar, clamped to the month's end."""
    if limit.keep_dimension == "hours":
        return days + limit.keep_amount // 24
    start = days.astype("datetime64[D]")
    month = start.astype("datetime64[M]")
    day_of_month = (start - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.timedelta64(limit.keep_amount, "M")
    first = target.astype("datetime64[D]")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(np.int64)
    shifted: Days = first.astype(np.int64) + np.minimum(day_of_month, length - 1)
    return shifted


def _meets(records: EncodedRecords, column: str, wanted: frozenset[str]) -> Term:
    masks, known = records.sets[column]
    members = records.members[column]
    words = np.zeros(masks.shape[1], dtype=np.uint64)
    for member in wanted:
        index = members.index(member)
        words[index // 64] |= np.uint64(1) << np.uint64(index % 64)
    hit = ((masks & words) != 0).any(axis=1)
    return known & hit, known & ~hit


def _flag(records: EncodedRecords, column: str) -> Term:
    values, known = records.flags[column]
    return known & values, known & ~values


def _and(terms: list[Term]) -> Term:
    true = np.logical_and.reduce([t for t, _ in terms])
    false = np.logical_or.reduce([f for _, f in terms])
    return true, false


def evaluate_table(
    limits: tuple[RetentionLimit, ...], records: EncodedRecords, as_of: dt.date
) -> pa.Table:
    """One row a record: id, status, action, limit, title, cite, due, missing."""
    n = len(records)
    today = (as_of - EPOCH).days
    columns = [CATEGORIES, PURPOSES, HOLD]
    for limit in limits:
        columns += [c for c in (limit.anchor, limit.condition) if c and c not in columns]
    best = np.full(n, -1, dtype=np.int64)
    best_rank = np.full(n, len(ACTION_RANK), dtype=np.int64)
    best_due = np.full(n, _NEVER, dtype=np.int64)
    first_unknown = np.full(n, -1, dtype=np.int64)
    missing = np.zeros(n, dtype=np.int64)
    next_due = np.full(n, _NEVER, dtype=np.int64)
    for index, limit in enumerate(limits):
        named: list[tuple[str, Term]] = [
            (CATEGORIES, _meets(records, CATEGORIES, limit.categories)),
            (PURPOSES, _meets(records, PURPOSES, limit.purposes)),
        ]
        if limit.condition is not None:
            named.append((limit.condition, _flag(records, limit.condition)))
        applies, _ = _and([term for _, term in named])
        anchor, anchor_known = records.dates[limit.anchor]
        due = shift(anchor, limit)
        reachable = due <= LAST_DAY
        expired = anchor_known & reachable & (today >= due)
        named.append((limit.anchor, (expired, anchor_known & ~expired)))
        true, false = _and([term for _, term in named])
        unknown = ~true & ~false
        rank = ACTION_RANK[limit.action]
        better = true & ((rank < best_rank) | ((rank == best_rank) & (due < best_due)))
        best = np.where(better, index, best)
        best_rank = np.where(better, rank, best_rank)
        best_due = np.where(better, due, best_due)
        first_unknown = np.where(unknown & (first_unknown < 0), index, first_unknown)
        for name, (t, f) in named:
            bit = 1 << columns.index(name)
            missing |= np.where(unknown & ~t & ~f, bit, 0)
        upcoming = false & applies & anchor_known & reachable & (due < next_due)
        next_due = np.where(upcoming, due, next_due)
    hold, hold_known = records.flags[HOLD]
    held = hold_known & hold
    decided = best >= 0
    doubtful = ~decided & (first_unknown >= 0)
    actions = np.array([ACTION_RANK[limit.action] for limit in limits] or [0], dtype=np.int64)
    status = np.full(n, STATUSES.index(Status.KEEP), dtype=np.int8)
    action_status = np.where(
        actions[np.maximum(best, 0)] == ACTION_RANK["delete"],
        STATUSES.index(Status.DELETE),
        STATUSES.index(Status.ANONYMISE),
    )
    status = np.where(decided, action_status, status)
    status = np.where(decided & held, STATUSES.index(Status.HELD), status)
    status = np.where(decided & ~hold_known, STATUSES.index(Status.UNDETERMINED), status)
    status = np.where(doubtful, STATUSES.index(Status.UNDETERMINED), status)
    status = np.where(doubtful & held, STATUSES.index(Status.HELD), status)
    chosen = np.where(decided, best, np.where(doubtful, first_unknown, -1))
    hold_bit = np.where(decided & ~hold_known, 1 << columns.index(HOLD), 0)
    missing = np.bitwise_or(hold_bit, np.where(doubtful & ~held, missing, 0)).astype(np.int64)
    due_days = np.where(decided, best_due, np.where(doubtful, _NEVER, next_due))
    return _result(records, limits, columns, status, chosen, due_days, missing)


def _dictionary(indices: npt.NDArray[np.int64], values: list[str]) -> pa.Array:
    """values[indices] as a dictionary array (null where the index is negative); pandas wants
    a dictionary without repeats, so equal values share one entry."""
    unique, position = np.unique(np.array(values or [""], dtype=object), return_inverse=True)
    codes = np.asarray(position, dtype=np.int32)[np.maximum(indices, 0)]
    return pa.DictionaryArray.from_arrays(
        pa.array(codes, mask=indices < 0), pa.array(list(unique), pa.string())
    )


def _result(
    records: EncodedRecords,
    limits: tuple[RetentionLimit, ...],
    columns: list[str],
    status: npt.NDArray[np.int8],
    chosen: npt.NDArray[np.int64],
    due_days: npt.NDArray[np.int64],
    missing: npt.NDArray[np.int64],
) -> pa.Table:
    codes, inverse = np.unique(missing, return_inverse=True)
    names = [
        ";".join(sorted(c for bit, c in enumerate(columns) if int(code) >> bit & 1)) or None
        for code in codes
    ]
    due = pa.array(
        np.where(due_days == _NEVER, 0, due_days).astype(np.int32), mask=due_days == _NEVER
    )
    return pa.table(
        {
            "id": records.ids,
            "status": _dictionary(status.astype(np.int64), [s.value for s in STATUSES]),
            "action": _dictionary(chosen, [limit.action for limit in limits]),
            "limit": _dictionary(chosen, [limit.name for limit in limits]),
            "title": _dictionary(chosen, [limit.title or limit.name for limit in limits]),
            "cite": _dictionary(chosen, [limit.cite or "" for limit in limits]),
            "due": due.cast(pa.date32()),
            "missing": _dictionary(
                np.where(np.array([name is None for name in names])[inverse], -1, inverse),
                [name or "" for name in names],
            ),
        }
    )


__all__ = ["evaluate_table", "shift"]
