"""A quarter played day by day with a fixed clock: exactly the expected reminders and escalations
reach the real servers, each once, and they stop once a unit submits."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from demo.sinks import SmtpServer, ZaloServer
from models.db import transaction
from models.items import DueItem
from models.org import Person, Unit
from models.outbox import OutboxIntent, OutboxMessage, OutboxStatus
from models.plan import Deliverable, Obligation
from notifications.daily_check import run_once
from schedules.calendar import local_date
from settings import Settings
from tests.support.escalation import submit, vn

E, OA, BOT, HOOK = "email", "zalo_oa", "zalo_bot", "webhook"
KH, Q = "ke-hoach-xa", "bao-cao-quy"

# Submissions, at local instants: xa-mot sends its deliverable during Tết (before the deadline),
# and its quarterly report at 09:00 on the day after the deadline, after the morning's notice.
SUBMISSIONS = [
    ("deliverable:esc-2024:ke-hoach-xa:xa-mot", vn(2024, 2, 14, 10)),
    ("report:esc-2024:bao-cao-quy:xa-mot:2024-Q1", vn(2024, 3, 19, 9)),
]

# Every message the quarter must produce: (local day, recipient, channel, {(unit, item, step)}).
# The deliverable is due Sat 10/02 (Tết), rolled to Thu 15/02; its own ladder is nhac-2 (Tue
# 06/02), nhac-0 (15/02), qua-han-2 (Mon 19/02: officer, unit head, the task's leader).
# The Q1 report is due Mon 18/03 (default ladder): remind-3 Wed 13/03, remind-0 18/03,
# overdue-1 Tue 19/03 (officer, head), overdue-3 Thu 21/03 (the department's head),
# overdue-5 Mon 25/03 (the leader named as `via`). The webhook gets a copy of every rung.
EXPECTED: list[tuple[date, str, str, frozenset[tuple[str, str, str]]]] = []


def expect(
    day: date, recipient: str, channels: list[str], items: set[tuple[str, str, str]]
) -> None:
    for channel in channels:
        EXPECTED.append((day, recipient, channel, frozenset(items)))


d = date(2024, 2, 6)
expect(d, "xa-mot.can-bo", [E, OA], {("xa-mot", KH, "nhac-2")})
expect(d, "xa-hai.can-bo", [E, OA], {("xa-hai", KH, "nhac-2")})
expect(d, "webhook:so", [HOOK], {("xa-mot", KH, "nhac-2"), ("xa-hai", KH, "nhac-2")})
d = date(2024, 2, 15)  # xa-mot submitted on 14/02: only xa-hai is reminded
expect(d, "xa-hai.can-bo", [E, OA], {("xa-hai", KH, "nhac-0")})
expect(d, "webhook:so", [HOOK], {("xa-hai", KH, "nhac-0")})
d = date(2024, 2, 19)
expect(d, "xa-hai.can-bo", [E, OA], {("xa-hai", KH, "qua-han-2")})
expect(d, "xa-hai.chu-tich", [E], {("xa-hai", KH, "qua-han-2")})
expect(d, "chu-tich", [E], {("xa-hai", KH, "qua-han-2")})
expect(d, "webhook:so", [HOOK], {("xa-hai", KH, "qua-han-2")})
d = date(2024, 3, 13)
expect(d, "xa-mot.can-bo", [E, OA], {("xa-mot", Q, "remind-3")})
expect(d, "xa-hai.can-bo", [E, OA], {("xa-hai", Q, "remind-3")})
expect(d, "webhook:so", [HOOK], {("xa-mot", Q, "remind-3"), ("xa-hai", Q, "remind-3")})
d = date(2024, 3, 18)
expect(d, "xa-mot.can-bo", [E, OA], {("xa-mot", Q, "remind-0")})
expect(d, "xa-hai.can-bo", [E, OA], {("xa-hai", Q, "remind-0")})
expect(d, "webhook:so", [HOOK], {("xa-mot", Q, "remind-0"), ("xa-hai", Q, "remind-0")})
d = date(2024, 3, 19)  # 08:00; xa-mot submits at 09:00 and hears nothing more
expect(d, "xa-mot.can-bo", [E, OA], {("xa-mot", Q, "overdue-1")})
expect(d, "xa-mot.chu-tich", [E], {("xa-mot", Q, "overdue-1")})
expect(d, "xa-hai.can-bo", [E, OA], {("xa-hai", Q, "overdue-1")})
expect(d, "xa-hai.chu-tich", [E], {("xa-hai", Q, "overdue-1")})
expect(d, "webhook:so", [HOOK], {("xa-mot", Q, "overdue-1"), ("xa-hai", Q, "overdue-1")})
d = date(2024, 3, 21)
expect(d, "truong-phong", [E, OA], {("xa-hai", Q, "overdue-3")})
expect(d, "webhook:so", [HOOK], {("xa-hai", Q, "overdue-3")})
d = date(2024, 3, 25)
expect(d, "pho-chu-tich", [E, BOT], {("xa-hai", Q, "overdue-5")})
expect(d, "webhook:so", [HOOK], {("xa-hai", Q, "overdue-5")})


def _sent_messages(
    engine: Engine,
) -> dict[str, tuple[date, str, str, frozenset[tuple[str, str, str]]]]:
    """Message key -> (day sent, recipient, channel, items), from the outbox."""
    with transaction(engine) as session:
        rows = session.execute(
            select(
                OutboxMessage.key,
                OutboxMessage.sent_at,
                OutboxMessage.recipient_key,
                Person.code,
                OutboxMessage.channel,
                Unit.code,
                Obligation.code,
                Deliverable.code,
                OutboxIntent.step_code,
            )
            .join(OutboxIntent, OutboxIntent.message_id == OutboxMessage.id)
            .join(DueItem, DueItem.id == OutboxIntent.item_id)
            .join(Unit, Unit.id == DueItem.unit_id)
            .outerjoin(Person, Person.id == OutboxMessage.person_id)
            .outerjoin(Obligation, Obligation.id == DueItem.obligation_id)
            .outerjoin(Deliverable, Deliverable.id == DueItem.deliverable_id)
            .where(
                OutboxMessage.status == OutboxStatus.SENT.value,
                OutboxIntent.status == OutboxStatus.SENT.value,
            )
        ).all()
    items: dict[str, set[tuple[str, str, str]]] = {}
    heads: dict[str, tuple[date, str, str]] = {}
    for key, sent_at, recipient_key, person, channel, unit, obligation, deliverable, step in rows:
        heads[key] = (local_date(sent_at), person or recipient_key, channel)
        items.setdefault(key, set()).add((unit, obligation or deliverable, step))
    return {k: (*heads[k], frozenset(items[k])) for k in heads}


def _key_of(text: str) -> str:
    match = re.search(r"Mã(?: thông báo)?: ([0-9a-f]{8})", text)
    assert match, text
    return match.group(1)


@pytest.mark.slow  # a simulation: every day of a quarter run against the real servers
def test_a_quarter_day_by_day(
    plan_db: Engine, settings: Settings, smtp: SmtpServer, zalo: ZaloServer
) -> None:
    day = date(2024, 1, 1)
    pending = list(SUBMISSIONS)
    while day <= date(2024, 3, 31):
        for hour in (8, 15):  # a second check later the same day must add nothing
            now = vn(day.year, day.month, day.day, hour)
            for key, at in [s for s in pending if s[1] <= now]:
                submit(plan_db, key, at)
                pending.remove((key, at))
            run_once(engine=plan_db, settings=settings, now=now)
        day += timedelta(days=1)

    sent = _sent_messages(plan_db)
    assert sorted(sent.values(), key=repr) == sorted(EXPECTED, key=repr)

    # On the wire: every message arrived exactly once, at the right address, with its key.
    with transaction(plan_db) as session:
        address = {m.key: m.address for m in session.scalars(select(OutboxMessage))}
    mails = Counter((m.rcpt_tos, m.message_id) for m in smtp.received())
    assert all(n == 1 for n in mails.values())
    assert set(mails) == {
        ((address[k],), f"<{k}@ubnd-thu.example>") for k, v in sent.items() if v[2] == E
    }
    oa = Counter(
        (r.body["recipient"]["user_id"], _key_of(r.body["message"]["text"]))
        for r in zalo.delivered("oa")
    )
    assert all(n == 1 for n in oa.values())
    assert set(oa) == {(address[k], k[:8]) for k, v in sent.items() if v[2] == OA}
    bot = Counter((r.body["chat_id"], _key_of(r.body["text"])) for r in zalo.delivered("bot"))
    assert set(bot) == {(address[k], k[:8]) for k, v in sent.items() if v[2] == BOT}
    assert all(n == 1 for n in bot.values())
    hooks = Counter(r.headers["idempotency-key"] for r in zalo.delivered("webhook"))
    assert hooks == Counter(k for k, v in sent.items() if v[2] == HOOK)

    # The OA token expired every other day and was refreshed; each refresh token was used once.
    refreshes = [r.body["refresh_token"] for r in zalo.delivered("refresh")]
    assert len(refreshes) >= 2 and len(set(refreshes)) == len(refreshes)
    assert not [r for r in zalo.state.refused if r.kind == "refresh"]
