"""A real `dondoc remind` process killed with SIGKILL at the worst moments, then run again.

The crash point is read from DONDOC_CRASH_POINT (notifications.crash_points.crash_point), a hook
only tests set: the process kills itself with SIGKILL exactly there, as a power cut would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine

from demo.sinks import SmtpServer, ZaloServer
from models.outbox import OutboxStatus
from settings import Settings
from tests.support.escalation import outbox_messages, settings_env

# slow, serial: kills: `dondoc remind` processes that kill themselves mid-run
pytestmark = [pytest.mark.slow, pytest.mark.serial]

# `dondoc remind` itself, started without the other commands' imports (they cost seconds).
REMIND = [
    sys.executable,
    "-c",
    "import typer; from cli.escalation import remind; typer.run(remind)",
]
AS_OF = "2024-03-13T08:00"  # remind-3 of the Q1 report, catch-up of the overdue deliverable


def _remind(settings: Settings, cwd: Path, crash: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings_env(settings)}
    env.pop("DONDOC_CRASH_POINT", None)
    if crash:
        env["DONDOC_CRASH_POINT"] = crash
    return subprocess.run(
        [*REMIND, "--as-of", AS_OF],
        env=env,
        cwd=cwd,  # no stray .env file
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _arrivals(smtp: SmtpServer, zalo: ZaloServer) -> Counter[str]:
    """How many times each message key arrived, whatever the channel."""
    keys: Counter[str] = Counter()
    for mail in smtp.received():
        keys[mail.message_id.strip("<>").split("@")[0]] += 1
    for r in zalo.delivered("oa"):
        keys["zalo:" + r.body["message"]["text"].rsplit("Mã: ", 1)[1].strip()] += 1
    for r in zalo.delivered("bot"):
        keys["zalo:" + r.body["text"].rsplit("Mã: ", 1)[1].strip()] += 1
    for r in zalo.delivered("webhook"):
        keys[r.headers["idempotency-key"]] += 1
    return keys


def _expected(engine: Engine) -> Counter[str]:
    return Counter(
        ("zalo:" + m.key[:8]) if m.channel.startswith("zalo") else m.key
        for m in outbox_messages(engine)
    )


def test_killed_between_writing_the_outbox_and_delivering(
    plan_db: Engine, settings: Settings, smtp: SmtpServer, zalo: ZaloServer, tmp_path: Path
) -> None:
    killed = _remind(settings, tmp_path, crash="after_record")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    written = outbox_messages(plan_db)
    assert written and {m.status for m in written} == {OutboxStatus.PENDING}
    assert smtp.received() == [] and zalo.state.delivered == []

    rerun = _remind(settings, tmp_path, crash=None)
    assert rerun.returncode == 0, rerun.stderr
    assert "Đã gửi" in rerun.stdout
    assert [m.key for m in outbox_messages(plan_db)] == [m.key for m in written]  # none new
    assert {m.status for m in outbox_messages(plan_db)} == {OutboxStatus.SENT}
    assert _arrivals(smtp, zalo) == _expected(plan_db)  # each message exactly once


def test_killed_between_delivering_and_marking(
    plan_db: Engine, settings: Settings, smtp: SmtpServer, zalo: ZaloServer, tmp_path: Path
) -> None:
    killed = _remind(settings, tmp_path, crash="after_send")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [first] = smtp.received()  # the server accepted one message, then the process died
    in_flight = first.message_id.strip("<>").split("@")[0]
    assert {m.key: m.status for m in outbox_messages(plan_db)}[in_flight] == OutboxStatus.PENDING

    rerun = _remind(settings, tmp_path, crash=None)
    assert rerun.returncode == 0, rerun.stderr
    assert {m.status for m in outbox_messages(plan_db)} == {OutboxStatus.SENT}
    arrivals = _arrivals(smtp, zalo)
    expected = _expected(plan_db)
    # None lost; the one message in flight at the crash arrived twice, with the same key
    # (Message-ID) and the same text, for the receiver to drop; every other one once.
    assert set(arrivals) == set(expected)
    assert {k: n for k, n in arrivals.items() if n != 1} == {in_flight: 2}
    copies = [m for m in smtp.received() if m.message_id == first.message_id]
    assert copies[0].text == copies[1].text and copies[0].rcpt_tos == copies[1].rcpt_tos


@pytest.mark.parametrize("crash", ["after_record", "after_send"])
def test_the_crash_hook_is_inert_without_the_variable(crash: str) -> None:
    from notifications.crash_points import CRASH_POINT_ENV, crash_point

    assert os.environ.get(CRASH_POINT_ENV) is None
    crash_point(crash)  # returns: nothing set, nothing killed
