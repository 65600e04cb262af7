"""A delivery run's SMTP connection: one session carries the run's mails, and a session the
server closed between two mails is reopened, losing and repeating nothing."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from escalation_support import SmtpServer, outbox_messages, record_now, vn
from sqlalchemy import Engine

from notifications.channels import Channel, ChannelName, Outgoing
from notifications.delivering import deliver
from notifications.wiring import build_channel
from settings import Settings

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
