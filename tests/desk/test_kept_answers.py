"""The dashboard's kept answers are never stale: after any write, by any path, and as the
clock passes a deadline, the next click shows what a fresh count shows.

Each write below is made the way the program that makes it makes it (intake's submit, the
office's extend and exempt, a plan reload, a hand-written SQL statement), on both databases;
the database's triggers (migration 0010) are what tells the dashboard.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text, true, update

from access.actor import Actor
from intake.address import ItemAddress
from intake.reliefs import exempt_item, extend_deadline
from intake.store import SubmitRequest, submit
from models.access import Role
from models.calendar import load_calendar
from models.db import session_factory, transaction
from models.items import DueItem
from models.org import Unit
from models.plan import Obligation
from models.reliefs import ItemRelief
from status.dashboard import Desk, DeskFilter, Source, SourceKind, desk
from status.desk_filters import parent_units, source_options, unit_kinds, year_options
from status.kept import Held, Kept
from status.matrix import CellState
from submissions.content import RawSubmission
from tests.desk.conftest import NOW, item_of

REPORT = Source(SourceKind.REPORT, "bao-cao-quy")
OFFICE = Actor(role=Role.ADMIN, label="test:kept")
FILTERS = [
    DeskFilter(REPORT, 2024),
    DeskFilter(REPORT, 2024, period="2024-Q2"),
    DeskFilter(REPORT, 2024, state=CellState.OVERDUE),
    DeskFilter(REPORT, 2024, period="2024-Q3", state=CellState.NOT_DUE),
    DeskFilter(REPORT, 2024, kind="commune"),
    DeskFilter(REPORT, 2024, parent="phong-a"),
    DeskFilter(REPORT, 2024, search="dong"),
    DeskFilter(Source(SourceKind.DELIVERABLE, "ke-hoach-xa"), 2024),
    DeskFilter(Source(SourceKind.TASK, "nv-giam-ngheo"), 2024),
]


def _look(engine: Engine, kept: Kept | None, as_of: datetime = NOW) -> list[Any]:
    """Everything the office's dashboard shows for every filter, with `kept` or fresh."""
    with session_factory(engine)() as session:
        scope = true()
        seen: list[Any] = [
            source_options(session, scope=scope, kept=kept),
            year_options(session, REPORT, scope=scope, kept=kept),
            unit_kinds(session, scope=scope, kept=kept),
            parent_units(session, scope=scope, kept=kept),
        ]
        seen += [desk(session, f, scope=scope, as_of=as_of, kept=kept) for f in FILTERS]
        return seen


def _submitted(engine: Engine, tmp: Path) -> None:
    request = SubmitRequest(
        address=ItemAddress(unit="xa-an-phu", source="bao-cao-quy", period="2024-Q2"),
        actor=OFFICE,
        channel="api",
        raw=RawSubmission(values={"viec-lam": 5}),
    )
    submit(session_factory(engine), request, now=NOW, data_dir=tmp, max_attachment_bytes=1024)


def _relieved(engine: Engine, grant: Callable[..., ItemRelief], **extra: Any) -> None:
    item = item_of(engine, "tt-dong-anh", "bao-cao-quy", "2024-Q3")
    with transaction(engine) as session:
        grant(
            session.get(DueItem, item.id),
            reason="Thử nghiệm",
            session=session,
            actor=OFFICE,
            now=NOW,
            calendar=load_calendar(session=session),
            **extra,
        )


def _sql(statement: str, **params: Any) -> Callable[[Engine, Path], None]:
    def write(engine: Engine, _: Path) -> None:
        with engine.begin() as conn:
            conn.execute(text(statement), params)

    return write


def _orm(statement: Any) -> Callable[[Engine, Path], None]:
    def write(engine: Engine, _: Path) -> None:
        with transaction(engine) as session:
            session.execute(statement)

    return write


WRITES: dict[str, Callable[[Engine, Path], None]] = {
    "a submission through intake": _submitted,
    "an extension by the office": lambda e, _: _relieved(
        e, extend_deadline, until=date(2024, 12, 31)
    ),
    "an exemption by the office": lambda e, _: _relieved(e, exempt_item),
    "a relief deleted by hand": _sql("DELETE FROM item_reliefs"),
    "a unit renamed": _orm(
        update(Unit).where(Unit.code == "xa-dao").values(name="UBND xã Đông Đào")
    ),
    "a unit moved under another": _orm(
        update(Unit)
        .where(Unit.code == "xa-dong")
        .values(parent_id=select(Unit.id).where(Unit.code == "phong-a").scalar_subquery())
    ),
    "a unit's kind changed": _orm(update(Unit).where(Unit.code == "xa-an-phu").values(kind="town")),
    "a report retitled": _orm(update(Obligation).values(title="Báo cáo quý (sửa)")),
    "an item withdrawn by hand": _sql(
        "UPDATE due_items SET withdrawn_at = deadline_at WHERE period_label = '2024-Q4'"
    ),
    "a deadline moved": _orm(
        update(DueItem)
        .where(DueItem.period_label == "2024-Q3")
        .values(deadline_at=NOW - timedelta(days=1))
    ),
    "a first acceptance written": _orm(
        update(DueItem)
        .where(DueItem.period_label == "2024-Q3")
        .values(first_accepted_at=NOW - timedelta(days=1))
    ),
    "an item deleted by hand": _sql(
        "DELETE FROM due_items WHERE period_label = '2024-Q3'"
        " AND id NOT IN (SELECT item_id FROM submissions)"
        " AND id NOT IN (SELECT item_id FROM item_reliefs)"
        " AND id NOT IN (SELECT item_id FROM outbox_intents WHERE item_id IS NOT NULL)"
    ),
}


