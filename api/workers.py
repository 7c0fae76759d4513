"""`lexgate serve --workers N` with one listening socket per worker (SO_REUSEPORT).

uvicorn's process manager shares one listening socket among its workers, and whichever worker
wakes first accepts: under load a busy worker keeps accepting while another idles, so one
process may end up with most of the keep-alive connections. With SO_REUSEPORT (Linux, BSD)
each worker binds its own socket to the same port and the kernel spreads new connections
evenly over them. A worker that dies closes its socket, so no connection waits on a socket no
one accepts from; uvicorn's supervisor restarts it and the new worker binds afresh.
"""

from __future__ import annotations

import socket
from typing import Any

from uvicorn import Config
from uvicorn.supervisors import multiprocess


def supported(config: Config) -> bool:
    return (hasattr(socket, "SO_REUSEPORT") and config.port != 0 and config.uds is None
            and config.fd is None)


def bind_reuseport(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class _ReusePortProcess(multiprocess.Process):
    """A worker that binds its own socket in the child instead of inheriting the parent's."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        sock = bind_reuseport(self.config.host, self.config.port)
        super().target([sock])


def run(config: Config) -> None:
    """Like `uvicorn.run(..., workers=N)`; the parent only checks that the port is free."""
    # Fails now, in the parent, if another program holds the port; closed at once, so the
    # parent never holds a listening socket that no process accepts from.
    bind_reuseport(config.host, config.port).close()
    supervisor: Any = multiprocess.Multiprocess(config, sockets=[])
    original = multiprocess.Process
    multiprocess.Process = _ReusePortProcess  # type: ignore[misc]  # what it starts and restarts
    try:
        supervisor.run()
    finally:
        multiprocess.Process = original  # type: ignore[misc]
