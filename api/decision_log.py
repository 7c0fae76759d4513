"""Tamper-evident, append-only decision log on SQLite (embedded) or PostgreSQL (shared).

Every entry carries the SHA-256 of the previous one, so an edit, deletion or reordering breaks
the chain and `verify()` names the first entry where it breaks. Appends are group-committed:
one writer thread per log drains every waiting record into a single transaction, so concurrent
requests share one fsync, and a caller is answered only once its entry is durable.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import json
import queue
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any, Self

try:  # POSIX: orders the writers of several processes (SqliteDecisionLog)
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]
try:  # optional accelerator: the same bytes, several times faster (see canonical_bytes)
    import orjson as _orjson
except ImportError:  # pragma: no cover - the json module alone is exact, only slower
    _orjson = None  # type: ignore[assignment]

GENESIS_HASH = "0" * 64
# Bounds one transaction so a burst cannot hold the chain head (and its lock) for long.
MAX_BATCH = 512
_COLUMNS = "seq, decision_id, time, bundle_hash, operation, decision, prev_hash, entry_hash"


# --- canonical encoding -------------------------------------------------------------------


def _exact(value: object) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"decimal `{value}` cannot be logged: only finite values are exact")
        # str() keeps the exact digits and exponent; a float would silently round money.
        return str(value)
    raise TypeError(f"value of type `{type(value).__name__}` cannot be logged as JSON")


def canonical_json(value: object) -> str:
    """The one encoding that is hashed: sorted keys, no spaces, UTF-8, decimals as strings."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_exact,
    )


# orjson spells floats differently from the json module (1e-05 vs 0.00001): any output that may
# hold a float token goes the reference way. A false alarm (such text inside a string) only costs
# speed. Values parsed by the API never hold floats (numbers are read as Decimal).
_MAYBE_FLOAT = re.compile(rb"[:,\[]-?[0-9]+[.eE]")
_ORJSON_OPTIONS = 0
if _orjson is not None:
    # Subclasses, datetimes and dataclasses go to `default`, which refuses them as json does.
    _ORJSON_OPTIONS = (
        _orjson.OPT_SORT_KEYS | _orjson.OPT_PASSTHROUGH_SUBCLASS
        | _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_DATACLASS
    )


def canonical_bytes(value: object, *, floats: bool = True) -> bytes:
    """`canonical_json(value)` as UTF-8 bytes, byte for byte; orjson when it is installed and the
    value is plain JSON data (str keys, str/int/bool/None/Decimal leaves), else the json module
    (which also raises exactly the errors `canonical_json` raises). `floats=False` skips the
    scan for float tokens (~40 µs on a 5 kB decision) for data that holds none by construction:
    `Decision.to_dict()` writes every number as an int or an exact decimal string."""
    if _orjson is not None:
        try:
            encoded: bytes = _orjson.dumps(value, default=_exact, option=_ORJSON_OPTIONS)
        except Exception:  # the reference encoder below decides (or raises)
            pass
        else:
            # orjson writes NaN and infinities as null where json refuses them: output with a
            # null (rare in operations) is left to the reference encoder too.
            if not floats or (b"null" not in encoded and not _MAYBE_FLOAT.search(encoded)):
                return encoded
    return canonical_json(value).encode("utf-8")


class Canonical(bytes):
    """A JSON object already encoded by `canonical_bytes` (the API encodes a decision once and
    uses the same bytes for its answer and its log entry)."""


