"""One record against the retention limits: the reference reading of the semantics.

For each limit, in declaration order, three-valued (Kleene) logic:

    triggered = categories meet the limit's  and  purposes meet the limit's
                and  [the limit's `if` flag]  and  as_of >= anchor date + period

A missing cell is unknown, never "no". The record's answer:

- some limit certainly triggered: the decisive one is the gravest action (delete before
  anonymise), then the earliest due date, then the first declared; `legal_hold` true makes it
  `held` (nothing is deleted during a hold: GDPR Art. 17(3)(e), PIPL Art. 47(2)), false gives
  the action, unknown leaves it `undetermined` on `legal_hold`;
- otherwise some limit unknown: `undetermined` (or `held` if the hold is certain), naming the
  missing columns of every unknown limit;
- otherwise `keep`, with the next due date of a limit that applies, if any.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ..compiler import shift_date
from ..ir import RetentionLimit
from ..values import Duration

ACTION_RANK = {"delete": 0, "anonymise": 1}  # lower is graver
HOLD = "legal_hold"
CATEGORIES = "categories"
PURPOSES = "purposes"


class Status(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"
    HELD = "held"
    UNDETERMINED = "undetermined"
    KEEP = "keep"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordVerdict:
    status: Status
    limit: str | None  # the decisive limit (or the first unknown one)
    due: dt.date | None  # when the decisive limit fell due, or the next due date of a kept record
    missing: tuple[str, ...]  # the columns whose values would settle an undetermined record


def due_date(limit: RetentionLimit, anchor: dt.date) -> dt.date | None:
    """The anchor moved by the period (months by the calendar); None past year 9999."""
    try:
        shifted = shift_date(anchor, Duration(Decimal(limit.keep_amount), limit.keep_dimension), 1)
    except (OverflowError, ValueError):
        return None
    return shifted if isinstance(shifted, dt.date) else None


def _meets(value: Any, wanted: frozenset[str]) -> bool | None:
    return None if value is None else bool(wanted & frozenset(value))


def _and(values: list[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _limit(
    limit: RetentionLimit, record: Mapping[str, Any], as_of: dt.date
) -> tuple[bool | None, bool | None, dt.date | None, list[str]]:
    """(triggered, applies, due date, the columns left unknown) of one limit."""
    terms: list[tuple[str, bool | None]] = [
        (CATEGORIES, _meets(record.get(CATEGORIES), limit.categories)),
        (PURPOSES, _meets(record.get(PURPOSES), limit.purposes)),
    ]
    if limit.condition is not None:
        flag = record.get(limit.condition)
        terms.append((limit.condition, None if flag is None else bool(flag)))
    applies = _and([v for _, v in terms])
    anchor = record.get(limit.anchor)
    due = None if anchor is None else due_date(limit, anchor)
    # a due date beyond the calendar is never reached
    expired = None if anchor is None else (due is not None and as_of >= due)
    terms.append((limit.anchor, expired))
    triggered = _and([v for _, v in terms])
    missing = [name for name, v in terms if v is None] if triggered is None else []
    return triggered, applies, due, missing


def evaluate_record(
    limits: tuple[RetentionLimit, ...], record: Mapping[str, Any], as_of: dt.date
) -> RecordVerdict:
    best: tuple[int, dt.date, int] | None = None
    unknown: list[int] = []
    missing: set[str] = set()
    next_due: dt.date | None = None
    for index, limit in enumerate(limits):
        triggered, applies, due, unknown_columns = _limit(limit, record, as_of)
        if triggered is True:
            assert due is not None
            key = (ACTION_RANK[limit.action], due, index)
            if best is None or key < best:
                best = key
        elif triggered is None:
            unknown.append(index)
            missing.update(unknown_columns)
        elif applies is True and due is not None and (next_due is None or due < next_due):
            next_due = due
    hold = record.get(HOLD)
    hold = None if hold is None else bool(hold)
    if best is not None:
        limit = limits[best[2]]
        if hold is None:
            return RecordVerdict(
                status=Status.UNDETERMINED, limit=limit.name, due=best[1], missing=(HOLD,)
            )
        status = Status.HELD if hold else Status(limit.action)
        return RecordVerdict(status=status, limit=limit.name, due=best[1], missing=())
    if unknown:
        first = limits[unknown[0]].name
        if hold is True:
            return RecordVerdict(status=Status.HELD, limit=first, due=None, missing=())
        return RecordVerdict(
            status=Status.UNDETERMINED, limit=first, due=None, missing=tuple(sorted(missing))
        )
    return RecordVerdict(status=Status.KEEP, limit=None, due=next_due, missing=())


__all__ = ["ACTION_RANK", "RecordVerdict", "Status", "due_date", "evaluate_record"]
