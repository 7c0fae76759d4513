"""The writer process itself (api/decision_log/writer.py starts it and says why):
`python -m lexgate.api.decision_log.writer_child FD PATH CHECKPOINT_EVERY`, FD one end of a
socket pair its worker holds the other end of."""

from __future__ import annotations

import signal
import sys
from multiprocessing.connection import Connection

from .chain import Pending, hashed_head
from .checkpoints import Signer
from .sqlite import SqliteDecisionLog
from .writer import FIELDS


def _signer_from(raw: bytes | None) -> Signer | None:
    if raw is None:
        return None
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Signer(Ed25519PrivateKey.from_private_bytes(raw))


def run_writer(path: str, checkpoint_every: int, conn: Connection) -> None:
    """The child process: opens the log, then writes each batch it receives and answers, per
    entry, ("ok", seq, prev_hash, entry_hash) or ("duplicate", message); a batch that fails
    as a whole gets ("error", message). None, or the worker gone, ends it."""
    # Ctrl-C reaches the whole process group: the worker decides when the writer stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signer = _signer_from(conn.recv())
    log = SqliteDecisionLog(path, signer, checkpoint_every)
    conn.send(("ready",))
    try:
        while True:
            try:
                rows = conn.recv()
            except (EOFError, OSError):
                break
            if rows is None:
                break
            batch = []
            for row in rows:
                fields = dict(zip(FIELDS, row, strict=True))
                head = hashed_head(
                    fields["bundle_hash"],
                    fields["decision"],
                    fields["decision_id"],
                    fields["operation"],
                )
                batch.append(Pending(**fields, head=head))
            try:
                answers = log.write_here(batch)
            except Exception as error:
                conn.send(("error", f"{type(error).__name__}: {error}"))
                continue
            conn.send(answers)
    finally:
        log.close()  # signs a checkpoint of the head, as a worker's log does when it closes


if __name__ == "__main__":  # python -m lexgate.api.decision_log.writer_child FD PATH EVERY
    run_writer(sys.argv[2], int(sys.argv[3]), Connection(int(sys.argv[1])))