def compute_entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical encoding of every entry field except `entry_hash`."""
    hashed = {name: value for name, value in fields.items() if name != "entry_hash"}
    return hashlib.sha256(canonical_json(hashed).encode("utf-8")).hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- public value types -------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionRecord:
    """What the API hands to the log; seq and hashes are assigned when it is written."""

    decision_id: str
    bundle_hash: str
    operation: Mapping[str, Any] | Canonical
    decision: Mapping[str, Any] | Canonical
    time: str | None = None  # ISO-8601 UTC; the log stamps it on submission when absent


class LogEntry:
    """One logged decision. `operation` and `decision` are parsed from their canonical bytes
    only when read: the API answers with `seq` and `entry_hash` alone."""

    __slots__ = (
        "_decision", "_operation", "bundle_hash", "decision_id", "entry_hash", "prev_hash", "seq",
        "time",
    )

    def __init__(
        self,
        seq: int,
        decision_id: str,
        time: str,
        bundle_hash: str,
        operation: dict[str, Any] | bytes,
        decision: dict[str, Any] | bytes,
        prev_hash: str,
        entry_hash: str,
    ) -> None:
        self.seq = seq
        self.decision_id = decision_id
        self.time = time
        self.bundle_hash = bundle_hash
        self._operation = operation  # a dict, or its canonical JSON bytes until first read
        self._decision = decision
        self.prev_hash = prev_hash
        self.entry_hash = entry_hash

    @property
    def operation(self) -> dict[str, Any]:
        value = self._operation
        if isinstance(value, bytes):
            value = self._operation = json.loads(value)
        return value

    @property
    def decision(self) -> dict[str, Any]:
        value = self._decision
        if isinstance(value, bytes):
            value = self._decision = json.loads(value)
        return value

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "decision_id": self.decision_id,
            "time": self.time,
            "bundle_hash": self.bundle_hash,
            "operation": self.operation,
            "decision": self.decision,
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LogEntry) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable-looking like the dataclass it was

    def __repr__(self) -> str:
        return f"LogEntry(seq={self.seq}, decision_id={self.decision_id!r}, " \
               f"entry_hash={self.entry_hash!r})"


class Fault(StrEnum):
    HASH_MISMATCH = "hash mismatch"
    BROKEN_LINK = "broken link"
    GAP = "gap"
    REORDERED = "reordering"
    HEAD_MISMATCH = "head mismatch"


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries_checked: int  # entries found intact before the first fault
    first_bad_seq: int | None = None
    fault: Fault | None = None
    reason: str = ""


class DuplicateDecisionError(ValueError):
    pass


# --- the interface ------------------------------------------------------------------------


class DecisionLog(abc.ABC):
    commits: int  # transactions committed by this object; compare with appends for batching

    @abc.abstractmethod
    def append(self, record: DecisionRecord) -> LogEntry:
        """Write one decision; returns only once the entry is durable."""

    @abc.abstractmethod
    async def append_async(self, record: DecisionRecord) -> LogEntry:
        """Like `append`, awaiting durability without blocking the event loop."""

    @abc.abstractmethod
    def get(self, decision_id: str) -> LogEntry | None: ...

    @abc.abstractmethod
    def verify(self) -> VerifyResult: ...

    @abc.abstractmethod
    def export_jsonl(self, stream: IO[str]) -> int:
        """Write every entry as one canonical JSON line; returns the number written."""

    @abc.abstractmethod
    def count(self) -> int: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    async def get_async(self, decision_id: str) -> LogEntry | None:
        return await asyncio.to_thread(self.get, decision_id)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def parse_store_url(url: str) -> tuple[str, str]:
    """`("postgresql", url)` or `("sqlite", path)`; `sqlite:///rel.db`, `sqlite:////abs.db`."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql", url
    if url.startswith("sqlite:///"):
        return "sqlite", url.removeprefix("sqlite:///")
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url) and not re.match(r"^[A-Za-z]:[\\/]", url):
        raise ValueError(f"unsupported store `{url}`: use a path, sqlite:///… or postgresql://…")
    return "sqlite", url


def open_decision_log(url: str) -> DecisionLog:
    kind, target = parse_store_url(url)
    if kind == "postgresql":
        return PostgresDecisionLog(target)
    return SqliteDecisionLog(target)


# --- group commit over SQL ----------------------------------------------------------------


