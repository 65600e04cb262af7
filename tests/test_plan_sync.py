"""Loading a plan into the database: items due, idempotency, edits in place."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pendulum
import pytest
from sqlalchemy import Engine, func, select

from access.actor import Actor
from models import AuditEvent, Deliverable, DueItem, Obligation, Submission, Unit
from models.access import Role
from models.calendar import CalendarOverrideRow, load_calendar
from models.db import transaction
from models.org import predecessors
from plan_sync.calendar import store_announcements
from plan_sync.sync import load_plan
from plans.announcements import parse_announcements
from plans.loader import parse_plan, read_plan

MINI = Path(__file__).parent / "data" / "mini-plan.yaml"
NOW = datetime(2024, 1, 5, 1, 0, tzinfo=UTC)
ADMIN = Actor(role=Role.ADMIN, label="cli:test")


def _load(engine: Engine, text: str) -> dict[str, int]:
    with transaction(engine) as session:
        counter = load_plan(parse_plan(text), session=session, now=NOW)
    return {o: counter.total(o) for o in ("created", "updated", "unchanged", "withdrawn")}


def _items(engine: Engine) -> dict[str, DueItem]:
    with transaction(engine) as session:
        return {i.key: i for i in session.scalars(select(DueItem))}


def test_monthly_items_follow_units_and_the_decree_09_window(engine: Engine) -> None:
    _load(engine, MINI.read_text(encoding="utf-8"))
    items = _items(engine)
    monthly = sorted(k for k in items if k.startswith("report:mini-2024:bao-cao-thang:"))
    # xa-mot reports every month; xa-hai was abolished on 30/6, so only up to the June cut-off.
    assert len([k for k in monthly if ":xa-mot:" in k]) == 12
    assert [k.rsplit(":", 1)[1] for k in monthly if ":xa-hai:" in k] == [
        f"2024-{m:02d}" for m in range(1, 7)
    ]
    february = items["report:mini-2024:bao-cao-thang:xa-mot:2024-02"]
    assert (february.window_start.isoformat(), february.window_end.isoformat()) == (
        "2024-01-15",
        "2024-02-14",
    )
    # Cut-off Wed 14/2 is in Tết; 2 working days after it: Thu 15/2, Fri 16/2.
    assert february.deadline_on.isoformat() == "2024-02-16"
    assert february.deadline_at == pendulum.datetime(2024, 2, 17, tz="Asia/Ho_Chi_Minh")
    # The one-off deliverable due Sat 10/2 (Tết) rolls to Thu 15/2, for each commune existing then.
    plan_of = items["deliverable:mini-2024:ke-hoach-xa:xa-hai"]
    assert plan_of.deadline_on.isoformat() == "2024-02-15"
    assert plan_of.deadline_at.tzinfo is not None


def test_loading_twice_changes_nothing(engine: Engine) -> None:
    text = MINI.read_text(encoding="utf-8")
    first = _load(engine, text)
    assert first["created"] > 0
    before = {k: (i.id, i.deadline_at) for k, i in _items(engine).items()}
    second = _load(engine, text)
    assert second["created"] == second["updated"] == second["withdrawn"] == 0
    assert {k: (i.id, i.deadline_at) for k, i in _items(engine).items()} == before


def test_an_edited_plan_updates_in_place_and_keeps_history(engine: Engine) -> None:
    text = MINI.read_text(encoding="utf-8")
    _load(engine, text)
    items = _items(engine)
    march = items["report:mini-2024:bao-cao-thang:xa-mot:2024-03"]
    with transaction(engine) as session:  # a unit has already reported on a deliverable
        session.add(
            Submission(
                item_id=items["deliverable:mini-2024:ke-hoach-xa:xa-mot"].id,
                version=1,
                receipt_no="BN-1",
                received_at=NOW,
                channel="cli",
                submitted_by="test",
                narrative={"Kết quả thực hiện": "Đã ban hành"},
                content_hash="x",
            )
        )
    edited = text.replace("{kind: working_days_after, n: 2}", "{kind: working_days_after, n: 5}")
    edited = edited.replace(
        "deliverables:\n  - code: ke-hoach-xa", "deliverables:\n  - code: ke-hoach-xa-moi"
    )
    counts = _load(engine, edited)
    assert counts["updated"] >= 12 and counts["withdrawn"] == 2
    after = _items(engine)
    assert after[march.key].id == march.id  # same row, new deadline
    assert after[march.key].deadline_on > march.deadline_on
    old = after["deliverable:mini-2024:ke-hoach-xa:xa-mot"]
    assert old.withdrawn_at is not None
    with transaction(engine) as session:
        assert session.scalar(select(func.count(Submission.id))) == 1
        assert session.scalar(select(func.count(Unit.id))) == 4
        assert session.scalar(select(func.count(Obligation.id))) == 1


def test_reloading_the_plan_keeps_ad_hoc_request_items(engine: Engine) -> None:
    text = MINI.read_text(encoding="utf-8")
    _load(engine, text)
    with transaction(engine) as session:
        template = session.scalars(select(DueItem).order_by(DueItem.id)).first()
        assert template is not None
        session.add(
            DueItem(
                key="request:1:xa-mot",
                plan_id=template.plan_id,
                kind="report",
                unit_id=template.unit_id,
                period_label="YC-1",
                window_start=template.window_start,
                window_end=template.window_end,
                deadline_on=template.deadline_on,
                deadline_at=template.deadline_at,
                opens_at=template.opens_at,
            )
        )
    counts = _load(engine, text)
    assert counts["withdrawn"] == 0
    assert _items(engine)["request:1:xa-mot"].withdrawn_at is None


PLANS = Path(__file__).parent / "data" / "plans"
NEW_YEAR_2026 = datetime(2025, 12, 29, 2, 0, tzinfo=UTC)


def _load_file(engine: Engine, name: str) -> None:
    with transaction(engine) as session:
        load_plan(read_plan(PLANS / name), session=session, now=NEW_YEAR_2026)


def test_the_national_calendar_comes_with_any_plan(engine: Engine) -> None:
    """The 2026 New Year swap is the country's: loading a 2025 commune plan stores it too."""
    _load_file(engine, "commune-2025-reform.yaml")
    with transaction(engine) as session:
        calendar = load_calendar(session=session)
        days = {d.day: d for d in calendar.days(2026)}
        assert not calendar.is_working_day(date(2026, 1, 2))
        assert calendar.is_working_day(date(2026, 1, 10))
        assert days[date(2026, 1, 2)].source == "announcement"
        assert "lịch nghỉ lễ, Tết năm 2026" in days[date(2026, 1, 2)].basis
        assert days[date(2026, 2, 17)].source == "law"
        # Part of dondoc, like the holidays package: no person's act to audit.
        assert session.scalar(select(func.count(AuditEvent.id))) == 0
    _load_file(engine, "province-department.yaml")  # stored once, not per plan
    with transaction(engine) as session:
        rows = session.scalars(select(CalendarOverrideRow)).all()
        assert [(r.day, r.announcement.code if r.announcement else None) for r in rows] == [
            (date(2026, 1, 2), "le-tet-2026-tet-duong-lich"),
            (date(2026, 1, 10), "le-tet-2026-tet-duong-lich"),
        ]


