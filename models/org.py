"""Units (committees, departments, communes...) and the people who work in them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base


class Unit(Base):
    """An organisational unit; carries validity dates because units merge and disappear."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    short_name: Mapped[str | None] = mapped_column(String(128))
    abbreviation: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(255))
    sample_note: Mapped[str | None] = mapped_column(Text)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    successor: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[successor_id])

    def existed_during(self, start: date, end: date) -> bool:
        """Whether the unit existed on at least one day of [start, end]."""
        return (self.valid_from is None or self.valid_from <= end) and (
            self.valid_to is None or self.valid_to >= start
        )


def predecessors(unit_id: int, *, session: Session) -> list[Unit]:
    """The units whose work `unit_id` took over, directly or through earlier mergers, each once.

    A merged commune's year to date is its own reports plus these units' reports of the same
    year: their items stop at their end date and the successor's start at its start date, so
    no period is counted twice.
    """
    found: dict[int, Unit] = {}
    frontier = {unit_id}
    while frontier:
        earlier = session.scalars(select(Unit).where(Unit.successor_id.in_(frontier))).all()
        frontier = {u.id for u in earlier if u.id not in found and u.id != unit_id}
        found.update((u.id, u) for u in earlier if u.id in frontier)
    return sorted(found.values(), key=lambda u: u.code)


class Person(Base):
    """A person who reports, heads a unit or leads; each has the channels to reach them."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # Indexed: the unit page lists a unit's people (a district's departments have many).
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    zalo_user_id: Mapped[str | None] = mapped_column(String(64))
    zalo_chat_id: Mapped[str | None] = mapped_column(String(64))
    sample_note: Mapped[str | None] = mapped_column(Text)

    unit: Mapped[Unit] = relationship()
