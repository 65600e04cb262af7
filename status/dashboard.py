"""The office's dashboard "Tình hình báo cáo": units × periods of one duty and year, counted in SQL.

The counts and rates of every period are one GROUP BY over the year's items alone (the rule
of `status.matrix.sql_cell_state` over each item's stored first acceptance, checked item by
item against `status.states.item_states` by the tests); the cells are read by the same rule
only for the units of the page shown. Nothing is kept between requests: every page counts
what the database holds at that moment, so an office never sees a number older than its click.
Who sees what comes in as `scope`, a WHERE clause over `DueItem`
(access.scope.item_condition), and is applied to every query.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from models.items import DueItem
from models.org import Unit
from models.plan import Deliverable, Obligation, Plan, PlanTask
from models.reliefs import ReliefKind
from plans.vocabulary import UNIT_KIND_VI
from status.matrix import (
    CELL_STATES,
    CellState,
    PeriodRates,
    period_heading,
    period_order,
    sql_cell_state,
    sql_first_accepted,
)
from status.states import latest_reliefs
from wording.collation import sort_key

PER_PAGE = 50


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


def _all(session: Session, query: Select[*tuple[Any, ...]]) -> list[Any]:
    return list(session.execute(query).all())


def _units(
    session: Session, flt: DeskFilter, items: Sequence[ColumnElement[bool]]
) -> list[tuple[int, str, str]]:
    """(id, code, name) of the units owing the source's items, filtered, in Vietnamese order."""
    query = select(Unit.id, Unit.code, Unit.name).where(
        _owes(Unit.id == DueItem.unit_id, *items), *_unit_conditions(flt)
    )
    found = _in_order(session.execute(query))
    wanted = folded(flt.search.strip())
    return [(i, c, n) for i, c, n, bare in found if not wanted or wanted in bare]


def _in_order(result: Any) -> list[tuple[int, str, str, str]]:
    rows = sorted(result.all(), key=lambda u: (_name_key(u[2]), u[1]))
    return [(i, c, n, folded(n)) for i, c, n in rows]


def _states_query(
    as_of: datetime, flt: DeskFilter, items: Sequence[ColumnElement[bool]]
) -> Select[*tuple[Any, ...]]:
    """Each item's unit, column and cell state, decided in SQL (no item row leaves it)."""
    relief = latest_reliefs()
    state = sql_cell_state(
        as_of=as_of,
        deadline_at=DueItem.deadline_at,
        first_at=sql_first_accepted(as_of),
        relief_kind=relief.c.kind,
        relief_at=relief.c.deadline_at,
    )
    # Grouped by an expression, not the bare column: SQLite would otherwise walk
    # ix_due_items_period for the GROUP BY's order and read every item's row, where
    # ix_due_items_standing holds every column the count reads.
    column = (
        func.coalesce(DueItem.period_label, "")
        if flt.source.kind is SourceKind.REPORT
        else Deliverable.code
    )
    query = (
        select(DueItem.unit_id, column.label("col"), state.label("state"))
        .outerjoin(relief, relief.c.item_id == DueItem.id)
        .where(*items)
    )
    if unit_conditions := _unit_conditions(flt):
        # As a list of units, not a join: the count still reads ix_due_items_standing alone.
        query = query.where(DueItem.unit_id.in_(select(Unit.id).where(*unit_conditions)))
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
    units = _units(session, flt, items)
    query = _states_query(as_of, flt, items)
    if flt.search.strip():
        query = query.where(DueItem.unit_id.in_([u[0] for u in units]))
    states = query.subquery()
    counting = select(states.c.col, states.c.state, func.count()).group_by(
        states.c.col, states.c.state
    )
    counted = session.execute(counting).all()
    columns = _columns(session, flt.source, counted)
    shown = [c for c in columns if flt.period in (None, c.key)]
    if flt.state is not None:
        chosen = _units_in_state(session, flt, query, flt.state)
        units = [u for u in units if u[0] in chosen]
    pages = max(1, -(-len(units) // flt.per_page))
    page = min(max(flt.page, 1), pages)
    on_page = units[(page - 1) * flt.per_page : page * flt.per_page]
    rows = _rows(session, flt, on_page, items, as_of=as_of)
    return Desk(columns=columns, shown=shown, rows=rows, units=len(units), page=page, pages=pages)


def _units_in_state(
    session: Session, flt: DeskFilter, query: Select[*tuple[Any, ...]], state: CellState
) -> set[int]:
    """The units with a cell in `state` (in the chosen period): the period narrows the items
    read before their state is decided (one period is a twelfth of a monthly year)."""
    if flt.period is not None:
        column = DueItem.period_label if flt.source.kind is SourceKind.REPORT else Deliverable.code
        query = query.where(column == flt.period)
    states = query.subquery()
    having = select(states.c.unit_id).distinct().where(states.c.state == state.value)
    return set(session.scalars(having))


def _rows(
    session: Session,
    flt: DeskFilter,
    units: Sequence[tuple[int, str, str]],
    items: Sequence[ColumnElement[bool]],
    *,
    as_of: datetime,
) -> list[UnitRow]:
    """The page's units with their cells: the same SQL rule, only for the page's items."""
    if not units:
        return []
    first = sql_first_accepted(as_of)
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


def source_options(session: Session, *, scope: ColumnElement[bool]) -> list[SourceOption]:
    """The reports, deliverables and tasks with items in `scope`, each code once, by title."""
    reports = _all(
        session,
        select(Obligation.code, Obligation.title).where(
            _owes(DueItem.obligation_id == Obligation.id, scope)
        ),
    )
    owed = _owes(DueItem.deliverable_id == Deliverable.id, scope)
    deliverables = _all(session, select(Deliverable.code, Deliverable.title).where(owed))
    tasks = _all(
        session,
        select(PlanTask.code, PlanTask.title).where(
            select(Deliverable.id).where(Deliverable.task_id == PlanTask.id, owed).exists()
        ),
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


def year_options(session: Session, source: Source, *, scope: ColumnElement[bool]) -> list[int]:
    """The plan years in which the source has items in `scope`, newest first."""
    # A probe per plan (a handful), each stopping at its first item: not a list of all items.
    query = (
        select(Plan.year)
        .distinct()
        .where(_owes(DueItem.plan_id == Plan.id, _of_source(source), scope))
    )
    found = [y for (y,) in _all(session, query)]
    return sorted(found, reverse=True)


def unit_kinds(session: Session, *, scope: ColumnElement[bool]) -> list[str]:
    """The kinds of the units with items in `scope`."""
    query = select(Unit.kind).distinct().where(_owes(DueItem.unit_id == Unit.id, scope))
    found = [k for (k,) in _all(session, query)]
    return sorted(found, key=lambda k: _name_key(UNIT_KIND_VI.get(k, k)))


def parent_units(session: Session, *, scope: ColumnElement[bool]) -> list[tuple[str, str]]:
    """(code, name) of the units that have units with items in `scope` under them."""
    under = select(Unit.parent_id).where(_owes(DueItem.unit_id == Unit.id, scope))
    found = _all(session, select(Unit.code, Unit.name).where(Unit.id.in_(under)))
    return sorted(((c, n) for c, n in found), key=lambda u: _name_key(u[1]))
