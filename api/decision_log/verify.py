"""Verification: the hash chain, the signed checkpoints, a published head, a client's receipt.

`read_only(url)` opens a log without writing anything: SQLite with `mode=ro` (a missing file
or a database without the log's tables is an error, never a new empty log), PostgreSQL in a
read-only REPEATABLE READ transaction. Verification reads one consistent snapshot.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .chain import COLUMNS, GENESIS_HASH, Fault, VerifyResult, check_row
from .checkpoints import Checkpoint, check_signature
from .store import parse_store_url

TABLES = ("decision_log", "decision_log_head", "decision_log_checkpoints")


class LogUnavailable(ValueError):
    """No log to verify at that address (missing file, foreign database)."""


@dataclass(frozen=True)
class Snapshot:
    conn: Any
    stream: Callable[[Any, str], Iterator[Sequence[Any]]]
    sql: Callable[[str], str]
    has_checkpoints: bool = True  # False for a log written before checkpoints existed

    def one(self, text: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(self.sql(text), params).fetchone()


def _fault(checked: int, seq: int, fault: Fault, reason: str, **more: Any) -> VerifyResult:
    return VerifyResult(
        ok=False, entries_checked=checked, first_bad_seq=seq, fault=fault, reason=reason, **more
    )


def verify_snapshot(snap: Snapshot, public_key: str | None) -> VerifyResult:
    chain = _verify_chain(snap)
    if not chain.ok:
        return chain
    return _verify_checkpoints(snap, chain, public_key)


def _verify_chain(snap: Snapshot) -> VerifyResult:
    head = snap.one("SELECT seq, entry_hash FROM decision_log_head")
    previous_hash, checked = GENESIS_HASH, 0
    for row in snap.stream(snap.conn, f"SELECT {COLUMNS} FROM decision_log ORDER BY seq"):
        seq, prev_hash = int(row[0]), row[6]
        if seq != checked + 1:
            return _fault(
                checked, checked + 1, Fault.GAP, f"entries {checked + 1}..{seq - 1} are missing"
            )
        if prev_hash != previous_hash:
            moved_from = snap.one("SELECT seq FROM decision_log WHERE entry_hash = ?", (prev_hash,))
            if moved_from is not None:
                return _fault(
                    checked,
                    seq,
                    Fault.REORDERED,
                    f"entry {seq} was written to follow entry {moved_from[0]}",
                )
            return _fault(
                checked, seq, Fault.BROKEN_LINK, f"entry {seq} does not link to entry {seq - 1}"
            )
        outcome = check_row(row)
        if isinstance(outcome, str):
            return _fault(checked, seq, Fault.HASH_MISMATCH, f"entry {seq}: {outcome}")
        previous_hash, checked = outcome.entry_hash, seq
    head_seq, head_hash = (int(head[0]), head[1]) if head else (0, GENESIS_HASH)
    if head_seq > checked:
        return _fault(
            checked,
            checked + 1,
            Fault.GAP,
            f"entries {checked + 1}..{head_seq} are missing from the end",
        )
    if head_seq < checked:
        return _fault(
            head_seq,
            head_seq + 1,
            Fault.HEAD_MISMATCH,
            f"entries after {head_seq} were not written through the log",
        )
    if head_hash != previous_hash:
        return _fault(
            checked - 1,
            checked,
            Fault.HEAD_MISMATCH,
            f"entry {checked} differs from the recorded chain head",
        )
    return VerifyResult(ok=True, entries_checked=checked, head_hash=previous_hash)


def checkpoints(snap: Snapshot) -> list[Checkpoint]:
    if not snap.has_checkpoints:
        return []
    rows = snap.conn.execute(
        snap.sql(
            "SELECT seq, entry_hash, time, public_key, signature FROM decision_log_checkpoints "
            "ORDER BY seq"
        )
    ).fetchall()
    return [Checkpoint(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]


def _verify_checkpoints(
    snap: Snapshot, chain: VerifyResult, public_key: str | None
) -> VerifyResult:
    """Every checkpoint must be signed by the trusted key and name an entry of the chain as it
    is now; the chain may not end before the last checkpoint."""
    found = checkpoints(snap)
    last = chain.entries_checked
    for checkpoint in found:
        key = public_key or checkpoint.public_key
        if not check_signature(checkpoint, key):
            whose = "the trusted key" if public_key else "the key it names"
            return _fault(
                last,
                checkpoint.seq,
                Fault.BAD_SIGNATURE,
                f"the checkpoint at entry {checkpoint.seq} is not signed by {whose}",
            )
        if checkpoint.seq > last:
            return _fault(
                last,
                last + 1,
                Fault.TRUNCATED,
                f"a signed checkpoint covers entry {checkpoint.seq}, but the log ends "
                f"at entry {last}: entries {last + 1}..{checkpoint.seq} were removed",
            )
        row = snap.one("SELECT entry_hash FROM decision_log WHERE seq = ?", (checkpoint.seq,))
        if row is None or row[0] != checkpoint.entry_hash:
            return _fault(
                0,
                checkpoint.seq,
                Fault.CHECKPOINT_MISMATCH,
                f"entry {checkpoint.seq} is not the entry its signed checkpoint names:"
                " the chain up to it was rewritten",
            )
    last_signed = found[-1].seq if found else None
    return replace(
        chain,
        checkpoints=len(found),
        last_checkpoint=last_signed,
        anchored=bool(found) and public_key is not None,
    )


def find_entry(snap: Snapshot, entry_hash: str) -> int | None:
    row = snap.one("SELECT seq FROM decision_log WHERE entry_hash = ?", (entry_hash,))
    return None if row is None else int(row[0])


def entry_hash_at(snap: Snapshot, seq: int) -> str | None:
    row = snap.one("SELECT entry_hash FROM decision_log WHERE seq = ?", (seq,))
    return None if row is None else str(row[0])


@contextlib.contextmanager
def read_only(url: str) -> Iterator[Snapshot]:
    """A read-only snapshot of the log at `url` (LogUnavailable if there is none)."""
    kind, target = parse_store_url(url)
    if kind == "postgresql":
        with _postgres_snapshot(target) as snap:
            yield snap
        return
    path = Path(target)
    if not path.is_file():
        raise LogUnavailable(f"no decision log at `{target}`")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise LogUnavailable(f"cannot open `{target}` read-only: {error}") from None
    try:
        try:
            conn.execute("BEGIN")
            names = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        except sqlite3.DatabaseError as error:
            raise LogUnavailable(f"`{target}` is not an SQLite database ({error})") from None
        _require_tables(names, target)
        yield Snapshot(conn, lambda c, sql: c.execute(sql), lambda text: text, TABLES[2] in names)
    finally:
        conn.close()


def _require_tables(names: set[str], where: str) -> None:
    missing = [t for t in TABLES[:2] if t not in names]
    if missing:
        raise LogUnavailable(f"`{where}` holds no lexgate decision log (no table `{missing[0]}`)")


@contextlib.contextmanager
def _postgres_snapshot(url: str) -> Iterator[Snapshot]:
    import psycopg

    try:
        conn = psycopg.connect(url)
    except psycopg.Error as error:
        raise LogUnavailable(f"cannot connect to the decision log: {error}") from None
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        names = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "current_schema()"
            )
        }
        _require_tables(names, "the database")

        def stream(c: Any, sql: str) -> Iterator[Sequence[Any]]:
            with c.cursor(name="decision_log_verify") as cursor:
                cursor.itersize = 2000
                cursor.execute(sql)
                yield from cursor

        yield Snapshot(conn, stream, lambda text: text.replace("?", "%s"), TABLES[2] in names)
    finally:
        conn.close()
