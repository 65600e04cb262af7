"""A real SMTP server for tests: aiosmtpd in-process on 127.0.0.1, keeping what it receives."""

from __future__ import annotations

import email
import socket
from email import policy
from email.message import EmailMessage

from aiosmtpd.smtp import Envelope


class MailCollector:
    """An in-process SMTP server's inbox: every message as received, parsed."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