def test_the_next_click_after_any_write_shows_what_a_fresh_count_shows(
    province: Engine, tmp_path: Path
) -> None:
    kept = Kept()
    before = _look(province, kept)
    assert _look(province, kept) == before == _look(province, None)
    for write, make in WRITES.items():  # one after another, on the same kept answers
        make(province, tmp_path)
        after = _look(province, None)
        assert after != before, f"{write}: the write changes what the office sees"
        assert _look(province, kept) == after, write
        before = after


def test_a_click_with_nothing_changed_counts_nothing_again(province: Engine) -> None:
    kept = Kept()
    with _statements(province) as first:
        _look(province, kept)
    with _statements(province) as second:
        shown = _look(province, kept)
    assert any("count(*)" in s for s, _ in first)
    assert not any("count(*)" in s or "EXISTS" in s for s, _ in second), second
    assert shown == _look(province, None)


def test_after_a_submission_only_its_period_is_counted_again(
    province: Engine, tmp_path: Path
) -> None:
    kept = Kept()
    _look(province, kept)
    _submitted(province, tmp_path)
    with _statements(province) as counted, session_factory(province)() as session:
        desk(session, FILTERS[0], scope=true(), as_of=NOW, kept=kept)
    [(_, params)] = [(s, p) for s, p in counted if "count(*)" in s]
    assert "2024-Q2" in str(params) and "2024-Q1" not in str(params)


@contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements, with their parameters, run on `engine` inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        seen.append((args[2], args[3]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _cell(shown: Desk, unit: str, period: str) -> CellState:
    return next(r.cells[period].state for r in shown.rows if r.code == unit)


def test_a_deadline_passing_turns_a_kept_cell_overdue(province: Engine) -> None:
    q3 = item_of(province, "xa-an-phu", "bao-cao-quy", "2024-Q3").deadline_at
    kept = Kept()
    for at, state in (
        (q3 - timedelta(minutes=1), CellState.NOT_DUE),
        (q3, CellState.NOT_DUE),  # due by the deadline's instant itself
        (q3 + timedelta(seconds=1), CellState.OVERDUE),
        (q3 - timedelta(minutes=1), CellState.NOT_DUE),  # a past day replays exactly
    ):
        with session_factory(province)() as session:
            shown = desk(session, FILTERS[0], scope=true(), as_of=at, kept=kept)
        assert _cell(shown, "xa-an-phu", "2024-Q3") is state, at
        assert _look(province, kept, at) == _look(province, None, at)


def test_a_receipt_ahead_of_the_clock_counts_once_the_clock_reaches_it(province: Engine) -> None:
    # tt-dong-anh's Q2 was received one hour after NOW (tests/desk/conftest.py).
    kept = Kept()
    for at, state in ((NOW, CellState.OVERDUE), (NOW + timedelta(hours=2), CellState.LATE)):
        with session_factory(province)() as session:
            shown = desk(session, FILTERS[0], scope=true(), as_of=at, kept=kept)
        assert _cell(shown, "tt-dong-anh", "2024-Q2") is state


@pytest.mark.postgres
def test_a_submission_is_not_held_up_by_an_open_write_to_its_period(
    province: Engine, tmp_path: Path
) -> None:
    if province.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    other = item_of(province, "xa-dong", "bao-cao-quy", "2024-Q2").id
    with province.connect() as open_write:
        open_write.execute(
            update(DueItem).where(DueItem.id == other).values(first_accepted_at=NOW)
        )  # left open: its marks are raised only at its commit
        submitting = threading.Thread(target=_submitted, args=(province, tmp_path))
        submitting.start()
        submitting.join(timeout=10)  # the same period's mark: not locked by the open write
        stored_meanwhile = not submitting.is_alive()
        open_write.commit()
        submitting.join()
    assert stored_meanwhile
    assert item_of(province, "xa-an-phu", "bao-cao-quy", "2024-Q2").first_accepted_at == NOW


@pytest.mark.parametrize(
    ("since", "until", "at", "holds"),
    [
        (NOW, None, NOW, True),
        (NOW, None, NOW + timedelta(days=400), True),
        (NOW, None, NOW - timedelta(seconds=1), False),
        (NOW, NOW + timedelta(hours=1), NOW + timedelta(minutes=59), True),
        (NOW, NOW + timedelta(hours=1), NOW + timedelta(hours=1), False),
    ],
)
def test_a_kept_answer_holds_from_its_instant_up_to_its_next_change(
    since: datetime, until: datetime | None, at: datetime, holds: bool
) -> None:
    kept = Kept()
    kept.put("k", Held(marks=(1, 2), since=since, until=until), "answer")
    assert (kept.get("k", (1, 2), at) == "answer") is holds
    assert kept.get("k", (1, 3), at) is None  # any mark raised: never


def test_the_least_recently_used_answer_goes_first() -> None:
    kept = Kept(size=2)
    for key in ("a", "b"):
        kept.put(key, Held((), NOW, None), key)
    assert kept.get("a", (), NOW) == "a"  # "b" is now the least recently used
    kept.put("c", Held((), NOW, None), "c")
    assert [kept.get(k, (), NOW) for k in ("a", "b", "c")] == ["a", None, "c"]


def test_the_rows_kept_are_bounded_whatever_is_asked() -> None:
    kept = Kept(rows=10)
    kept.put("small", Held((), NOW, None), [1, 2])
    kept.put("large", Held((), NOW, None), list(range(9)))  # 11 rows: the oldest goes
    assert kept.get("small", (), NOW) is None and kept.get("large", (), NOW) == list(range(9))
    kept.put("huge", Held((), NOW, None), list(range(50)))  # alone, even over the bound
    assert kept.get("large", (), NOW) is None and kept.get("huge", (), NOW) is not None
