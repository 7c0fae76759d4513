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
from typing import Any

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is part of uvicorn[standard]
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

REASONS = {400: b"Bad Request", 408: b"Request Timeout"}


def error_bytes(status: int, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response with the API's error body, closing the connection."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
    return b"".join((
        b"HTTP/1.1 %d %s\r\n" % (status, REASONS[status]),
        b"content-type: application/json\r\n",
        b"content-length: %d\r\n" % len(body),
        b"connection: close\r\n\r\n",
        body,
    ))


def protocol_class(header_timeout: float, body_timeout: float = 30.0
                   ) -> type[asyncio.Protocol] | None:
    if HttpToolsProtocol is None:  # pragma: no cover
        return None

    class LexgateHttpProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        _header_timer: asyncio.TimerHandle | None = None
        _body_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_header_timer()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_header_timer()

        def on_headers_complete(self) -> None:
            self._disarm_header_timer()
            super().on_headers_complete()
            # One timer per request, cancelled when the body is complete (at once for a
            # request without one): cheaper than a timeout around every `receive()`.
            self._body_timer = self.loop.call_later(body_timeout, self._body_too_slow)

        def on_message_complete(self) -> None:
            self._disarm_body_timer()
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            self._disarm_body_timer()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            self._disarm_header_timer()
            self.transport.write(error_bytes(
                400, "bad_request", f"the request is not valid HTTP/1.1: {msg.rstrip('.')}"
            ))
            self.transport.close()

        def _arm_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _disarm_body_timer(self) -> None:
            if self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None

        def _body_too_slow(self) -> None:
            self._body_timer = None
            if self.transport.is_closing():
                return
            cycle = getattr(self, "cycle", None)
            if cycle is None or not cycle.response_started:
                self.transport.write(error_bytes(
                    408, "request_timeout",
                    f"the request body did not arrive within {body_timeout:g} s",
                ))
            # The app, waiting for the body, sees a disconnect and stops.
            self.transport.close()

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.write(error_bytes(
                    408, "request_timeout",
                    f"the request headers did not arrive within {header_timeout:g} s",
                ))
                self.transport.close()

    return LexgateHttpProtocol
