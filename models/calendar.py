"""The national working-day calendar: announcements and their dated days off and make-up days."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base, UTCDateTime
from schedules.calendar import CalendarOverride, DayKind, WorkCalendar


class CalendarAnnouncement(Base):
    """A government announcement of a year's days off, swapped days and make-up Saturdays."""

    __tablename__ = "calendar_announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)  # the file or command it was loaded from
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarOverrideRow(Base):
    """An extra day off or a make-up working day (làm bù), as announced.

    Every plan shares these days: the calendar is the country's. `announcement_id` names the
    announcement; `plan_id` marks a day a plan file's own `calendar` section declared.
    """

    __tablename__ = "calendar_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    announcement_id: Mapped[int | None] = mapped_column(
        ForeignKey("calendar_announcements.id", ondelete="CASCADE")
    )

    announcement: Mapped[CalendarAnnouncement | None] = relationship()


def stored_overrides(*, session: Session) -> list[CalendarOverride]:
    """Every stored day off and make-up day, in date order, each with where it came from."""
    rows = session.execute(
        select(CalendarOverrideRow, CalendarAnnouncement.title)
        .outerjoin(CalendarAnnouncement)
        .order_by(CalendarOverrideRow.day)
    )
    return [
        CalendarOverride(r.day, DayKind(r.kind), r.reason, announcement=title) for r, title in rows
    ]


def load_calendar(*, session: Session) -> WorkCalendar:
    """The working-day calendar with every stored override applied."""
    return WorkCalendar(stored_overrides(session=session))
