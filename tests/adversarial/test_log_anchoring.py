"""Issue 12 items 7 and 8: the four attacks on the decision log by someone who can write its
database, and what catches each (docs/DECISION_LOG.md); `log verify` never writes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lexgate.api.decision_log import (
    DecisionRecord,
    canonical_json,
    compute_entry_hash,
    ensure_signer,
    open_decision_log,
)

EVERY = 10  # a checkpoint every 10 entries
ENTRIES = 35  # checkpoints at 10, 20, 30; 31..35 after the last periodic one


def lexgate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lexgate.engine", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
    )


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Path]:
    """A log of ENTRIES decisions written with checkpoints, closed (so a shutdown checkpoint
    signs the head); its key file sits next to it."""
    path = tmp_path / "var" / "lexgate.db"
    path.parent.mkdir()
    signer, created = ensure_signer(Path(f"{path}.signing-key"))
    assert created
    with open_decision_log(f"sqlite:///{path}", signer, EVERY) as decision_log:
        for index in range(ENTRIES):
            decision_log.append(
                DecisionRecord(f"d{index}", "b" * 64, {"n": index}, {"status": "denied"})
            )
    yield path


def verify(path: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return lexgate("log", "verify", "--log", f"sqlite:///{path}", *more, cwd=path.parent.parent)


def rewrite_chain_from(database: sqlite3.Connection, start: int) -> None:
    """What an attacker with write access does after a change: recompute every hash from
    `start` on, and the head, so the chain itself is consistent again."""
    rows = database.execute(
        "SELECT seq, decision_id, time, bundle_hash, operation, decision FROM decision_log "
        "WHERE seq >= ? ORDER BY seq",
        (start,),
    ).fetchall()
    previous = database.execute(
        "SELECT entry_hash FROM decision_log WHERE seq = ?", (start - 1,)
    ).fetchone()
    prev_hash = previous[0] if previous else "0" * 64
    for seq, decision_id, time, bundle_hash, operation, decision in rows:
        fields = {
            "seq": seq,
            "decision_id": decision_id,
            "time": time,
            "bundle_hash": bundle_hash,
            "operation": json.loads(operation),
            "decision": json.loads(decision),
            "prev_hash": prev_hash,
        }
        entry_hash = compute_entry_hash(fields)
        database.execute(
            "UPDATE decision_log SET prev_hash = ?, entry_hash = ? WHERE seq = ?",
            (prev_hash, entry_hash, seq),
        )
        prev_hash = entry_hash
    last = database.execute("SELECT max(seq) FROM decision_log").fetchone()[0] or 0
    database.execute("UPDATE decision_log_head SET seq = ?, entry_hash = ?", (last, prev_hash))


def tamper(path: Path, *statements: str, rewrite_from: int | None = None) -> None:
    database = sqlite3.connect(path)
    try:
        with database:
            for statement in statements:
                database.execute(statement)
            if rewrite_from is not None:
                rewrite_chain_from(database, rewrite_from)
    finally:
        database.close()


def test_an_untouched_log_verifies_with_its_checkpoints(log: Path) -> None:
    result = verify(log)
    assert result.returncode == 0, result.stderr
    assert f"ok: {ENTRIES} entries" in result.stdout
    assert (
        "4 signed checkpoint(s) verified with the trusted key, the last at entry 35"
        in result.stdout
    )


def test_truncating_the_tail_and_rewriting_the_head_is_caught(log: Path) -> None:
    tamper(log, "DELETE FROM decision_log WHERE seq > 25", rewrite_from=1)
    result = verify(log)
    assert result.returncode == 1
    assert "(truncated)" in result.stderr and "entries 26..30 were removed" in result.stderr


def test_editing_an_entry_and_recomputing_the_chain_is_caught(log: Path) -> None:
    edited = canonical_json({"status": "allowed"})
    tamper(log, f"UPDATE decision_log SET decision = '{edited}' WHERE seq = 5", rewrite_from=5)
    result = verify(log)
    assert result.returncode == 1
    assert "first bad entry is 10 (checkpoint mismatch)" in result.stderr


def test_deleting_and_renumbering_is_caught(log: Path) -> None:
    tamper(
        log,
        "DELETE FROM decision_log WHERE seq = 7",
        "UPDATE decision_log SET seq = seq - 1 WHERE seq > 7",
        rewrite_from=7,
    )
    result = verify(log)
    assert result.returncode == 1
    assert "(checkpoint mismatch)" in result.stderr


def test_a_forged_entry_appended_after_the_last_checkpoint(log: Path) -> None:
    forged = canonical_json({"status": "allowed"})
    tamper(
        log,
        "INSERT INTO decision_log VALUES (36, 'forged', '2025-01-01T00:00:00.000000Z',"
        f" '{'b' * 64}', '{{}}', '{forged}', '', '')",
        rewrite_from=36,
    )
    # The chain and the checkpoints alone cannot tell: the forged entry follows the last
    # signed one, and says so...
    result = verify(log)
    assert result.returncode == 0
    assert "1 entries after it are not yet signed" in result.stdout
    # ...but a head published elsewhere earlier (lexgate log checkpoint) is no longer the head,
    # and a client's receipt for entry 36 would not match.
    head = lexgate(
        "log",
        "verify-receipt",
        "--log",
        f"sqlite:///{log}",
        "--seq",
        "36",
        "--entry-hash",
        "0" * 64,
        cwd=log.parent.parent,
    )
    assert head.returncode == 1 and "receipt mismatch" in head.stderr


def test_resigning_with_another_key_is_caught(log: Path, tmp_path: Path) -> None:
    """An attacker who rewrites the chain and re-signs every checkpoint with a key of their own
    fails against the trusted public key."""
    trusted = ensure_signer(Path(f"{log}.signing-key"))[0].public_key
    forger, _ = ensure_signer(tmp_path / "forger-key")
    tamper(
        log,
        'UPDATE decision_log SET decision = \'{"status":"allowed"}\' WHERE seq = 5',
        rewrite_from=5,
    )
    database = sqlite3.connect(log)
    with database:
        for seq, entry_hash in database.execute(
            "SELECT c.seq, d.entry_hash FROM decision_log_checkpoints c JOIN decision_log d "
            "USING (seq)"
        ).fetchall():
            fake = forger.sign(seq, entry_hash)
            database.execute(
                "UPDATE decision_log_checkpoints SET entry_hash = ?, public_key = ?,"
                " signature = ? WHERE seq = ?",
                (entry_hash, fake.public_key, fake.signature, seq),
            )
    database.close()
    result = verify(log, "--public-key", trusted)
    assert result.returncode == 1
    assert "not signed by the trusted key" in result.stderr


def test_expect_head_and_receipts(log: Path) -> None:
    published = lexgate("log", "checkpoint", "--log", f"sqlite:///{log}", cwd=log.parent.parent)
    assert published.returncode == 0, published.stderr
    head = json.loads(published.stdout)
    assert head["seq"] == ENTRIES
    assert verify(log, "--expect-head", head["entry_hash"]).returncode == 0
    receipt = lexgate(
        "log",
        "verify-receipt",
        "--log",
        f"sqlite:///{log}",
        "--seq",
        str(head["seq"]),
        "--entry-hash",
        head["entry_hash"],
        cwd=log.parent.parent,
    )
    assert receipt.returncode == 0, receipt.stderr
    assert "a signed checkpoint covers it" in receipt.stdout
    # Truncate after the published head and rewrite: the published head is gone.
    tamper(
        log,
        "DELETE FROM decision_log_checkpoints",
        f"DELETE FROM decision_log WHERE seq > {ENTRIES - 3}",
        rewrite_from=1,
    )
    result = verify(log, "--expect-head", head["entry_hash"])
    assert result.returncode == 1
    assert "is not in the log" in result.stderr


# --- item 8: verify never writes --------------------------------------------------------------


def test_verify_of_a_missing_log_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    result = lexgate("log", "verify", "--log", f"sqlite:///{missing}", cwd=tmp_path)
    assert result.returncode == 2
    assert "no decision log" in result.stderr
    assert not missing.exists()


def test_verify_of_a_foreign_database_is_an_error_and_changes_nothing(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    database = sqlite3.connect(foreign)
    with database:
        database.execute("CREATE TABLE notes (text TEXT)")
    database.close()
    before = foreign.read_bytes()
    result = lexgate("log", "verify", "--log", f"sqlite:///{foreign}", cwd=tmp_path)
    assert result.returncode == 2
    assert "holds no lexgate decision log" in result.stderr
    assert foreign.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.db"]
