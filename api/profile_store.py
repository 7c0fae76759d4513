"""Organisation profiles, versioned and kept in the decision log (issue 11).

Each version of a profile is an entry of the same hash chain as the decisions, with the id
`profile:ID:vN`: `lexgate log verify` covers profile versions like decisions, and altering a
stored version breaks the chain at that entry. The entry's `operation` is the profile as sent;
its `decision` says what it is (`{"kind": "profile", "id", "version"}`). Without a log
(`--no-log`) profiles live in memory for the life of the process.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from .decision_log import DecisionLog, DecisionRecord, LogEntry, utc_now

PROFILE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_VERSIONS = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredProfile:
    id: str
    version: int
    facts: dict[str, Any]  # the profile as sent (operation JSON of organisation facts)
    time: str
    seq: int | None = None
    entry_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        log = None if self.seq is None else {"seq": self.seq, "entry_hash": self.entry_hash}
        return {
            "id": self.id,
            "version": self.version,
            "time": self.time,
            "profile": self.facts,
            "log": log,
        }


def _entry_id(profile_id: str, version: int) -> str:
    return f"profile:{profile_id}:v{version}"


class ProfileStore:
    def __init__(self, log: DecisionLog | None):
        self.log = log
        self._memory: dict[str, list[StoredProfile]] = {}
        self._lock = threading.Lock()  # one new version at a time: versions count up by one

    def latest_version(self, profile_id: str) -> int:
        if self.log is None:
            return len(self._memory.get(profile_id, ()))
        ids = self.log.find_ids(f"profile:{profile_id}:v")  # type: ignore[attr-defined]
        versions = [
            int(i.rsplit(":v", 1)[1])
            for i in ids
            if i.rsplit(":v", 1)[0] == f"profile:{profile_id}"
        ]
        return max(versions, default=0)

    def get(self, profile_id: str, version: int | None = None) -> StoredProfile | None:
        number = version if version is not None else self.latest_version(profile_id)
        if number < 1:
            return None
        if self.log is None:
            versions = self._memory.get(profile_id, [])
            return versions[number - 1] if number <= len(versions) else None
        entry = self.log.get(_entry_id(profile_id, number))
        return None if entry is None else _from_entry(profile_id, number, entry)

    def put(self, profile_id: str, facts: dict[str, Any], bundle_hash: str) -> StoredProfile:
        with self._lock:
            version = self.latest_version(profile_id) + 1
            if version > MAX_VERSIONS:
                raise ValueError(f"profile `{profile_id}` has {MAX_VERSIONS} versions already")
            time = utc_now()
            if self.log is None:
                stored = StoredProfile(id=profile_id, version=version, facts=facts, time=time)
                self._memory.setdefault(profile_id, []).append(stored)
                return stored
            record = DecisionRecord(
                decision_id=_entry_id(profile_id, version),
                bundle_hash=bundle_hash,
                operation=facts,
                decision={"kind": "profile", "id": profile_id, "version": version},
                time=time,
            )
            entry = self.log.append(record)
        return StoredProfile(
            id=profile_id,
            version=version,
            facts=facts,
            time=time,
            seq=entry.seq,
            entry_hash=entry.entry_hash,
        )

    def list(self) -> list[dict[str, Any]]:
        if self.log is None:
            return [{"id": i, "latest_version": len(v)} for i, v in sorted(self._memory.items())]
        latest: dict[str, int] = {}
        for entry_id in self.log.find_ids("profile:"):  # type: ignore[attr-defined]
            profile_id, _, number = entry_id.removeprefix("profile:").rpartition(":v")
            latest[profile_id] = max(latest.get(profile_id, 0), int(number))
        return [{"id": i, "latest_version": v} for i, v in sorted(latest.items())]


def _from_entry(profile_id: str, version: int, entry: LogEntry) -> StoredProfile:
    return StoredProfile(
        id=profile_id,
        version=version,
        facts=dict(entry.operation),
        time=entry.time,
        seq=entry.seq,
        entry_hash=entry.entry_hash,
    )
