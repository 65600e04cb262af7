"""The office's dashboard "Tình hình báo cáo": units × periods of one duty and year, counted in SQL.

The counts and rates of every period are one GROUP BY over the year's items (the rule of
`status.matrix.sql_cell_state`, checked item by item against `status.states.item_states`
by the tests); the cells are read by the same rule only for the units of the page shown.
Who sees what comes in as `scope`, a WHERE clause over `DueItem`
(access.scope.item_condition), and is applied to every query.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from models.items import DueItem
from models.org import Unit
from models.plan import Deliverable, Obligation, Plan, PlanTask
from models.reliefs import ItemRelief, ReliefKind
from models.submissions import Submission
from plans.vocabulary import UNIT_KIND_VI
from status.matrix import (
    CELL_STATES,
    CellState,
    PeriodRates,
    period_heading,
    period_order,
    sql_cell_state,
)
from status.states import latest_reliefs
from wording.collation import sort_key

PER_PAGE = 50
T = TypeVar("T")


class Answers:
    """The answers of the dashboard's year-wide queries, kept while nothing they read changed.

    Counting a year of a province (120,000 items, their first acceptance among 120,000
    submissions) takes a second or more; officers page, filter and search the same year
    again and again. An answer is kept for its statement (scope and filters included) and
    is found again only while no submission, relief, item or unit was added since and no
    deadline has passed (`_time_version`). Items withdrawn or units renamed by a plan's
    reload show at the latest the next hour.
    """

    def __init__(self, size: int = 64) -> None:
        self._kept: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                found: T = self._kept[key]
                return found
        answer = compute()
        with self._lock:
            self._kept[key] = answer
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return answer

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


ANSWERS = Answers()


def _data_version(session: Session) -> tuple[Any, ...]:
    """What was last added: new submissions, reliefs, items or units change the answers."""
    newest = [
        select(func.max(table.id)).scalar_subquery()
        for table in (Submission, ItemRelief, DueItem, Unit)
    ]
    return tuple(session.execute(select(*newest)).one())


def _time_version(session: Session, as_of: datetime) -> tuple[Any, ...]:
    """What time has changed: a cell's state moves only when `as_of` passes a deadline (an
    item's or an extension's), so the answers hold until the next one passes. The hour is
    there for a submission dated later than it was stored (an import), counted from then."""
    key = ("desk_time_version", as_of)
    if key not in session.info:
        passed = [
            select(func.max(column)).where(column < as_of).scalar_subquery()
            for column in (DueItem.deadline_at, ItemRelief.deadline_at)
        ]
        newest = tuple(session.execute(select(*passed)).one())
        session.info[key] = (*newest, as_of.replace(minute=0, second=0, microsecond=0))
    found: tuple[Any, ...] = session.info[key]
    return found


def _kept(
    session: Session,
    query: Select[*tuple[Any, ...]],
    as_of: datetime,
    read: Callable[[Any], T],
) -> T:
    """`read(result)` of `query`, from ANSWERS when nothing changed since it was kept."""
    if "desk_data_version" not in session.info:
        # Read once a request (the request's session): the answers of one page agree.
        session.info["desk_data_version"] = _data_version(session)
    bind = session.get_bind()
    compiled = query.compile(dialect=bind.dialect)
    # The instant itself is left out of the key: `_time_version` says when it matters (a
    # deadline passed), else an answer would never be found again once the clock moved on.
    params = tuple(sorted((k, repr(v)) for k, v in compiled.params.items() if v != as_of))
    key = (
        str(bind.engine.url),
        str(compiled),
        params,
        session.info["desk_data_version"],
        _time_version(session, as_of),
    )
    return ANSWERS.get(key, lambda: read(session.execute(query)))


class SourceKind(StrEnum):
    """What the matrix shows: a report's periods, a deliverable, or a task's deliverables."""

    REPORT = "bc"
    DELIVERABLE = "sp"
    TASK = "nv"


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    code: str

    @property
    def value(self) -> str:
        """As the filter form sends it: "bc:bc-thang-xa"."""
        return f"{self.kind.value}:{self.code}"

    @classmethod
    def parse(cls, value: str) -> Source | None:
        kind, _, code = value.partition(":")
        if kind not in {k.value for k in SourceKind} or not code:
            return None
        return cls(SourceKind(kind), code)


@dataclass(frozen=True)
class SourceOption:
    source: Source
    title: str


@dataclass(frozen=True)
class DeskFilter:
    """What the office asked for; every field but `source` and `year` narrows the page."""

    source: Source
    year: int
    period: str | None = None  # a column's key: a period label, or a deliverable's code
    kind: str | None = None  # units of one kind (commune, department...)
    parent: str | None = None  # units directly under this unit (its code)
    state: CellState | None = None  # units with at least one cell in this state
    search: str = ""
    page: int = 1
    per_page: int = PER_PAGE


@dataclass(frozen=True)
class Cell:
    state: CellState
    item_id: int
    deadline_on: date
    first_accepted_at: datetime | None


@dataclass(frozen=True)
class UnitRow:
    unit_id: int
    code: str
    name: str
    cells: dict[str, Cell]  # by column key; a unit owes nothing in a missing column


@dataclass(frozen=True)
class Desk:
    """One page of the dashboard."""

    columns: list[PeriodRates]  # every column of the year (the rates and the trend chart)
    shown: list[PeriodRates]  # the columns of the matrix (one when a period is chosen)
    rows: list[UnitRow]
    units: int  # units matching the filters, over all pages
    page: int
    pages: int

    @property
    def counts(self) -> dict[CellState, int]:
        """The shown columns' cells of each state (all matching units, every page)."""
        totals = dict.fromkeys(CELL_STATES, 0)
        for column in self.shown:
            for state, n in column.counts.items():
                totals[state] += n
        return totals


