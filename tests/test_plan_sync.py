"""Loading a plan into the database: items due, idempotency, edits in place."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pendulum
from sqlalchemy import Engine, func, select

from models import DueItem, Obligation, Submission, Unit
from models.db import transaction
from plan_sync.sync import load_plan
from plans.loader import parse_plan

MINI = Path(__file__).parent / "data" / "mini-plan.yaml"
NOW = datetime(2024, 1, 5, 1, 0, tzinfo=UTC)


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
