"""Search terms of a logged decision, and the index that holds them (`GET /v1/decisions`).

Each decision entry is indexed under a few terms: `decision`, `status=S` (overall),
`regime=R` (the regime applied: its status is not `not_applicable`), `regime=R:status=S`,
`rule=X` and `rule=R:X` (a violated rule), `profile=ID`. The index is derived data, outside the
hash chain: it is written in the same transaction as the entries (so it is never behind a
committed entry), and an entry written before the index existed is indexed when a log opens.
Filters on the index stay selective however long the log grows: (term, seq) is its primary key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None  # type: ignore[assignment]
import json

TERMS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS decision_log_terms ("
    " term TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (term, seq))",
    "CREATE TABLE IF NOT EXISTS decision_log_terms_head ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS decision_log_time ON decision_log (time)",
    "INSERT INTO decision_log_terms_head VALUES (1, 0) ON CONFLICT DO NOTHING",
)
NOT_APPLICABLE = "not_applicable"
# an entry's terms are bounded: a decision violating more rules than this is indexed by the
# first ones (every pack's regime together has fewer rules)
MAX_TERMS = 2000


def _parse(decision: Mapping[str, Any] | bytes) -> Any:
    if isinstance(decision, Mapping):
        return decision
    try:
        # orjson refuses a bytes subclass (the API's `Canonical`): a memoryview is no copy
        view = memoryview(decision)
        return _orjson.loads(view) if _orjson is not None else json.loads(bytes(view))
    except ValueError:
        return None


def terms_of(decision: Mapping[str, Any] | bytes) -> tuple[str, ...]:
    """The search terms of one logged decision (none for other entries, e.g. profiles)."""
    value = _parse(decision)
    if not isinstance(value, Mapping) or not isinstance(value.get("status"), str):
        return ()
    regimes = value.get("regimes")
    if not isinstance(regimes, Mapping):
        return ()
    terms = ["decision", f"status={value['status']}"]
    profile = value.get("profile")
    if isinstance(profile, Mapping) and isinstance(profile.get("id"), str):
        terms.append(f"profile={profile['id']}")
    for name, regime in regimes.items():
        if not isinstance(regime, Mapping):
            continue
        status = regime.get("status")
        if status != NOT_APPLICABLE:
            terms.append(f"regime={name}")
        terms.append(f"regime={name}:status={status}")
        for violation in regime.get("violations") or ():
            rule = violation.get("rule") if isinstance(violation, Mapping) else None
            if isinstance(rule, str):
                terms += [f"rule={rule}", f"rule={name}:{rule}"]
    return tuple(dict.fromkeys(terms))[:MAX_TERMS]


def summary_of(decision: Mapping[str, Any] | bytes) -> dict[str, Any]:
    """What a listing shows of a decision: overall status, each regime's status, the profile
    and the violated rules (the full entry is at GET /v1/decisions/{id})."""
    value = _parse(decision)
    if not isinstance(value, Mapping):
        return {"status": None, "regimes": {}, "profile": None, "violations": []}
    regimes = value.get("regimes") if isinstance(value.get("regimes"), Mapping) else {}
    profile = value.get("profile")
    return {
        "status": value.get("status"),
        "regimes": {
            name: regime.get("status")
            for name, regime in regimes.items()
            if isinstance(regime, Mapping)
        },
        "profile": profile.get("id") if isinstance(profile, Mapping) else None,
        "violations": sorted(
            f"{name}:{violation.get('rule')}"
            for name, regime in regimes.items()
            if isinstance(regime, Mapping)
            for violation in regime.get("violations") or ()
            if isinstance(violation, Mapping)
        ),
    }


def create_terms(conn: Any, sql: Any) -> None:
    """The index's tables, inside the caller's transaction."""
    for statement in TERMS_SCHEMA:
        conn.execute(sql(statement))


def insert_terms(conn: Any, sql: Any, rows: list[tuple[str, int]], head: int) -> None:
    if rows:
        conn.cursor().executemany(
            sql("INSERT INTO decision_log_terms (term, seq) VALUES (?, ?) ON CONFLICT DO NOTHING"),
            rows,
        )
    conn.execute(
        sql("UPDATE decision_log_terms_head SET seq = ? WHERE id = 1 AND seq < ?"), (head, head)
    )


def backfill(conn: Any, sql: Any, chunk: int = 5000) -> int:
    """Index the entries after the index's head (a log written before the index existed);
    inside the caller's transaction, which holds the chain head. Returns how many it read."""
    (done,) = conn.execute(sql("SELECT seq FROM decision_log_terms_head WHERE id = 1")).fetchone()
    done, read = int(done), 0
    while True:
        rows = conn.execute(
            sql("SELECT seq, decision FROM decision_log WHERE seq > ? ORDER BY seq LIMIT ?"),
            (done, chunk),
        ).fetchall()
        if not rows:
            return read
        found = [(term, int(seq)) for seq, decision in rows for term in terms_of(bytes(decision))]
        done, read = int(rows[-1][0]), read + len(rows)
        insert_terms(conn, sql, found, done)


__all__ = ["backfill", "create_terms", "insert_terms", "summary_of", "terms_of"]
