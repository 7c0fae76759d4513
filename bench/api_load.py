"""Load test of the decision API on loopback: decisions/s and p50/p99 latency with the durable
decision log on (SQLite WAL, fsync per group commit) and with it off, in one run.

    .venv/bin/python bench/api_load.py [--seconds 10] [--connections 32] [--log-url URL]
                                       [--workers N]

Uses wrk (Debian: apt-get install wrk) with a Lua POST script when it is installed, otherwise
an asyncio/httpx client (which needs a share of the CPU itself, so it reports lower figures).
Each server is a real `lexgate serve` subprocess (`--workers N` for N processes). Client and
server run on the same machine and share its cores, so the figures are what is left for the
server after the client's share. Figures are measured, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lexgate.api.testing import ServerProcess, shipped_policies  # noqa: E402

OPERATION = json.loads((REPO / "examples" / "no_basis.json").read_text())
BODY = json.dumps({"operation": OPERATION})
GOAL_RATE, GOAL_P99_MS = 1500, 25.0
# issue 16: the durable log costs at most a fifth of the throughput, and at most doubles p99
GOAL_RATIO, GOAL_P99_RATIO = 0.8, 2.0

LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
errors = 0
response = function(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %f %f %f %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.mean, summary.errors.status))
end
"""


@dataclass
class Result:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_us: float | None = None  # the server's processes' CPU time per request

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run_wrk(url: str, key: str, seconds: float, connections: int, label: str) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.replace("{body}", json.dumps(BODY)).replace("{key}", key))
    # One wrk thread: the machine has two cores and the server needs the other one.
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            script.name,
            f"{url}/v1/decisions",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(script.name).unlink()
    match = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", output)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    requests, micros, p50, p99, _mean, errors = match.groups()
    return Result(
        label, int(requests), int(micros) / 1e6, float(p50) / 1000, float(p99) / 1000, int(errors)
    )


async def _client_loop(
    url: str, key: str, seconds: float, connections: int
) -> tuple[list[float], int]:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits) as http:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await http.post("/v1/decisions", content=BODY)
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200

        await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies, errors


def run_python(url: str, key: str, seconds: float, connections: int, label: str) -> Result:
    start = time.perf_counter()
    latencies, errors = asyncio.run(_client_loop(url, key, seconds, connections))
    elapsed = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100)
    return Result(label, len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000, errors)


def _tree_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a process and its descendants now (workers and their log
    writers); None without psutil. Less disturbed by other work on the machine than wall time."""
    try:
        import psutil
    except ImportError:
        return None
    try:
        root = psutil.Process(pid)
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total
    except psutil.Error:
        return None


def measure(label: str, log_url: str, args: argparse.Namespace, workdir: Path) -> Result:
    runner = run_wrk if shutil.which("wrk") and not args.python_client else run_python
    extra = ("--workers", str(args.workers)) if args.workers > 1 else ()
    with ServerProcess(
        workdir / label.replace(" ", "_"), policies=args.policies, log_url=log_url, args=extra
    ) as server:
        assert server.admin_key
        runner(server.url, server.admin_key, 2, args.connections, "warm-up")
        assert server.process is not None
        before = _tree_cpu(server.process.pid)
        result = runner(server.url, server.admin_key, args.seconds, args.connections, label)
        after = _tree_cpu(server.process.pid)
        if before is not None and after is not None and result.requests:
            result.server_cpu_us = (after - before) / result.requests * 1e6
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--policies", type=Path, default=shipped_policies())
    parser.add_argument("--log-url", help="durable log to measure (default: SQLite in a tmp dir)")
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    parser.add_argument("--workers", type=int, default=1, help="server processes (serve --workers)")
    args = parser.parse_args()
    client = "wrk (1 thread)" if shutil.which("wrk") and not args.python_client else "httpx"
    with tempfile.TemporaryDirectory(prefix="lexgate-bench-") as tmp:
        workdir = Path(tmp)
        durable = args.log_url or f"sqlite:///{workdir / 'log' / 'lexgate.db'}"
        results = [
            measure("log on", durable, args, workdir),
            measure("log off", "none", args, workdir),
        ]
    load = os.getloadavg()[0]
    print(
        f"\nPOST /v1/decisions on loopback · {args.connections} connections · "
        f"{args.seconds:g}s each · client: {client} · server workers: {args.workers}"
    )
    print(
        f"client and server share this machine's {os.cpu_count()} cores "
        f"(1-minute load average at the end: {load:.2f}; other work on the machine lowers "
        "the figures)"
    )
    print(
        f"{'':8} {'decisions/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8} "
        f"{'server CPU µs/request':>22}"
    )
    for result in results:
        cpu = f"{result.server_cpu_us:22.0f}" if result.server_cpu_us is not None else " " * 22
        print(
            f"{result.label:8} {result.rate:12.0f} {result.p50_ms:8.2f} {result.p99_ms:8.2f} "
            f"{result.errors:8d} {cpu}"
        )
    on, off = results
    ratio, p99_ratio = on.rate / off.rate, on.p99_ms / off.p99_ms
    print(f"log on / log off throughput: {ratio:.2f}  p99: {p99_ratio:.2f}x")
    if on.server_cpu_us and off.server_cpu_us:
        # on a machine whose cores the server has to itself, throughput follows CPU per request
        print(
            f"server CPU per request, log on / log off: {on.server_cpu_us / off.server_cpu_us:.2f}x"
        )
    writer = "a writer process per worker" if args.workers > 1 else "a writer thread"
    print(
        f"goal (same run, log committed by {writer}): throughput >= {GOAL_RATIO:g} of log-off "
        f"and p99 <= {GOAL_P99_RATIO:g}x log-off: "
        f"{'met' if ratio >= GOAL_RATIO and p99_ratio <= GOAL_P99_RATIO else 'NOT met'}"
    )
    met = on.rate >= GOAL_RATE and on.p99_ms <= GOAL_P99_MS
    print(
        f"goal (log on): >= {GOAL_RATE} decisions/s and p99 <= {GOAL_P99_MS:g} ms: "
        f"{'met' if met else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
