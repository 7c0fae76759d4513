"""Tamper-evident, append-only decision log on SQLite (embedded) or PostgreSQL (shared).

| module | what |
|---|---|
| `chain` | canonical encoding, entries, the hash that links each entry to the one before |
| `base` | the `DecisionLog` interface and the group commit both backends share |
| `sqlite`, `postgres` | the two backends |
| `checkpoints` | Ed25519-signed checkpoints of the chain head (key kept outside the database) |
| `verify` | verification of the chain, the checkpoints, a published head, a receipt |
"""

from __future__ import annotations

from .base import DecisionLog, SqlDecisionLog
from .chain import (
    GENESIS_HASH,
    Canonical,
    DecisionRecord,
    DuplicateDecisionError,
    Fault,
    LogEntry,
    VerifyResult,
    canonical_bytes,
    canonical_json,
    compute_entry_hash,
    utc_now,
)
from .checkpoints import Checkpoint, Signer, ensure_signer, load_signer
from .postgres import PostgresDecisionLog
from .sqlite import SqliteDecisionLog, connect_sqlite, private_file
from .store import default_signing_key, parse_store_url

__all__ = [
    "GENESIS_HASH",
    "Canonical",
    "Checkpoint",
    "DecisionLog",
    "DecisionRecord",
    "DuplicateDecisionError",
    "Fault",
    "LogEntry",
    "PostgresDecisionLog",
    "Signer",
    "SqlDecisionLog",
    "SqliteDecisionLog",
    "VerifyResult",
    "canonical_bytes",
    "canonical_json",
    "compute_entry_hash",
    "connect_sqlite",
    "default_signing_key",
    "ensure_signer",
    "load_signer",
    "open_decision_log",
    "parse_store_url",
    "private_file",
    "utc_now",
]


def open_decision_log(
    url: str,
    signer: Signer | None = None,
    checkpoint_every: int = 1000,
    writer_process: bool = False,
) -> DecisionLog:
    """`writer_process`: an SQLite file log commits in a process of its own (several workers
    busy deciding: api/decision_log/writer.py); PostgreSQL is a server process already."""
    kind, target = parse_store_url(url)
    if kind == "postgresql":
        return PostgresDecisionLog(target, signer, checkpoint_every)
    return SqliteDecisionLog(target, signer, checkpoint_every, writer_process)
