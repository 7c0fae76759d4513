"""Kill a process that is appending: everything it acknowledged must be in an intact log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from lexgate.api.decision_log import Fault, open_decision_log

REPO = Path(__file__).resolve().parents[2]

# Acknowledges a decision (prints its id) only after append() returned, as the API answers.
CHILD = textwrap.dedent(
    """
    import sys, threading
    sys.path.insert(0, sys.argv[2])
    from lexgate.api.decision_log import DecisionRecord, open_decision_log

    log = open_decision_log(sys.argv[1])
    printing = threading.Lock()

    def worker(offset):
        n = offset
        while True:
            decision_id = f"{sys.argv[3]}-{n:06d}"
            log.append(DecisionRecord(
                decision_id=decision_id, bundle_hash="b" * 64,
                operation={"payload": f"{decision_id}zz"}, decision={"outcome": "deny"},
            ))
            with printing:
                sys.stdout.write(decision_id + "\\n")
                sys.stdout.flush()
            n += 4

    for offset in range(4):
        threading.Thread(target=worker, args=(offset,), daemon=True).start()
    threading.Event().wait()
    """
)


def start_appender(database: Path, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(database), str(REPO), name],
        stdout=subprocess.PIPE,
        text=True,
    )


def acknowledged_then_killed(children: list[subprocess.Popen[str]], wanted: int) -> list[str]:
    """Reads `wanted` acknowledgements from each child, then SIGKILLs them all mid-append."""
    acknowledged: list[str] = []
    try:
        for child in children:
            assert child.stdout is not None
            for _ in range(wanted):
                line = child.stdout.readline()
                assert line, f"appender exited early with {child.wait()}"
                acknowledged.append(line.strip())
    finally:
        for child in children:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
    # Lines already in a pipe were acknowledged before the kill; a torn last line was not.
    for child in children:
        assert child.stdout is not None
        acknowledged += [line.strip() for line in child.stdout if line.endswith("\n")]
    return acknowledged


def flip_one_byte_everywhere(directory: Path, old: bytes, new: bytes) -> int:
    # SQLite may hold the same row in the WAL and on a free page, so alter every copy.
    flipped = 0
    for path in directory.iterdir():
        content = path.read_bytes()
        if old in content:
            flipped += content.count(old)
            path.write_bytes(content.replace(old, new))
    return flipped


def test_acknowledged_decisions_survive_sigkill(tmp_path: Path) -> None:
    database = tmp_path / "crash.db"
    acknowledged = acknowledged_then_killed([start_appender(database, "crash")], wanted=300)

    with open_decision_log(str(database)) as log:
        missing = [decision_id for decision_id in acknowledged if log.get(decision_id) is None]
        assert missing == []
        result = log.verify()
        assert result.ok, result.reason
        assert result.entries_checked >= len(acknowledged)
        victim = log.get(acknowledged[len(acknowledged) // 2])
        assert victim is not None

    payload = victim.operation["payload"].encode()
    altered = payload[:-1] + b"y"
    assert flip_one_byte_everywhere(tmp_path, payload, altered) >= 1

    with open_decision_log(str(database)) as log:
        result = log.verify()
    assert not result.ok
    assert (result.first_bad_seq, result.fault) == (victim.seq, Fault.HASH_MISMATCH)


def test_two_processes_appending_to_one_file_keep_one_chain(tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    children = [start_appender(database, name) for name in ("left", "right")]
    acknowledged = acknowledged_then_killed(children, wanted=200)

    with open_decision_log(str(database)) as log:
        assert [d for d in acknowledged if log.get(d) is None] == []
        result = log.verify()
    assert result.ok, result.reason
    assert {d.split("-")[0] for d in acknowledged} == {"left", "right"}