@lru_cache(maxsize=200_000)
def folded(text: str) -> str:
    """Text without accents, lower case, for searching: "Thị trấn Đông" -> "thi tran dong"."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.replace("đ", "d").replace("Đ", "D").casefold()


@lru_cache(maxsize=200_000)
def _name_key(name: str) -> tuple[int, ...]:
    # The collation key costs ~20 µs a name: 10,000 communes are sorted once, then reused.
    return sort_key(name)


def _of_source(source: Source) -> ColumnElement[bool]:
    """DueItem's condition of the source's items, in every plan."""
    if source.kind is SourceKind.REPORT:
        return DueItem.obligation_id.in_(
            select(Obligation.id).where(Obligation.code == source.code)
        )
    if source.kind is SourceKind.DELIVERABLE:
        ids = select(Deliverable.id).where(Deliverable.code == source.code)
    else:
        ids = (
            select(Deliverable.id)
            .join(PlanTask, PlanTask.id == Deliverable.task_id)
            .where(PlanTask.code == source.code)
        )
    return DueItem.deliverable_id.in_(ids)


def _source_items(source: Source, year: int) -> list[ColumnElement[bool]]:
    """The conditions on DueItem of the source's items in the plan of the year."""
    return [_of_source(source), DueItem.plan_id.in_(select(Plan.id).where(Plan.year == year))]