def test_a_provincial_plan_stores_spans_recipients_and_weekly_items(engine: Engine) -> None:
    _load_file(engine, "province-department.yaml")
    items = _items(engine)
    week1 = items["report:ha-tinh-2026-dich-benh:bc-tuan-dich-benh:chi-cuc-cnty:2026-W01"]
    assert week1.deadline_on == date(2026, 1, 5)  # Fri 02/01/2026 is swapped off
    assert week1.deadline_at == pendulum.datetime(2026, 1, 5, 15, tz="Asia/Ho_Chi_Minh")
    with transaction(engine) as session:
        yearly = session.scalars(select(Obligation).where(Obligation.code == "bc-nam")).one()
        assert [r.unit.code for r in yearly.recipients] == ["ubnd-tinh-ha-tinh", "bo-nnmt"]
        assert yearly.recipient_unit.code == "ubnd-tinh-ha-tinh"
        campaign = session.scalars(
            select(Obligation).where(Obligation.code == "bc-thang-tiem-dot-1")
        ).one()
        assert (campaign.starts_on, campaign.ends_on) == (date(2026, 3, 1), date(2026, 5, 31))
        plans = session.scalars(select(Deliverable)).one()
        assert plans.starts_on == date(2026, 7, 1)


def test_a_merged_communes_predecessors(engine: Engine) -> None:
    _load_file(engine, "commune-2025-reform.yaml")
    with transaction(engine) as session:
        by_code = {u.code: u for u in session.scalars(select(Unit))}
        assert [u.code for u in predecessors(by_code["xa-hoa-binh"].id, session=session)] == [
            "tt-dong-mau",
            "xa-dong",
            "xa-tay",
        ]
        assert [u.code for u in predecessors(by_code["xa-bac-son"].id, session=session)] == [
            "xa-bac"
        ]
        assert predecessors(by_code["xa-dong"].id, session=session) == []


