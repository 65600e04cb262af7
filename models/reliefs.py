"""Extensions and exemptions granted on an item (gia hạn, miễn báo cáo)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class ReliefKind(StrEnum):
    EXTENSION = "extension"  # gia hạn
    EXEMPTION = "exemption"  # miễn báo cáo


class ItemRelief(Base):
    """An admin's extension or exemption of one item; the newest grant applies, all are kept."""

    __tablename__ = "item_reliefs"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("due_items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    deadline_on: Mapped[date | None] = mapped_column(Date)  # extensions only: the new day
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # and its instant
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(128))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
