"""`dondoc remind` killed with SIGKILL at 20 points chosen from a seed, each followed by reruns.

A March 2024 of checks (a reminder three working days ahead, the deadline day, overdue notices
after 1 and 5 working days, a deliverable's overdue catch-up) runs against real local
servers: SMTP (aiosmtpd) and one HTTP server for Zalo OA, Zalo Bot and the webhook. On each
day the process is killed five times, then runs to the end. The points are chosen from
SEED, never from the clock:

- at the n-th message a sink receives, before the sink answers (the child is inside send);
- a few milliseconds after the sink answered the n-th message (between a server's acceptance
  and the commit that marks it sent, or anywhere in the next message);
- after a delay from the start (anywhere: settings, deciding, recording, delivering);
- at the test hook `after_record` (the outbox written, nothing sent).

After each day: every message decided is sent, every intent reached its recipient, no other
message arrived, and a message arrived twice only if it was the one a killed run had handed
to a server last, each copy with the same key and the same text (docs/escalation.md).
"""

from __future__ import annotations

import random
import signal
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from demo.sinks import SmtpServer, ZaloServer
from models.db import session_factory
from models.outbox import OPEN_STATUSES, OutboxMessage, OutboxStatus
from settings import Settings
from tests.support.escalation import outbox_messages, settings_env
from tests.support.faults import (
    KillSwitch,
    Trigger,
    arrivals,
    copies_differ,
    decided,
    expected_key,
    kill_quietly,
    recorded_intents,
    start_remind,
)

# slow, serial: kills: child processes killed with SIGKILL at chosen points
pytestmark = [pytest.mark.slow, pytest.mark.serial]

SEED = 20240313
DAYS = ("2024-03-13T08:00", "2024-03-18T08:00", "2024-03-19T08:00", "2024-03-25T08:00")
KILLS_PER_DAY = 5  # 20 in all
Intent = tuple[int, str, str, str]  # item, step, recipient, channel


@dataclass(frozen=True)
class Kill:
    """One kill point: how, and the number (arrival index, or milliseconds)."""

    how: str  # in_send | after_reply | delay | after_record
    n: int = 0

    def __str__(self) -> str:
        return f"{self.how}:{self.n}"


KINDS = ("in_send", "after_reply", "delay", "after_record")


def _choose(rng: random.Random, to_send: int, tries: int, first_day: bool) -> Kill:
    """The next kill point. The first day's first four take each kind in turn, so every kind
    is exercised whatever the seed; the rest are drawn."""
    if tries >= 8:  # the day has little left to send: kill where a run always passes
        return Kill("after_record")
    how = KINDS[tries] if first_day and tries < len(KINDS) else rng.choice(KINDS)
    if how in ("in_send", "after_reply") and to_send > 1:
        # An arrival that is not the day's last, so a kill just after it still finds the
        # process at work.
        return Kill(how, rng.randint(1, min(to_send - 1, 8)))
    if how in ("in_send", "after_reply"):
        how = "delay"
    return Kill(how, rng.randint(0, 1200) if how == "delay" else 0)


def _open_messages(engine: Engine) -> int:
    with session_factory(engine)() as session:
        ids = session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.status.in_(OPEN_STATUSES))
        ).all()
    return len(ids)


def test_killed_at_twenty_points_and_rerun_every_message_arrives_once(
    fault_db: Engine, settings: Settings, smtp: SmtpServer, zalo: ZaloServer, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    env = settings_env(settings)
    log = tmp_path / "remind.log"
    switch = KillSwitch()
    switch.install(smtp, zalo)
    allowed: Counter[str] = Counter()  # keys a killed run had handed to a server last
    kills: list[str] = []
    expected: set[Intent] = set()

    def run(as_of: str, kill: Kill | None) -> int | None:
        run_env = dict(env)
        if kill is not None and kill.how == "after_record":
            run_env["DONDOC_CRASH_POINT"] = "after_record"
        trigger = None
        if kill is not None and kill.how in ("in_send", "after_reply"):
            trigger = Trigger(kill.n, rng.randint(0, 15) if kill.how == "after_reply" else None)
        process = start_remind(run_env, as_of, str(log))
        switch.arm(process, trigger)
        timer = None
        if kill is not None and kill.how == "delay":
            timer = threading.Timer(kill.n / 1000, kill_quietly, args=(process.pid,))
            timer.start()
        process.join(60)
        if timer is not None:
            timer.cancel()
            timer.join()
        switch.settle()
        assert process.exitcode is not None, "remind hung"
        if process.exitcode == -signal.SIGKILL:
            kills.append(f"{as_of[5:10]} {kill}")
            if switch.last_key is not None:
                allowed[switch.last_key] += 1
        return process.exitcode

    for as_of in DAYS:
        today = decided(fault_db, settings, as_of)
        expected |= today
        digests = len({(recipient, channel) for _, _, recipient, channel in today})
        killed = tries = 0
        while killed < KILLS_PER_DAY:
            # What is left to send: the open messages, or the day's digests if not yet recorded.
            recorded = today <= recorded_intents(fault_db)[0]
            to_send = _open_messages(fault_db) if recorded else digests
            kill = _choose(rng, to_send, tries, first_day=as_of == DAYS[0])
            code = run(as_of, kill)
            assert code in (0, -signal.SIGKILL), log.read_text()
            killed += code == -signal.SIGKILL
            tries += 1
        assert run(as_of, None) == 0, log.read_text()  # the rerun finishes the day

        messages = outbox_messages(fault_db)
        assert {m.status for m in messages} == {OutboxStatus.SENT}, as_of
        sent, statuses = recorded_intents(fault_db)
        assert sent == expected and set(statuses) == {OutboxStatus.SENT}, as_of
        arrived = arrivals(smtp, zalo)
        keys = Counter(expected_key(m.key, m.channel) for m in messages)
        assert set(arrived) == set(keys), as_of  # every message, and no other
        extra = {k: n - keys[k] for k, n in arrived.items() if n > keys[k]}
        assert all(n <= allowed[k] for k, n in extra.items()), (as_of, extra, allowed)
        assert copies_differ(smtp, zalo) == []  # a copy repeats its message exactly

    assert len(kills) == len(DAYS) * KILLS_PER_DAY >= 20, kills
    assert len({k.split(" ", 1)[1].split(":")[0] for k in kills}) == 4  # every kind of point
    assert len(expected) > 60  # the month had plenty to send
