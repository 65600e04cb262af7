"""Ad-hoc requests (báo cáo đột xuất, giao việc) as stored (table)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class AdHocRequest(Base):
    """One request by an admin, with the deadline as asked (a date or N working days)."""

    __tablename__ = "adhoc_requests"
    __table_args__ = (UniqueConstraint("plan_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    label: Mapped[str] = mapped_column(String(16))  # "YC-3": the items' period label
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    instructions: Mapped[str | None] = mapped_column(Text)
    obligation_id: Mapped[int | None] = mapped_column(ForeignKey("obligations.id"))
    deliverable_id: Mapped[int | None] = mapped_column(ForeignKey("deliverables.id"))
    recipient_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    deadline_on: Mapped[date] = mapped_column(Date)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    within_working_days: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