def _unit_conditions(flt: DeskFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.kind:
        conditions.append(Unit.kind == flt.kind)
    if flt.parent:
        parent = select(Unit.id).where(Unit.code == flt.parent).scalar_subquery()
        conditions.append(Unit.parent_id == parent)
    return conditions


def _owes(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """Whether some item meets `conditions` (correlated: each row stops at its first item;
    an IN over the items' column listed all 120,000 of them first)."""
    return select(DueItem.id).where(*conditions).exists()


def _all(session: Session, query: Select[*tuple[Any, ...]], as_of: datetime) -> list[Any]:
    """The rows of a query, kept while the data is."""
    return _kept(session, query, as_of, lambda result: list(result.all()))


def _units(
    session: Session, flt: DeskFilter, items: Sequence[ColumnElement[bool]], as_of: datetime
) -> list[tuple[int, str, str]]:
    """(id, code, name) of the units owing the source's items, filtered, in Vietnamese order."""
    query = select(Unit.id, Unit.code, Unit.name).where(
        _owes(Unit.id == DueItem.unit_id, *items), *_unit_conditions(flt)
    )
    # Kept in order, with each name's accent-free form: a page or a search only slices it.
    found: list[tuple[int, str, str, str]] = _kept(session, query, as_of, _in_order)
    wanted = folded(flt.search.strip())
    return [(i, c, n) for i, c, n, bare in found if not wanted or wanted in bare]


def _in_order(result: Any) -> list[tuple[int, str, str, str]]:
    rows = sorted(result.all(), key=lambda u: (_name_key(u[2]), u[1]))
    return [(i, c, n, folded(n)) for i, c, n in rows]


def _states_query(
    as_of: datetime, flt: DeskFilter, items: Sequence[ColumnElement[bool]]
) -> Select[*tuple[Any, ...]]:
    """Each item's unit, column and cell state, decided in SQL (no item row leaves it)."""
    first = (
        select(Submission.item_id, func.min(Submission.received_at).label("first_at"))
        .where(Submission.accepted.is_(True), Submission.received_at <= as_of)
        .group_by(Submission.item_id)
        .subquery()
    )
    relief = latest_reliefs()
    state = sql_cell_state(
        as_of=as_of,
        deadline_at=DueItem.deadline_at,
        first_at=first.c.first_at,
        relief_kind=relief.c.kind,
        relief_at=relief.c.deadline_at,
    )
    column = DueItem.period_label if flt.source.kind is SourceKind.REPORT else Deliverable.code
    query = (
        select(DueItem.unit_id, column.label("col"), state.label("state"))
        .join(Unit, Unit.id == DueItem.unit_id)
        .outerjoin(first, first.c.item_id == DueItem.id)
        .outerjoin(relief, relief.c.item_id == DueItem.id)
        .where(*items, *_unit_conditions(flt))
    )
    if flt.source.kind is not SourceKind.REPORT:
        query = query.join(Deliverable, Deliverable.id == DueItem.deliverable_id)
    return query


def _columns(session: Session, source: Source, counted: Sequence[Any]) -> list[PeriodRates]:
    """The year's columns in time order, each with its cells' counts."""
    counts: dict[str, dict[CellState, int]] = {}
    for key, state, n in counted:
        counts.setdefault(key or "", dict.fromkeys(CELL_STATES, 0))[CellState(state)] += n
    if source.kind is SourceKind.REPORT:
        keys = sorted(counts, key=period_order)
        return [PeriodRates(k, period_heading(k), counts[k]) for k in keys]
    found = session.execute(
        select(Deliverable.code, Deliverable.title, Deliverable.due_on).where(
            Deliverable.code.in_(list(counts))
        )
    ).all()
    titles = {code: (due, title) for code, title, due in found}
    keys = sorted(counts, key=lambda k: (titles[k][0], k) if k in titles else (date.max, k))
    return [PeriodRates(k, titles[k][1] if k in titles else k, counts[k]) for k in keys]


def desk(
    session: Session,
    flt: DeskFilter,
    *,
    scope: ColumnElement[bool],
    as_of: datetime,
) -> Desk:
    """One page of the matrix for `flt`, only the items in `scope`, as of `as_of`."""
    as_of = datetime.fromtimestamp(as_of.timestamp(), UTC)
    items = [*_source_items(flt.source, flt.year), DueItem.withdrawn_at.is_(None), scope]
    units = _units(session, flt, items, as_of)
    query = _states_query(as_of, flt, items)
    if flt.search.strip():
        query = query.where(DueItem.unit_id.in_([u[0] for u in units]))
    states = query.subquery()
    counting = select(states.c.col, states.c.state, func.count()).group_by(
        states.c.col, states.c.state
    )
    counted = _kept(session, counting, as_of, lambda result: result.all())
    columns = _columns(session, flt.source, counted)
    shown = [c for c in columns if flt.period in (None, c.key)]
    if flt.state is not None:
        having = select(states.c.unit_id).distinct().where(states.c.state == flt.state.value)
        if flt.period is not None:
            having = having.where(states.c.col == flt.period)
        chosen = _kept(session, having, as_of, lambda result: set(result.scalars()))
        units = [u for u in units if u[0] in chosen]
    pages = max(1, -(-len(units) // flt.per_page))
    page = min(max(flt.page, 1), pages)
    on_page = units[(page - 1) * flt.per_page : page * flt.per_page]
    rows = _rows(session, flt, on_page, items, as_of=as_of)
    return Desk(columns=columns, shown=shown, rows=rows, units=len(units), page=page, pages=pages)


def _rows(
    session: Session,
    flt: DeskFilter,
    units: Sequence[tuple[int, str, str]],
    items: Sequence[ColumnElement[bool]],
    *,
    as_of: datetime,
) -> list[UnitRow]:
    """The page's units with their cells: the same SQL rule, only for the page's items.

    Each item's first acceptance is one index probe (a page has some hundreds of items),
    not the year's aggregate over every submission.
    """
    if not units:
        return []
    first = (
        select(func.min(Submission.received_at))
        .where(
            Submission.item_id == DueItem.id,
            Submission.accepted.is_(True),
            Submission.received_at <= as_of,
        )
        .correlate(DueItem)
        .scalar_subquery()
    )
    relief = latest_reliefs()
    extended = (relief.c.kind == ReliefKind.EXTENSION.value) & relief.c.deadline_on.is_not(None)
    report = flt.source.kind is SourceKind.REPORT
    column = DueItem.period_label if report else Deliverable.code
    query = (
        select(
            DueItem.id,
            DueItem.unit_id,
            column,
            sql_cell_state(
                as_of=as_of,
                deadline_at=DueItem.deadline_at,
                first_at=first,
                relief_kind=relief.c.kind,
                relief_at=relief.c.deadline_at,
            ),
            case((extended, relief.c.deadline_on), else_=DueItem.deadline_on),
            first,
        )
        .outerjoin(relief, relief.c.item_id == DueItem.id)
        .where(DueItem.unit_id.in_([u[0] for u in units]), *items)
    )
    if not report:
        query = query.join(Deliverable, Deliverable.id == DueItem.deliverable_id)
    if flt.period is not None:
        query = query.where(column == flt.period)
    cells: dict[int, dict[str, Cell]] = {u[0]: {} for u in units}
    for item_id, unit_id, key, state, deadline_on, first_at in session.execute(query):
        cells[unit_id][key or ""] = Cell(CellState(state), item_id, deadline_on, first_at)
    return [UnitRow(i, code, name, cells[i]) for i, code, name in units]


def source_options(
    session: Session, *, scope: ColumnElement[bool], as_of: datetime
) -> list[SourceOption]:
    """The reports, deliverables and tasks with items in `scope`, each code once, by title."""
    reports = _all(
        session,
        select(Obligation.code, Obligation.title).where(
            _owes(DueItem.obligation_id == Obligation.id, scope)
        ),
        as_of,
    )
    owed = _owes(DueItem.deliverable_id == Deliverable.id, scope)
    deliverables = _all(session, select(Deliverable.code, Deliverable.title).where(owed), as_of)
    tasks = _all(
        session,
        select(PlanTask.code, PlanTask.title).where(
            select(Deliverable.id).where(Deliverable.task_id == PlanTask.id, owed).exists()
        ),
        as_of,
    )
    options: dict[str, SourceOption] = {}
    for kind, found in (
        (SourceKind.REPORT, reports),
        (SourceKind.DELIVERABLE, deliverables),
        (SourceKind.TASK, tasks),
    ):
        group: dict[str, SourceOption] = {}
        for code, title in found:
            group.setdefault(code, SourceOption(Source(kind, code), title))
        options.update(
            (o.source.value, o) for o in sorted(group.values(), key=lambda o: _name_key(o.title))
        )
    return list(options.values())


def year_options(
    session: Session, source: Source, *, scope: ColumnElement[bool], as_of: datetime
) -> list[int]:
    """The plan years in which the source has items in `scope`, newest first."""
    owing = select(DueItem.plan_id).where(_of_source(source), scope)
    query = select(Plan.year).distinct().where(Plan.id.in_(owing))
    found = [y for (y,) in _all(session, query, as_of)]
    return sorted(found, reverse=True)


def unit_kinds(session: Session, *, scope: ColumnElement[bool], as_of: datetime) -> list[str]:
    """The kinds of the units with items in `scope`."""
    query = select(Unit.kind).distinct().where(_owes(DueItem.unit_id == Unit.id, scope))
    found = [k for (k,) in _all(session, query, as_of)]
    return sorted(found, key=lambda k: _name_key(UNIT_KIND_VI.get(k, k)))


def parent_units(
    session: Session, *, scope: ColumnElement[bool], as_of: datetime
) -> list[tuple[str, str]]:
    """(code, name) of the units that have units with items in `scope` under them."""
    under = select(Unit.parent_id).where(_owes(DueItem.unit_id == Unit.id, scope))
    found = _all(session, select(Unit.code, Unit.name).where(Unit.id.in_(under)), as_of)
    return sorted(((c, n) for c, n in found), key=lambda u: _name_key(u[1]))
