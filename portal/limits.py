"""Request body limits enforced while the body streams in: its size (413) and its pace (408)."""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wording.vietnamese import megabytes

TOO_LARGE_VI = "Dữ liệu gửi lên quá lớn (tối đa {size}): hãy gửi tệp nhỏ hơn."
TOO_SLOW_VI = "Dữ liệu gửi lên quá chậm (quá {s} giây không nhận được gì): hãy gửi lại."
# Longest wait for the next piece of a body: a stalled upload frees its connection and worker.
BODY_IDLE_TIMEOUT = 30.0

# How much of an oversized body is read and thrown away so the client sees the 413 instead
# of a reset connection; beyond this the connection is simply closed.
_DRAIN_FACTOR = 4


def too_large_message(max_bytes: int) -> str:
    return TOO_LARGE_VI.format(size=megabytes(max_bytes))


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413: at once by Content-Length, else mid-stream;
    and with 408 a body that stops arriving for `idle_timeout` seconds."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, idle_timeout: float = BODY_IDLE_TIMEOUT
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.idle_timeout = idle_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._drain(receive, int(declared))
            await self._reject(scope, send)
            return
        received = 0
        complete = False

        async def limited() -> Message:
            nonlocal received, complete
            if complete:  # only a disconnect is left to wait for, however long it takes
                return await receive()
            with anyio.move_on_after(self.idle_timeout) as waited:
                message = await receive()
            if waited.cancelled_caught:
                raise HTTPException(408, TOO_SLOW_VI.format(s=f"{self.idle_timeout:.0f}"))
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the app, so its own handler renders JSON or the page.
                    raise HTTPException(413, too_large_message(self.max_bytes))
            return message

        await self.app(scope, limited, send)

    async def _drain(self, receive: Receive, declared: int) -> None:
        if declared > self.max_bytes * _DRAIN_FACTOR:
            return
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    async def _reject(self, scope: Scope, send: Send) -> None:
        message = too_large_message(self.max_bytes)
        body: Any
        if str(scope.get("path", "")).startswith("/api"):
            body = json.dumps(
                {"error": {"code": "too_large", "message": message, "fields": []}},
                ensure_ascii=False,
            ).encode("utf-8")
            content_type = b"application/json"
        else:
            body = (
                '<!doctype html><html lang="vi"><meta charset="utf-8"><title>Tệp quá lớn</title>'
                f'<p role="alert">{message}</p><p><a href="javascript:history.back()">'
                "Quay lại</a></p></html>"
            ).encode()
            content_type = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
