"""The mail server down for whole runs, or going down part-way through one: real `dondoc remind`
processes against a real SMTP server (aiosmtpd). What could not go out is retried by the
next runs after its backoff; none is lost, none arrives twice, the other channels go on.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine

from demo.sinks import SmtpServer, ZaloServer
from models.outbox import OutboxMessage, OutboxStatus
from settings import Settings
from tests.support.escalation import outbox_messages, settings_env
from tests.support.faults import arrivals, expected_key, refusing, run_remind

pytestmark = pytest.mark.slow  # processes: each `dondoc remind` run is a child process


def _by_status(messages: list[OutboxMessage], channel: str) -> Counter[str]:
    return Counter(m.status for m in messages if m.channel == channel)


def _each_exactly_once(engine: Engine, smtp: SmtpServer, zalo: ZaloServer) -> None:
    messages = outbox_messages(engine)
    assert {m.status for m in messages} == {OutboxStatus.SENT}
    assert arrivals(smtp, zalo) == Counter(expected_key(m.key, m.channel) for m in messages)


def test_smtp_down_for_two_runs_then_every_mail_goes_on_a_later_run(
    fault_db: Engine, settings: Settings, smtp: SmtpServer, zalo: ZaloServer, tmp_path: Path
) -> None:
    env, log = settings_env(settings), str(tmp_path / "remind.log")
    smtp.stop()  # connection refused

    assert run_remind(env, "2024-03-13T08:00", log) == 0
    messages = outbox_messages(fault_db)
    down = [m for m in messages if m.channel == "email"]
    # One real attempt (the first mail); the others were not tried and wait with it.
    assert down and {m.status for m in down} == {OutboxStatus.FAILED}
    assert sorted(m.attempts for m in down) == [0] * (len(down) - 1) + [1]
    assert all("Không kết nối được máy chủ thư (SMTP)" in (m.last_error or "") for m in down)
    others = [m for m in messages if m.channel != "email"]
    assert others and {m.status for m in others} == {OutboxStatus.SENT}  # not held up

    # Still down at the retry time (base 600 s): a second failed attempt, the wait doubles.
    assert run_remind(env, "2024-03-13T08:10", log) == 0
    assert _by_status(outbox_messages(fault_db), "email") == {OutboxStatus.FAILED: len(down)}
    assert sum(m.attempts for m in outbox_messages(fault_db) if m.channel == "email") == 2

    smtp.start()
    assert run_remind(env, "2024-03-13T08:20", log) == 0  # before the doubled wait is over
    assert smtp.received() == []
    assert run_remind(env, "2024-03-13T08:30", log) == 0
    assert len(smtp.received()) == len(down)
    _each_exactly_once(fault_db, smtp, zalo)


def test_smtp_going_down_part_way_loses_nothing_and_sends_nothing_twice(
    fault_db: Engine, settings: Settings, smtp: SmtpServer, zalo: ZaloServer, tmp_path: Path
) -> None:
    env, log = settings_env(settings), str(tmp_path / "remind.log")
    handler = refusing(smtp)
    handler.accept = 3  # then "421 service shutting down" to everything

    assert run_remind(env, "2024-03-19T08:00", log) == 0
    emails = _by_status(outbox_messages(fault_db), "email")
    assert emails[OutboxStatus.SENT] == 3 and emails[OutboxStatus.FAILED] > 0
    # A 421 counts against the message, not the channel: each mail left was tried once.
    assert handler.refused == emails[OutboxStatus.FAILED]
    assert {m.attempts for m in outbox_messages(fault_db) if m.status == OutboxStatus.FAILED} == {1}
    assert len(smtp.received()) == 3

    handler.accept = None  # back
    assert run_remind(env, "2024-03-19T08:10", log) == 0
    _each_exactly_once(fault_db, smtp, zalo)
    # The next day's check sends the next rung only: nothing of the outage is sent again.
    before = len(smtp.received())
    assert run_remind(env, "2024-03-20T08:00", log) == 0
    assert len(smtp.received()) == before
    _each_exactly_once(fault_db, smtp, zalo)