@dataclass
class _Pending:
    decision_id: str
    time: str
    bundle_hash: str
    operation: bytes  # canonical JSON, encoded once in the caller's thread
    decision: bytes
    # The canonical encoding of the hashed fields around `prev_hash` and `seq` (sorted keys:
    # bundle_hash, decision, decision_id, operation | prev_hash, seq | time), so the writer
    # hashes bytes without parsing or encoding anything.
    head: bytes
    tail: bytes
    # Who waits: a thread in append() (a concurrent Future), or a coroutine in append_async()
    # (an asyncio future of `loop`, settled with the rest of its batch in one loop callback).
    future: Future[LogEntry] | None = None
    waiter: asyncio.Future[LogEntry] | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def claim(self) -> bool:
        """False for a request cancelled while queued: it was never answered, so its entry
        need not (and cannot) be resolved; it is not written."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        return self.waiter is not None and not self.waiter.cancelled()

    def entry_hash(self, seq: int, prev_hash: str) -> str:
        digest = hashlib.sha256(self.head)
        digest.update(b'"%s","seq":%d' % (prev_hash.encode("ascii"), seq))
        digest.update(self.tail)
        return digest.hexdigest()


def _encode_object(value: object, name: str) -> bytes:
    if isinstance(value, Canonical):
        if not value.startswith(b"{"):
            raise TypeError(f"`{name}` must be a JSON object")
        return bytes(value)
    if not isinstance(value, Mapping):
        raise TypeError(f"`{name}` must be a JSON object")
    return canonical_bytes(value)


def _prepare(record: DecisionRecord) -> _Pending:
    # Encoding here rather than in the writer makes bad input fail its own request only.
    for name in ("decision_id", "bundle_hash", "time"):
        text = getattr(record, name)
        if text is not None and (not isinstance(text, str) or "\x00" in text):
            raise ValueError(f"`{name}` must be a string without NUL characters")
    operation = _encode_object(record.operation, "operation")
    decision = _encode_object(record.decision, "decision")
    time = record.time or utc_now()
    head = b"".join((
        b'{"bundle_hash":', canonical_bytes(record.bundle_hash), b',"decision":', decision,
        b',"decision_id":', canonical_bytes(record.decision_id), b',"operation":', operation,
        b',"prev_hash":',
    ))
    return _Pending(
        decision_id=record.decision_id,
        time=time,
        bundle_hash=record.bundle_hash,
        operation=operation,
        decision=decision,
        head=head,
        tail=b',"time":' + canonical_bytes(time) + b"}",
    )


def _entry_from_row(row: Sequence[Any]) -> LogEntry:
    seq, decision_id, time, bundle_hash, operation, decision, prev_hash, entry_hash = row
    return LogEntry(
        seq=int(seq),
        decision_id=decision_id,
        time=time,
        bundle_hash=bundle_hash,
        operation=json.loads(bytes(operation)),
        decision=json.loads(bytes(decision)),
        prev_hash=prev_hash,
        entry_hash=entry_hash,
    )


def _check_row(row: Sequence[Any]) -> LogEntry | str:
    """The entry if its stored bytes are canonical and hash to `entry_hash`, else why not."""
    try:
        entry = _entry_from_row(row)
    except (ValueError, UnicodeDecodeError) as error:
        return f"stored JSON is unreadable ({error})"
    for name in ("operation", "decision"):
        stored = bytes(row[4 if name == "operation" else 5])
        if canonical_json(getattr(entry, name)).encode("utf-8") != stored:
            return f"stored `{name}` is not in canonical form"
    if compute_entry_hash(entry.to_dict()) != entry.entry_hash:
        return "contents do not match the stored entry hash"
    return entry


_STOP = object()
_Outcome = tuple[_Pending, "LogEntry | None", "Exception | None"]


def _settle(outcomes: list[_Outcome]) -> None:
    """Hand each waiter its entry or error (after the commit): threads directly, coroutines
    through one callback per event loop for the whole batch rather than one wake-up each."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for outcome in outcomes:
        pending, entry, error = outcome
        if pending.future is not None:
            if error is not None:
                pending.future.set_exception(error)
            else:
                pending.future.set_result(entry)  # type: ignore[arg-type]
        elif pending.loop is not None:
            by_loop.setdefault(pending.loop, []).append(outcome)
    for loop, waiting in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop has no one left to answer
            loop.call_soon_threadsafe(_settle_in_loop, waiting)


def _settle_in_loop(outcomes: list[_Outcome]) -> None:
    for pending, entry, error in outcomes:
        waiter = pending.waiter
        if waiter is None or waiter.done():  # cancelled after it was written
            continue
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(entry)  # type: ignore[arg-type]


