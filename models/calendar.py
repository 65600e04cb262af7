"""Dated calendar overrides: government announcements the holidays package misses."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base
from schedules.calendar import CalendarOverride, DayKind, WorkCalendar


class CalendarOverrideRow(Base):
    """An extra day off or a make-up working day (làm bù), as announced."""

    __tablename__ = "calendar_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))


def load_calendar(*, session: Session) -> WorkCalendar:
    """The working-day calendar with every stored override applied."""
    rows = session.scalars(select(CalendarOverrideRow).order_by(CalendarOverrideRow.day))
    return WorkCalendar(CalendarOverride(r.day, DayKind(r.kind), r.reason) for r in rows)
