"""A person Zalo OA cannot reach gets the message once by their next channel, shown in the
outbox as a fallback; against the local Zalo server and the SMTP server."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import Engine, update
from typer.testing import CliRunner

from cli.main import app
from demo.sinks import SmtpServer, ZaloServer
from models.db import transaction
from models.org import Person
from models.outbox import OutboxStatus
from notifications.fallback import queue_fallback
from notifications.outbox import open_intents
from notifications.routing import load_people
from notifications.wiring import enabled_channels
from settings import Settings
from tests.support.escalation import (
    deliver_now,
    message_to,
    outbox_messages,
    record_now,
    vn,
)

MARCH_13 = vn(2024, 3, 13)
runner = CliRunner()


def _contacts(engine: Engine, code: str, **addresses: str | None) -> None:
    with transaction(engine) as session:
        session.execute(update(Person).where(Person.code == code).values(**addresses))


def _run_channels(engine: Engine, settings: Settings, hour: int) -> None:
    """One run's deliveries, in the order `dondoc remind` takes the channels."""
    for channel in ("email", "zalo_oa", "zalo_bot"):
        deliver_now(engine, settings, channel, vn(2024, 3, 13, hour))


def _bot_texts(zalo: ZaloServer, chat_id: str) -> list[str]:
    return [r.body["text"] for r in zalo.delivered("bot") if r.body["chat_id"] == chat_id]


@pytest.mark.parametrize("error", ["not_following", "outside_window"])
def test_a_person_the_oa_cannot_reach_gets_the_message_once_by_the_bot(
    plan_db: Engine, channel_env: Settings, zalo: ZaloServer, error: str
) -> None:
    settings = channel_env
    # Lương Thị Hai follows no OA (-213) or has not written to it for 7 days (-230); she
    # uses the office's bot, and has no e-mail address.
    _contacts(plan_db, "xa-hai.can-bo", email=None, zalo_chat_id="chat-x2")
    getattr(zalo.state, error).add("oa-x2")
    record_now(plan_db, settings, MARCH_13)
    assert [m.channel for m in outbox_messages(plan_db) if m.address == "chat-x2"] == []
    _run_channels(plan_db, settings, 8)

    original = message_to(plan_db, "oa-x2", "zalo_oa")
    fallback = message_to(plan_db, "chat-x2", "zalo_bot")
    assert original.status == OutboxStatus.DEAD
    assert fallback.fallback_of == original.id and fallback.status == OutboxStatus.SENT
    assert original.last_error and f"Zalo Bot (thông báo {fallback.key[:8]})" in original.last_error
    assert ("-213" if error == "not_following" else "-230") in original.last_error
    [text] = _bot_texts(zalo, "chat-x2")
    assert text.startswith("[dondoc] Kính gửi đồng chí Lương Thị Hai.")
    assert "Báo cáo kết quả giảm nghèo quý — quý I năm 2024" in text
    assert f"Mã: {fallback.key[:8]}" in text

    # Later runs and decisions send nothing more: each message exactly once.
    for hour in (9, 10):
        record_now(plan_db, settings, vn(2024, 3, 13, hour))
        _run_channels(plan_db, settings, hour)
    assert len(_bot_texts(zalo, "chat-x2")) == 1
    oa_attempts = [r for r in zalo.state.refused if r.kind == "oa"]
    assert len(oa_attempts) == 1

    shown = runner.invoke(app, ["outbox"], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    assert f"Zalo Bot (thay thông báo {original.key[:8]})" in shown.output
    assert "Đã gửi" in shown.output and "Không gửi được" in shown.output


def test_a_person_the_oa_cannot_reach_who_gets_the_mail_gets_no_second_copy(
    plan_db: Engine, settings: Settings, smtp: SmtpServer, zalo: ZaloServer
) -> None:
    # Lương Thị Hai also uses the bot: the OA reaches her, so the bot is held in reserve.
    _contacts(plan_db, "xa-hai.can-bo", zalo_chat_id="chat-x2")
    zalo.state.outside_window.add("oa-x2")
    record_now(plan_db, settings, MARCH_13)
    _run_channels(plan_db, settings, 8)
    record_now(plan_db, settings, vn(2024, 3, 13, 9))
    _run_channels(plan_db, settings, 9)

    original = message_to(plan_db, "oa-x2", "zalo_oa")
    assert original.status == OutboxStatus.DEAD
    assert original.last_error and "đã nhận các việc này qua kênh khác" in original.last_error
    assert not [m for m in outbox_messages(plan_db) if m.fallback_of is not None]
    assert _bot_texts(zalo, "chat-x2") == []
    mails = Counter(m.rcpt_tos for m in smtp.received())
    assert mails[("can-bo@xa-hai.example",)] == 1


def test_queuing_a_fallback_again_finds_it_queued(
    plan_db: Engine, settings: Settings, zalo: ZaloServer
) -> None:
    # As after a crash between queuing the fallback and giving up the OA message: the rerun
    # queues it again, and finds the one already there.
    _contacts(plan_db, "xa-hai.can-bo", email=None, zalo_chat_id="chat-x2")
    record_now(plan_db, settings, MARCH_13)
    original = message_to(plan_db, "oa-x2", "zalo_oa")
    channels = [c.value for c in enabled_channels(settings)]
    notes = []
    for _ in range(2):
        with transaction(plan_db) as session:
            person = load_people(session=session).by_id[original.person_id or 0]
            intents = open_intents(session=session, message_ids=[original.id])
            notes.append(
                queue_fallback(
                    session=session,
                    message_id=original.id,
                    channel="zalo_oa",
                    person=person,
                    intents=intents,
                    channels=channels,
                    now=MARCH_13,
                )
            )
    fallback = message_to(plan_db, "chat-x2", "zalo_bot")
    assert notes == [f"Gửi thay qua Zalo Bot (thông báo {fallback.key[:8]})"] * 2
    assert len([m for m in outbox_messages(plan_db) if m.fallback_of == original.id]) == 1