EXTRA_DAY_OFF = """\
announcements:
- code: nghi-09-01-2026
  title: Thông báo nghỉ bù (mẫu kiểm thử)
  days:
  - date: {day}
    kind: day_off
    reason: Ngày nghỉ mẫu để kiểm thử
"""


@pytest.mark.parametrize(
    ("day", "week2", "week3", "moved"),
    [
        # Saturday 10/01/2026 is the make-up day of the New Year swap: a working day.
        ("2026-01-09", date(2026, 1, 10), date(2026, 1, 16), 1),
        # Also the three communes' January report, due 16/01: 19/01.
        ("2026-01-16", date(2026, 1, 9), date(2026, 1, 19), 4),
    ],
)
def test_an_announcement_moves_stored_deadlines_and_is_audited(
    engine: Engine, day: str, week2: date, week3: date, moved: int
) -> None:
    _load_file(engine, "province-department.yaml")
    key = "report:ha-tinh-2026-dich-benh:bc-tuan-dich-benh:chi-cuc-cnty:2026-W0"
    announced = parse_announcements(EXTRA_DAY_OFF.format(day=day))
    with transaction(engine) as session:
        change = store_announcements(
            announced, session=session, source="test", actor=ADMIN, now=NEW_YEAR_2026
        )
    assert change.added == [date.fromisoformat(day)] and change.items_moved == moved
    items = _items(engine)
    assert (items[key + "2"].deadline_on, items[key + "3"].deadline_on) == (week2, week3)
    with transaction(engine) as session:  # the same file again changes nothing
        again = store_announcements(
            announced, session=session, source="test", actor=ADMIN, now=NEW_YEAR_2026
        )
        assert not again.any
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.object_id == "nghi-09-01-2026")
        ).all()
        assert [(e.actor, e.details["added"]) for e in audit] == [("cli:test", [day])]


def test_a_corrected_announcement_replaces_its_days(engine: Engine) -> None:
    _load_file(engine, "province-department.yaml")
    key = "report:ha-tinh-2026-dich-benh:bc-tuan-dich-benh:chi-cuc-cnty:2026-W0"
    for day in ("2026-01-09", "2026-01-16"):
        with transaction(engine) as session:
            store_announcements(
                parse_announcements(EXTRA_DAY_OFF.format(day=day)),
                session=session,
                source="test",
                actor=ADMIN,
                now=NEW_YEAR_2026,
            )
    items = _items(engine)
    # 09/01 is a working day again; 16/01 is off.
    assert (items[key + "2"].deadline_on, items[key + "3"].deadline_on) == (
        date(2026, 1, 9),
        date(2026, 1, 19),
    )
