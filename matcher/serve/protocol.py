"""uvicorn's h11 protocol with the limits a public server needs and uvicorn does not have.

- **Header timeout**: a client has ``MATCHER_HEADER_TIMEOUT`` seconds to send a request's headers
  (a "slow loris" sending a byte every few seconds is cut off with 408). Body timeouts live in the
  guard middleware, which sees the body as it streams.
- **Connection cap**: past ``MATCHER_MAX_CONNECTIONS`` open connections per worker a new one gets
  503 ``busy`` and is closed, so idle sockets cannot exhaust file handles.
- **One error shape**: a request h11 cannot parse (a malformed ``Content-Length``, a broken request
  line) gets the JSON envelope every other error has, not uvicorn's plain-text 400.

Selected by ``matcher serve`` (``server.PROTOCOL``); the limits come from the one
:class:`~matcher.settings.Settings`.
"""

from __future__ import annotations

import asyncio
import functools
import json
from http import HTTPStatus

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..errors import error_body
from ..settings import Settings


@functools.cache
def _limits() -> Settings:
    # Read once per worker process: every connection shares the same validated settings.
    return Settings.from_env()


class GuardedH11Protocol(H11Protocol):
    """H11Protocol plus a header timeout, a connection cap and JSON protocol errors."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits = _limits()
        if len(self.connections) > limits.max_connections:
            self._send_error(503, "busy", f"the server has {limits.max_connections} open connections "
                             "(MATCHER_MAX_CONNECTIONS); retry in a moment")
            return
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Waiting for (the rest of) a request head: the clock runs; once it is in, it stops.
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self._header_timer is None:
                self._arm_header_timer()
        else:
            self._disarm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._send_error(400, "bad_request", "the request is not valid HTTP/1.1 (a malformed request line or "
                         "header, e.g. a non-numeric Content-Length); send a well-formed request")

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(_limits().header_timeout, self._header_timed_out)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self.conn.trailing_data[0]:  # part of a request head arrived: say why we hang up
                self._send_error(408, "timeout", f"the request headers did not arrive within "
                                 f"{_limits().header_timeout:g} s (MATCHER_HEADER_TIMEOUT)")
            else:  # nothing sent at all: just close, as uvicorn does for idle keep-alive connections
                self.transport.close()

    def _send_error(self, status: int, code: str, message: str) -> None:
        # Written as raw bytes: h11 only lets a server answer a request it has fully parsed, and
        # these answers are for requests that never got that far.
        body = json.dumps(error_body(code, message)).encode("utf-8")
        reason = HTTPStatus(status).phrase.encode("ascii")
        head = (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n" % (status, reason, len(body)))
        if not self.transport.is_closing():
            self.transport.write(head + body)
        self.transport.close()
