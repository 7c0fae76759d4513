"""The chain itself: the canonical encoding that is hashed, the entry and record types, and the
hash of an entry. Every entry carries the SHA-256 of the previous one, so an edit, deletion or
reordering breaks the chain; `api.decision_log.verify` finds where, and signed checkpoints
(`api.decision_log.checkpoints`) anchor it against someone who can rewrite the whole database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .terms import terms_of

try:  # optional accelerator: the same bytes, several times faster (see canonical_bytes)
    import orjson as _orjson
except ImportError:  # pragma: no cover - the json module alone is exact, only slower
    _orjson = None  # type: ignore[assignment]

GENESIS_HASH = "0" * 64
# Bounds one transaction so a burst cannot hold the chain head (and its lock) for long.
MAX_BATCH = 512
COLUMNS = "seq, decision_id, time, bundle_hash, operation, decision, prev_hash, entry_hash"

# --- canonical encoding -------------------------------------------------------------------


def _exact(value: object) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"decimal `{value}` cannot be logged: only finite values are exact")
        # str() keeps the exact digits and exponent; a float would silently round money.
        return str(value)
    raise TypeError(f"value of type `{type(value).__name__}` cannot be logged as JSON")


def canonical_json(value: object) -> str:
    """The one encoding that is hashed: sorted keys, no spaces, UTF-8, decimals as strings."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_exact,
    )


# orjson spells floats differently from the json module (1e-05 vs 0.00001): any output that may
# hold a float token goes the reference way. A false alarm (such text inside a string) only costs
# speed. Values parsed by the API never hold floats (numbers are read as Decimal).
_MAYBE_FLOAT = re.compile(rb"[:,\[]-?[0-9]+[.eE]")
_ORJSON_OPTIONS = 0
if _orjson is not None:
    # Subclasses, datetimes and dataclasses go to `default`, which refuses them as json does.
    _ORJSON_OPTIONS = (
        _orjson.OPT_SORT_KEYS
        | _orjson.OPT_PASSTHROUGH_SUBCLASS
        | _orjson.OPT_PASSTHROUGH_DATETIME
        | _orjson.OPT_PASSTHROUGH_DATACLASS
    )


def canonical_bytes(value: object, *, floats: bool = True) -> bytes:
    """`canonical_json(value)` as UTF-8 bytes, byte for byte; orjson when it is installed and the
    value is plain JSON data (str keys, str/int/bool/None/Decimal leaves), else the json module
    (which also raises exactly the errors `canonical_json` raises). `floats=False` skips the
    scan for float tokens (~40 µs on a 5 kB decision) for data that holds none by construction:
    `Decision.to_dict()` writes every number as an int or an exact decimal string."""
    if _orjson is not None:
        try:
            encoded: bytes = _orjson.dumps(value, default=_exact, option=_ORJSON_OPTIONS)
        except Exception:  # the reference encoder below decides (or raises)
            pass
        else:
            # orjson writes NaN and infinities as null where json refuses them: output with a
            # null (rare in operations) is left to the reference encoder too.
            if not floats or (b"null" not in encoded and not _MAYBE_FLOAT.search(encoded)):
                return encoded
    return canonical_json(value).encode("utf-8")


class Canonical(bytes):
    """A JSON object already encoded by `canonical_bytes` (the API encodes a decision once and
    uses the same bytes for its answer and its log entry)."""


def compute_entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical encoding of every entry field except `entry_hash`."""
    hashed = {name: value for name, value in fields.items() if name != "entry_hash"}
    return hashlib.sha256(canonical_json(hashed).encode("utf-8")).hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- public value types -------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionRecord:
    """What the API hands to the log; seq and hashes are assigned when it is written."""

    decision_id: str
    bundle_hash: str
    operation: Mapping[str, Any] | Canonical
    decision: Mapping[str, Any] | Canonical
    time: str | None = None  # ISO-8601 UTC; the log stamps it on submission when absent


class LogEntry:
    """One logged decision. `operation` and `decision` are parsed from their canonical bytes
    only when read: the API answers with `seq` and `entry_hash` alone."""

    __slots__ = (
        "_decision",
        "_operation",
        "bundle_hash",
        "decision_id",
        "entry_hash",
        "prev_hash",
        "seq",
        "time",
    )

    def __init__(
        self,
        seq: int,
        decision_id: str,
        time: str,
        bundle_hash: str,
        operation: dict[str, Any] | bytes,
        decision: dict[str, Any] | bytes,
        prev_hash: str,
        entry_hash: str,
    ) -> None:
        self.seq = seq
        self.decision_id = decision_id
        self.time = time
        self.bundle_hash = bundle_hash
        self._operation = operation  # a dict, or its canonical JSON bytes until first read
        self._decision = decision
        self.prev_hash = prev_hash
        self.entry_hash = entry_hash

    @property
    def operation(self) -> dict[str, Any]:
        value = self._operation
        if isinstance(value, bytes):
            value = self._operation = json.loads(value)
        return value

    @property
    def decision(self) -> dict[str, Any]:
        value = self._decision
        if isinstance(value, bytes):
            value = self._decision = json.loads(value)
        return value

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "decision_id": self.decision_id,
            "time": self.time,
            "bundle_hash": self.bundle_hash,
            "operation": self.operation,
            "decision": self.decision,
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LogEntry) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable-looking like the dataclass it was

    def __repr__(self) -> str:
        return (
            f"LogEntry(seq={self.seq}, decision_id={self.decision_id!r}, "
            f"entry_hash={self.entry_hash!r})"
        )


class Fault(StrEnum):
    HASH_MISMATCH = "hash mismatch"
    BROKEN_LINK = "broken link"
    GAP = "gap"
    REORDERED = "reordering"
    HEAD_MISMATCH = "head mismatch"
    BAD_SIGNATURE = "bad checkpoint signature"
    CHECKPOINT_MISMATCH = "checkpoint mismatch"
    TRUNCATED = "truncated"
    UNKNOWN_HEAD = "unknown head"
    RECEIPT_MISMATCH = "receipt mismatch"


@dataclass(frozen=True, kw_only=True)
class VerifyResult:
    ok: bool
    entries_checked: int  # entries found intact before the first fault
    first_bad_seq: int | None = None
    fault: Fault | None = None
    reason: str = ""
    head_hash: str | None = None  # the chain's last entry hash, when it verified
    checkpoints: int = 0  # signed checkpoints found valid
    last_checkpoint: int | None = None  # the entry the last of them signs
    anchored: bool = False  # the checkpoints were checked against a trusted public key


class DuplicateDecisionError(ValueError):
    pass


# --- an entry on its way to the writer ----------------------------------------------------


@dataclass(kw_only=True)
class Pending:
    decision_id: str
    time: str
    bundle_hash: str
    operation: bytes  # canonical JSON, encoded once in the caller's thread
    decision: bytes
    # The canonical encoding of the hashed fields around `prev_hash` and `seq` (sorted keys:
    # bundle_hash, decision, decision_id, operation | prev_hash, seq | time), so the writer
    # hashes bytes without parsing or encoding anything.
    head: bytes
    tail: bytes
    # Who waits: a thread in append() (a concurrent Future), or a coroutine in append_async()
    # (an asyncio future of `loop`, settled with the rest of its batch in one loop callback).
    future: Future[LogEntry] | None = None
    waiter: asyncio.Future[LogEntry] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    terms: tuple[str, ...] = ()  # search terms of the decision (api/decision_log/terms.py)

    def claim(self) -> bool:
        """False for a request cancelled while queued: it was never answered, so its entry
        need not (and cannot) be resolved; it is not written."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        return self.waiter is not None and not self.waiter.cancelled()

    def entry_hash(self, seq: int, prev_hash: str) -> str:
        digest = hashlib.sha256(self.head)
        digest.update(b'"%s","seq":%d' % (prev_hash.encode("ascii"), seq))
        digest.update(self.tail)
        return digest.hexdigest()


