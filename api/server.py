"""How `lexgate serve` runs uvicorn: listening sockets this module binds itself, handed to
uvicorn's public `Server(config).run(sockets=[…])`, in this process (one worker) or in N worker
processes that this module starts, watches and restarts. No uvicorn class is replaced.

The port is claimed before anything is served: a probe binds it *without* SO_REUSEPORT, which
fails while any socket listens on it, including the SO_REUSEPORT sockets of another
`lexgate serve` (whose group a probe with SO_REUSEPORT would silently join). The probe is
closed at once and the real sockets are bound right after; two servers started in the same
millisecond could still both pass the probe, which is the one window this leaves.

With several workers each gets a socket of its own, all bound with SO_REUSEPORT to the same
port (Linux, BSD), so the kernel spreads new connections evenly over the workers instead of
letting whichever worker wakes first take them all (uvicorn's shared socket). The parent keeps
every socket open: a worker that dies is restarted on the same socket, and connections that
arrive meanwhile wait in its backlog rather than being refused. Without SO_REUSEPORT the workers
share one socket.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn

from .protocol import protocol_class

logger = logging.getLogger("lexgate.serve")

BACKLOG = 2048
# A worker that exits this soon after starting, this many times in a row, is not restarted again:
# it cannot start (a broken setting, a log it cannot open), and restarting it would spin.
EARLY_EXIT_SECONDS = 10.0
EARLY_EXITS_TOLERATED = 3
STOP_GRACE_SECONDS = 15.0


class PortInUse(OSError):
    """The address is taken, or cannot be bound; the message says which and what to do."""


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR lets a restart bind while old connections linger in TIME_WAIT; on Linux
        # it never lets two sockets listen on one port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise _explain(error, host, port) from error
    except BaseException:
        sock.close()
        raise
    return sock


def _explain(error: OSError, host: str, port: int) -> OSError:
    if error.errno == errno.EADDRINUSE:
        return PortInUse(
            error.errno,
            f"port {port} on {host} is already in use (another `lexgate serve`, or another "
            "program, listens there)\nhelp: stop it, or choose another port with --port",
        )
    if error.errno in (errno.EADDRNOTAVAIL, errno.EACCES):
        return PortInUse(
            error.errno,
            f"cannot bind {host}:{port}: {error.strerror}\nhelp: check --host "
            "(an address of this machine) and --port (below 1024 needs privileges)",
        )
    if isinstance(error, socket.gaierror):
        return PortInUse(error.errno, f"cannot resolve --host `{host}`: {error.strerror}")
    return error


def claim_port(host: str, port: int) -> None:
    """Raise PortInUse when anything listens on host:port (see the module docstring)."""
    _bind(host, port, reuse_port=False).close()


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` listening sockets on one port: SO_REUSEPORT when there are several and the
    platform has it, else one socket to share. Raises PortInUse."""
    claim_port(host, port)
    reuse_port = count > 1 and hasattr(socket, "SO_REUSEPORT")
    sockets: list[socket.socket] = []
    try:
        for _ in range(count if reuse_port else 1):
            sock = _bind(host, port, reuse_port=reuse_port)
            sockets.append(sock)
            port = port or sock.getsockname()[1]  # port 0: every socket on the first one's
            sock.listen(BACKLOG)
            sock.set_inheritable(True)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def uvicorn_config(app: Any, options: dict[str, Any]) -> uvicorn.Config:
    """The Config every worker uses: the app (or factory path), the header and body timeouts
    and JSON 400s of api.protocol, and the given options (log level, keep-alive, shutdown
    grace)."""
    header_timeout = float(options.pop("header_timeout", 10.0))
    body_timeout = float(options.pop("body_timeout", 30.0))
    http = protocol_class(header_timeout, body_timeout)
    return uvicorn.Config(app, http=http if http is not None else "auto", **options)


def serve_in_process(app: Any, host: str, port: int, options: dict[str, Any]) -> None:
    """One worker: this process serves on a socket bound here (PortInUse if taken)."""
    sock = listening_sockets(host, port, 1)[0]
    try:
        uvicorn.Server(uvicorn_config(app, dict(options))).run(sockets=[sock])
    finally:
        sock.close()


def _worker_main(app_path: str, options: dict[str, Any], sock: socket.socket) -> None:
    """A worker process: builds the app from `LEXGATE_*` (the factory) and serves on `sock`."""
    config = uvicorn_config(app_path, dict(options, factory=True))
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class _Worker:
    sock: socket.socket
    process: Any = None
    started: float = 0.0
    early_exits: int = 0


class Supervisor:
    """Starts one process per socket, restarts a worker that dies, stops all on SIGINT/SIGTERM."""

    def __init__(
        self,
        app_path: str,
        options: dict[str, Any],
        sockets: list[socket.socket],
        workers: int,
        on_event: Callable[[str], None] = logger.warning,
    ) -> None:
        self.app_path = app_path
        self.options = options
        # One socket per worker, or one socket shared by every worker.
        self.workers = [_Worker(sockets[i % len(sockets)]) for i in range(workers)]
        self.on_event = on_event
        self.stopping = threading.Event()
        self.failed = False
        self._context = multiprocessing.get_context("spawn")

    def _start(self, worker: _Worker) -> None:
        worker.process = self._context.Process(
            target=_worker_main,
            args=(self.app_path, self.options, worker.sock),
            name="lexgate-worker",
        )
        worker.process.start()
        worker.started = time.monotonic()

    def run(self) -> int:
        """Supervise until a stop signal; the exit status for the command (0, or 1 if workers
        could not start)."""
        previous = {
            sig: signal.signal(sig, lambda *_: self.stopping.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for worker in self.workers:
                self._start(worker)
            while not self.stopping.wait(0.25):
                for worker in self.workers:
                    if worker.process.is_alive():
                        continue
                    code = worker.process.exitcode
                    quick = time.monotonic() - worker.started < EARLY_EXIT_SECONDS
                    worker.early_exits = worker.early_exits + 1 if quick else 0
                    if worker.early_exits >= EARLY_EXITS_TOLERATED:
                        self.on_event(
                            f"a worker exited {worker.early_exits} times in a row "
                            f"right after starting (last exit code {code}); stopping"
                        )
                        self.failed = True
                        self.stopping.set()
                        break
                    self.on_event(
                        f"worker pid {worker.process.pid} exited with code {code}; restarting it"
                    )
                    self._start(worker)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if self.failed else 0

    def _stop_all(self) -> None:
        running = [w.process for w in self.workers if w.process is not None]
        for process in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes answering, then exits
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)


def serve_workers(
    app_path: str, host: str, port: int, workers: int, options: dict[str, Any]
) -> int:
    """N worker processes on sockets bound here (PortInUse if taken); returns the exit status."""
    sockets = listening_sockets(host, port, workers)
    try:
        return Supervisor(app_path, options, sockets, workers).run()
    finally:
        for sock in sockets:
            sock.close()
