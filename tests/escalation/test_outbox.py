"""The outbox: idempotent decisions, retries with backoff, cancellation, never a double send."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, datetime

import pytest
from sqlalchemy import Engine, delete, func, select

from demo.sinks import SmtpServer, ZaloServer
from models.calendar import load_calendar
from models.db import transaction
from models.items import DueItem
from models.org import Person
from models.outbox import OutboxIntent, OutboxMessage, OutboxStatus
from models.reliefs import ReliefKind
from notifications.daily_check import run_once
from notifications.deciding import decide
from notifications.delivering import give_up_cutoff, retry_at
from notifications.outbox import cancel_intents, requeue
from settings import Settings
from status.states import grant_relief
from tests.support.escalation import (
    deliver_now,
    item_id,
    message_to,
    outbox_messages,
    record_now,
    submit,
    vn,
)

MARCH_13 = vn(2024, 3, 13)
Q1_XA_HAI = "report:esc-2024:bao-cao-quy:xa-hai:2024-Q1"
Q1_XA_MOT = "report:esc-2024:bao-cao-quy:xa-mot:2024-Q1"


def _count(engine: Engine, model: type) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_deciding_again_records_nothing_new(plan_db: Engine, settings: Settings) -> None:
    first = record_now(plan_db, settings, MARCH_13)
    assert first.decision.drafts and first.message_ids
    intents, messages = _count(plan_db, OutboxIntent), _count(plan_db, OutboxMessage)
    again = record_now(plan_db, settings, vn(2024, 3, 13, 14))
    assert again.decision.drafts == [] and again.message_ids == []
    assert (_count(plan_db, OutboxIntent), _count(plan_db, OutboxMessage)) == (intents, messages)


def test_one_digest_per_recipient_and_channel(plan_db: Engine, settings: Settings) -> None:
    recorded = record_now(plan_db, settings, MARCH_13)
    keys = Counter((d.recipient_key, d.channel) for d in recorded.decision.drafts)
    assert len(recorded.message_ids) == len(keys)
    officer = message_to(plan_db, "can-bo@xa-hai.example", "email")
    with transaction(plan_db) as session:
        steps = set(
            session.scalars(
                select(OutboxIntent.step_code).where(OutboxIntent.message_id == officer.id)
            )
        )
    assert steps == {"remind-3", "qua-han-2"}  # two items, one message


def test_smtp_down_for_a_run_is_delivered_later_and_none_lost(
    plan_db: Engine, settings: Settings, smtp: SmtpServer, zalo: ZaloServer
) -> None:
    smtp.stop()
    report = run_once(engine=plan_db, settings=settings, now=MARCH_13)
    email, *others = report.deliveries
    assert email.sent == [] and email.stopped and "SMTP" in email.stopped
    assert all(not d.failed for d in others)  # the other channels are not held up
    down = [m for m in outbox_messages(plan_db) if m.channel == "email"]
    assert len(down) == 5  # 2 officers, 2 commune heads, the task's leader
    # Only the first was tried (the connection was refused); the others wait with it,
    # without an attempt counted against them.
    assert [m.attempts for m in down] == [1, 0, 0, 0, 0]
    for m in down:
        assert m.status == OutboxStatus.FAILED
        assert m.last_error and "Không kết nối được máy chủ thư (SMTP)" in m.last_error
        assert m.next_attempt_at == vn(2024, 3, 13, 8, 10)

    smtp.start()
    assert deliver_now(plan_db, settings, "email", vn(2024, 3, 13, 8, 5)).sent == []  # not due
    later = deliver_now(plan_db, settings, "email", vn(2024, 3, 13, 8, 10))
    assert len(later.sent) == 5
    admin = ("quan-tri@ubnd-thu.example",)
    received = Counter(m.message_id for m in smtp.received() if m.rcpt_tos != admin)
    assert received == Counter(f"<{m.key}@ubnd-thu.example>" for m in down)
    assert {m.status for m in outbox_messages(plan_db)} == {OutboxStatus.SENT}
    [alert] = [m for m in smtp.received() if m.rcpt_tos == admin]  # once, when mail flows again
    assert alert.message["Subject"] == "[dondoc] Kênh gửi thông báo gián đoạn: Thư điện tử"


def test_backoff_doubles_up_to_the_limit(settings: Settings) -> None:
    policy = settings.escalation  # base 600 s, at most 6 hours
    assert [retry_at(n, MARCH_13, policy) for n in (1, 2, 3, 7, 20)] == [
        vn(2024, 3, 13, 8, 10),
        vn(2024, 3, 13, 8, 20),
        vn(2024, 3, 13, 8, 40),
        vn(2024, 3, 13, 14, 0),
        vn(2024, 3, 13, 14, 0),
    ]


def test_a_submission_cancels_what_was_not_yet_sent(
    plan_db: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    smtp.stop()
    record_now(plan_db, settings, MARCH_13)
    deliver_now(plan_db, settings, "email", MARCH_13)
    submit(plan_db, Q1_XA_HAI, vn(2024, 3, 13, 9))  # xa-hai reports before the retry
    smtp.start()
    deliver_now(plan_db, settings, "email", vn(2024, 3, 13, 10))

    # xa-hai's officer still gets the overdue deliverable, but not the Q1 reminder any more.
    officer = message_to(plan_db, "can-bo@xa-hai.example", "email")
    [mail] = [m for m in smtp.received() if m.rcpt_tos == ("can-bo@xa-hai.example",)]
    assert officer.status == OutboxStatus.SENT
    assert "Kế hoạch giảm nghèo của xã" in mail.text
    assert "Báo cáo kết quả giảm nghèo quý" not in mail.text
    with transaction(plan_db) as session:
        cancelled = session.execute(
            select(OutboxIntent.channel, OutboxIntent.note).where(
                OutboxIntent.item_id == item_id(plan_db, Q1_XA_HAI)
            )
        ).all()
    assert set(cancelled) == {  # e-mail (at its delivery), and the rest at the next decision
        ("email", "Đơn vị đã gửi"),
        ("zalo_oa", None),
        ("webhook", None),
    }
    record_now(plan_db, settings, vn(2024, 3, 13, 11))
    with transaction(plan_db) as session:
        notes = set(
            session.scalars(
                select(OutboxIntent.note).where(OutboxIntent.item_id == item_id(plan_db, Q1_XA_HAI))
            )
        )
    assert notes == {"Đơn vị đã gửi"}
    # xa-mot did not submit: its reminder went out as decided.
    [mot] = [m for m in smtp.received() if m.rcpt_tos == ("can-bo@xa-mot.example",)]
    assert "Báo cáo kết quả giảm nghèo quý" in mot.text


def test_cancelling_an_items_intents_closes_digests_left_empty(
    plan_db: Engine, settings: Settings
) -> None:
    for unit in ("xa-mot", "xa-hai"):  # deliverables done: only the Q1 reports are owed
        submit(plan_db, f"deliverable:esc-2024:ke-hoach-xa:{unit}", vn(2024, 2, 14))
    record_now(plan_db, settings, vn(2024, 3, 18))  # remind-0: one item per officer's message
    mot = item_id(plan_db, Q1_XA_MOT)
    with transaction(plan_db) as session:
        cancel_intents(
            session=session,
            intent_ids=session.scalars(select(OutboxIntent.id).where(OutboxIntent.item_id == mot)),
            now=vn(2024, 3, 18, 9),
            reason="Đơn vị đã gửi",
        )
    message = message_to(plan_db, "can-bo@xa-mot.example", "email")
    assert message.status == OutboxStatus.CANCELLED
    assert message_to(plan_db, "can-bo@xa-hai.example", "email").status == OutboxStatus.PENDING


def test_after_three_working_days_a_message_is_dead_shown_and_can_be_requeued(
    plan_db: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    smtp.stop()
    record_now(plan_db, settings, MARCH_13)  # Wednesday
    # Tried Thursday, Friday and Monday (the weekend does not count) however often...
    for day, hour in ((13, 8), (13, 16), (14, 9), (15, 16), (18, 16)):
        report = deliver_now(plan_db, settings, "email", vn(2024, 3, day, hour))
        assert report.dead == []
    # ...given up on Tuesday, the fourth working day after it was queued, without a try.
    report = deliver_now(plan_db, settings, "email", vn(2024, 3, 19, 8))
    dead = [m for m in outbox_messages(plan_db) if m.channel == "email"]
    assert sorted(report.dead) == sorted(m.key for m in dead) and len(dead) == 5
    assert {(m.status, m.next_attempt_at) for m in dead} == {(OutboxStatus.DEAD, None)}
    assert all(
        (m.last_error or "").startswith("Đã dừng gửi: quá 3 ngày làm việc vẫn chưa gửi được")
        and "Không kết nối được máy chủ thư (SMTP)" in (m.last_error or "")
        for m in dead
    )
    assert max(m.attempts for m in dead) == 5 and min(m.attempts for m in dead) == 0
    with transaction(plan_db) as session:
        statuses = set(
            session.scalars(select(OutboxIntent.status).where(OutboxIntent.channel == "email"))
        )
    assert statuses == {OutboxStatus.DEAD}
    assert deliver_now(plan_db, settings, "email", vn(2024, 3, 19, 9)).sent == []  # given up

    smtp.start()
    with transaction(plan_db) as session:  # the admin requeues them: a new give-up clock
        keys = requeue(
            session=session, where=[OutboxMessage.channel == "email"], now=vn(2024, 3, 19, 9)
        )
    assert sorted(keys) == sorted(m.key for m in dead)
    assert len(deliver_now(plan_db, settings, "email", vn(2024, 3, 19, 10)).sent) == 5


def test_an_extension_restarts_the_ladder_for_the_new_deadline(
    plan_db: Engine, settings: Settings
) -> None:
    run_once(engine=plan_db, settings=settings, now=vn(2024, 3, 18))  # remind-0 sent
    with transaction(plan_db) as session:
        item = session.scalars(select(DueItem).where(DueItem.key == Q1_XA_HAI)).one()
        grant_relief(
            session=session,
            item=item,
            kind=ReliefKind.EXTENSION,
            reason="Xã Hai xin gia hạn vì mưa lũ",
            granted_by="admin",
            now=vn(2024, 3, 18, 10),
            calendar=load_calendar(session=session),
            until=date(2024, 3, 22),
        )
    hai = item_id(plan_db, Q1_XA_HAI)

    def steps(now_day: int) -> set[tuple[str, date]]:
        recorded = record_now(plan_db, settings, vn(2024, 3, now_day))
        return {(d.step_code, d.deadline_on) for d in recorded.decision.drafts if d.item_id == hai}

    assert steps(19) == {("remind-3", date(2024, 3, 22))}  # 3 working days before Fri 22/03
    assert steps(22) == {("remind-0", date(2024, 3, 22))}
    assert steps(25) == {("overdue-1", date(2024, 3, 22))}


def test_nothing_goes_out_outside_working_hours(
    plan_db: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    for now in (vn(2024, 3, 13, 7, 0), vn(2024, 3, 13, 17, 0), vn(2024, 3, 16, 9, 0)):
        report = run_once(engine=plan_db, settings=settings, now=now)
        assert not report.sending
    assert _count(plan_db, OutboxMessage) == 0 and smtp.received() == []


def test_two_deliverers_at_once_send_each_message_once(
    plan_db: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    record_now(plan_db, settings, vn(2024, 3, 19))
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        deliver_now(plan_db, settings, "email", vn(2024, 3, 19))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    emails = [m for m in outbox_messages(plan_db) if m.channel == "email"]
    assert {m.status for m in emails} == {OutboxStatus.SENT}
    assert Counter(m.message_id for m in smtp.received()) == Counter(
        f"<{m.key}@ubnd-thu.example>" for m in emails
    )


def test_a_step_nobody_can_receive_is_reported(plan_db: Engine, settings: Settings) -> None:
    with transaction(plan_db) as session:
        session.execute(delete(Person).where(Person.code == "xa-hai.can-bo"))
        calendar = load_calendar(session=session)
        decision = decide(
            session=session, now=MARCH_13, calendar=calendar, channels=["email"], webhooks=[]
        )
    gaps = {(g.unit_name, g.step_code, g.audience, g.why) for g in decision.unreachable}
    assert gaps == {
        ("UBND xã Hai", "remind-3", "reporting_officer", "no_person"),
        ("UBND xã Hai", "qua-han-2", "reporting_officer", "no_person"),
    }


def test_two_decisions_at_once_record_each_intent_once(plan_db: Engine, settings: Settings) -> None:
    with transaction(plan_db) as session:
        expected = decide(
            session=session,
            now=MARCH_13,
            calendar=load_calendar(session=session),
            channels=["email", "zalo_oa", "zalo_bot"],
            webhooks=["so"],
        )
    barrier = threading.Barrier(2)
    results = []

    def worker() -> None:
        barrier.wait()
        results.append(record_now(plan_db, settings, MARCH_13))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One decision recorded everything; the other found it there (deciding again after a
    # unique-key conflict, or seeing it committed) and recorded nothing.
    assert sorted(len(r.decision.drafts) for r in results) == [0, len(expected.drafts)]
    assert _count(plan_db, OutboxIntent) == len(expected.drafts)
    with transaction(plan_db) as session:
        empty = session.scalars(
            select(OutboxMessage.id).where(
                ~select(OutboxIntent.id).where(OutboxIntent.message_id == OutboxMessage.id).exists()
            )
        ).all()
    assert empty == []
    assert _count(plan_db, OutboxMessage) == sum(len(r.message_ids) for r in results)


@pytest.mark.parametrize(
    ("queued", "now", "given_up"),
    [
        # Queued Wednesday: tried Thursday, Friday and Monday; given up on Tuesday.
        (vn(2024, 3, 13, 8), vn(2024, 3, 18, 16, 59), False),
        (vn(2024, 3, 13, 8), vn(2024, 3, 19, 7, 30), True),
        (vn(2024, 3, 13, 16, 59), vn(2024, 3, 19, 7, 30), True),  # the day counts, not the hour
        (vn(2024, 3, 14, 8), vn(2024, 3, 19, 16, 59), False),
        # Requeued by the admin on a Saturday: Monday, Tuesday, Wednesday; given up Thursday.
        (vn(2024, 3, 16, 10), vn(2024, 3, 20, 16), False),
        (vn(2024, 3, 16, 10), vn(2024, 3, 21, 8), True),
    ],
)
def test_a_message_is_given_up_after_three_working_days(
    plan_db: Engine, settings: Settings, queued: datetime, now: datetime, given_up: bool
) -> None:
    with transaction(plan_db) as session:
        calendar = load_calendar(session=session)
    assert (queued < give_up_cutoff(now, calendar, settings.escalation)) is given_up
