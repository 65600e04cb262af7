"""Items due: one row per (obligation, unit, period) and per (deliverable, unit)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime
from models.org import Unit
from models.plan import Deliverable, Obligation


class DueItem(Base):
    """Something a unit owes by a deadline; window and deadline are computed by `schedules`."""

    __tablename__ = "due_items"
    __table_args__ = (
        Index("ix_due_items_deadline_at", "deadline_at"),
        Index("ix_due_items_period", "period_label", "obligation_id"),
        # The dashboard counts a year of an obligation by period and state from this index
        # alone (every column the count reads, scope by unit included), never the table.
        Index(
            "ix_due_items_standing",
            "obligation_id",
            "period_label",
            "plan_id",
            "withdrawn_at",
            "deadline_at",
            "first_accepted_at",
            "unit_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable natural key: "report:<plan>:<obligation>:<unit>:<period>" or
    # "deliverable:<plan>:<deliverable>:<unit>"; loading a plan again updates by this key.
    key: Mapped[str] = mapped_column(String(255), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    kind: Mapped[str] = mapped_column(String(16))
    obligation_id: Mapped[int | None] = mapped_column(ForeignKey("obligations.id"))
    deliverable_id: Mapped[int | None] = mapped_column(ForeignKey("deliverables.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    period_label: Mapped[str | None] = mapped_column(String(16))
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    deadline_on: Mapped[date] = mapped_column(Date)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when an edited plan no longer asks for the item; the row stays for its history.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the item's first accepted submission was received: on time is judged by it
    # (status.states.classify). Kept by models.acceptance in every transaction that adds
    # or changes a submission, so the dashboard counts a year without reading submissions.
    first_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)

    unit: Mapped[Unit] = relationship()
    obligation: Mapped[Obligation | None] = relationship()
    deliverable: Mapped[Deliverable | None] = relationship()


class PeriodLock(Base):
    """A closed period (khóa sổ): no more submissions for that obligation and period."""

    __tablename__ = "period_locks"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "obligation:<id>:<period>" or "deliverable:<id>:<period or ->"; one lock per key.
    lock_key: Mapped[str] = mapped_column(String(160), unique=True)
    obligation_id: Mapped[int | None] = mapped_column(ForeignKey("obligations.id"))
    deliverable_id: Mapped[int | None] = mapped_column(ForeignKey("deliverables.id"))
    period_label: Mapped[str | None] = mapped_column(String(16))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
