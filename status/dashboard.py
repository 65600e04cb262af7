"""The office's dashboard "Tình hình báo cáo": units × periods of one duty and year, counted in SQL.

The counts and rates of every period are one GROUP BY over the year's items alone (the rule
of `status.matrix.sql_cell_state` over each item's stored first acceptance, checked item by
item against `status.states.item_states` by the tests); the cells are read by the same rule
only for the units of the page shown. Counts, unit lists and filter choices are kept between
clicks (status.kept) only while the database's change marks and the clock say a fresh count
would give the same: after a submission only its period is counted again, and an office never
sees a number older than its click. Who sees what comes in as `scope`, a WHERE clause over
`DueItem` (access.scope.item_condition), and is applied to every query.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, case, func, literal, select
from sqlalchemy.orm import Session

from models.base import UTCDateTime
from models.items import DueItem
from models.marks import MEMBERS, PLANS, UNITS, deliverable_column, read_marks, report_marks
from models.org import Unit
from models.plan import Deliverable, Obligation, Plan, PlanTask
from models.reliefs import ReliefKind
from status.kept import ALWAYS, Held, Kept
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
T = TypeVar("T")


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
def name_key(name: str) -> tuple[int, ...]:
    # The collation key costs ~20 µs a name: 10,000 communes are sorted once, then reused.
    return sort_key(name)


def of_source(source: Source) -> ColumnElement[bool]:
    """DueItem's condition of the source's items, in every plan."""
    if source.kind is SourceKind.REPORT:
        return DueItem.obligation_id.in_(
            select(Obligation.id).where(Obligation.code == source.code)
        )
    return DueItem.deliverable_id.in_(_source_deliverables(source))


def _source_deliverables(source: Source) -> Select[int]:
    """The ids of a deliverable's or a task's deliverables, in every plan."""
    if source.kind is SourceKind.DELIVERABLE:
        return select(Deliverable.id).where(Deliverable.code == source.code)
    return (
        select(Deliverable.id)
        .join(PlanTask, PlanTask.id == Deliverable.task_id)
        .where(PlanTask.code == source.code)
    )


def _source_items(source: Source, year: int) -> list[ColumnElement[bool]]:
    """The conditions on DueItem of the source's items in the plan of the year."""
    return [of_source(source), DueItem.plan_id.in_(select(Plan.id).where(Plan.year == year))]