def encode_object(value: object, name: str) -> bytes:
    if isinstance(value, Canonical):
        if not value.startswith(b"{"):
            raise TypeError(f"`{name}` must be a JSON object")
        return bytes(value)
    if not isinstance(value, Mapping):
        raise TypeError(f"`{name}` must be a JSON object")
    return canonical_bytes(value)


def hashed_head(bundle_hash: str, decision: bytes, decision_id: str, operation: bytes) -> bytes:
    """The canonical encoding of an entry's hashed fields up to `prev_hash` (`Pending.head`);
    a log's writer process rebuilds it rather than receive the decision's bytes twice."""
    return b"".join(
        (
            b'{"bundle_hash":',
            canonical_bytes(bundle_hash),
            b',"decision":',
            decision,
            b',"decision_id":',
            canonical_bytes(decision_id),
            b',"operation":',
            operation,
            b',"prev_hash":',
        )
    )


def prepare(record: DecisionRecord, *, with_terms: bool = True) -> Pending:
    """`with_terms=False`: the search terms are left to whoever writes the entry (a writer
    process finds them in the decision's bytes: parsing them here too cost the worker ~60 µs
    per decision for nothing)."""
    # Encoding here rather than in the writer makes bad input fail its own request only.
    for name in ("decision_id", "bundle_hash", "time"):
        text = getattr(record, name)
        if text is not None and (not isinstance(text, str) or "\x00" in text):
            raise ValueError(f"`{name}` must be a string without NUL characters")
    operation = encode_object(record.operation, "operation")
    decision = encode_object(record.decision, "decision")
    time = record.time or utc_now()
    head = hashed_head(record.bundle_hash, decision, record.decision_id, operation)
    return Pending(
        decision_id=record.decision_id,
        time=time,
        bundle_hash=record.bundle_hash,
        operation=operation,
        decision=decision,
        head=head,
        tail=b',"time":' + canonical_bytes(time) + b"}",
        terms=terms_of(record.decision if isinstance(record.decision, Mapping) else decision)
        if with_terms
        else (),
    )


def stored_bytes(value: Any) -> bytes:
    """A stored JSON column as bytes: the log writes BLOBs, but someone editing the database
    may have written text (SQLite keeps either), which verification must read, not crash on."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def entry_from_row(row: Sequence[Any]) -> LogEntry:
    seq, decision_id, time, bundle_hash, operation, decision, prev_hash, entry_hash = row
    return LogEntry(
        seq=int(seq),
        decision_id=decision_id,
        time=time,
        bundle_hash=bundle_hash,
        operation=json.loads(stored_bytes(operation)),
        decision=json.loads(stored_bytes(decision)),
        prev_hash=prev_hash,
        entry_hash=entry_hash,
    )


def check_row(row: Sequence[Any]) -> LogEntry | str:
    """The entry if its stored bytes are canonical and hash to `entry_hash`, else why not."""
    try:
        entry = entry_from_row(row)
    except (ValueError, UnicodeDecodeError) as error:
        return f"stored JSON is unreadable ({error})"
    for name in ("operation", "decision"):
        stored = stored_bytes(row[4 if name == "operation" else 5])
        if canonical_json(getattr(entry, name)).encode("utf-8") != stored:
            return f"stored `{name}` is not in canonical form"
    if compute_entry_hash(entry.to_dict()) != entry.entry_hash:
        return "contents do not match the stored entry hash"
    return entry
