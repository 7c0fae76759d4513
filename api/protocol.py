"""The HTTP protocol `lexgate serve` hands to uvicorn (its public `Config(http=…)` option): the
httptools protocol uvicorn would pick anyway, with two additions that only a protocol can make,
because they happen before there is a request for the app to see.

- **Header and body timeouts.** uvicorn times out idle keep-alive connections but not a
  request whose headers never finish: a client could open connections, send half a request
  line and hold them for ever (slowloris). Here the headers of each request must arrive within
  `header_timeout` seconds of the connection opening or of the request's first byte; otherwise
  the client gets a 408 and the connection is closed. The body must then arrive within
  `body_timeout` seconds of the headers, or the same happens.
- **JSON 400s.** A request httptools cannot parse gets the API's `{"error": …}` shape instead of
  uvicorn's plain-text "Invalid HTTP request received.".

Without httptools (an interpreter it does not build for) `protocol_class` returns None and
uvicorn's own choice runs, without the header timeout.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is part of uvicorn[standard]
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

REASONS = {400: b"Bad Request", 408: b"Request Timeout"}


def error_bytes(status: int, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response with the API's error body, closing the connection."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, REASONS[status]),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        )
    )


# How often the deadlines of open connections are checked: a timeout fires within this much
# after it is due.
SWEEP_SECONDS = 0.5


def protocol_class(
    header_timeout: float, body_timeout: float = 30.0
) -> type[asyncio.Protocol] | None:
    if HttpToolsProtocol is None:  # pragma: no cover
        return None

    sweepers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = (
        weakref.WeakKeyDictionary()
    )

    class LexgateHttpProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """Each connection records when its headers (or its body) are due, with one float per
        request; one sweep per event loop closes the late ones. No timer is scheduled and
        cancelled per request (that cost the decision route several percent of its
        throughput)."""

        _due: float | None = None  # when the awaited headers or body must be in
        _awaiting: str = ""  # "headers" or "body"

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if self.loop not in sweepers:
                sweepers[self.loop] = self.loop.create_task(_sweep(self.loop, self.connections))
            self._await("headers", header_timeout)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if not self._awaiting:
                self._await("headers", header_timeout)

        def on_headers_complete(self) -> None:
            self._await("body", body_timeout)
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._due, self._awaiting = None, ""
            super().on_message_complete()

        def send_400_response(self, msg: str) -> None:
            self._due, self._awaiting = None, ""
            self.transport.write(
                error_bytes(
                    400, "bad_request", f"the request is not valid HTTP/1.1: {msg.rstrip('.')}"
                )
            )
            self.transport.close()

        def _await(self, what: str, seconds: float) -> None:
            self._due, self._awaiting = self.loop.time() + seconds, what

        def expire_if_late(self, now: float) -> None:
            if self._due is None or now < self._due or self.transport.is_closing():
                return
            what, self._due, self._awaiting = self._awaiting, None, ""
            cycle = getattr(self, "cycle", None)
            if what == "headers" or cycle is None or not cycle.response_started:
                seconds = header_timeout if what == "headers" else body_timeout
                self.transport.write(
                    error_bytes(
                        408,
                        "request_timeout",
                        f"the request {what} did not arrive within {seconds:g} s",
                    )
                )
            # An app waiting for the body sees a disconnect and stops.
            self.transport.close()

    async def _sweep(loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = loop.time()
            for connection in list(connections):
                if isinstance(connection, LexgateHttpProtocol):
                    connection.expire_if_late(now)

    return LexgateHttpProtocol
