"""Serving the portal with uvicorn (loopback by default; put a TLS proxy in front to publish it).

uvicorn times out idle keep-alive connections but not a request whose head arrives slowly or
never: a connection that sends half a request line is kept open for ever, so 300 of them
(slowloris) hold 300 sockets. `GuardedHttpTools` closes a connection whose request head is
not complete HEADER_TIMEOUT seconds after its first byte (or after connecting), and one whose
head grows past MAX_HEAD_BYTES; the body's pace is bounded by portal.limits.BodyLimit.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from portal.app import create_app
from settings import get_settings

HEADER_TIMEOUT = 10.0  # seconds for the request line and headers
MAX_HEAD_BYTES = 64 * 1024  # request line and headers together
KEEP_ALIVE_TIMEOUT = 5  # seconds an idle connection is kept between requests
# Connections and requests at once; beyond it uvicorn answers 503 at once rather than queue.
# Slow or stalled connections are closed by the timeouts above long before they add up.
CONCURRENCY_LIMIT = 1000


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size cap on each request head."""

    head_timeout: float = HEADER_TIMEOUT
    max_head_bytes: int = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm_head_deadline()  # the first bytes of the next request on this connection
        super().data_received(data)
        if self._head_deadline is not None:  # still no complete head: all of it was head
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._close()

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        super().on_headers_complete()

    def _arm_head_deadline(self) -> None:
        self._head_bytes = 0
        self._head_deadline = self.loop.call_later(self.head_timeout, self._close)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _close(self) -> None:
        self._disarm_head_deadline()
        if not self.transport.is_closing():
            self.transport.close()


def server_config(app: Any, host: str, port: int, **overrides: Any) -> uvicorn.Config:
    """uvicorn's settings for the portal: the guarded protocol, its timeouts and limits.

    httptools parses HTTP and uvloop runs the event loop: with uvicorn's pure-Python
    defaults (h11, asyncio's loop) they took a tenth of the process's time under 16 officers.
    Client addresses (the sign-in throttle's key) come from X-Forwarded-For only when the
    request comes from a trusted proxy: uvicorn's FORWARDED_ALLOW_IPS (127.0.0.1 and ::1 by
    default).
    """
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": GuardedHttpTools,
        "loop": "uvloop",
        "proxy_headers": True,
        "server_header": False,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "limit_concurrency": CONCURRENCY_LIMIT,
    }
    return uvicorn.Config(app, **(options | overrides))


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the portal until interrupted."""
    uvicorn.Server(server_config(create_app(get_settings()), host, port)).run()
