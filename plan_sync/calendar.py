"""The country's calendar in the database: announcements stored, audited, deadlines kept in step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.actor import Actor
from access.audit import record_event
from models.calendar import CalendarAnnouncement, CalendarOverrideRow, load_calendar
from models.items import DueItem
from models.plan import Deliverable, Obligation
from plans.announcements import NATIONAL_CALENDAR, Announcement, read_announcements
from plans.dues import PLAN_ITEM_PREFIXES
from plans.schema import DeadlineEntry
from schedules.deadlines import DeadlineKind, DeadlineRule, deadline_date, deadline_instant
from schedules.periods import Period, Window


@dataclass
class CalendarChange:
    """What loading announcements changed: days by date, and how many deadlines moved."""

    added: list[date] = field(default_factory=list)
    changed: list[date] = field(default_factory=list)
    removed: list[date] = field(default_factory=list)
    items_moved: int = 0

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def store_announcements(
    announcements: list[Announcement],
    *,
    session: Session,
    source: str,
    actor: Actor | None,
    now: datetime,
    keep_others: bool = False,
) -> CalendarChange:
    """Store each announcement and exactly its days; the caller commits.

    A day another announcement (or a plan) declared is taken over, unless `keep_others`
    (the shipped calendar never undoes what an office loaded). Each announcement a person
    loaded (`actor`) that changed something is audited; the shipped calendar, part of dondoc
    like the holidays package, is not. Every stored deadline is recomputed with the new
    calendar.
    """
    total = CalendarChange()
    for a in announcements:
        change = _store_one(a, session=session, source=source, now=now, keep_others=keep_others)
        if not change.any:
            continue
        total.added += change.added
        total.changed += change.changed
        total.removed += change.removed
        if actor is None:
            continue
        record_event(
            session=session,
            actor=actor,
            action="calendar.announcement",
            object_type="calendar_announcement",
            object_id=a.code,
            source_address=None,
            details={
                "title": a.title,
                "source": source,
                "added": [d.isoformat() for d in change.added],
                "changed": [d.isoformat() for d in change.changed],
                "removed": [d.isoformat() for d in change.removed],
            },
            now=now,
        )
    if total.any:
        session.flush()
        total.items_moved = recompute_deadlines(session=session)
    return total


def _store_one(
    a: Announcement, *, session: Session, source: str, now: datetime, keep_others: bool
) -> CalendarChange:
    change = CalendarChange()
    row = session.scalar(select(CalendarAnnouncement).where(CalendarAnnouncement.code == a.code))
    if row is None:
        row = CalendarAnnouncement(code=a.code, title=a.title, source=source, loaded_at=now)
        session.add(row)
        session.flush()
    elif row.title != a.title:
        row.title, row.source, row.loaded_at = a.title, source, now
    stored = {r.day: r for r in session.scalars(select(CalendarOverrideRow))}
    wanted = {d.date for d in a.days}
    for d in a.days:
        day_row = stored.get(d.date)
        values: dict[str, Any] = {"kind": d.kind.value, "reason": d.reason}
        if day_row is None:
            session.add(CalendarOverrideRow(day=d.date, announcement_id=row.id, **values))
            change.added.append(d.date)
            continue
        if keep_others and day_row.announcement_id not in (None, row.id):
            continue  # another announcement settled this day; a plan's own day yields
        current = (day_row.kind, day_row.reason, day_row.announcement_id, day_row.plan_id)
        if current != (d.kind.value, d.reason, row.id, None):
            day_row.kind, day_row.reason = d.kind.value, d.reason
            day_row.announcement_id, day_row.plan_id = row.id, None
            change.changed.append(d.date)
    for day, day_row in stored.items():
        if day_row.announcement_id == row.id and day not in wanted:
            session.delete(day_row)
            change.removed.append(day)
    if change.any:
        row.source, row.loaded_at = source, now
    return change


def sync_national_calendar(*, session: Session, now: datetime) -> CalendarChange:
    """Store the shipped announcements (idempotent); called whenever a plan is loaded."""
    return store_announcements(
        read_announcements(NATIONAL_CALENDAR),
        session=session,
        source=f"dondoc ({NATIONAL_CALENDAR.name})",
        actor=None,
        now=now,
        keep_others=True,
    )


def recompute_deadlines(*, session: Session) -> int:
    """Recompute every live plan item's deadline with the stored calendar; returns how many
    moved. Who owes what stays as the plan load decided; only the due day and instant move."""
    calendar = load_calendar(session=session)
    rows = session.execute(
        select(DueItem, Obligation.deadline_rule, Deliverable.due_on)
        .outerjoin(Obligation, DueItem.obligation_id == Obligation.id)
        .outerjoin(Deliverable, DueItem.deliverable_id == Deliverable.id)
        .where(DueItem.withdrawn_at.is_(None))
    )
    # One computation per obligation and period (or deliverable), shared by every unit.
    cache: dict[tuple[Any, ...], tuple[date, datetime]] = {}
    moved = 0
    for item, rule_data, due_on in rows:
        if not item.key.startswith(PLAN_ITEM_PREFIXES):
            continue  # ad-hoc requests carry the date the request gave
        if rule_data is not None and item.period_label is not None:
            key: tuple[Any, ...] = (item.obligation_id, item.period_label)
            if key not in cache:
                rule = DeadlineEntry.model_validate(rule_data).to_rule()
                window = Window(item.window_start, item.window_end)
                end = Period.parse(item.period_label).end
                due = deadline_date(rule, window, end, calendar)
                cache[key] = (due, deadline_instant(rule, due))
        elif due_on is not None:
            key = ("deliverable", item.deliverable_id)
            if key not in cache:
                rule = DeadlineRule(kind=DeadlineKind.FIXED_DATE, on=due_on)
                rolled = calendar.roll_forward(due_on)
                cache[key] = (rolled, deadline_instant(rule, rolled))
        else:
            continue
        day, instant = cache[key]
        if item.deadline_on != day or item.deadline_at != instant:
            item.deadline_on, item.deadline_at = day, instant
            moved += 1
    return moved
