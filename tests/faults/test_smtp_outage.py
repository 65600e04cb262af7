"""The mail server down for whole runs, a whole day, or going down part-way through one: real
`dondoc remind` processes against a real SMTP server (aiosmtpd). What could not go out is
retried by the next runs after its backoff; none is lost, none arrives twice, none is given
up for an outage of a day, the other channels go on, and the admin is alerted once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine

from demo.sinks import Mail, SmtpServer, ZaloServer
from models.outbox import OutboxMessage, OutboxStatus
from settings import Settings
from tests.support.escalation import outbox_messages, settings_env
from tests.support.faults import arrivals, expected_key, key_of_mail, refusing, run_remind

# slow, serial: processes: each `dondoc remind` run is a child process
pytestmark = [pytest.mark.slow, pytest.mark.serial]


def _by_status(messages: list[OutboxMessage], channel: str) -> Counter[str]:
    return Counter(m.status for m in messages if m.channel == channel)


ADMIN = ("quan-tri@ubnd-thu.example",)


def _admin_alerts(smtp: SmtpServer) -> list[Mail]:
    return [m for m in smtp.received() if m.rcpt_tos == ADMIN]


def _each_exactly_once(engine: Engine, smtp: SmtpServer, zalo: ZaloServer) -> None:
    """Every reminder arrived once (the admin's outage alerts aside)."""
    messages = outbox_messages(engine)
    assert {m.status for m in messages} == {OutboxStatus.SENT}
    got = arrivals(smtp, zalo)
    for alert in _admin_alerts(smtp):
        del got[key_of_mail(alert)]
    assert got == Counter(expected_key(m.key, m.channel) for m in messages)


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
    # No reminder yet, but the admin's alert, which waited for a mail server, goes now.
    [alert] = smtp.received()
    assert alert.rcpt_tos == ADMIN
    assert "không gửi được thông báo nào từ 08 giờ 00, thứ Tư, 13/03/2024 đến nay" in alert.text
    assert run_remind(env, "2024-03-13T08:30", log) == 0
    assert len(smtp.received()) == len(down) + 1
    _each_exactly_once(fault_db, smtp, zalo)
    assert _admin_alerts(smtp) == [alert]  # once for the outage


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


HOURLY = [f"{hour:02d}:45" for hour in range(7, 17)]  # the deployment's runs, 07:45-16:45


def test_smtp_down_a_whole_day_then_every_reminder_goes_once_and_the_admin_hears_once(
    fault_db: Engine, settings: Settings, smtp: SmtpServer, zalo: ZaloServer, tmp_path: Path
) -> None:
    env, log = settings_env(settings), str(tmp_path / "remind.log")
    smtp.stop()
    for at in HOURLY:  # Tuesday 19/03/2024, every run of the day
        assert run_remind(env, f"2024-03-19T{at}", log) == 0
    emails = [m for m in outbox_messages(fault_db) if m.channel == "email"]
    assert len(emails) > 1 and {m.status for m in emails} == {OutboxStatus.FAILED}
    # Only real attempts count: at most one connection refused per run, none given up.
    assert 1 <= sum(m.attempts for m in emails) <= len(HOURLY)
    others = [m for m in outbox_messages(fault_db) if m.channel != "email"]
    assert others and {m.status for m in others} == {OutboxStatus.SENT}

    smtp.start()
    for at in HOURLY[:3]:  # Wednesday: the backlog and the day's new rungs, each once
        assert run_remind(env, f"2024-03-20T{at}", log) == 0
    _each_exactly_once(fault_db, smtp, zalo)
    reminders = [m for m in smtp.received() if m.rcpt_tos != ADMIN]
    assert {m.message_id for m in reminders} >= {f"<{m.key}@ubnd-thu.example>" for m in emails}
    [alert] = _admin_alerts(smtp)  # one alert for the whole outage, not one per run
    assert alert.message["Subject"] == "[dondoc] Kênh gửi thông báo gián đoạn: Thư điện tử"
    assert (
        "đã không gửi được từ 07 giờ 45, thứ Ba, 19/03/2024 đến 07 giờ 45, thứ Tư, 20/03/2024"
        in alert.text
    )
