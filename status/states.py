"""Where each item stands as of an instant, and the reporting rates (one definition of each)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Subquery
from sqlalchemy.sql.selectable import ScalarSelect

from models.items import DueItem
from models.org import Unit
from models.plan import Deliverable, Obligation
from models.reliefs import ItemRelief, ReliefKind
from models.submissions import Submission
from schedules.calendar import WorkCalendar, end_of_day, local_date

# When an item was first accepted: a column of a joined aggregate, or a probe per item.
FirstAt = ColumnElement[datetime] | ScalarSelect[datetime]


class ItemStatus(StrEnum):
    NOT_YET_OPEN = "not_yet_open"
    OPEN = "open"
    SUBMITTED_ON_TIME = "submitted_on_time"
    SUBMITTED_LATE = "submitted_late"
    OVERDUE = "overdue"
    EXCUSED = "excused"


# Not received and not late: the deadline has not passed ("chưa đến hạn", never "chưa gửi").
NOT_DUE_YET = frozenset({ItemStatus.NOT_YET_OPEN, ItemStatus.OPEN})

STATUS_VI = {
    ItemStatus.NOT_YET_OPEN: "Chưa đến kỳ",
    ItemStatus.OPEN: "Đang trong hạn",
    ItemStatus.SUBMITTED_ON_TIME: "Đã gửi đúng hạn",
    ItemStatus.SUBMITTED_LATE: "Đã gửi muộn",
    ItemStatus.OVERDUE: "Quá hạn",
    ItemStatus.EXCUSED: "Được miễn",
}


class ItemState(NamedTuple):
    """One item's standing; plain values, safe to pass between Prefect steps.

    A NamedTuple: immutable like a frozen dataclass, and built twice as fast, which counts
    when a status list has tens of thousands of items.
    """

    item_id: int
    key: str
    kind: str
    unit_id: int
    unit_code: str
    unit_name: str
    source_code: str  # obligation or deliverable code
    source_title: str
    period_label: str | None
    opens_at: datetime
    deadline_at: datetime  # after any extension
    deadline_on: date  # local date of the effective deadline
    extended: bool
    first_accepted_at: datetime | None
    status: ItemStatus
    working_days_overdue: int  # > 0 only for OVERDUE and SUBMITTED_LATE


def classify(
    *,
    opens_at: datetime,
    deadline_at: datetime,
    deadline_on: date,
    first_accepted_at: datetime | None,
    excused: bool,
    as_of: datetime,
    calendar: WorkCalendar,
) -> tuple[ItemStatus, int]:
    """The status rule: on time means first accepted at or before the deadline instant."""
    if excused:
        return ItemStatus.EXCUSED, 0
    if first_accepted_at is not None and first_accepted_at <= as_of:
        if first_accepted_at <= deadline_at:
            return ItemStatus.SUBMITTED_ON_TIME, 0
        late = calendar.working_days_between(deadline_on, local_date(first_accepted_at))
        return ItemStatus.SUBMITTED_LATE, max(late, 1)
    if as_of < opens_at:
        return ItemStatus.NOT_YET_OPEN, 0
    if as_of <= deadline_at:
        return ItemStatus.OPEN, 0
    return ItemStatus.OVERDUE, max(calendar.working_days_between(deadline_on, local_date(as_of)), 1)


def latest_reliefs() -> Subquery:
    newest = (
        select(ItemRelief.item_id, func.max(ItemRelief.id).label("id"))
        .group_by(ItemRelief.item_id)
        .subquery()
    )
    return (
        select(
            ItemRelief.item_id,
            ItemRelief.kind,
            ItemRelief.deadline_on,
            ItemRelief.deadline_at,
        )
        .join(newest, newest.c.id == ItemRelief.id)
        .subquery()
    )


def item_states(
    *,
    session: Session,
    as_of: datetime,
    calendar: WorkCalendar,
    period: str | None = None,
    obligation: str | None = None,
    unit: str | None = None,
    item_ids: Iterable[int] | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[ItemState]:
    """Every matching item's status as of `as_of`, in one query (no query per unit).

    Only submissions received by `as_of` count, so a past day can be replayed exactly.
    `where`: a further condition over DueItem (an actor's scope, access.scope.item_condition).
    """
    # Plain UTC datetimes compare several times faster than mixed pendulum/zoneinfo ones.
    as_of = datetime.fromtimestamp(as_of.timestamp(), UTC)
    query = _states_query(
        as_of=as_of, period=period, obligation=obligation, unit=unit, item_ids=item_ids
    )
    if where is not None:
        query = query.where(where)
    # Core rows, not ORM entities: thousands of items, only plain values needed.
    return _states(session.connection().execute(query).all(), as_of=as_of, calendar=calendar)


def _first_accepted(as_of: datetime, *, sliced: bool) -> tuple[Subquery | None, FirstAt]:
    """When each item was first accepted by `as_of`: the subquery to join (if any), the column."""
    counted = (Submission.accepted.is_(True), Submission.received_at <= as_of)
    if sliced:
        # A slice of the items (one period, one unit): one index probe per item beats
        # aggregating every submission ever received (10,000 of 120,000 items: 2.5x faster).
        probe = (
            select(func.min(Submission.received_at))
            .where(Submission.item_id == DueItem.id, *counted)
            .correlate(DueItem)
            .scalar_subquery()
        )
        return None, probe
    # Every item: one aggregate over the submissions beats one probe per item.
    first = (
        select(Submission.item_id, func.min(Submission.received_at).label("first_at"))
        .where(*counted)
        .group_by(Submission.item_id)
        .subquery()
    )
    return first, first.c.first_at


def _states_query(
    *,
    as_of: datetime,
    period: str | None,
    obligation: str | None,
    unit: str | None,
    item_ids: Iterable[int] | None,
) -> Select[*tuple[Any, ...]]:
    """The live items with their unit, source, first acceptance and newest relief, in order."""
    sliced = period is not None or unit is not None or item_ids is not None
    first, first_at = _first_accepted(as_of, sliced=sliced)
    relief = latest_reliefs()
    query = (
        select(
            DueItem.id,
            DueItem.key,
            DueItem.kind,
            DueItem.unit_id,
            DueItem.period_label,
            DueItem.opens_at,
            DueItem.deadline_at,
            DueItem.deadline_on,
            Unit.code,
            Unit.name,
            func.coalesce(Obligation.code, Deliverable.code),
            func.coalesce(Obligation.title, Deliverable.title),
            first_at,
            relief.c.kind,
            relief.c.deadline_on,
            relief.c.deadline_at,
        )
        .join(Unit, Unit.id == DueItem.unit_id)
        .outerjoin(Obligation, Obligation.id == DueItem.obligation_id)
        .outerjoin(Deliverable, Deliverable.id == DueItem.deliverable_id)
        .outerjoin(relief, relief.c.item_id == DueItem.id)
        .where(DueItem.withdrawn_at.is_(None))
        .order_by(DueItem.deadline_at, Unit.code, DueItem.id)
    )
    if first is not None:
        query = query.outerjoin(first, first.c.item_id == DueItem.id)
    if period is not None:
        query = query.where(DueItem.period_label == period)
    if obligation is not None:
        query = query.where(or_(Obligation.code == obligation, Deliverable.code == obligation))
    if unit is not None:
        query = query.where(Unit.code == unit)
    if item_ids is not None:
        query = query.where(DueItem.id.in_(list(item_ids)))
    return query


def _states(
    rows: Sequence[Row[*tuple[Any, ...]]], *, as_of: datetime, calendar: WorkCalendar
) -> list[ItemState]:
    """The rows of `_states_query` as item states, the newest relief applied."""
    states = []
    for row in rows:
        (
            item_id,
            key,
            kind,
            unit_id,
            period_label,
            opens_at,
            item_deadline_at,
            item_deadline_on,
            unit_code,
            unit_name,
            code,
            title,
            first_at,
            relief_kind,
            relief_on,
            relief_at,
        ) = row
        extended = relief_kind == ReliefKind.EXTENSION and relief_at is not None
        deadline_at = relief_at if extended else item_deadline_at
        deadline_on = relief_on if extended else item_deadline_on
        status, overdue = classify(
            opens_at=opens_at,
            deadline_at=deadline_at,
            deadline_on=deadline_on,
            first_accepted_at=first_at,
            excused=relief_kind == ReliefKind.EXEMPTION,
            as_of=as_of,
            calendar=calendar,
        )
        states.append(
            ItemState(  # positional: twice as fast as keywords, in the fields' order
                item_id,
                key,
                kind,
                unit_id,
                unit_code,
                unit_name,
                code,
                title,
                period_label,
                opens_at,
                deadline_at,
                deadline_on,
                extended,
                first_at,
                status,
                overdue,
            )
        )
    return states


@dataclass(frozen=True)
class Rates:
    """DHIS2-style completeness of one group of items (never above 100%)."""

    expected: int
    received: int
    on_time: int

    @property
    def reporting_rate(self) -> float | None:
        return self.received / self.expected * 100 if self.expected else None

    @property
    def timeliness(self) -> float | None:
        return self.on_time / self.expected * 100 if self.expected else None


def rates(states: Sequence[ItemState]) -> Rates:
    """expected: owed, not excused; received: accepted; on time: first accepted by the deadline."""
    expected = [s for s in states if s.status is not ItemStatus.EXCUSED]
    received = [
        s for s in expected if s.status in (ItemStatus.SUBMITTED_ON_TIME, ItemStatus.SUBMITTED_LATE)
    ]
    on_time = [s for s in received if s.status is ItemStatus.SUBMITTED_ON_TIME]
    return Rates(expected=len(expected), received=len(received), on_time=len(on_time))


def grant_relief(
    *,
    session: Session,
    item: DueItem,
    kind: ReliefKind,
    reason: str,
    granted_by: str,
    now: datetime,
    calendar: WorkCalendar,
    until: date | None = None,
) -> ItemRelief:
    """Record an extension to `until` (rolled to a working day) or an exemption."""
    if not reason.strip():
        raise ValueError("a reason is required")
    deadline_on = deadline_at = None
    if kind is ReliefKind.EXTENSION:
        if until is None:
            raise ValueError("an extension needs the new deadline date")
        deadline_on = calendar.roll_forward(until)
        deadline_at = end_of_day(deadline_on)
    row = ItemRelief(
        item_id=item.id,
        kind=kind.value,
        deadline_on=deadline_on,
        deadline_at=deadline_at,
        reason=reason.strip(),
        granted_by=granted_by,
        granted_at=now,
    )
    session.add(row)
    session.flush()
    return row
