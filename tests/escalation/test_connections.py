"""A delivery run's SMTP connection: one session carries the run's mails, and a session the
server closed between two mails is reopened, losing and repeating nothing."""

from __future__ import annotations

import ssl
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from sqlalchemy import Engine

from demo.sinks import SmtpServer
from notifications.channels import Channel, ChannelName, Outgoing
from notifications.delivering import deliver
from notifications.email import EmailChannel
from notifications.wiring import build_channel
from settings import Settings, SmtpSettings
from tests.support.escalation import (
    SMTP_PASSWORD,
    SMTP_USER,
    outbox_messages,
    record_now,
    vn,
)

MARCH_13 = vn(2024, 3, 13)  # five e-mails: two officers, two commune heads, a task's leader


class PeerRecorder:
    """Wraps the SMTP sink's handler: which client connection (address, port) each mail
    arrived on."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.peers: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(session.peer)
        result: str = await self.inner.handle_DATA(server, session, envelope)
        return result


def record_peers(smtp: SmtpServer) -> PeerRecorder:
    controller = smtp._controller
    assert controller is not None, "start the server first"
    recorder = PeerRecorder(controller.handler)
    controller.handler = recorder  # new connections use it
    return recorder


class PausingBefore:
    """The e-mail channel, pausing before its n-th mail (a slow step between two mails)."""

    def __init__(self, channel: Channel, n: int, seconds: float) -> None:
        self.channel, self.n, self.seconds = channel, n, seconds
        self.name = channel.name
        self.sent = 0

    def prepare(self, *, renew: bool = False) -> None:
        self.channel.prepare(renew=renew)

    def send(self, message: Outgoing) -> str | None:
        self.sent += 1
        if self.sent == self.n:
            time.sleep(self.seconds)
        return self.channel.send(message)

    def close(self) -> None:
        self.channel.close()


def _email(engine: Engine, settings: Settings) -> Channel:
    return build_channel(ChannelName.EMAIL, settings=settings, engine=engine, now=MARCH_13)


def test_one_smtp_session_carries_a_runs_mails(
    plan_db: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    recorder = record_peers(smtp)
    record_now(plan_db, settings, MARCH_13)
    report = deliver(
        engine=plan_db, channel=_email(plan_db, settings), now=MARCH_13, settings=settings
    )
    assert len(report.sent) == 5 and report.failed == report.dead == []
    assert len(recorder.peers) == 5 and len(set(recorder.peers)) == 1


def test_a_session_the_server_closed_between_two_mails_is_reopened(
    plan_db: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    recorder = record_peers(smtp)
    assert smtp._controller is not None
    smtp._controller.SMTP_kwargs["timeout"] = 0.3  # the server drops a session idle 0.3 s
    record_now(plan_db, settings, MARCH_13)
    channel = PausingBefore(_email(plan_db, settings), n=3, seconds=1.0)
    report = deliver(engine=plan_db, channel=channel, now=MARCH_13, settings=settings)

    assert len(report.sent) == 5 and report.failed == report.dead == []
    assert recorder.peers[2] != recorder.peers[1]  # the third mail went on a new session
    emails = [m for m in outbox_messages(plan_db) if m.channel == "email"]
    assert Counter(m.message_id for m in smtp.received()) == Counter(
        f"<{m.key}@ubnd-thu.example>" for m in emails
    )


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, signed by itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_starttls_then_login_then_the_mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr("notifications.email.tls_context", lambda: client_tls)
    smtp = SmtpServer(SMTP_USER, SMTP_PASSWORD)
    smtp.start()
    assert smtp._controller is not None
    smtp._controller.stop()  # again, requiring TLS before anything else and before the login
    smtp._controller = Controller(
        smtp._controller.handler,
        hostname="127.0.0.1",
        port=smtp.port,
        authenticator=smtp._authenticate,
        tls_context=server_tls,
        require_starttls=True,
        auth_require_tls=True,
    )
    smtp._controller.start()
    recorder = record_peers(smtp)
    try:
        settings = SmtpSettings(
            host="127.0.0.1",
            port=smtp.port,
            username=SMTP_USER,
            password=SecretStr(SMTP_PASSWORD),
            sender="Hệ thống dondoc <dondoc@ubnd-thu.example>",
            starttls=True,
        )
        channel = EmailChannel(settings)
        for key_ in ("k1" * 16, "k2" * 16):
            channel.send(
                Outgoing(
                    key=key_,
                    address="can-bo@xa-hai.example",
                    recipient_name="Lương Thị Hai",
                    subject="Đôn đốc báo cáo: 1 việc quá hạn",
                    body="Kính gửi đồng chí Lương Thị Hai,",
                )
            )
        channel.close()
    finally:
        smtp.stop()
    mails = smtp.received()
    assert [m.message_id for m in mails] == [
        f"<{k}@ubnd-thu.example>" for k in ("k1" * 16, "k2" * 16)
    ]
    assert mails[0].message["Subject"] == "Đôn đốc báo cáo: 1 việc quá hạn"
    assert len(set(recorder.peers)) == 1  # one TLS session carried both
