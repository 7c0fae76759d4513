"""The embedded decision log: SQLite in WAL mode, fsynced at every group commit."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .base import SqlDecisionLog
from .chain import GENESIS_HASH, DecisionRecord, LogEntry, Pending, prepare
from .checkpoints import CHECKPOINTS_SQLITE, Signer

if TYPE_CHECKING:
    from .writer import WriterProcess

try:  # POSIX: orders the writers of several processes (SqliteDecisionLog)
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]

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


def private_file(path: str | Path) -> None:
    """Create `path` readable and writable by this user only (0600), or make it so: the log
    holds every operation sent, the key store the hashes of the API keys. SQLite creates the
    database's -wal and -shm files with the database file's own permissions.

    An existing file is changed by path, never through a file descriptor: closing any
    descriptor of a database file drops every POSIX lock this process holds on it, including
    those of SQLite connections already open (readers would then see a stale snapshot)."""
    path = Path(path)
    if not path.exists():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass  # created meanwhile by another process: made private below
        except OSError:
            return  # SQLite will report why it cannot open the file
    for target in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):
            if target.exists() and target.stat().st_uid == os.geteuid():
                target.chmod(0o600)


def connect_sqlite(path: str) -> sqlite3.Connection:
    """A connection in WAL mode that fsyncs every commit and waits out other writers."""
    # isolation_level=None: transactions are opened explicitly (BEGIN IMMEDIATE), never
    # implicitly by the driver; timeout lets a second process wait for the write lock.
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    # Switching a new database to WAL takes an exclusive lock, and SQLite does not run the busy
    # handler for it: a second process opening the same new file at that moment gets "database
    # is locked" at once. Retried for as long as `timeout` would have waited.
    deadline = time.monotonic() + 30
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    conn.execute("PRAGMA synchronous=FULL")
    return conn


# WAL frames the writer leaves before asking the checkpointer to copy them into the database.
CHECKPOINT_AFTER = 256


class SqliteDecisionLog(SqlDecisionLog):
    """Checkpoints (copying the WAL into the database file, with its own fsync) run in a
    thread of their own, never inside a group commit: SQLite's automatic checkpoint ran in the
    committing connection every ~1000 pages and held those answers back for tens of ms, the
    log's p99 (bench/log_timing.py). Durability is the WAL's, fsynced at every commit."""

    def __init__(
        self,
        path: str,
        signer: Signer | None = None,
        checkpoint_every: int = 1000,
        writer_process: bool = False,
    ) -> None:
        """`writer_process`: commit in a child process (api/decision_log/writer.py), for a
        worker whose event loop keeps the GIL busy; a file log only."""
        self.path = path
        self._turn: IO[bytes] | None = None
        self._remote: WriterProcess | None = None
        on_disk = path != ":memory:" and not path.startswith("file:")
        if on_disk:
            private_file(path)
        if fcntl is not None and on_disk:
            private_file(f"{path}.writers")
            self._turn = open(f"{path}.writers", "ab")  # noqa: SIM115 - held until close()
        self._checkpoint_due = threading.Event()
        self._checkpoint_stop = False
        self._uncheckpointed = 0
        self._checkpointer: threading.Thread | None = None
        super().__init__(signer, checkpoint_every)
        if writer_process and on_disk:
            from .writer import WriterProcess

            # the child checkpoints the WAL itself, in a thread of its own
            self._remote = WriterProcess(path, signer, checkpoint_every)
            self._remote.on_commit = self._count_commit
        elif self._turn is not None:
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
        self, conn: Any, batch: list[Pending]
    ) -> tuple[list[tuple[Pending, LogEntry]], list[tuple[Pending, Exception]]]:
        # Several processes appending to one file (`lexgate serve --workers N`) queue on a file
        # lock first: a blocked flock wakes the moment the holder commits, where SQLite's busy
        # handler polls with sleeps of up to 100 ms. SQLite's own lock still guards the chain.
        if self._remote is not None:
            return self._remote.write(batch)
        if self._turn is None:
            return super()._write(conn, batch)
        fcntl.flock(self._turn, fcntl.LOCK_EX)
        try:
            return super()._write(conn, batch)
        finally:
            fcntl.flock(self._turn, fcntl.LOCK_UN)

    async def append_async(self, record: DecisionRecord) -> LogEntry:
        """With a writer process, straight from the event loop to it (writer.py)."""
        if self._remote is None or self._closed:
            return await super().append_async(record)
        entry = await self._remote.append(self._prepare(record))
        if entry is None:  # called from another event loop than the one linked to the writer
            return await super().append_async(record)
        return entry

    def _count_commit(self) -> None:
        self.commits += 1  # in the event loop's thread: one answer per commit of the writer

    def _prepare(self, record: DecisionRecord) -> Pending:
        # the writer process indexes the entry from its bytes (terms.py): not parsed here too
        return prepare(record, with_terms=self._remote is None)

    def write_here(self, batch: list[Pending]) -> list[tuple[Any, ...]]:
        """Write `batch` now, in this thread (the writer process's loop): per entry
        ("ok", seq, prev_hash, entry_hash) or ("duplicate", message), in batch order."""
        if self._write_conn is None:
            self._write_conn = self._connect()
        try:
            written, rejected = self._write(self._write_conn, batch)
        except Exception:
            self._discard_write_conn()
            raise
        self.commits += 1
        self._count_for_checkpoint(len(written) + len(rejected))
        # by the Pending itself: two appends of one decision id may share a batch (the second
        # is the duplicate)
        answers: dict[int, tuple[Any, ...]] = {
            id(p): ("ok", e.seq, e.prev_hash, e.entry_hash) for p, e in written
        }
        answers.update({id(p): ("duplicate", str(error)) for p, error in rejected})
        return [answers[id(p)] for p in batch]

    def close(self) -> None:
        super().close()  # the writer thread hands its last batches over first
        if self._remote is not None:
            self._remote.close()
        if self._checkpointer is not None:
            self._checkpoint_stop = True
            self._checkpoint_due.set()
            self._checkpointer.join()
        if self._turn is not None:
            self._turn.close()

    def _commit_batch(self, batch: list[Pending]) -> None:
        super()._commit_batch(batch)
        self._count_for_checkpoint(len(batch))

    def _count_for_checkpoint(self, entries: int) -> None:
        self._uncheckpointed += entries
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
        for statement in (_SQLITE_SCHEMA + CHECKPOINTS_SQLITE).split(";"):
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
