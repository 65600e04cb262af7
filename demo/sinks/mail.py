"""The SMTP server: aiosmtpd on 127.0.0.1 keeping every message, in an mbox file too if asked."""

from __future__ import annotations

import mailbox
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from deploy.server import free_port

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Mail:
    """One message as the SMTP server received it; parsed only when read."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @cached_property
    def message(self) -> EmailMessage:
        return cast(EmailMessage, message_from_bytes(self.raw, policy=policy.default))

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content()).replace("\r\n", "\n")  # SMTP lines end in CRLF


class _Handler:
    def __init__(self, box: SmtpServer) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content or b""
        raw = data if isinstance(data, bytes) else data.encode("utf-8")
        self.box.keep(Mail(envelope.mail_from or "", tuple(envelope.rcpt_tos), raw))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1, with LOGIN/PLAIN auth when given a username (no TLS); it can be
    stopped and started again on its port.

    With `mbox`, every message is also appended to that file. The server is the file's only
    writer, so a thread lock replaces mbox's file locking (dot files and fcntl, which cost more
    than the delivery itself).
    """

    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        mbox: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.host = HOST
        self.port = port or free_port()
        self.username, self.password = username, password
        self.mbox = mbox
        self.mails: list[Mail] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None
        self._box: mailbox.mbox | None = None

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.mails)

    @property
    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        """(recipients, message) of every message received, in order."""
        return [(list(m.rcpt_tos), m.message) for m in self.received()]

    def received(self) -> list[Mail]:
        with self.lock:
            return list(self.mails)

    def keep(self, mail: Mail) -> None:
        with self.lock:
            self.mails.append(mail)
            if self._box is not None:
                copy = message_from_bytes(mail.raw, policy=policy.SMTP)
                # The envelope says who the message was really delivered to (Bcc included).
                copy["X-Dondoc-Delivered-To"] = ", ".join(mail.rcpt_tos)
                self._box.add(copy)
                self._box.flush()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (
            data.login.decode() == self.username and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        if self.mbox is not None:
            self.mbox.parent.mkdir(parents=True, exist_ok=True)
            self.mbox.touch()
            self._box = mailbox.mbox(self.mbox, create=True)
        auth: dict[str, Any] = {}
        if self.username is not None:
            auth = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(_Handler(self), hostname=HOST, port=self.port, **auth)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        with self.lock:
            if self._box is not None:
                self._box.close()
                self._box = None


@contextmanager
def mail_sink(path: Path) -> Iterator[SmtpServer]:
    """An SMTP server (no TLS, no auth) writing every message to `path` (mbox) as well."""
    server = SmtpServer(mbox=path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


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
