"""Local message sinks for the demo: an SMTP server writing a mailbox, a webhook writing a log."""

from __future__ import annotations

import json
import mailbox
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from deploy.server import free_port

HOST = "127.0.0.1"


class _MailboxHandler:
    """aiosmtpd handler: every message accepted is appended to an mbox file.

    The sink is the file's only writer, so a thread lock replaces mbox's file locking (dot
    files and fcntl, which cost more than the delivery itself).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._lock = threading.Lock()
        self._box = mailbox.mbox(path, create=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or envelope.content or b""
        raw = data if isinstance(data, bytes) else data.encode("utf-8")
        message = message_from_bytes(raw, policy=policy.SMTP)
        # The envelope says who the message was really delivered to (Bcc included).
        message["X-Dondoc-Delivered-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self._box.add(message)
            self._box.flush()
            self.count += 1
        return "250 Message accepted for delivery"

    def close(self) -> None:
        with self._lock:
            self._box.close()


@dataclass
class MailSink:
    host: str
    port: int
    path: Path
    handler: _MailboxHandler

    @property
    def count(self) -> int:
        return self.handler.count


@contextmanager
def mail_sink(path: Path) -> Iterator[MailSink]:
    """An SMTP server on 127.0.0.1 (no TLS, no auth) writing every message to `path` (mbox)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    handler = _MailboxHandler(path)
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port)
    controller.start()
    try:
        yield MailSink(HOST, port, path, handler)
    finally:
        controller.stop()
        handler.close()


def read_mailbox(path: Path) -> list[EmailMessage]:
    """The messages of an mbox file, parsed with the modern email API (decoded headers)."""
    if not path.exists():
        return []
    box = mailbox.mbox(path, create=False)
    try:
        return [
            cast(EmailMessage, message_from_bytes(box.get_bytes(key), policy=policy.default))
            for key in box.iterkeys()
        ]
    finally:
        box.close()


@dataclass
class WebhookSink:
    url: str
    path: Path
    server: ThreadingHTTPServer

    @property
    def host_port(self) -> str:
        return f"{HOST}:{self.server.server_address[1]}"

    @property
    def count(self) -> int:
        return int(getattr(self.server, "count", 0))


def _handler_for(path: Path, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                payload: Any = json.loads(body.decode("utf-8")) if body else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                payload = body.decode("utf-8", errors="replace")
            entry = {
                "received_at": datetime.now(UTC).isoformat(),
                "path": self.path,
                "headers": {k: v for k, v in self.headers.items() if k.lower() != "authorization"},
                "body": payload,
            }
            with lock:
                with path.open("a", encoding="utf-8") as log:
                    log.write(json.dumps(entry, ensure_ascii=False) + "\n")
                self.server.count = getattr(self.server, "count", 0) + 1  # type: ignore[attr-defined]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the log file is the record; keep the terminal quiet

    return Handler


@contextmanager
def webhook_sink(path: Path) -> Iterator[WebhookSink]:
    """An HTTP server on 127.0.0.1 appending each POST (JSON body) to `path`, one JSON a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    server = ThreadingHTTPServer((HOST, 0), _handler_for(path, threading.Lock()))
    thread = threading.Thread(target=server.serve_forever, name="webhook-sink", daemon=True)
    thread.start()
    try:
        yield WebhookSink(f"http://{HOST}:{server.server_address[1]}", path, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def read_webhook_log(path: Path) -> list[dict[str, Any]]:
    """The entries of a webhook log."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as log:
        return [json.loads(line) for line in log if line.strip()]
