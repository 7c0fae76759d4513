"""Filtered, paginated reads of the log (`GET /v1/decisions`, `lexgate log export|report`).

Pages come newest first and are cut by a cursor (the seq to continue below), so a page
stays the same while entries are appended. The filters of a page are answered by the search
index (terms.py); an export or report scans the log in order and applies the same terms in
Python, so it also reads a log opened read-only that was never indexed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .chain import COLUMNS, LogEntry, entry_from_row
from .terms import terms_of

STATUSES = ("allowed", "allowed_with_obligations", "denied", "not_applicable", "undetermined")
MAX_PAGE = 500
DEFAULT_PAGE = 50
REGIME_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]{0,63}$")
RULE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")
PROFILE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
BUNDLE_HASH = re.compile(r"^[0-9a-f]{64}$")
CURSOR = re.compile(r"^[1-9][0-9]{0,17}$")


class QueryError(ValueError):
    """A filter or cursor the log cannot answer: names the parameter (the API's 422)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


def log_time(moment: dt.datetime) -> str:
    """A moment in the log's own time format (UTC, microseconds), which sorts as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    # by hand: strftime does not pad a year before 1000 to four digits on every platform
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}Z"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LogFilter:
    """Every field optional. `status` is the overall status, or the regime's with `regime`;
    `regime` alone: decisions the regime applied to; `rule`: decisions violating it (in
    `regime`, when given). `since` is inclusive, `until` exclusive (log time text)."""

    since: str | None = None
    until: str | None = None
    status: str | None = None
    regime: str | None = None
    rule: str | None = None
    profile: str | None = None
    bundle_hash: str | None = None

    def __post_init__(self) -> None:
        checks = (
            ("status", self.status, lambda v: v in STATUSES, f"one of {', '.join(STATUSES)}"),
            ("regime", self.regime, REGIME_NAME.match, "a regime name such as GDPR"),
            ("rule", self.rule, RULE_NAME.match, "a rule name such as lawful_basis"),
            ("profile", self.profile, PROFILE_ID.match, "a profile id"),
            ("bundle", self.bundle_hash, BUNDLE_HASH.match, "64 lowercase hex digits"),
        )
        for parameter, value, valid, expected in checks:
            if value is not None and not valid(value):
                raise QueryError(parameter, f"expected {expected}, got `{value[:80]}`")

    def terms(self) -> list[str]:
        terms = ["decision"]
        if self.status and self.regime:
            terms.append(f"regime={self.regime}:status={self.status}")
        elif self.status:
            terms.append(f"status={self.status}")
        elif self.regime:
            terms.append(f"regime={self.regime}")
        if self.rule:
            terms.append(f"rule={self.regime}:{self.rule}" if self.regime else f"rule={self.rule}")
        if self.profile:
            terms.append(f"profile={self.profile}")
        return terms

    def matches(self, entry: LogEntry, raw_decision: bytes | None = None) -> bool:
        """The same filter in Python, for a scan (export, report)."""
        if (self.since and entry.time < self.since) or (self.until and entry.time >= self.until):
            return False
        if self.bundle_hash and entry.bundle_hash != self.bundle_hash:
            return False
        found = set(terms_of(raw_decision if raw_decision is not None else entry.decision))
        return all(term in found for term in self.terms())


def encode_cursor(seq: int) -> str:
    """The cursor of the page after `seq`: the seq to continue below (keyset pagination, so a
    page never shifts when entries are appended)."""
    return str(seq)


def decode_cursor(cursor: str) -> int:
    found = CURSOR.match(cursor)
    if found is None:
        raise QueryError("cursor", "not a cursor this server gave (pass `next_cursor` back)")
    return int(cursor)


def page(
    conn: Any, sql: Any, where: LogFilter, before: int | None, limit: int
) -> tuple[list[LogEntry], int | None]:
    """Up to `limit` entries matching `where`, newest first, below seq `before`; and the seq
    the next page continues below (None on the last page)."""
    if not 1 <= limit <= MAX_PAGE:
        raise QueryError("limit", f"must be 1 to {MAX_PAGE}, got {limit}")
    # The most specific term drives the query through the index's (term, seq) key, so a page
    # reads only entries under that term (newest first), however long the log; the other terms
    # and the time range are checked on those.
    *others, driving = where.terms()
    clauses, params = ["t.term = ?"], [driving]
    if before is not None:
        clauses.append("t.seq < ?")
        params.append(before)
    if where.since:
        clauses.append("d.time >= ?")
        params.append(where.since)
    if where.until:
        clauses.append("d.time < ?")
        params.append(where.until)
    if where.bundle_hash:
        clauses.append("d.bundle_hash = ?")
        params.append(where.bundle_hash)
    for term in others:
        clauses.append(
            "EXISTS (SELECT 1 FROM decision_log_terms o WHERE o.term = ? AND o.seq = d.seq)"
        )
        params.append(term)
    columns = ", ".join(f"d.{c.strip()}" for c in COLUMNS.split(","))
    text = (
        f"SELECT {columns} FROM decision_log_terms t JOIN decision_log d ON d.seq = t.seq "
        f"WHERE {' AND '.join(clauses)} ORDER BY t.seq DESC LIMIT ?"
    )
    rows = conn.execute(sql(text), (*params, limit + 1)).fetchall()
    entries = [entry_from_row(row) for row in rows[:limit]]
    more = len(rows) > limit
    return entries, (entries[-1].seq if more and entries else None)


def scan(snapshot: Any, where: LogFilter) -> Iterator[tuple[LogEntry, Any]]:
    """(entry, its row) for every entry matching `where`, in log order, from a read-only
    snapshot (verify.Snapshot); the row keeps the canonical bytes an export writes."""
    for row in snapshot.stream(snapshot.conn, f"SELECT {COLUMNS} FROM decision_log ORDER BY seq"):
        entry = entry_from_row(row)
        if where.matches(entry, bytes(row[5])):
            yield entry, row


__all__ = [
    "CURSOR",
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "STATUSES",
    "LogFilter",
    "QueryError",
    "decode_cursor",
    "encode_cursor",
    "log_time",
    "page",
    "scan",
]
