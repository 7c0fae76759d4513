"""Signed checkpoints: an Ed25519 signature over `{seq, entry_hash, time}` of the chain head.

A hash chain kept in the same database as its entries proves nothing to someone who can write
that database: they can edit an entry and recompute every hash after it. A checkpoint is signed
with a key kept *outside* the database (a file readable by the server's user only, created on
the first start like the admin key), so rewriting the chain up to a checkpoint now needs that
key too. `docs/DECISION_LOG.md` lists each attack, what it needs, and what catches it.

The signed bytes are the canonical JSON of `{"entry_hash", "log", "seq", "time"}` with
`"log": "lexgate decision log checkpoint v1"`, so a signature cannot be replayed as anything
else. Public keys and signatures are hex.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .chain import canonical_json, utc_now

DOMAIN = "lexgate decision log checkpoint v1"

CHECKPOINTS_SQLITE = """;
CREATE TABLE IF NOT EXISTS decision_log_checkpoints (
    seq INTEGER PRIMARY KEY,
    entry_hash TEXT NOT NULL,
    time TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
)
"""
CHECKPOINTS_POSTGRES = CHECKPOINTS_SQLITE.lstrip(";").replace("INTEGER PRIMARY", "BIGINT PRIMARY")


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    entry_hash: str
    time: str
    public_key: str
    signature: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "time": self.time,
            "public_key": self.public_key,
            "signature": self.signature,
        }


def signed_bytes(seq: int, entry_hash: str, time: str) -> bytes:
    return canonical_json(
        {"entry_hash": entry_hash, "log": DOMAIN, "seq": seq, "time": time}
    ).encode("utf-8")


class Signer:
    """Signs checkpoints with one Ed25519 private key."""

    def __init__(self, private_key: Any) -> None:
        from cryptography.hazmat.primitives import serialization

        self._key = private_key
        self.public_key = (
            private_key.public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            .hex()
        )

    def sign(self, seq: int, entry_hash: str, time: str | None = None) -> Checkpoint:
        time = time or utc_now()
        signature = self._key.sign(signed_bytes(seq, entry_hash, time)).hex()
        return Checkpoint(seq, entry_hash, time, self.public_key, signature)


def check_signature(checkpoint: Checkpoint, public_key: str) -> bool:
    """True when `checkpoint` was signed by the private half of `public_key` (hex)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        key.verify(
            bytes.fromhex(checkpoint.signature),
            signed_bytes(checkpoint.seq, checkpoint.entry_hash, checkpoint.time),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


class KeyFileError(ValueError):
    pass


def load_signer(path: Path) -> Signer:
    """The signer of an existing key file (KeyFileError names what is wrong)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise KeyFileError(f"no signing key at `{path}`") from None
    except (OSError, ValueError, TypeError) as error:
        raise KeyFileError(f"cannot read the signing key `{path}`: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"`{path}` is not an Ed25519 private key")
    return Signer(key)


def ensure_signer(path: Path) -> tuple[Signer, bool]:
    """(the signer of `path`, whether it was created now). A new key file is written 0600 in
    a 0700 directory it creates; an existing one is used as it is."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if path.exists():
        return load_signer(path), False
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # another worker created it first: use theirs
        return load_signer(path), False
    with os.fdopen(fd, "wb") as stream:
        stream.write(pem)
        stream.flush()
        os.fsync(stream.fileno())
    return Signer(key), True


def public_key_from(text: str) -> str:
    """A trusted public key given on the command line: 64 hex digits, a file holding them, or
    a private key file (whose public half is taken)."""
    candidate = text.strip()
    if len(candidate) == 64 and all(c in "0123456789abcdefABCDEF" for c in candidate):
        return candidate.lower()
    path = Path(candidate)
    try:
        content = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(
            f"`{text}` is neither 64 hex digits nor a readable key file ({error})"
        ) from None
    if "PRIVATE KEY" in content:
        return load_signer(path).public_key
    if len(content) == 64:
        return public_key_from(content)
    raise KeyFileError(f"`{text}` holds no Ed25519 public key (64 hex digits)")


SqlText = Callable[[str], str]


def store_checkpoint(conn: Any, sql: SqlText, checkpoint: Checkpoint) -> None:
    """Insert `checkpoint` inside the caller's transaction (a checkpoint of the same seq, from
    another worker closing at the same head, is kept as it was)."""
    conn.execute(
        sql(
            "INSERT INTO decision_log_checkpoints (seq, entry_hash, time, public_key, signature)"
            " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING"
        ),
        (
            checkpoint.seq,
            checkpoint.entry_hash,
            checkpoint.time,
            checkpoint.public_key,
            checkpoint.signature,
        ),
    )
