"""The shared decision log: PostgreSQL, for several servers appending to one chain."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from .base import SqlDecisionLog
from .chain import GENESIS_HASH
from .checkpoints import CHECKPOINTS_POSTGRES, Signer

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


class PostgresDecisionLog(SqlDecisionLog):
    def __init__(
        self, url: str, signer: Signer | None = None, checkpoint_every: int = 1000
    ) -> None:
        self.url = url
        super().__init__(signer, checkpoint_every)

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url)

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def _create_schema(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
        conn.execute(_POSTGRES_SCHEMA)
        conn.execute(CHECKPOINTS_POSTGRES)
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
