"""The daily check stops chasing a period once it is closed (its plan's year report compiled,
or the period locked) or long past its deadline; the pages still say it is late."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from access.actor import Actor
from intake.locks import lock_period
from models.access import Role
from models.calendar import load_calendar
from models.db import transaction
from models.items import DueItem
from models.outbox import OutboxIntent, OutboxMessage
from models.plan import Plan
from notifications.daily_check import decide_and_record
from notifications.deciding import decide
from plan_sync.sync import load_plan
from plans import CAO_LOC_2024
from plans.loader import parse_plan, read_plan
from settings import EscalationSettings, Settings, SmtpSettings
from status.states import ItemStatus, item_states
from tests.support.escalation import PLAN, vn

TODAY = vn(2026, 12, 3, 8, 0)  # a Thursday morning, Asia/Ho_Chi_Minh
ADMIN = Actor(role=Role.ADMIN, label="cli:test")
# The escalation test plan moved to 2026; its deliverable fell due yesterday and is chased
# from the first working day after (a one-day overdue rung).
PLAN_2026 = (
    PLAN.read_text(encoding="utf-8")
    .replace("code: esc-2024", "code: esc-2026")
    .replace("year: 2024", "year: 2026")
    .replace("due_on: 2024-02-10", "due_on: 2026-12-02")
    .replace("{code: qua-han-2, offset: 2,", "{code: qua-han-1, offset: 1,")
)


def _settings(engine: Engine, **escalation: int) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=engine.url.render_as_string(hide_password=False),
        smtp=SmtpSettings(host="127.0.0.1"),  # e-mail enabled; nothing is delivered here
        escalation=EscalationSettings(**escalation),
    )


def _load_both(engine: Engine) -> None:
    with transaction(engine) as session:
        load_plan(read_plan(CAO_LOC_2024), session=session, now=vn(2024, 1, 2))
        load_plan(parse_plan(PLAN_2026), session=session, now=vn(2026, 1, 5))


def _chased_plans(engine: Engine) -> dict[str, set[str]]:
    """The plan of every item the outbox holds an intent for: plan code -> item keys."""
    with transaction(engine) as session:
        rows = session.execute(
            select(Plan.code, DueItem.key)
            .join(DueItem, DueItem.plan_id == Plan.id)
            .join(OutboxIntent, OutboxIntent.item_id == DueItem.id)
        )
        out: dict[str, set[str]] = {}
        for code, key in rows:
            out.setdefault(code, set()).add(key)
        return out


def test_the_2024_plan_is_not_chased_in_2026_but_a_2026_item_is(engine: Engine) -> None:
    _load_both(engine)
    with transaction(engine) as session:  # the sample does chase in its own year
        calendar = load_calendar(session=session)
        in_2024 = decide(
            session=session, now=vn(2024, 12, 3), calendar=calendar, channels=["email"]
        )
        session.rollback()
    assert len(in_2024.drafts) > 50

    decided = decide_and_record(engine=engine, settings=_settings(engine), now=TODAY)

    assert decided.sending and decided.recorded is not None
    chased = _chased_plans(engine)
    assert set(chased) == {"esc-2026"}  # nothing of 2024: no intent, no message
    assert {
        "deliverable:esc-2026:ke-hoach-xa:xa-mot",
        "deliverable:esc-2026:ke-hoach-xa:xa-hai",
    } <= chased["esc-2026"]
    assert not [u for u in decided.recorded.decision.unreachable if ":cao-loc-2024:" in u.item_key]
    with transaction(engine) as session:
        messages = session.scalars(select(OutboxMessage)).all()
        assert messages and all("2024" not in (m.subject or "") for m in messages)
        # Still late on the pages: the 2024 items owed are overdue, just not chased.
        old = session.scalars(
            select(DueItem.id).where(DueItem.key.like("report:cao-loc-2024-ldtbxh:%"))
        ).all()
        states = item_states(session=session, as_of=TODAY, calendar=calendar, item_ids=old)
        assert {s.status for s in states} == {ItemStatus.OVERDUE}


def test_a_locked_period_and_an_old_deadline_are_not_chased(engine: Engine) -> None:
    with transaction(engine) as session:
        load_plan(parse_plan(PLAN_2026), session=session, now=vn(2026, 1, 5))
    with transaction(engine) as session:
        lock_period(session=session, source="ke-hoach-xa", period=None, actor=ADMIN, now=TODAY)
    settings = _settings(engine, chase_working_days=40)
    decide_and_record(engine=engine, settings=settings, now=TODAY)
    chased = _chased_plans(engine).get("esc-2026", set())
    assert not [k for k in chased if k.startswith("deliverable:")]  # locked: not chased
    # Q3 fell due 55 working days ago: beyond 40, not chased; Q2 neither.
    assert not [k for k in chased if k.endswith(("2026-Q3", "2026-Q2"))]

    later = _settings(engine, chase_working_days=60)
    decide_and_record(engine=engine, settings=later, now=TODAY + timedelta(minutes=5))
    chased = _chased_plans(engine)["esc-2026"]
    assert {k for k in chased if k.endswith("2026-Q3")}  # within 60 working days: chased
    assert not [k for k in chased if k.endswith("2026-Q2")]  # 119 working days back


def test_a_plan_is_not_chased_once_its_year_report_is_compiled(engine: Engine) -> None:
    """The sample's year report is compiled on 19/12/2024; December's reports fell due on
    17-18/12, well within the age limit: the compiled year closes them all the same."""
    with transaction(engine) as session:
        load_plan(read_plan(CAO_LOC_2024), session=session, now=vn(2024, 1, 2))
    with transaction(engine) as session:
        calendar = load_calendar(session=session)
        on_the_day = decide(
            session=session, now=vn(2024, 12, 19), calendar=calendar, channels=["email"]
        )
        after = decide(session=session, now=vn(2024, 12, 20), calendar=calendar, channels=["email"])
        session.rollback()
    assert on_the_day.drafts
    assert after.drafts == [] and after.unreachable == []


def test_messages_queued_for_a_period_now_closed_are_cancelled(engine: Engine) -> None:
    """Decided on the year report's day and not sent (say the mail server was down): the next
    day the year is over, and those messages are cancelled, saying why."""
    with transaction(engine) as session:
        load_plan(read_plan(CAO_LOC_2024), session=session, now=vn(2024, 1, 2))
    settings = _settings(engine)
    decide_and_record(engine=engine, settings=settings, now=vn(2024, 12, 19))
    with transaction(engine) as session:
        queued = session.scalars(select(OutboxIntent)).all()
        assert queued and {i.status for i in queued} == {"pending"}

    again = decide_and_record(engine=engine, settings=settings, now=vn(2024, 12, 20))

    assert again.recorded is not None and again.recorded.message_ids == []
    with transaction(engine) as session:
        intents = session.scalars(select(OutboxIntent)).all()
        assert {(i.status, i.note) for i in intents} == {
            ("cancelled", "Không còn đôn đốc: kỳ báo cáo đã đóng hoặc đã quá hạn quá lâu")
        }
        assert {m.status for m in session.scalars(select(OutboxMessage))} == {"cancelled"}
