"""Where the durable log's latency goes under load: one in-process server (log on, SQLite),
wrk on POST /v1/decisions, and timings taken inside the log's group commit.

    .venv/bin/python bench/log_timing.py [--connections 32] [--seconds 5]
                                         [--switch-interval 0.0005]

Prints, per group commit: batch size, wall time, the writer thread's own CPU time, and the
rest (wall - CPU: fsync, the file lock, and waiting for the GIL or for a core; with
`--writer process` the commit runs in the writer process and the CPU column is the server's
share only);
per request: the wait from submitting its entry to having it durable. Figures are measured,
never asserted. Needs wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import uvicorn  # noqa: E402
from lexgate.api.app import create_app  # noqa: E402
from lexgate.api.decision_log import SqlDecisionLog, SqliteDecisionLog  # noqa: E402
from lexgate.api.settings import Settings  # noqa: E402
from lexgate.api.testing import shipped_policies  # noqa: E402

from bench.api_load import run_wrk  # noqa: E402


def _cuts(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    q = statistics.quantiles(values, n=100)
    return f"p50 {q[49] * 1e3:6.2f}  p99 {q[98] * 1e3:6.2f}  max {max(values) * 1e3:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=sys.getswitchinterval(),
        help="sys.setswitchinterval for the server (CPython's default 0.005)",
    )
    parser.add_argument("--port", type=int, default=18731)
    parser.add_argument(
        "--writer",
        choices=("thread", "process"),
        default="thread",
        help="where the log commits: a thread of the server, or a process of its own (what "
        "`serve --workers N` uses; api/decision_log/writer.py)",
    )
    args = parser.parse_args()
    sys.setswitchinterval(args.switch_interval)

    commits: list[tuple[int, float, float]] = []  # batch size, wall s, writer CPU s
    waits: list[float] = []
    original_commit = SqlDecisionLog._commit_batch
    # SqliteDecisionLog's own: with a writer process, the loop's entries go straight to it
    original_append = SqliteDecisionLog.append_async

    def timed_commit(self: Any, batch: list[Any]) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        original_commit(self, batch)
        commits.append((len(batch), time.perf_counter() - wall, time.thread_time() - cpu))

    async def timed_append(self: Any, record: Any) -> Any:
        start = time.perf_counter()
        try:
            return await original_append(self, record)
        finally:
            waits.append(time.perf_counter() - start)

    SqlDecisionLog._commit_batch = timed_commit  # type: ignore[method-assign]
    SqliteDecisionLog.append_async = timed_append  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory(prefix="lexgate-logtiming-") as tmp:
        settings = Settings(
            policies=shipped_policies(),
            log_url=f"sqlite:///{tmp}/log.db",
            port=args.port,
            # the app gives several workers a writer process; this one server stands for one
            workers=2 if args.writer == "process" else 1,
        )
        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False
            )
        )
        result: list[Any] = []

        def client() -> None:
            while not server.started:
                time.sleep(0.05)
            key = app.state.lexgate.keys.create(["decide"])
            url = f"http://127.0.0.1:{args.port}"
            run_wrk(url, key, 2, args.connections, "warm-up")
            commits.clear()
            waits.clear()
            before = app.state.lexgate.log.commits
            result.append(run_wrk(url, key, args.seconds, args.connections, "log on"))
            result.append(app.state.lexgate.log.commits - before)
            server.should_exit = True

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        asyncio.run(server.serve())
        thread.join()

    res, committed = result
    sizes = [c[0] for c in commits]
    print(
        f"\nswitch interval {args.switch_interval * 1e3:g} ms · {args.connections} connections"
        f" · in-process server, 1 worker · log writer: {args.writer}"
    )
    print(f"requests: {res.rate:.0f}/s  p50 {res.p50_ms:.2f} ms  p99 {res.p99_ms:.2f} ms")
    if not commits:  # the event loop's entries went to the writer process directly
        print(
            f"group commits (in the writer process): {committed}, mean batch "
            f"{res.requests / max(committed, 1):.1f}"
        )
        print(f"append → durable     {_cuts(waits)}")
        return
    print(
        f"group commits: {len(commits)}, mean batch {statistics.fmean(sizes):.1f}, "
        f"max batch {max(sizes)}"
    )
    print(f"  commit wall        {_cuts([c[1] for c in commits])}")
    print(f"  writer CPU         {_cuts([c[2] for c in commits])}")
    print(f"  wall - CPU (waits) {_cuts([c[1] - c[2] for c in commits])}")
    print(f"append → durable     {_cuts(waits)}")


if __name__ == "__main__":
    main()
