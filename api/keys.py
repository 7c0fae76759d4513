"""API keys: `lxg_<id>_<secret>`, stored only as a salted hash, each with a set of scopes.

The secret is 256 random bits, so a fast salted SHA-256 is as safe as a slow KDF here (slow
hashing protects guessable passwords, and no one can guess 2^256) while keeping
authentication cheap enough to run on every request.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .decision_log import connect_sqlite, parse_store_url, private_file, utc_now

KEY_PREFIX = "lxg"


class Scope(StrEnum):
    DECIDE = "decide"
    READ_LOG = "read_log"
    ADMIN = "admin"


def parse_scopes(scopes: Iterable[str]) -> frozenset[Scope]:
    parsed: set[Scope] = set()
    for scope in scopes:
        try:
            parsed.add(Scope(scope))
        except ValueError:
            known = ", ".join(f"`{s.value}`" for s in Scope)
            raise ValueError(f"unknown scope `{scope}`\nhelp: use one of {known}") from None
    if not parsed:
        raise ValueError("a key needs at least one scope")
    return frozenset(parsed)


def has_scope(granted: Iterable[str], needed: str) -> bool:
    """Admin implies every scope, so an operator never needs a second key."""
    granted = set(granted)
    return Scope.ADMIN in granted or needed in granted


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    scopes: frozenset[Scope]
    label: str | None
    created: str
    revoked: bool

    def allows(self, scope: str) -> bool:
        return not self.revoked and has_scope(self.scopes, scope)


def _hash_secret(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("utf-8")).digest()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    salt {blob} NOT NULL,
    secret_hash {blob} NOT NULL,
    scopes TEXT NOT NULL,
    label TEXT,
    created TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
)
"""
# A successful authentication is remembered for at most this long (SQLite stores only; the
# bound on how long a revocation could go unseen if the revocation stamp below were bypassed).
CACHE_SECONDS = 1.0
_CACHE_SIZE = 4096
# Makes "create the first admin key" atomic across servers starting at once on PostgreSQL.
_KEYS_LOCK_KEY = 0x6C78676B  # "lxgk"


class KeyStore:
    """Keys in SQLite (by default the log's own file) or in the servers' shared PostgreSQL."""

    def __init__(self, url: str) -> None:
        self._kind, self._target = parse_store_url(url)
        self._lock = threading.Lock()
        self._conn: Any = self._connect()
        # Cache of genuine, unrevoked keys: plaintext -> (info, revocation stamp, when read).
        # Every revoke() appends to `<db>.revocations`, so every process sharing the file sees
        # a new stamp on its next request and drops its cache: a revoked key is refused at
        # once, in every worker. Only SQLite stores that live in a file are cached.
        self._cache: dict[str, tuple[KeyInfo, int, float]] = {}
        self._stamp_path: str | None = None
        if (
            self._kind == "sqlite"
            and self._target != ":memory:"
            and not self._target.startswith("file:")
        ):
            self._stamp_path = f"{self._target}.revocations"
            private_file(self._target)  # key hashes: readable by this user only
            private_file(self._stamp_path)
        with self._transaction() as conn:
            blob = "BYTEA" if self._kind == "postgresql" else "BLOB"
            conn.execute(_SCHEMA.format(blob=blob))

    def _connect(self) -> Any:
        if self._kind == "postgresql":
            import psycopg

            return psycopg.connect(self._target, autocommit=True)
        return connect_sqlite(self._target)

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self._kind == "postgresql" else text

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        """One exclusive write transaction, serialised across processes."""
        with self._lock:
            conn = self._conn
            if self._kind == "postgresql":
                conn.execute("BEGIN")
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_KEYS_LOCK_KEY,))
            else:
                conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return list(self._conn.execute(self._sql(sql), params).fetchall())

    def _insert(self, conn: Any, scopes: Iterable[str], label: str | None) -> str:
        granted = parse_scopes(scopes)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        conn.execute(
            self._sql(
                "INSERT INTO api_keys (key_id, salt, secret_hash, scopes, label, created)"
                " VALUES (?,?,?,?,?,?)"
            ),
            (key_id, salt, _hash_secret(salt, secret), ",".join(sorted(granted)), label, utc_now()),
        )
        return f"{KEY_PREFIX}_{key_id}_{secret}"

    def create(self, scopes: Iterable[str], label: str | None = None) -> str:
        """The plaintext key; it is not stored and cannot be shown again."""
        with self._transaction() as conn:
            return self._insert(conn, scopes, label)

    def ensure_admin_key(self) -> str | None:
        """On first start, an admin key to print once; None once any key exists."""
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM api_keys LIMIT 1").fetchone() is not None:
                return None
            return self._insert(conn, [Scope.ADMIN], "initial admin key")

    def revoke(self, key_id: str) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                self._sql("UPDATE api_keys SET revoked = 1 WHERE key_id = ?"), (key_id,)
            )
            revoked = bool(cursor.rowcount)
        self._cache.clear()
        if revoked and self._stamp_path is not None:
            # After the commit: a reader that sees the new stamp also sees the revocation.
            with open(self._stamp_path, "ab") as stamp:
                stamp.write(b"%s\n" % key_id.encode("utf-8", "replace"))
                stamp.flush()
                os.fsync(stamp.fileno())
        return revoked

    def _stamp(self) -> int:
        try:
            return os.stat(self._stamp_path).st_size  # type: ignore[arg-type]
        except FileNotFoundError:
            return -1

    def authenticate(self, plaintext: str) -> KeyInfo | None:
        """The key's info if it is genuine and not revoked, else None (never says which).
        Successes are cached (see `CACHE_SECONDS`); failures never are."""
        if self._stamp_path is None:
            return self._authenticate(plaintext)
        stamp, now = self._stamp(), time.monotonic()  # the stamp first: see revoke()
        hit = self._cache.get(plaintext)
        if hit is not None and hit[1] == stamp and now - hit[2] < CACHE_SECONDS:
            return hit[0]
        info = self._authenticate(plaintext)
        if info is not None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[plaintext] = (info, stamp, now)
        return info

    def _authenticate(self, plaintext: str) -> KeyInfo | None:
        prefix, _, rest = plaintext.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not key_id or not secret:
            return None
        rows = self._query(
            "SELECT key_id, scopes, label, created, revoked, salt, secret_hash"
            " FROM api_keys WHERE key_id = ?",
            (key_id,),
        )
        if not rows:
            return None
        *fields, salt, stored_hash = rows[0]
        if not hmac.compare_digest(_hash_secret(bytes(salt), secret), bytes(stored_hash)):
            return None
        info = _key_info(fields)
        return None if info.revoked else info

    def list(self) -> builtins.list[KeyInfo]:
        rows = self._query(
            "SELECT key_id, scopes, label, created, revoked FROM api_keys ORDER BY created, key_id"
        )
        return [_key_info(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _key_info(row: Any) -> KeyInfo:
    key_id, scopes, label, created, revoked = row
    return KeyInfo(
        key_id=key_id,
        scopes=frozenset(Scope(s) for s in scopes.split(",")),
        label=label,
        created=created,
        revoked=bool(revoked),
    )


def open_key_store(url: str) -> KeyStore:
    return KeyStore(url)


__all__ = ["KeyInfo", "KeyStore", "Scope", "has_scope", "open_key_store", "parse_scopes"]
