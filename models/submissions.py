"""What units send: versioned submissions, their values and attachments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime
from models.items import DueItem
from models.plan import Target


class Submission(Base):
    """One version of a unit's report or progress update for an item due."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("due_items.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    receipt_no: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16))  # web, api, cli, inbox
    submitted_by: Mapped[str] = mapped_column(String(128))
    source_address: Mapped[str | None] = mapped_column(String(255))
    accepted: Mapped[bool] = mapped_column(Boolean, default=True)
    narrative: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    progress_state: Mapped[str | None] = mapped_column(String(16))
    progress_note: Mapped[str | None] = mapped_column(Text)
    progress_on: Mapped[date | None] = mapped_column(Date)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))

    item: Mapped[DueItem] = relationship()
    values: Mapped[list[SubmissionValue]] = relationship(
        back_populates="submission", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="submission", cascade="all, delete-orphan"
    )


class SubmissionValue(Base):
    """A reported value of one target; exactly one of number, text, flag is set."""

    __tablename__ = "submission_values"
    __table_args__ = (UniqueConstraint("submission_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), index=True)
    number: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    text: Mapped[str | None] = mapped_column(Text)
    flag: Mapped[bool | None] = mapped_column(Boolean)

    submission: Mapped[Submission] = relationship(back_populates="values")
    target: Mapped[Target] = relationship()


class Attachment(Base):
    """A file sent with a submission; the bytes live on disk under the data directory."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    # "evidence" (sent as proof of work) or "source" (the file the submission was read from).
    role: Mapped[str] = mapped_column(String(16), default="evidence", server_default="evidence")

    submission: Mapped[Submission] = relationship(back_populates="attachments")