class _SqlDecisionLog(DecisionLog):
    """Group commit, reads and verification shared by the SQLite and PostgreSQL backends."""

    def __init__(self) -> None:
        self.commits = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._write_conn: Any = self._connect()
        self._read_conn: Any = self._connect_reader()
        self._create_schema(self._write_conn)
        self._writer = threading.Thread(target=self._run_writer, name="decision-log", daemon=True)
        self._writer.start()

    # Backend hooks.
    @abc.abstractmethod
    def _connect(self) -> Any: ...

    def _connect_reader(self) -> Any:
        return self._connect()

    @abc.abstractmethod
    def _create_schema(self, conn: Any) -> None: ...

    @abc.abstractmethod
    def _lock_head(self, conn: Any) -> tuple[int, str]:
        """Open the write transaction, hold the chain head against every other writer."""

    @abc.abstractmethod
    def _snapshot(self) -> contextlib.AbstractContextManager[Any]:
        """A connection reading one consistent snapshot."""

    @abc.abstractmethod
    def _stream(self, conn: Any, sql: str) -> Iterator[Sequence[Any]]: ...

    def _sql(self, text: str) -> str:
        return text

    # Writing.
    def _submit(self, pending: _Pending) -> None:
        with self._close_lock:
            if self._closed:
                raise RuntimeError("decision log is closed")
            self._queue.put(pending)

    def append(self, record: DecisionRecord) -> LogEntry:
        pending = _prepare(record)
        future = pending.future = Future()
        self._submit(pending)
        return future.result()

    async def append_async(self, record: DecisionRecord) -> LogEntry:
        pending = _prepare(record)
        pending.loop = asyncio.get_running_loop()
        waiter = pending.waiter = pending.loop.create_future()
        self._submit(pending)
        return await waiter

    def _run_writer(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            batch: list[_Pending] = [item]
            # Everything that queued up during the previous commit joins this one.
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            live = [p for p in batch if p.claim()]
            if live:
                self._commit_batch(live)

    def _commit_batch(self, batch: list[_Pending]) -> None:
        try:
            if self._write_conn is None:
                self._write_conn = self._connect()
            written, rejected = self._write(self._write_conn, batch)
        except Exception as error:
            self._discard_write_conn()
            _settle([(pending, None, error) for pending in batch])
            return
        self.commits += 1
        _settle([(pending, entry, None) for pending, entry in written]
                + [(pending, None, reason) for pending, reason in rejected])

    def _discard_write_conn(self) -> None:
        # After a failed commit the connection may be mid-transaction or dead; start afresh.
        conn, self._write_conn = self._write_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.rollback()
            with contextlib.suppress(Exception):
                conn.close()

    def _write(
        self, conn: Any, batch: list[_Pending]
    ) -> tuple[list[tuple[_Pending, LogEntry]], list[tuple[_Pending, Exception]]]:
        seq, head_hash = self._lock_head(conn)
        marks = ",".join("?" * len(batch))
        taken = {
            row[0]
            for row in conn.execute(
                self._sql(f"SELECT decision_id FROM decision_log WHERE decision_id IN ({marks})"),
                [p.decision_id for p in batch],
            ).fetchall()
        }
        written: list[tuple[_Pending, LogEntry]] = []
        rejected: list[tuple[_Pending, Exception]] = []
        rows = []
        for pending in batch:
            if pending.decision_id in taken:
                duplicate = f"decision `{pending.decision_id}` is already logged"
                rejected.append((pending, DuplicateDecisionError(duplicate)))
                continue
            taken.add(pending.decision_id)
            seq += 1
            prev_hash, head_hash = head_hash, pending.entry_hash(seq, head_hash)
            entry = LogEntry(
                seq, pending.decision_id, pending.time, pending.bundle_hash, pending.operation,
                pending.decision, prev_hash, head_hash,
            )
            written.append((pending, entry))
            rows.append(
                (
                    seq,
                    pending.decision_id,
                    pending.time,
                    pending.bundle_hash,
                    pending.operation,
                    pending.decision,
                    prev_hash,
                    head_hash,
                )
            )
        if rows:
            conn.cursor().executemany(
                self._sql(f"INSERT INTO decision_log ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"), rows
            )
            conn.execute(
                self._sql("UPDATE decision_log_head SET seq = ?, entry_hash = ? WHERE id = 1"),
                (seq, head_hash),
            )
        conn.commit()
        return written, rejected

    # Reading.
    def get(self, decision_id: str) -> LogEntry | None:
        row = self._read_one(
            self._sql(f"SELECT {_COLUMNS} FROM decision_log WHERE decision_id = ?"),
            (decision_id,),
        )
        return None if row is None else _entry_from_row(row)

    def count(self) -> int:
        # The head row is O(1) where count(*) scans; verify() checks the two agree.
        row = self._read_one("SELECT seq FROM decision_log_head")
        return int(row[0]) if row else 0

    def _read_one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self._read_lock:
            try:
                return self._read_conn.execute(sql, params).fetchone()
            except Exception:
                # A dropped connection (a database restart, say) must fail this read only.
                with contextlib.suppress(Exception):
                    self._read_conn.close()
                self._read_conn = self._connect_reader()
                raise

    def export_jsonl(self, stream: IO[str]) -> int:
        written = 0
        with self._snapshot() as conn:
            for row in self._stream(conn, f"SELECT {_COLUMNS} FROM decision_log ORDER BY seq"):
                stream.write(canonical_json(_entry_from_row(row).to_dict()) + "\n")
                written += 1
        return written

    def verify(self) -> VerifyResult:
        with self._snapshot() as conn:
            head = conn.execute("SELECT seq, entry_hash FROM decision_log_head").fetchone()
            previous_hash, checked = GENESIS_HASH, 0
            for row in self._stream(conn, f"SELECT {_COLUMNS} FROM decision_log ORDER BY seq"):
                seq, prev_hash = int(row[0]), row[6]
                if seq != checked + 1:
                    return _fault(
                        checked,
                        checked + 1,
                        Fault.GAP,
                        f"entries {checked + 1}..{seq - 1} are missing",
                    )
                if prev_hash != previous_hash:
                    moved_from = conn.execute(
                        self._sql("SELECT seq FROM decision_log WHERE entry_hash = ?"),
                        (prev_hash,),
                    ).fetchone()
                    if moved_from is not None:
                        return _fault(
                            checked,
                            seq,
                            Fault.REORDERED,
                            f"entry {seq} was written to follow entry {moved_from[0]}",
                        )
                    return _fault(
                        checked,
                        seq,
                        Fault.BROKEN_LINK,
                        f"entry {seq} does not link to entry {seq - 1}",
                    )
                outcome = _check_row(row)
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
        return VerifyResult(ok=True, entries_checked=checked)

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._writer.join()
        for conn in (self._write_conn, self._read_conn):
            if conn is not None:
                conn.close()


def _fault(checked: int, seq: int, fault: Fault, reason: str) -> VerifyResult:
    return VerifyResult(
        ok=False, entries_checked=checked, first_bad_seq=seq, fault=fault, reason=reason
    )


# --- SQLite -------------------------------------------------------------------------------

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS decision_log (
    seq INTEGER PRIMARY KEY,
    decision_id TEXT NOT NULL UNIQUE,
    time TEXT NOT NULL,
    bundle_hash TEXT NOT NULL,
    operation BLOB NOT NULL,
    decision BLOB NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decision_log_entry_hash ON decision_log (entry_hash);
CREATE TABLE IF NOT EXISTS decision_log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    entry_hash TEXT NOT NULL
);
"""


def connect_sqlite(path: str) -> sqlite3.Connection:
    """A connection in WAL mode that fsyncs every commit and waits out other writers."""
    # isolation_level=None: transactions are opened explicitly (BEGIN IMMEDIATE), never
    # implicitly by the driver; timeout lets a second process wait for the write lock.
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


# WAL frames the writer leaves before asking the checkpointer to copy them into the database.
CHECKPOINT_AFTER = 256


class SqliteDecisionLog(_SqlDecisionLog):
    """Checkpoints (copying the WAL into the database file, with its own fsync) run in a
    thread of their own, never inside a group commit: SQLite's automatic checkpoint ran in the
    committing connection every ~1000 pages and held those answers back for tens of ms, the
    log's p99 (bench/log_timing.py). Durability is the WAL's, fsynced at every commit."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._turn: IO[bytes] | None = None
        if fcntl is not None and path != ":memory:" and not path.startswith("file:"):
            self._turn = open(f"{path}.writers", "ab")  # noqa: SIM115 - held until close()
        self._checkpoint_due = threading.Event()
        self._checkpoint_stop = False
        self._uncheckpointed = 0
        self._checkpointer: threading.Thread | None = None
        super().__init__()
        if self._turn is not None:
            self._checkpointer = threading.Thread(
                target=self._run_checkpointer, name="decision-log-checkpoint", daemon=True
            )
            self._checkpointer.start()

    def _run_checkpointer(self) -> None:
        conn: sqlite3.Connection | None = None
        while True:
            self._checkpoint_due.wait(1.0)
            self._checkpoint_due.clear()
            if self._checkpoint_stop:
                break
            try:
                if conn is None:
                    conn = connect_sqlite(self.path)
                # PASSIVE: copies what it can without waiting for (or blocking) any writer.
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                if conn is not None:
                    with contextlib.suppress(sqlite3.Error):
                        conn.close()
                conn = None  # retried at the next turn; SQLite keeps the WAL meanwhile
        if conn is not None:
            conn.close()

    def _write(
        self, conn: Any, batch: list[_Pending]
    ) -> tuple[list[tuple[_Pending, LogEntry]], list[tuple[_Pending, Exception]]]:
        # Several processes appending to one file (`lexgate serve --workers N`) queue on a file
        # lock first: a blocked flock wakes the moment the holder commits, where SQLite's busy
        # handler polls with sleeps of up to 100 ms. SQLite's own lock still guards the chain.
        if self._turn is None:
            return super()._write(conn, batch)
        fcntl.flock(self._turn, fcntl.LOCK_EX)
        try:
            return super()._write(conn, batch)
        finally:
            fcntl.flock(self._turn, fcntl.LOCK_UN)

    def close(self) -> None:
        super().close()
        if self._checkpointer is not None:
            self._checkpoint_stop = True
            self._checkpoint_due.set()
            self._checkpointer.join()
        if self._turn is not None:
            self._turn.close()

    def _commit_batch(self, batch: list[_Pending]) -> None:
        super()._commit_batch(batch)
        self._uncheckpointed += len(batch)
        if self._uncheckpointed >= CHECKPOINT_AFTER:
            self._uncheckpointed = 0
            self._checkpoint_due.set()

    def _connect(self) -> sqlite3.Connection:
        conn = connect_sqlite(self.path)
        if self._checkpointer is not None or self._turn is not None:
            conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it
        return conn

    def _create_schema(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for statement in _SQLITE_SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(
            "INSERT INTO decision_log_head VALUES (1, 0, ?) ON CONFLICT DO NOTHING",
            (GENESIS_HASH,),
        )
        conn.execute("COMMIT")

    def _lock_head(self, conn: Any) -> tuple[int, str]:
        # IMMEDIATE takes the file's write lock before reading, so another process that
        # appended since our last commit is seen here and the chain cannot fork.
        conn.execute("BEGIN IMMEDIATE")
        seq, head_hash = conn.execute("SELECT seq, entry_hash FROM decision_log_head").fetchone()
        return int(seq), head_hash

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Any]:
        conn = connect_sqlite(self.path)
        try:
            conn.execute("BEGIN")  # WAL readers see one snapshot until the transaction ends
            yield conn
        finally:
            conn.close()

    def _stream(self, conn: Any, sql: str) -> Iterator[Sequence[Any]]:
        yield from conn.execute(sql)


# --- PostgreSQL ---------------------------------------------------------------------------

_POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS decision_log (
    seq BIGINT PRIMARY KEY,
    decision_id TEXT NOT NULL UNIQUE,
    time TEXT NOT NULL,
    bundle_hash TEXT NOT NULL,
    operation BYTEA NOT NULL,
    decision BYTEA NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decision_log_entry_hash ON decision_log (entry_hash);
CREATE TABLE IF NOT EXISTS decision_log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    entry_hash TEXT NOT NULL
);
"""
# Serialises schema creation: concurrent CREATE ... IF NOT EXISTS can still collide in PG.
_SCHEMA_LOCK_KEY = 0x6C786764  # "lxgd"


class PostgresDecisionLog(_SqlDecisionLog):
    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__()

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url)

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def _create_schema(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
        conn.execute(_POSTGRES_SCHEMA)
        conn.execute(
            "INSERT INTO decision_log_head VALUES (1, 0, %s) ON CONFLICT DO NOTHING",
            (GENESIS_HASH,),
        )
        conn.commit()

    def _connect_reader(self) -> Any:
        import psycopg

        # Autocommit: a shared reader must not sit idle inside a transaction between requests.
        return psycopg.connect(self.url, autocommit=True)

    def _lock_head(self, conn: Any) -> tuple[int, str]:
        # The row lock makes every server sharing this database take turns at the head.
        seq, head_hash = conn.execute(
            "SELECT seq, entry_hash FROM decision_log_head WHERE id = 1 FOR UPDATE"
        ).fetchone()
        return int(seq), head_hash

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Any]:
        import psycopg

        conn = psycopg.connect(self.url)
        try:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            yield conn
        finally:
            conn.close()

    def _stream(self, conn: Any, sql: str) -> Iterator[Sequence[Any]]:
        # A server-side cursor keeps memory flat however long the log is.
        with conn.cursor(name="decision_log_scan") as cursor:
            cursor.itersize = 2000
            cursor.execute(sql)
            yield from cursor
