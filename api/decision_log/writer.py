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
the worker reads through its own connection as before. The pipe between the two is a private
socket pair; the checkpoint signing key crosses it once, at start, and is never written.

A child that dies while idle is replaced before the next batch; one that dies holding a batch
fails that batch (the API answers 503 log_unavailable; an entry of it may or may not have been
committed, under its own decision id) and is replaced for the next. The child ends when the
worker closes the log, or when the worker is gone (its end of the socket pair closes).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
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
        self._start()

    def _start(self) -> None:
        # A plain child (`python -m …writer_child FD`), not multiprocessing's spawn: spawn imports
        # the parent's main module again, which an embedding script may not guard.
        mine, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    CHILD,
                    str(theirs.fileno()),
                    self.path,
                    str(self.checkpoint_every),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        ours = Connection(mine.detach())
        try:
            ours.send(_private_bytes(self.signer))
            if not ours.poll(STARTUP_TIMEOUT_S) or ours.recv() != ("ready",):
                raise RuntimeError("the decision log's writer process did not start")
        except (EOFError, OSError) as error:
            ours.close()
            process.kill()
            raise RuntimeError(
                f"the decision log's writer process exited at start ({process.wait()})"
            ) from error
        except RuntimeError:
            ours.close()
            process.kill()
            process.wait()
            raise
        self._process, self._conn = process, ours

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
            if answer[0] == "ok":
                _, seq, prev_hash, entry_hash = answer
                entry = LogEntry(
                    seq,
                    pending.decision_id,
                    pending.time,
                    pending.bundle_hash,
                    pending.operation,
                    pending.decision,
                    prev_hash,
                    entry_hash,
                )
                written.append((pending, entry))
            else:
                rejected.append((pending, DuplicateDecisionError(answer[1])))
        return written, rejected

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
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()
        if process is not None:
            _reap(process, 1.0)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.pid)

    def close(self) -> None:
        with self._lock:
            conn, process, self._conn, self._process = self._conn, self._process, None, None
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.send(None)
            if process is not None:
                _reap(process, STOP_TIMEOUT_S)
            if conn is not None:
                conn.close()


def _reap(process: Any, timeout: float) -> None:
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
