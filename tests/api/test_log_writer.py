"""The SQLite log committed by a writer process (api/decision_log/writer.py), as `serve
--workers N` uses it: the same chain, checkpoints and duplicate checks as the thread writer, a
dead writer replaced, and no writer left behind by its worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lexgate.api.decision_log import (
    DecisionRecord,
    DuplicateDecisionError,
    ensure_signer,
    open_decision_log,
)
from lexgate.api.decision_log.sqlite import SqliteDecisionLog

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and sockets")


def record(n: int) -> DecisionRecord:
    return DecisionRecord(
        decision_id=f"dec-{n:05d}",
        bundle_hash="b" * 64,
        operation={"kind": "transfer", "subject": f"subject-{n}"},
        decision={"outcome": "allow", "n": n},
    )


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) is not a running writer
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def writer_pid(log: object) -> int:
    assert isinstance(log, SqliteDecisionLog) and log._remote is not None
    pid = log._remote.pid
    assert pid is not None
    return pid


def test_entries_chain_and_checkpoints_are_those_of_the_thread_writer(tmp_path: Path) -> None:
    signer, _ = ensure_signer(tmp_path / "key")
    path = tmp_path / "log.db"
    with open_decision_log(f"sqlite:///{path}", signer, 4, writer_process=True) as log:
        assert writer_pid(log) != os.getpid()
        entries = [log.append(record(n)) for n in range(1, 11)]
        assert [e.seq for e in entries] == list(range(1, 11))
        assert log.get("dec-00003") == entries[2]
        with pytest.raises(DuplicateDecisionError):
            log.append(record(3))

        async def many() -> list[object]:
            return await asyncio.gather(*(log.append_async(record(n)) for n in range(11, 61)))

        before = log.commits
        assert len(asyncio.run(many())) == 50
        assert 0 < log.commits - before < 50  # concurrent appends shared commits
    result = open_decision_log(f"sqlite:///{path}").verify(signer.public_key)
    assert result.ok, result.reason
    assert result.entries_checked == 60
    # signed in the child: one-by-one appends cross 4 and 8, and closing signs the head
    assert result.anchored and result.checkpoints >= 3 and result.last_checkpoint == 60


def test_two_workers_with_writer_processes_keep_one_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    first = open_decision_log(url, writer_process=True)
    second = open_decision_log(url, writer_process=True)
    try:
        pool = [
            threading.Thread(
                target=lambda log=log, offset=i: [  # type: ignore[misc]
                    log.append(record(offset * 100 + n)) for n in range(100)
                ]
            )
            for i, log in enumerate([first, second] * 2)
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        assert first.count() == 400
        result = second.verify()
        assert result.ok and result.entries_checked == 400, result.reason
    finally:
        first.close()
        second.close()


def test_a_dead_writer_is_replaced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    with open_decision_log(url, writer_process=True) as log:
        log.append(record(1))
        pid = writer_pid(log)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not alive(pid))
        assert log.append(record(2)).seq == 2  # a new writer took it
        assert writer_pid(log) != pid
        result = log.verify()
    assert result.ok and result.entries_checked == 2, result.reason


def test_closing_the_log_ends_its_writer(tmp_path: Path) -> None:
    log = open_decision_log(f"sqlite:///{tmp_path / 'log.db'}", writer_process=True)
    log.append(record(1))
    pid = writer_pid(log)
    log.close()
    assert not alive(pid)


def test_a_writer_does_not_outlive_its_worker(tmp_path: Path) -> None:
    """The worker killed outright: its writer sees the socket close and ends."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    script = (
        "import sys, time\n"
        "from lexgate.api.decision_log import open_decision_log\n"
        f"log = open_decision_log({url!r}, writer_process=True)\n"
        "print(log._remote.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        pid = int(worker.stdout.readline())
        assert alive(pid)
        worker.kill()
        worker.wait()
        wait_until(lambda: not alive(pid))
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_a_memory_log_has_no_writer_process() -> None:
    log = open_decision_log("sqlite:///:memory:", writer_process=True)
    try:
        assert isinstance(log, SqliteDecisionLog) and log._remote is None
        assert log.append(record(1)).seq == 1
    finally:
        log.close()