def _unit_conditions(flt: DeskFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.kind:
        conditions.append(Unit.kind == flt.kind)
    if flt.parent:
        parent = select(Unit.id).where(Unit.code == flt.parent).scalar_subquery()
        conditions.append(Unit.parent_id == parent)
    return conditions


def owes(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """Whether some item meets `conditions` (correlated: each row stops at its first item;
    an IN over the items' column listed all 120,000 of them first)."""
    return select(DueItem.id).where(*conditions).exists()


def _units(
    session: Session, flt: DeskFilter, items: Sequence[ColumnElement[bool]]
) -> list[tuple[int, str, str]]:
    """(id, code, name) of the units owing the source's items, filtered, in Vietnamese order."""
    query = select(Unit.id, Unit.code, Unit.name).where(
        owes(Unit.id == DueItem.unit_id, *items), *_unit_conditions(flt)
    )
    found = _in_order(session.execute(query))
    wanted = folded(flt.search.strip())
    return [(i, c, n) for i, c, n, bare in found if not wanted or wanted in bare]


def _in_order(result: Any) -> list[tuple[int, str, str, str]]:
    rows = sorted(result.all(), key=lambda u: (name_key(u[2]), u[1]))
    return [(i, c, n, folded(n)) for i, c, n in rows]


def _states_query(
    as_of: datetime, flt: DeskFilter, items: Sequence[ColumnElement[bool]]
) -> Select[*tuple[Any, ...]]:
    """Each item's unit, column and cell state, decided in SQL (no item row leaves it), with
    the instants ahead of `as_of` at which its state would change by the clock alone."""
    relief = latest_reliefs()
    state = sql_cell_state(
        as_of=as_of,
        deadline_at=DueItem.deadline_at,
        first_at=sql_first_accepted(as_of),
        relief_kind=relief.c.kind,
        relief_at=relief.c.deadline_at,
    )
    now = literal(as_of, UTCDateTime())
    query = (
        select(
            DueItem.unit_id,
            _grouped_column(flt.source).label("col"),
            state.label("state"),
            # A deadline passing makes an item overdue; a receipt ahead (typed in with a
            # future time) makes it received.
            case((DueItem.deadline_at >= now, DueItem.deadline_at)).label("next_deadline"),
            case((relief.c.deadline_at >= now, relief.c.deadline_at)).label("next_relief"),
            case((DueItem.first_accepted_at > now, DueItem.first_accepted_at)).label("next_first"),
        )
        .outerjoin(relief, relief.c.item_id == DueItem.id)
        .where(*items)
    )
    if unit_conditions := _unit_conditions(flt):
        # As a list of units, not a join: the count still reads ix_due_items_standing alone.
        query = query.where(DueItem.unit_id.in_(select(Unit.id).where(*unit_conditions)))
    if flt.source.kind is not SourceKind.REPORT:
        query = query.join(Deliverable, Deliverable.id == DueItem.deliverable_id)
    return query


def _grouped_column(source: Source) -> SQLColumnExpression[str]:
    """The column key of an item as the count groups it: its period, or its deliverable."""
    if source.kind is SourceKind.REPORT:
        # An expression, not the bare column: SQLite would otherwise walk ix_due_items_period
        # for the GROUP BY's order and read every item's row, where ix_due_items_standing
        # holds every column the count reads.
        return func.coalesce(DueItem.period_label, "")
    return Deliverable.code


@dataclass(frozen=True)
class _Column:
    """One column's cells by state, and the first instant ahead at which one may change."""

    counts: dict[CellState, int]
    until: datetime | None


def _count(session: Session, query: Select[*tuple[Any, ...]]) -> dict[str, _Column]:
    """The columns of `query`'s items, each counted by state in one GROUP BY."""
    states = query.subquery()
    counting = select(
        states.c.col,
        states.c.state,
        func.count(),
        func.min(states.c.next_deadline),
        func.min(states.c.next_relief),
        func.min(states.c.next_first),
    ).group_by(states.c.col, states.c.state)
    counts: dict[str, dict[CellState, int]] = {}
    untils: dict[str, list[datetime]] = {}
    for key, state, n, *ahead in session.execute(counting):
        counts.setdefault(key or "", dict.fromkeys(CELL_STATES, 0))[CellState(state)] += n
        untils.setdefault(key or "", []).extend(t for t in ahead if t is not None)
    return {k: _Column(c, min(untils[k], default=None)) for k, c in counts.items()}


def _columns(
    session: Session, source: Source, year: int, counted: dict[str, _Column]
) -> list[PeriodRates]:
    """The year's columns in time order, each with its cells' counts."""
    if source.kind is SourceKind.REPORT:
        keys = sorted(counted, key=period_order)
        return [PeriodRates(k, period_heading(k), counted[k].counts) for k in keys]
    found = session.execute(
        select(Deliverable.code, Deliverable.title, Deliverable.due_on).where(
            Deliverable.code.in_(list(counted)),
            Deliverable.plan_id.in_(select(Plan.id).where(Plan.year == year)),
        )
    ).all()
    titles = {code: (due, title) for code, title, due in found}
    keys = sorted(counted, key=lambda k: (titles[k][0], k) if k in titles else (date.max, k))
    return [PeriodRates(k, titles[k][1] if k in titles else k, counted[k].counts) for k in keys]


def desk(
    session: Session,
    flt: DeskFilter,
    *,
    scope: ColumnElement[bool],
    as_of: datetime,
    kept: Kept | None = None,
) -> Desk:
    """One page of the matrix for `flt`, only the items in `scope`, as of `as_of`.

    What does not change between clicks (the units, each column's counts, the units with a
    state) comes from `kept` while the database's marks say it still holds (status.kept).
    """
    as_of = datetime.fromtimestamp(as_of.timestamp(), UTC)
    kept = kept if kept is not None else Kept()
    marks = _Marks.read(session, flt.source, flt.year)
    base = (
        flt.source,
        flt.year,
        scope_key(scope),
        flt.kind,
        flt.parent,
        folded(flt.search.strip()),
    )
    items = [*_source_items(flt.source, flt.year), DueItem.withdrawn_at.is_(None), scope]
    units = kept.answer(("units", base), marks.common, lambda: (_units(session, flt, items), None))
    query = _states_query(as_of, flt, items)
    if flt.search.strip():
        query = query.where(DueItem.unit_id.in_([u[0] for u in units]))
    counted = _counted(session, kept, base, marks, query, flt, as_of)
    columns = _columns(session, flt.source, flt.year, counted)
    shown = [c for c in columns if flt.period in (None, c.key)]
    if (state := flt.state) is not None:
        read = [k for k in counted if flt.period in (None, k)]  # the columns it reads
        held = (marks.common, tuple((k, marks.of_column(k)) for k in sorted(read)))
        until = min((u for k in read if (u := counted[k].until) is not None), default=None)
        chosen = kept.answer(
            ("state", base, flt.state, flt.period),
            held,
            lambda: (_units_in_state(session, flt, query, state), until),
            as_of,
        )
        units = [u for u in units if u[0] in chosen]
    pages = max(1, -(-len(units) // flt.per_page))
    page = min(max(flt.page, 1), pages)
    on_page = units[(page - 1) * flt.per_page : page * flt.per_page]
    rows = _rows(session, flt, on_page, items, as_of=as_of)
    return Desk(columns=columns, shown=shown, rows=rows, units=len(units), page=page, pages=pages)


def _counted(
    session: Session,
    kept: Kept,
    base: tuple[Any, ...],
    marks: _Marks,
    query: Select[*tuple[Any, ...]],
    flt: DeskFilter,
    as_of: datetime,
) -> dict[str, _Column]:
    """Every column's counts: those kept that still hold, the others counted in one query
    (after a submission, only its own period is counted again)."""
    keys: list[str] | None = kept.get(("columns", base), marks.common)
    if keys is None:
        counted = _count(session, query)
        kept.put(("columns", base), Held(marks.common, ALWAYS, None), sorted(counted))
        for key, column in counted.items():
            held = Held((marks.common, marks.of_column(key)), as_of, column.until)
            kept.put(("column", base, key), held, column)
        return counted
    found: dict[str, _Column] = {}
    for key in keys:
        if (
            kept_column := kept.get(
                ("column", base, key), (marks.common, marks.of_column(key)), as_of
            )
        ) is not None:
            found[key] = kept_column
    if missing := [k for k in keys if k not in found]:
        recount = query.where(_grouped_column(flt.source).in_(missing))
        for key, column in _count(session, recount).items():
            held = Held((marks.common, marks.of_column(key)), as_of, column.until)
            kept.put(("column", base, key), held, column)
            found[key] = column
    return found


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


@dataclass(frozen=True)
class _Marks:
    """The change marks the answers about one source and year hold under (models.marks)."""

    common: tuple[int, ...]  # items added or moved, units, plans
    columns: dict[str, tuple[int, ...]]  # by column key: the marks of its items

    def of_column(self, key: str) -> tuple[int, ...]:
        return self.columns.get(key, ())

    @classmethod
    def read(cls, session: Session, source: Source, year: int) -> _Marks:
        in_year = select(Plan.id).where(Plan.year == year)
        columns: dict[str, list[tuple[str, int]]] = {}
        if source.kind is SourceKind.REPORT:
            ids = session.scalars(
                select(Obligation.id).where(
                    Obligation.code == source.code, Obligation.plan_id.in_(in_year)
                )
            )
            for key, n in report_marks(session, ids).items():
                columns.setdefault(key.split(":", 2)[2], []).append((key, n))
        else:
            found = session.execute(
                select(Deliverable.id, Deliverable.code).where(
                    Deliverable.id.in_(_source_deliverables(source)),
                    Deliverable.plan_id.in_(in_year),
                )
            ).all()
            keyed = {deliverable_column(i): code for i, code in found}
            for key, n in read_marks(session, keyed).items():
                columns.setdefault(keyed[key], []).append((key, n))
        return cls(
            common=common_marks(session),
            columns={k: tuple(n for _, n in sorted(v)) for k, v in columns.items()},
        )


def common_marks(session: Session) -> tuple[int, ...]:
    """The marks of every answer: items added or moved, units, plans."""
    found = read_marks(session, (MEMBERS, UNITS, PLANS))
    return (found[MEMBERS], found[UNITS], found[PLANS])


def scope_key(scope: ColumnElement[bool]) -> str:
    """`scope` as text, to tell kept answers of one actor's scope from another's."""
    return str(scope.compile(compile_kwargs={"literal_binds": True}))


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
