"""The log's interface and the group commit shared by the SQLite and PostgreSQL backends.

Appends are group-committed: one writer thread per log drains every waiting record into a
single transaction, so concurrent requests share one fsync, and a caller is answered only once
its entry is durable. Every `checkpoint_every` entries (and when the log is closed) the writer
also stores a signed checkpoint of the chain head, in the same transaction.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import IO, Any, Self

from .chain import (
    COLUMNS,
    MAX_BATCH,
    DecisionRecord,
    DuplicateDecisionError,
    LogEntry,
    Pending,
    VerifyResult,
    canonical_json,
    entry_from_row,
    prepare,
)
from .checkpoints import Signer, store_checkpoint
from .query import LogFilter, QueryError, page
from .terms import backfill, create_terms, insert_terms, terms_of
from .verify import Snapshot, verify_snapshot


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
    def verify(self, public_key: str | None = None) -> VerifyResult:
        """Check the chain and every signed checkpoint (against `public_key`, hex, when given;
        else the key of this log's signer, if it has one)."""

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


_STOP = object()
_Outcome = tuple[Pending, "LogEntry | None", "Exception | None"]


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


class SqlDecisionLog(DecisionLog):
    """Group commit, reads and verification shared by the SQLite and PostgreSQL backends."""

    def __init__(self, signer: Signer | None = None, checkpoint_every: int = 1000) -> None:
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self.commits = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._write_conn: Any = self._connect()
        self._read_conn: Any = self._connect_reader()
        self._create_schema(self._write_conn)
        self._create_index(self._write_conn)
        self._writer = threading.Thread(target=self._run_writer, name="decision-log", daemon=True)
        self._writer.start()

    # Backend hooks.
    @abc.abstractmethod
    def _connect(self) -> Any: ...

    def _connect_reader(self) -> Any:
        return self._connect()

    @abc.abstractmethod
    def _create_schema(self, conn: Any) -> None: ...

    def _create_index(self, conn: Any) -> None:
        """The search index of GET /v1/decisions (terms.py), brought up to date while the
        chain head is held, so no entry is written meanwhile."""
        self._lock_head(conn)
        create_terms(conn, self._sql)
        backfill(conn, self._sql)
        conn.commit()

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
    def _submit(self, pending: Pending) -> None:
        with self._close_lock:
            if self._closed:
                raise RuntimeError("decision log is closed")
            self._queue.put(pending)

    def _prepare(self, record: DecisionRecord) -> Pending:
        return prepare(record)

    def append(self, record: DecisionRecord) -> LogEntry:
        pending = self._prepare(record)
        future = pending.future = Future()
        self._submit(pending)
        return future.result()

    async def append_async(self, record: DecisionRecord) -> LogEntry:
        pending = self._prepare(record)
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
            batch: list[Pending] = [item]
            # Everything that queued up during the previous commit joins this one. (Waiting a
            # little for more was measured: fewer commits, but in a closed loop of clients the
            # added latency cost more throughput than the commits saved; issue 16.)
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

    def _commit_batch(self, batch: list[Pending]) -> None:
        try:
            if self._write_conn is None:
                self._write_conn = self._connect()
            written, rejected = self._write(self._write_conn, batch)
        except Exception as error:
            self._discard_write_conn()
            _settle([(pending, None, error) for pending in batch])
            return
        self.commits += 1
        _settle(
            [(pending, entry, None) for pending, entry in written]
            + [(pending, None, reason) for pending, reason in rejected]
        )

    def _discard_write_conn(self) -> None:
        # After a failed commit the connection may be mid-transaction or dead; start afresh.
        conn, self._write_conn = self._write_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.rollback()
            with contextlib.suppress(Exception):
                conn.close()

    def _write(
        self, conn: Any, batch: list[Pending]
    ) -> tuple[list[tuple[Pending, LogEntry]], list[tuple[Pending, Exception]]]:
        seq, head_hash = self._lock_head(conn)
        marks = ",".join("?" * len(batch))
        taken = {
            row[0]
            for row in conn.execute(
                self._sql(f"SELECT decision_id FROM decision_log WHERE decision_id IN ({marks})"),
                [p.decision_id for p in batch],
            ).fetchall()
        }
        written: list[tuple[Pending, LogEntry]] = []
        rejected: list[tuple[Pending, Exception]] = []
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
                seq,
                pending.decision_id,
                pending.time,
                pending.bundle_hash,
                pending.operation,
                pending.decision,
                prev_hash,
                head_hash,
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
                self._sql(f"INSERT INTO decision_log ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"), rows
            )
            conn.execute(
                self._sql("UPDATE decision_log_head SET seq = ?, entry_hash = ? WHERE id = 1"),
                (seq, head_hash),
            )
            # A Pending rebuilt by a writer process (writer.py) comes without its terms: they
            # are found again here, from the decision's bytes.
            terms = [
                (term, entry.seq)
                for pending, entry in written
                for term in (pending.terms or terms_of(pending.decision))
            ]
            insert_terms(conn, self._sql, terms, seq)
            first = written[0][1].seq if written else seq
            if self.signer is not None and (first - 1) // self.checkpoint_every != (
                seq // self.checkpoint_every
            ):
                # This batch crossed a multiple of checkpoint_every: sign its last entry, in the
                # same transaction (one signature, ~0.1 ms, per checkpoint_every entries).
                store_checkpoint(conn, self._sql, self.signer.sign(seq, head_hash))
        conn.commit()
        return written, rejected

    # Reading.
    def get(self, decision_id: str) -> LogEntry | None:
        row = self._read_one(
            self._sql(f"SELECT {COLUMNS} FROM decision_log WHERE decision_id = ?"),
            (decision_id,),
        )
        return None if row is None else entry_from_row(row)

    def find_ids(self, prefix: str, limit: int = 10_000) -> list[str]:
        """Ids of the entries whose id starts with `prefix`, in log order (organisation
        profiles are entries `profile:ID:vN` of the same chain: api/profile_store.py)."""
        sql = self._sql(
            "SELECT decision_id FROM decision_log WHERE decision_id >= ? AND decision_id < ? "
            "ORDER BY seq LIMIT ?"
        )
        with self._read_lock:
            try:
                rows = self._read_conn.execute(sql, (prefix, prefix + "\uffff", limit)).fetchall()
            except Exception:
                with contextlib.suppress(Exception):
                    self._read_conn.close()
                self._read_conn = self._connect_reader()
                raise
        return [str(row[0]) for row in rows]

    def page(
        self, where: LogFilter, before: int | None, limit: int
    ) -> tuple[list[LogEntry], int | None]:
        """A page of `GET /v1/decisions`: entries matching `where`, newest first (query.py)."""
        with self._read_lock:
            try:
                return page(self._read_conn, self._sql, where, before, limit)
            except QueryError:
                raise
            except Exception:
                with contextlib.suppress(Exception):
                    self._read_conn.close()
                self._read_conn = self._connect_reader()
                raise

    async def page_async(
        self, where: LogFilter, before: int | None, limit: int
    ) -> tuple[list[LogEntry], int | None]:
        return await asyncio.to_thread(self.page, where, before, limit)

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
            for row in self._stream(conn, f"SELECT {COLUMNS} FROM decision_log ORDER BY seq"):
                stream.write(canonical_json(entry_from_row(row).to_dict()) + "\n")
                written += 1
        return written

    def verify(self, public_key: str | None = None) -> VerifyResult:
        if public_key is None and self.signer is not None:
            public_key = self.signer.public_key
        with self._snapshot() as conn:
            return verify_snapshot(Snapshot(conn, self._stream, self._sql), public_key)

    def checkpoint(self) -> None:
        """Sign the current head now, unless a checkpoint already covers it."""
        if self.signer is None:
            return
        conn = self._connect()
        try:
            seq, head_hash = self._lock_head(conn)
            if seq > 0:
                store_checkpoint(conn, self._sql, self.signer.sign(seq, head_hash))
            conn.commit()
        finally:
            conn.close()

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._writer.join()
        with contextlib.suppress(Exception):  # a log that cannot be written has no head to sign
            self.checkpoint()  # on shutdown: anchors every entry this process wrote
        for conn in (self._write_conn, self._read_conn):
            if conn is not None:
                conn.close()
