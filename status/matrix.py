"""The dashboard's cell states and per-period rates: one rule, in Python and as SQL.

A cell is one unit's item of one period. Its state follows `status.states.classify` (the
effective deadline is the newest extension's, an exemption overrides everything, on time
means first accepted at or before the deadline instant), refined for the office's matrix:
an item not yet due whose deadline was extended shows as "được gia hạn". `cell_state`
reads it from an `ItemState`; `sql_cell_state` writes the same rule as a SQL CASE so a
whole year of a province is counted with GROUP BY over the items alone, their first
acceptance kept on the item (`sql_first_accepted`; tests check the two agree item by item).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, case, literal, null
from sqlalchemy.sql.selectable import ScalarSelect

from models.base import UTCDateTime
from models.items import DueItem
from models.reliefs import ReliefKind
from schedules.periods import Cadence, Period
from status.states import ItemState, ItemStatus, Rates
from wording.vietnamese import number, roman


class CellState(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    NOT_DUE = "not_due"
    OVERDUE = "overdue"
    EXTENDED = "extended"
    EXEMPT = "exempt"


# In the order of the legend and the counts: received first, then what still needs chasing.
CELL_STATES = tuple(CellState)

CELL_VI = {
    CellState.ON_TIME: "Nộp đúng hạn",
    CellState.LATE: "Nộp muộn",
    CellState.NOT_DUE: "Chưa đến hạn",
    CellState.OVERDUE: "Quá hạn chưa nộp",
    CellState.EXTENDED: "Được gia hạn",
    CellState.EXEMPT: "Được miễn",
}

# What a cell shows besides its colour: colour is never the only signal.
CELL_ABBR = {
    CellState.ON_TIME: "Đúng",
    CellState.LATE: "Muộn",
    CellState.NOT_DUE: "Chưa",
    CellState.OVERDUE: "Quá",
    CellState.EXTENDED: "GH",
    CellState.EXEMPT: "Miễn",
}

_FROM_STATUS = {
    ItemStatus.SUBMITTED_ON_TIME: CellState.ON_TIME,
    ItemStatus.SUBMITTED_LATE: CellState.LATE,
    ItemStatus.OVERDUE: CellState.OVERDUE,
    ItemStatus.EXCUSED: CellState.EXEMPT,
    ItemStatus.NOT_YET_OPEN: CellState.NOT_DUE,
    ItemStatus.OPEN: CellState.NOT_DUE,
}


def cell_state(state: ItemState) -> CellState:
    """The cell of one item: its status, with "extended" for one not due yet by an extension."""
    cell = _FROM_STATUS[state.status]
    if cell is CellState.NOT_DUE and state.extended:
        return CellState.EXTENDED
    return cell


def sql_cell_state(
    *,
    as_of: datetime,
    deadline_at: SQLColumnExpression[datetime],
    first_at: ColumnElement[datetime] | ScalarSelect[datetime],
    relief_kind: ColumnElement[str],
    relief_at: ColumnElement[datetime],
) -> ColumnElement[str]:
    """`cell_state` as SQL over an item's deadline, first acceptance by `as_of`, newest relief.

    `first_at` must already count only accepted submissions received by `as_of`.
    """
    now = literal(as_of, UTCDateTime())
    extended = and_(relief_kind == ReliefKind.EXTENSION.value, relief_at.is_not(None))
    effective = case((extended, relief_at), else_=deadline_at)
    return case(
        (relief_kind == ReliefKind.EXEMPTION.value, CellState.EXEMPT.value),
        (and_(first_at.is_not(None), first_at <= effective), CellState.ON_TIME.value),
        (first_at.is_not(None), CellState.LATE.value),
        (now > effective, CellState.OVERDUE.value),
        (extended, CellState.EXTENDED.value),
        else_=CellState.NOT_DUE.value,
    )


def sql_first_accepted(as_of: datetime) -> ColumnElement[datetime]:
    """An item's first acceptance if received by `as_of`, else NULL, read from the item.

    `DueItem.first_accepted_at` is the earliest receipt among the item's accepted versions
    (models.acceptance); the earliest of those received by `as_of` is that same instant
    when it is not after `as_of`, and none otherwise: a past day replays exactly.
    """
    stored = DueItem.first_accepted_at
    return case((stored <= literal(as_of, UTCDateTime()), stored), else_=null())


def rates_of(counts: Mapping[CellState, int]) -> Rates:
    """DHIS2's completeness of one period from its cells' counts.

    Expected: every item but the exempt; received: first accepted by now (on time or late);
    on time: first accepted by the (extended) deadline. One item counts once, however many
    versions it has, so neither rate can pass 100%.
    """
    total = sum(counts.values())
    on_time = counts.get(CellState.ON_TIME, 0)
    received = on_time + counts.get(CellState.LATE, 0)
    return Rates(
        expected=total - counts.get(CellState.EXEMPT, 0), received=received, on_time=on_time
    )


@dataclass(frozen=True)
class PeriodRates:
    """One column of the matrix: its key, its heading, its cells' counts and rates."""

    key: str
    heading: str
    counts: dict[CellState, int]

    @property
    def rates(self) -> Rates:
        return rates_of(self.counts)


def period_heading(label: str | None) -> str:
    """A period label as the matrix heads it: "2024-06" -> "Tháng 6/2024", "2024-Q1" ->
    "Quý I/2024"; a label that names no calendar period (an ad-hoc "YC-3") as it is."""
    if not label:
        return ""
    try:
        period = Period.parse(label)
    except ValueError:
        return label
    match period.cadence:
        case Cadence.WEEKLY:
            return f"Tuần {period.index}/{period.year}"
        case Cadence.MONTHLY:
            return f"Tháng {period.index}/{period.year}"
        case Cadence.QUARTERLY:
            return f"Quý {roman(period.index)}/{period.year}"
        case Cadence.HALF_YEARLY:
            return f"6 tháng {'đầu' if period.index == 1 else 'cuối'} năm {period.year}"
        case Cadence.YEARLY:
            return f"Năm {period.year}"
    return label  # pragma: no cover (every cadence is matched above)


def period_order(label: str) -> tuple[int, str]:
    """Calendar periods in time order, then any other label (ad-hoc requests) by name."""
    try:
        period = Period.parse(label)
    except ValueError:
        return (1, label)
    return (0, f"{period.start:%Y%m%d}{period.cadence.value}")


def rate_vi(value: float | None) -> str:
    """A rate as officials write it: 87.5 -> "87,5 %"; no expected report -> "—"."""
    return "—" if value is None else f"{number(value, 1)} %"


def count_vi(value: int) -> str:
    """A count as officials write it: 1735 -> "1.735"."""
    return number(value, 0)