def test_one_decision_id_twice_in_one_batch_is_written_once(tmp_path: Path) -> None:
    """Both appends reach the writer together: the first is written, the second refused."""
    with open_decision_log(f"sqlite:///{tmp_path / 'log.db'}", writer_process=True) as log:
        assert isinstance(log, SqliteDecisionLog) and log._remote is not None
        from lexgate.api.decision_log.chain import prepare

        first, second = prepare(record(7)), prepare(record(7))
        written, rejected = log._remote.write([first, second])
        assert [(p, e.seq) for p, e in written] == [(first, 1)]
        assert [p for p, _ in rejected] == [second]
        assert isinstance(rejected[0][1], DuplicateDecisionError)


def test_entries_written_by_a_writer_process_are_indexed_for_search(tmp_path: Path) -> None:
    """The worker leaves the search terms to the writer, which reads them from the bytes."""
    import sqlite3

    from lexgate.api.decision_log import Canonical, canonical_bytes

    path = tmp_path / "log.db"
    decision = {"status": "denied", "regimes": {"GDPR": {"status": "denied", "violations": []}}}
    with open_decision_log(f"sqlite:///{path}", writer_process=True) as log:

        async def one() -> object:
            return await log.append_async(
                DecisionRecord("d-1", "b" * 64, {"k": 1}, Canonical(canonical_bytes(decision)))
            )

        asyncio.run(one())
    with sqlite3.connect(path) as conn:
        terms = {row[0] for row in conn.execute("SELECT term FROM decision_log_terms")}
    assert {"decision", "status=denied"} <= terms


def test_the_event_loop_path_survives_a_dead_writer_and_a_new_loop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    with open_decision_log(url, writer_process=True) as log:

        async def append(n: int) -> int:
            return (await log.append_async(record(n))).seq

        assert asyncio.run(append(1)) == 1
        pid = writer_pid(log)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not alive(pid))
        assert asyncio.run(append(2)) == 2  # another loop, and a new writer
        assert writer_pid(log) != pid
        assert log.append(record(3)).seq == 3  # the thread path shares that writer
        assert asyncio.run(append(4)) == 4
        result = log.verify()
    assert result.ok and result.entries_checked == 4, result.reason


def test_a_cancelled_append_leaves_the_others_their_own_answers(tmp_path: Path) -> None:
    with open_decision_log(f"sqlite:///{tmp_path / 'log.db'}", writer_process=True) as log:

        async def run() -> list[object]:
            tasks = [asyncio.create_task(log.append_async(record(n))) for n in range(1, 9)]
            await asyncio.sleep(0)  # each has sent its entry
            tasks[3].cancel()
            return await asyncio.gather(*tasks, return_exceptions=True)

        results = asyncio.run(run())
        assert isinstance(results[3], asyncio.CancelledError)
        entries = [r for r in results if not isinstance(r, BaseException)]
        # each answer went to its own append: the entry carries that append's decision id
        assert [e.decision_id for e in entries] == [  # type: ignore[attr-defined]
            f"dec-{n:05d}" for n in range(1, 9) if n != 4
        ]
        assert log.count() == 8  # the cancelled one had reached the writer: it is logged


def test_serve_with_two_workers_logs_through_writer_processes(tmp_path: Path) -> None:
    """`serve --workers 2`: decisions from both workers land in one verifiable chain, each
    worker has its writer, and none is left once the server stops."""
    import httpx
    from lexgate.api.testing import ServerProcess, shipped_policies

    psutil = pytest.importorskip("psutil")  # installed with dask[distributed]

    operation = {"operation": {"legal_basis": "none", "controller": {"establishments": ["DE"]}}}
    log_path = tmp_path / "var" / "lexgate.db"
    with ServerProcess(tmp_path, policies=shipped_policies(), args=("--workers", "2")) as server:
        assert server.process is not None
        headers = {"Authorization": f"Bearer {server.admin_key}"}
        ids = []
        for _ in range(12):  # a new connection each: either worker may take it
            answer = httpx.post(f"{server.url}/v1/decisions", json=operation, headers=headers)
            assert answer.status_code == 200, answer.text
            assert answer.json()["log"]["seq"] >= 1
            ids.append(answer.json()["decision_id"])
        found = httpx.get(f"{server.url}/v1/decisions/{ids[-1]}", headers=headers)
        assert found.status_code == 200 and found.json()["decision_id"] == ids[-1]
        tree = psutil.Process(server.process.pid).children(recursive=True)
        writers = [p for p in tree if "writer_child" in " ".join(p.cmdline())]
        assert len(writers) == 2
    wait_until(lambda: not any(alive(p.pid) for p in writers))
    result = open_decision_log(f"sqlite:///{log_path}").verify()
    assert result.ok and result.entries_checked >= 12, result.reason
