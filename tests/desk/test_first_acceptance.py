"""Each item's stored first acceptance (the dashboard counts from it) follows its submissions.

Every check compares the item's column with the rule it sums up, the earliest receipt among
the item's accepted versions (models.queries.first_accepted_at), and the dashboard's SQL
cells with `status.states.item_states` read from the submissions themselves.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select, true

from access.actor import Actor
from intake.address import ItemAddress
from intake.store import SubmitRequest, submit
from models.access import Role
from models.calendar import load_calendar
from models.db import session_factory, transaction
from models.items import DueItem
from models.queries import first_accepted_at
from plan_sync.sync import load_plan
from plans.loader import read_plan
from status.dashboard import DeskFilter, Source, SourceKind, desk
from status.matrix import CellState, cell_state
from status.states import item_states
from submissions.content import RawSubmission
from tests.desk.conftest import NOW, PLAN, deadline, item_of

REPORT = Source(SourceKind.REPORT, "bao-cao-quy")
UNIT = Actor(role=Role.ADMIN, label="test:desk")


def _send(engine: Engine, tmp: Path, unit: str, period: str, at: datetime, jobs: int) -> None:
    """One accepted version through intake, as a channel stores it, received at `at`."""
    request = SubmitRequest(
        address=ItemAddress(unit=unit, source="bao-cao-quy", period=period),
        actor=UNIT,
        channel="api",
        raw=RawSubmission(values={"viec-lam": jobs}),
    )
    submit(session_factory(engine), request, now=at, data_dir=tmp, max_attachment_bytes=1024)


def _stored(engine: Engine, unit: str, period: str) -> datetime | None:
    return item_of(engine, unit, "bao-cao-quy", period).first_accepted_at


def _cells(engine: Engine) -> dict[int, CellState]:
    """Every live item's cell on the dashboard, after checking the column and the rule agree."""
    with session_factory(engine)() as session:
        items = session.execute(select(DueItem.id, DueItem.first_accepted_at)).all()
        summed = first_accepted_at([i for i, _ in items], session=session)
        assert {i: at for i, at in items if at is not None} == summed
        shown = desk(session, DeskFilter(REPORT, 2024), scope=true(), as_of=NOW)
        by_sql = {c.item_id: c.state for row in shown.rows for c in row.cells.values()}
        calendar = load_calendar(session=session)
        by_python = {
            s.item_id: cell_state(s)
            for s in item_states(session=session, as_of=NOW, calendar=calendar)
            if s.item_id in by_sql or s.source_code == REPORT.code
        }
        assert by_sql == by_python
        return by_sql


def test_a_late_first_version_stays_late_whatever_follows(province: Engine, tmp_path: Path) -> None:
    q2 = deadline(province, "xa-an-phu", "2024-Q2")
    item = item_of(province, "xa-an-phu", "bao-cao-quy", "2024-Q2").id
    assert _cells(province)[item] is CellState.OVERDUE
    _send(province, tmp_path, "xa-an-phu", "2024-Q2", q2 + timedelta(hours=2), 5)
    assert _stored(province, "xa-an-phu", "2024-Q2") == q2 + timedelta(hours=2)
    for hours, jobs in ((30, 6), (60, 7)):  # corrected versions, later
        _send(province, tmp_path, "xa-an-phu", "2024-Q2", q2 + timedelta(hours=hours), jobs)
    assert _stored(province, "xa-an-phu", "2024-Q2") == q2 + timedelta(hours=2)
    assert _cells(province)[item] is CellState.LATE
    # A paper report typed in afterwards, received before the first one stored: it counts.
    _send(province, tmp_path, "xa-an-phu", "2024-Q2", q2 - timedelta(hours=1), 4)
    assert _stored(province, "xa-an-phu", "2024-Q2") == q2 - timedelta(hours=1)
    assert _cells(province)[item] is CellState.ON_TIME


def test_a_resubmission_keeps_the_first_acceptance(province: Engine, tmp_path: Path) -> None:
    """xa-bac-son's Q2 is extended to 30/08: sent before that, it is on time, and versions
    sent afterwards, even past the extension, never move its first acceptance."""
    item = item_of(province, "xa-bac-son", "bao-cao-quy", "2024-Q2").id
    assert _cells(province)[item] is CellState.EXTENDED
    sent = NOW - timedelta(days=1)
    _send(province, tmp_path, "xa-bac-son", "2024-Q2", sent, 1)
    _send(province, tmp_path, "xa-bac-son", "2024-Q2", NOW - timedelta(hours=1), 2)
    assert _stored(province, "xa-bac-son", "2024-Q2") == sent
    assert _cells(province)[item] is CellState.ON_TIME
    _send(province, tmp_path, "xa-bac-son", "2024-Q2", NOW + timedelta(days=30), 3)
    assert _stored(province, "xa-bac-son", "2024-Q2") == sent
    assert _cells(province)[item] is CellState.ON_TIME


def test_a_withdrawn_item_leaves_the_counts_and_comes_back_as_it_was(
    province: Engine, tmp_path: Path
) -> None:
    """A plan reloaded without xa-dao withdraws its items; reloaded with it, they are back
    with their first acceptance (Q1 on time by its extension, Q2 late)."""
    q1 = item_of(province, "xa-dao", "bao-cao-quy", "2024-Q1")
    q2 = item_of(province, "xa-dao", "bao-cao-quy", "2024-Q2")
    before = _cells(province)
    assert (before[q1.id], before[q2.id]) == (CellState.ON_TIME, CellState.LATE)
    plan = PLAN.read_text(encoding="utf-8")
    without = plan.replace(
        "  - code: xa-dao\n    name: UBND xã Dao\n    kind: commune\n    parent: ubnd\n", ""
    )
    assert without != plan
    for name, content in (("without.yaml", without), ("again.yaml", plan)):
        (tmp_path / name).write_text(content, encoding="utf-8")
        with transaction(province) as session:
            load_plan(read_plan(tmp_path / name), session=session, now=NOW)
        if content is without:
            assert q1.id not in _cells(province) and q2.id not in _cells(province)
            assert item_of(province, "xa-dao", "bao-cao-quy", "2024-Q1").withdrawn_at is not None
    after = _cells(province)
    assert after == before
    assert q1.first_accepted_at is not None
    assert _stored(province, "xa-dao", "2024-Q1") == q1.first_accepted_at
