"""One suite for the decision log, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from lexgate.api.decision_log import (
    GENESIS_HASH,
    Canonical,
    DecisionLog,
    DecisionRecord,
    DuplicateDecisionError,
    Fault,
    canonical_bytes,
    canonical_json,
    compute_entry_hash,
    open_decision_log,
    parse_store_url,
)

if TYPE_CHECKING:
    from tests.api.conftest import Store


def record(n: int, **operation: object) -> DecisionRecord:
    return DecisionRecord(
        decision_id=f"dec-{n:05d}",
        bundle_hash="b" * 64,
        operation={"kind": "transfer", "subject": f"subject-{n}", **operation},
        decision={"outcome": "allow", "reasons": [f"rule-{n % 7}"]},
    )


def filled(store: Store, entries: int) -> DecisionLog:
    log = open_decision_log(store.url)
    for n in range(1, entries + 1):
        log.append(record(n))
    return log


def test_append_returns_the_durable_entry_and_get_finds_it(store: Store) -> None:
    with open_decision_log(store.url) as log:
        first = log.append(record(1, amount=Decimal("10.50")))
        second = log.append(record(2))
        assert (first.seq, second.seq) == (1, 2)
        assert first.prev_hash == GENESIS_HASH
        assert second.prev_hash == first.entry_hash
        assert first.entry_hash == compute_entry_hash(first.to_dict())
        assert log.get("dec-00001") == first
        assert log.get("no-such-decision") is None
        assert log.count() == 2
    with open_decision_log(store.url) as reopened:
        assert reopened.get("dec-00002") == second


def test_intact_chain_verifies(store: Store) -> None:
    with filled(store, 30) as log:
        result = log.verify()
    assert result.ok, result.reason
    assert result.entries_checked == 30
    assert result.first_bad_seq is None


def test_reopened_log_continues_the_chain(store: Store) -> None:
    with filled(store, 3):
        pass
    with open_decision_log(store.url) as log:
        entry = log.append(record(4))
        assert entry.seq == 4
        assert log.verify().ok


def test_empty_log_verifies(store: Store) -> None:
    with open_decision_log(store.url) as log:
        assert log.verify().ok
        assert log.count() == 0


@pytest.mark.parametrize("column", ["operation", "decision"])
def test_one_edited_byte_is_named(store: Store, column: str) -> None:
    with filled(store, 10) as log:
        (stored,) = store.execute(f"SELECT {column} FROM decision_log WHERE seq = 6")[0]
        position = bytes(stored).index(b"-") + 1  # a character inside a string value
        edited = bytearray(stored)
        edited[position] ^= 0x01
        store.execute(f"UPDATE decision_log SET {column} = ? WHERE seq = 6", (bytes(edited),))
        result = log.verify()
    assert not result.ok
    assert (result.first_bad_seq, result.fault) == (6, Fault.HASH_MISMATCH)
    assert result.entries_checked == 5


def test_edited_time_is_named(store: Store) -> None:
    with filled(store, 5) as log:
        store.execute("UPDATE decision_log SET time = '2000-01-01T00:00:00.000000Z' WHERE seq = 2")
        result = log.verify()
    assert (result.first_bad_seq, result.fault) == (2, Fault.HASH_MISMATCH)


def test_unreadable_bytes_are_named(store: Store) -> None:
    with filled(store, 5) as log:
        store.execute("UPDATE decision_log SET decision = ? WHERE seq = 3", (b"\xff{",))
        result = log.verify()
    assert (result.first_bad_seq, result.fault) == (3, Fault.HASH_MISMATCH)


def test_deleted_entry_is_named(store: Store) -> None:
    with filled(store, 10) as log:
        store.execute("DELETE FROM decision_log WHERE seq = 4")
        result = log.verify()
    assert (result.first_bad_seq, result.fault) == (4, Fault.GAP)


def test_deleted_and_renumbered_entry_breaks_the_link(store: Store) -> None:
    with filled(store, 6) as log:
        store.execute("DELETE FROM decision_log WHERE seq = 4")
        for seq in (5, 6):
            store.execute("UPDATE decision_log SET seq = ? WHERE seq = ?", (seq - 1, seq))
        result = log.verify()
    assert (result.first_bad_seq, result.fault) == (4, Fault.BROKEN_LINK)


def test_truncated_tail_is_named(store: Store) -> None:
    with filled(store, 10) as log:
        store.execute("DELETE FROM decision_log WHERE seq >= 9")
        result = log.verify()
    assert (result.first_bad_seq, result.fault) == (9, Fault.GAP)


def test_swapped_entries_are_named(store: Store) -> None:
    with filled(store, 10) as log:
        store.execute("UPDATE decision_log SET seq = -1 WHERE seq = 3")
        store.execute("UPDATE decision_log SET seq = 3 WHERE seq = 7")
        store.execute("UPDATE decision_log SET seq = 7 WHERE seq = -1")
        result = log.verify()
    assert (result.first_bad_seq, result.fault) == (3, Fault.REORDERED)


def test_concurrent_appends_share_commits(store: Store) -> None:
    threads, per_thread = 8, 200
    with open_decision_log(store.url) as log:
        barrier = threading.Barrier(threads)

        def worker(offset: int) -> None:
            barrier.wait()
            for n in range(per_thread):
                log.append(record(offset * per_thread + n))

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        appends = threads * per_thread
        print(f"\n[{store.kind}] {appends} appends in {log.commits} commits")
        assert log.count() == appends
        assert log.commits < appends / 2
        result = log.verify()
    assert result.ok, result.reason
    seqs = [row[0] for row in store.execute("SELECT seq FROM decision_log ORDER BY seq")]
    assert seqs == list(range(1, appends + 1))


def test_two_logs_on_one_store_keep_one_chain(store: Store) -> None:
    first, second = open_decision_log(store.url), open_decision_log(store.url)
    try:

        def worker(log: DecisionLog, offset: int) -> None:
            for n in range(100):
                log.append(record(offset * 100 + n))

        pool = [
            threading.Thread(target=worker, args=(log, i))
            for i, log in enumerate([first, second] * 3)
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        assert first.count() == second.count() == 600
        result = first.verify()
        assert result.ok, result.reason
        assert result.entries_checked == 600
    finally:
        first.close()
        second.close()


def test_decimals_are_stored_as_exact_strings(store: Store) -> None:
    amounts = {
        "cents": Decimal("0.10"),
        "exponent": Decimal("1E+3"),
        "long": Decimal("12345678901234567890.000000000000000001"),
        "negative": Decimal("-0.00"),
    }
    with open_decision_log(store.url) as log:
        entry = log.append(record(1, amounts=amounts))
        stored = log.get("dec-00001")
        assert stored is not None
        assert stored.operation["amounts"] == {k: str(v) for k, v in amounts.items()}
        assert entry == stored
        (raw,) = store.execute("SELECT operation FROM decision_log WHERE seq = 1")[0]
        assert b'"long":"12345678901234567890.000000000000000001"' in bytes(raw)
        assert log.verify().ok
        with pytest.raises(ValueError, match="finite"):
            log.append(record(2, amount=Decimal("NaN")))


def test_unloggable_record_fails_alone(store: Store) -> None:
    with open_decision_log(store.url) as log:
        with pytest.raises(TypeError):
            log.append(record(1, when=object()))
        assert log.append(record(2)).seq == 1


def test_duplicate_decision_id_is_rejected_without_failing_others(store: Store) -> None:
    with open_decision_log(store.url) as log:
        log.append(record(1))
        with pytest.raises(DuplicateDecisionError):
            log.append(record(1))
        assert log.append(record(2)).seq == 2
        assert log.verify().ok


def test_export_writes_one_rehashable_line_per_entry(store: Store) -> None:
    with filled(store, 12) as log:
        out = io.StringIO()
        assert log.export_jsonl(out) == 12
    lines = out.getvalue().splitlines()
    assert len(lines) == 12
    previous = GENESIS_HASH
    for seq, line in enumerate(lines, start=1):
        entry = json.loads(line)
        assert entry["seq"] == seq
        assert entry["prev_hash"] == previous
        assert compute_entry_hash(entry) == entry["entry_hash"]
        previous = entry["entry_hash"]


def test_async_appends_do_not_block_and_are_durable(store: Store) -> None:
    with open_decision_log(store.url) as log:

        async def main() -> list[int]:
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0)

            clock = asyncio.create_task(ticker())
            entries = await asyncio.gather(*(log.append_async(record(n)) for n in range(50)))
            clock.cancel()
            assert ticks > 0  # the loop kept running while the writer committed
            return sorted(entry.seq for entry in entries)

        assert asyncio.run(main()) == list(range(1, 51))
        assert log.commits < 50
        assert log.verify().ok


def test_closed_log_refuses_appends(store: Store) -> None:
    log = open_decision_log(store.url)
    log.close()
    with pytest.raises(RuntimeError, match="closed"):
        log.append(record(1))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/log.db", ("sqlite", "var/log.db")),
        ("sqlite:////srv/log.db", ("sqlite", "/srv/log.db")),
        ("/srv/log.db", ("sqlite", "/srv/log.db")),
        ("postgresql://u@h/db", ("postgresql", "postgresql://u@h/db")),
    ],
)
def test_store_urls(url: str, expected: tuple[str, str]) -> None:
    assert parse_store_url(url) == expected


def test_unknown_store_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported store"):
        parse_store_url("mysql://u@h/db")


AWKWARD_VALUES = [
    {"b": 1, "a": {"d": [1, True, None], "c": '\x00\x1f\x7f\u2028 "\\/ é 𝄞'}},
    {"big": 2**64 - 1, "bigger": 2**70, "negative": -(2**63), "zero": -0},
    {"floats": [1.5, 1e-05, 1e16, -0.0, 123456789.125], "in_text": ":1.5,[2e3"},
    {"amount": Decimal("12345678901234567890.000000000000000001"), "tiny": Decimal("1E-30")},
    {"é": 1, "z": 2, "A": 3, "": 4},
    {1: "int key"},
    {"null": None, "nested": [None, {"k": None}]},
]


@pytest.mark.parametrize("value", AWKWARD_VALUES)
def test_canonical_bytes_are_canonical_json_byte_for_byte(value: dict[str, object]) -> None:
    assert canonical_bytes(value) == canonical_json(value).encode("utf-8")


def test_canonical_bytes_raise_what_canonical_json_raises() -> None:
    for bad in ({"x": Decimal("NaN")}, {"x": float("inf")}, {"x": [float("nan")]}, {"x": object()}):
        with pytest.raises((ValueError, TypeError)) as expected:
            canonical_json(bad)
        with pytest.raises(expected.type):
            canonical_bytes(bad)


def test_decisions_hold_no_floats_so_their_fast_encoding_is_canonical() -> None:
    """The API encodes decisions with `floats=False`; that is exact only while `to_dict()`
    writes no float, which these realistic decisions (explained, too) check."""
    from pathlib import Path

    from lexgate.api.testing import shipped_policies
    from lexgate.engine import load_bundle

    bundle = load_bundle(shipped_policies())
    cases = Path(__file__).parents[1] / "policies"
    operations = [
        case["operation"]
        for name in ("gdpr", "pipl", "ccpa")
        for case in json.loads((cases / f"{name}_cases.json").read_text())["cases"]
        if "operation" in case
    ]
    assert operations
    for operation in operations:
        for explain in (False, True):
            data = bundle.decide(operation, explain=explain).to_dict(explain)
            assert canonical_bytes(data, floats=False) == canonical_json(data).encode("utf-8")


def test_pre_encoded_decisions_hash_like_mappings(store: Store) -> None:
    decision = {"outcome": "allow", "amount": Decimal("10.50"), "note": "ü"}
    with open_decision_log(store.url) as log:
        entry = log.append(
            DecisionRecord(
                "pre-1",
                "b" * 64,
                {"x": 1},
                Canonical(canonical_bytes(decision)),
            )
        )
        assert entry.decision == {"outcome": "allow", "amount": "10.50", "note": "ü"}
        assert entry.entry_hash == compute_entry_hash(entry.to_dict())
        assert log.get("pre-1") == entry
        assert log.verify().ok
        with pytest.raises(TypeError):
            log.append(DecisionRecord("pre-2", "b" * 64, {"x": 1}, Canonical(b"[1]")))
