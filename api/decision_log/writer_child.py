"""The writer process itself (api/decision_log/writer.py starts it and says why):
`python -m lexgate.api.decision_log.writer_child FD FD PATH CHECKPOINT_EVERY`, each FD one end
of a socket pair its worker holds the other end of (batches from the worker's log thread, and
single entries from its event loop)."""

from __future__ import annotations

import signal
import sys
from multiprocessing.connection import Connection, wait

from .chain import MAX_BATCH, Pending, hashed_head
from .checkpoints import Signer
from .sqlite import SqliteDecisionLog
from .writer import FIELDS


def _signer_from(raw: bytes | None) -> Signer | None:
    if raw is None:
        return None
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Signer(Ed25519PrivateKey.from_private_bytes(raw))


def _pending(row: tuple[object, ...]) -> Pending:
    fields: dict[str, object] = dict(zip(FIELDS, row, strict=True))
    head = hashed_head(
        str(fields["bundle_hash"]),
        bytes(fields["decision"]),  # type: ignore[arg-type]
        str(fields["decision_id"]),
        bytes(fields["operation"]),  # type: ignore[arg-type]
    )
    return Pending(**fields, head=head)  # type: ignore[arg-type]


def run_writer(path: str, checkpoint_every: int, conn: Connection, entries: Connection) -> None:
    """The child process: opens the log, then commits what arrives on its two connections,
    together: `conn` brings batches (a list of rows) and gets, per batch, a list of answers
    ("ok", seq, prev_hash, entry_hash) or ("duplicate", message), or ("error", message) for a
    batch that failed as a whole; `entries` brings single rows (the worker's event loop) and
    gets, per commit, the list of answers to the rows it took, in order, or ("error", message,
    count). None on `conn`, or the worker gone, ends it."""
    # Ctrl-C reaches the whole process group: the worker decides when the writer stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signer = _signer_from(conn.recv())
    log = SqliteDecisionLog(path, signer, checkpoint_every)
    conn.send(("ready",))
    sources = [conn, entries]
    try:
        while sources:
            batch_rows: list[tuple[object, ...]] | None = None
            single_rows: list[tuple[object, ...]] = []
            stop = False
            for source in wait(sources):
                try:
                    while source.poll(0) and len(single_rows) < MAX_BATCH:
                        message = source.recv()
                        if message is None:
                            stop = True
                            break
                        if source is conn:
                            batch_rows = message
                            break  # one batch at a time: its sender waits for the answer
                        single_rows.append(message)
                except (EOFError, OSError):
                    if source is conn:
                        stop = True
                    else:
                        sources.remove(source)
            rows = (batch_rows or []) + single_rows
            if rows:
                try:
                    answers = log.write_here([_pending(row) for row in rows])
                except Exception as error:
                    reason = f"{type(error).__name__}: {error}"
                    if batch_rows is not None:
                        conn.send(("error", reason))
                    if single_rows:
                        entries.send(("error", reason, len(single_rows)))
                else:
                    taken = len(batch_rows or [])
                    if batch_rows is not None:
                        conn.send(answers[:taken])
                    if single_rows:
                        entries.send(answers[taken:])
            if stop:
                break
    except (EOFError, OSError):
        pass  # the worker is gone
    finally:
        log.close()  # signs a checkpoint of the head, as a worker's log does when it closes


if __name__ == "__main__":  # python -m lexgate.api.decision_log.writer_child FD FD PATH EVERY
    run_writer(
        sys.argv[3], int(sys.argv[4]), Connection(int(sys.argv[1])), Connection(int(sys.argv[2]))
    )
