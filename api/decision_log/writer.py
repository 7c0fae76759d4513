"""An SQLite decision log written by a process of its own (`lexgate serve --workers N`).

Why a process: a worker decides requests in Python on its event loop while the log's writer
thread commits. Every SQLite call of a group commit (BEGIN, the head, the duplicate check, each
inserted row, the head's update, COMMIT and its fsync) releases the GIL, and each time the
writer must win it back from the busy loop, which hands it over only at the switch interval
(5 ms): under load a commit of a few rows took tens of milliseconds, and every request waiting
on it with it (bench/log_timing.py). In a process of its own the same commit never waits for
the GIL; the worker's writer thread sends the batch and waits for the answer, two calls.

Nothing about the chain changes: the child runs `SqliteDecisionLog._write` (the file lock that
orders the workers, BEGIN IMMEDIATE, the hashes, the signed checkpoints) on the same file, and
the worker reads through its own connection as before. Two private socket pairs join them: one
for the log thread's batches (`append`, the CLI), one for the event loop, which sends each entry
itself and reads the answers with `add_reader`, so that no thread of the worker competes with
the loop for the GIL. The checkpoint signing key crosses once, at start, and is never written.

A child that dies while idle is replaced before the next batch; one that dies holding a batch
fails that batch (the API answers 503 log_unavailable; an entry of it may or may not have been
committed, under its own decision id) and is replaced for the next. The child ends when the
worker closes the log, or when the worker is gone (its end of the socket pair closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from .chain import DuplicateDecisionError, LogEntry, Pending
from .checkpoints import Signer

# The fields of a Pending that travel: encoded bytes and strings only (its waiters stay here;
# its `head` holds the decision's bytes again, and the child rebuilds it: chain.hashed_head).
FIELDS = ("decision_id", "time", "bundle_hash", "operation", "decision", "tail")
STARTUP_TIMEOUT_S = 60.0
CHILD = "lexgate.api.decision_log.writer_child"  # run by name: this module never imports it
STOP_TIMEOUT_S = 30.0
ENTRIES_BUFFER = 4 << 20  # bytes the loop may send ahead of the writer (~250 entries of 15 kB)


def _private_bytes(signer: Signer | None) -> bytes | None:
    if signer is None:
        return None
    from cryptography.hazmat.primitives import serialization

    raw: bytes = signer._key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return raw


class WriterProcess:
    """The worker's side: starts the child, sends it batches, turns answers into entries."""

    def __init__(self, path: str, signer: Signer | None, checkpoint_every: int) -> None:
        self.path = path
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self._lock = threading.Lock()  # one batch in flight (the log's one writer thread)
        self._process: Any = None
        self._conn: Connection | None = None
        # the event loop's own connection to the child, and its link (loop, waiters)
        self._entries: Connection | None = None
        self._link: _Link | None = None
        self.on_commit: Callable[[], None] = lambda: None  # called per commit answered to the loop
        self._start()

    def _start(self) -> None:
        # A plain child (`python -m …writer_child FD`), not multiprocessing's spawn: spawn imports
        # the parent's main module again, which an embedding script may not guard.
        mine, theirs = socket.socketpair()
        mine_entries, theirs_entries = socket.socketpair()
        # a writer held up by a slow fsync must not block the event loop's sends soon
        mine_entries.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, ENTRIES_BUFFER)
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    CHILD,
                    str(theirs.fileno()),
                    str(theirs_entries.fileno()),
                    self.path,
                    str(self.checkpoint_every),
                ],
                pass_fds=(theirs.fileno(), theirs_entries.fileno()),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
            theirs_entries.close()
        ours = Connection(mine.detach())
        entries = Connection(mine_entries.detach())
        try:
            ours.send(_private_bytes(self.signer))
            if not ours.poll(STARTUP_TIMEOUT_S) or ours.recv() != ("ready",):
                raise RuntimeError("the decision log's writer process did not start")
        except (EOFError, OSError) as error:
            ours.close()
            entries.close()
            process.kill()
            raise RuntimeError(
                f"the decision log's writer process exited at start ({process.wait()})"
            ) from error
        except RuntimeError:
            ours.close()
            entries.close()
            process.kill()
            process.wait()
            raise
        self._process, self._conn, self._entries = process, ours, entries

    def write(
        self, batch: list[Pending]
    ) -> tuple[list[tuple[Pending, LogEntry]], list[tuple[Pending, Exception]]]:
        rows = [tuple(getattr(p, name) for name in FIELDS) for p in batch]
        with self._lock:
            if self._conn is not None and not self._idle_and_alive():
                self._discard()  # died while idle: a new one takes this batch
            for attempt in (1, 2):
                if self._conn is None:
                    self._start()
                conn = self._conn
                assert conn is not None
                try:
                    conn.send(rows)
                    answers = conn.recv()
                    break
                except (BrokenPipeError, ConnectionResetError) as error:
                    # The writer was gone before it read the whole batch (a reset means our
                    # bytes were left unread), so none of it was written: a new writer takes
                    # it, once.
                    self._discard()
                    if attempt == 2:
                        raise RuntimeError("the decision log's writer process exited") from error
                except (EOFError, OSError) as error:  # it may have written the batch: no retry
                    self._discard()
                    raise RuntimeError("the decision log's writer process exited") from error
        if isinstance(answers, tuple):  # ("error", message): nothing of the batch written
            raise RuntimeError(f"the decision log could not write: {answers[1]}")
        written: list[tuple[Pending, LogEntry]] = []
        rejected: list[tuple[Pending, Exception]] = []
        for pending, answer in zip(batch, answers, strict=True):
            outcome = _outcome(pending, answer)
            if isinstance(outcome, LogEntry):
                written.append((pending, outcome))
            else:
                rejected.append((pending, outcome))
        return written, rejected

    # ---- the event loop's path: no thread between a request and the writer ----------------

    async def append(self, pending: Pending) -> LogEntry | None:
        """Send one entry from the running event loop and await its answer; None when this
        loop cannot use the writer's loop connection (another live loop holds it): the caller
        takes the thread path. The worker's log thread then never competes with the event loop
        for the GIL (see the module's docstring)."""
        loop = asyncio.get_running_loop()
        row = tuple(getattr(pending, name) for name in FIELDS)
        for attempt in (1, 2):
            link = self._loop_link(loop)
            if link is None:
                return None
            waiter: asyncio.Future[LogEntry] = loop.create_future()
            link.waiting.append((pending, waiter))
            try:
                link.conn.send(row)
                break
            except OSError as error:  # the writer is gone: what was sent is not answered
                link.waiting.pop()
                self._drop(link, RuntimeError("the decision log's writer process exited"))
                # this entry never reached it (a broken pipe or a reset: bytes unread), so a
                # new writer may take it, once
                if attempt == 2 or not isinstance(error, BrokenPipeError | ConnectionResetError):
                    raise RuntimeError("the decision log's writer process exited") from error
        return await waiter

    def _loop_link(self, loop: asyncio.AbstractEventLoop) -> _Link | None:
        link = self._link
        if link is not None and not link.closed:
            if link.loop is loop and link.conn is self._entries:
                return link
            if link.loop is not loop and not link.loop.is_closed():
                return None  # another live loop's
            # its loop is gone, or its writer was replaced: let it go (a new loop gets a new
            # writer rather than answers meant for the old loop's waiters)
            self._drop(link, RuntimeError("the decision log's writer process was replaced"))
        with self._lock:
            dropped = self._link is not None and self._link.conn is self._entries
            if self._conn is not None and (dropped or not self._idle_and_alive()):
                self._discard()
            if self._conn is None:
                self._start()
            conn = self._entries
            assert conn is not None
            link = self._link = _Link(conn, loop)
        loop.add_reader(conn.fileno(), self._on_answers, link)
        return link

    def _on_answers(self, link: _Link) -> None:
        try:
            while link.conn.poll(0):
                answers = link.conn.recv()
                self.on_commit()
                if isinstance(answers, tuple):  # ("error", message, count): none written
                    failure = RuntimeError(f"the decision log could not write: {answers[1]}")
                    for _ in range(answers[2]):
                        _, waiter = link.waiting.popleft()
                        if not waiter.done():
                            waiter.set_exception(failure)
                    continue
                for answer in answers:
                    pending, waiter = link.waiting.popleft()
                    if waiter.done():  # cancelled meanwhile: the entry is written all the same
                        continue
                    outcome = _outcome(pending, answer)
                    if isinstance(outcome, LogEntry):
                        waiter.set_result(outcome)
                    else:
                        waiter.set_exception(outcome)
        except (EOFError, OSError, IndexError):
            self._drop(link, RuntimeError("the decision log's writer process exited"))

    def _linked(self, entries: Connection) -> bool:
        link = self._link
        return link is not None and not link.closed and link.conn is entries

    def _drop(self, link: _Link, error: Exception) -> None:
        """In the link's loop: stop reading, close its connection, fail whoever still waits."""
        if link.closed:
            return
        link.closed = True
        if not link.loop.is_closed():
            with contextlib.suppress(Exception):
                link.loop.remove_reader(link.conn.fileno())
        with contextlib.suppress(OSError):
            link.conn.close()
        while link.waiting:
            _, waiter = link.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)

    def _idle_and_alive(self) -> bool:
        """An idle writer has nothing to say: anything readable is its end closing (it died)."""
        if self._process is None or self._process.poll() is not None or self._conn is None:
            return False
        try:
            return not self._conn.poll(0)
        except (EOFError, OSError):
            return False

    def _discard(self) -> None:
        conn, process, self._conn, self._process = self._conn, self._process, None, None
        entries, self._entries = self._entries, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()
        if entries is not None and not self._linked(entries):
            entries.close()  # never linked to a loop (a linked one is closed by its loop)
        if process is not None:
            _reap(process, 1.0)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.pid)

    def close(self) -> None:
        link = self._link
        if link is not None and not link.closed:
            failure = RuntimeError("decision log is closed")
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is link.loop or link.loop.is_closed():
                self._drop(link, failure)
            else:
                with contextlib.suppress(RuntimeError):
                    link.loop.call_soon_threadsafe(self._drop, link, failure)
        with self._lock:
            conn, process, self._conn, self._process = self._conn, self._process, None, None
            entries, self._entries = self._entries, None
            if entries is not None and not self._linked(entries):
                entries.close()
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.send(None)
            if process is not None:
                _reap(process, STOP_TIMEOUT_S)
            if conn is not None:
                conn.close()


class _Link:
    """The event loop's connection to the writer: entries it sent, in order, awaiting answers."""

    __slots__ = ("closed", "conn", "loop", "waiting")

    def __init__(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        self.conn = conn
        self.loop = loop
        self.waiting: deque[tuple[Pending, asyncio.Future[LogEntry]]] = deque()
        self.closed = False


def _outcome(pending: Pending, answer: tuple[Any, ...]) -> LogEntry | Exception:
    if answer[0] == "ok":
        _, seq, prev_hash, entry_hash = answer
        return LogEntry(
            seq,
            pending.decision_id,
            pending.time,
            pending.bundle_hash,
            pending.operation,
            pending.decision,
            prev_hash,
            entry_hash,
        )
    return DuplicateDecisionError(answer[1])


def _reap(process: Any, timeout: float) -> None:
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
