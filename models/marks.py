"""Change marks: values the database changes with every write the dashboard's answers read.

The triggers of migration 0010 write them in the writer's own transaction (on PostgreSQL at
its commit), so an answer computed after reading a set of marks is still exact for as long
as those marks read the same. A mark is a counter on SQLite and the last changing
transaction's id on PostgreSQL; readers only compare them. A key never written reads 0.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base

MEMBERS = "members"  # any item added, removed, withdrawn or moved to another unit or column
UNITS = "units"  # any change to units
PLANS = "plans"  # any change to plans, obligations, deliverables, tasks


class DeskMark(Base):
    """One mark; written only by the database's triggers."""

    __tablename__ = "desk_marks"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


def report_column(obligation_id: int, period_label: str | None) -> str:
    """The key of one obligation's period, as the triggers write it."""
    return f"o:{obligation_id}:{period_label or ''}"


def deliverable_column(deliverable_id: int) -> str:
    """The key of one deliverable's items, as the triggers write it."""
    return f"d:{deliverable_id}"


def read_marks(session: Session, keys: Iterable[str]) -> dict[str, int]:
    """The counters of `keys` (0 for a key never raised)."""
    wanted = sorted(set(keys))
    found = dict.fromkeys(wanted, 0)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            session.execute(select(DeskMark.key, DeskMark.n).where(DeskMark.key.in_(chunk))).all()
        )
    return found


def report_marks(session: Session, obligation_ids: Iterable[int]) -> dict[str, int]:
    """Every period key of the obligations that has been raised (a few hundred rows at most:
    one per obligation and period, so a prefix match reads them all)."""
    found: dict[str, int] = {}
    for obligation_id in list(obligation_ids):
        prefix = report_column(obligation_id, None)
        query = select(DeskMark.key, DeskMark.n).where(DeskMark.key.startswith(prefix))
        found.update(session.execute(query).all())
    return found
